"""The Dask tests' cluster: a real ``distributed.LocalCluster(n_workers=2, threads_per_worker=1)``, started once per
test module (``client``, module-scoped) and closed after it."""

import pytest

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (extra 'dask')")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()
