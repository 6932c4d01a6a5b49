"""Results never depend on the numba cache: the same call in a process that compiles the kernels and in one that
loads them from the cache gives identical, finite numbers (issue: LambdaRank hessians were NaN when freshly
compiled, because fastmath reassociation turned (e_i u)(e_j u) into (e_i e_j)(u u) = 0 * inf)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

_SCRIPT = textwrap.dedent(
    """
    import json, numpy as np, gbm_objectives as go
    out = {}
    # the reproducer of the issue, and a sweep of 3-document queries [0, -a, -b] with extreme gaps
    g, h = go.LambdaRankObjective().grad_hess([2., 1., 0.], [0., -380., -540.], group=[3])
    out["repro"] = [g.tolist(), h.tolist()]
    a, b = np.meshgrid(np.arange(0, 801, 20.0), np.arange(0, 801, 20.0))
    n = a.size
    raw = np.column_stack([np.zeros(n), -a.ravel(), -b.ravel()]).ravel()
    y = np.tile([2.0, 1.0, 0.0], n)
    for norm in (True, False):
        for sign in (1.0, -1.0):
            g, h = go.LambdaRankObjective(norm=norm).grad_hess(y, sign * raw, group=np.full(n, 3))
            out[f"sweep_{norm}_{sign}"] = [g.tolist(), h.tolist()]
    # the parallel kernel: enough pair work to cross the parallel threshold
    rng = np.random.default_rng(0)
    m = 4000
    raw = (rng.standard_normal(m * 30) * 300.0)
    y = rng.integers(0, 5, m * 30).astype(float)
    g, h = go.LambdaRankObjective().grad_hess(y, raw, group=np.full(m, 30))
    out["parallel"] = [g.tolist(), h.tolist()]
    g, h = go.LambdaRankObjective().grad_hess([0.0, 1.0], [800.0, 0.0], group=[2])
    out["gap800"] = [g.tolist(), h.tolist()]
    print(json.dumps(out))
    """
)


def _run(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    done = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_lambdarank_fresh_and_cached_compilations_agree(tmp_path):
    fresh = _run(tmp_path)  # empty cache: compiles and writes the cache
    cached = _run(tmp_path)  # same cache directory: loads the compiled kernels
    assert fresh.keys() == cached.keys()
    for key in fresh:
        g1, h1 = (np.array(v) for v in fresh[key])
        g2, h2 = (np.array(v) for v in cached[key])
        assert np.isfinite(g1).all() and np.isfinite(h1).all(), key
        assert np.array_equal(g1, g2) and np.array_equal(h1, h2), key
        assert (h1 >= 0).all(), key
        # a pair with a non-zero lambda never gets a zero hessian (positive floor, as LightGBM's sigmoid table)
        assert not ((g1 != 0) & (h1 <= 0)).any(), key
    g, h = (np.array(v) for v in fresh["gap800"])
    assert g[0] > 0 > g[1] and (h > 0).all()
