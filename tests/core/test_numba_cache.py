"""Results never depend on the numba cache: the same call in a process that compiles the kernels and in one that
loads them from the cache gives identical, finite numbers (issues: LambdaRank hessians were NaN when freshly
compiled, because fastmath reassociation turned (e_i u)(e_j u) into (e_i e_j)(u u) = 0 * inf; ApproxNDCG differed
by 1-3 ulp, up to ~2000 ulp on small values, because reassoc + nsz let LLVM order a product differently in a
function's own library and in its copy linked into the caller: policy in gbm_objectives._core.jit)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[2]


def _run(cache_dir, script=_SCRIPT, *args):
    """Run ``script`` in a new process of this checkout with ``cache_dir`` as numba's cache; its last stdout line."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
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


# Every ranking objective and the metric kernels, serial and parallel twins, on small inputs (compilation dominates):
# the bytes of every output, written by a process with an empty cache and by one that loads that cache.
_RANKING_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import gbm_objectives as go
    from gbm_objectives._core.jit import PARALLEL_MIN
    from gbm_objectives._warmup import package_dispatchers

    rng = np.random.default_rng(7)
    # 1500 documents: beyond the 1448 of ApproxNDCG's stored pair weights (its other pass); 12 and more: the
    # four-row tiles; query 5 (20 documents) gets a span of ~2000, beyond 600 T: the exp-per-pair paths
    sizes = np.array([2, 3, 7, 12, 20, 33, 60, 1500])
    n = int(sizes.sum())
    y = rng.integers(0, 5, n).astype(float)
    s = rng.normal(size=n)
    a = int(sizes[:4].sum())
    s[a : a + 20] *= 400.0
    scores = {"normal": s, "tied": np.round(s * 2) / 2, "float32": s.astype(np.float32)}
    objectives = {
        "lambdarank": go.LambdaRankObjective(),
        "lambdarank_map": go.LambdaRankObjective(metric="map"),
        "lambdarank_emulate": go.LambdaRankObjective(emulate_lightgbm=True),
        "lambdarank_xgboost": go.LambdaRankObjective(convention="xgboost"),
        "lambdarank_xgboost_pairwise": go.LambdaRankObjective(convention="xgboost", metric="none"),
        "bpr": go.PairwiseLogistic(),
        "xendcg": go.XENDCGObjective(),
        "xendcg_emulate": go.XENDCGObjective(emulate_lightgbm=True),
        "softmax_rank": go.SoftmaxRankObjective(),
        "softmax_rank_linear": go.SoftmaxRankObjective(temperature=0.5, label_transform="linear"),
        "listmle": go.ListMLEObjective(),
        "approx_ndcg": go.ApproxNDCGObjective(),
        "approx_ndcg_t1": go.ApproxNDCGObjective(temperature=1.0),
        "lambdaloss": go.LambdaLossObjective(),
        "lambdaloss_k3": go.LambdaLossObjective(truncation_level=3),
        "lambdaloss_mu0": go.LambdaLossObjective(mu=0.0),
        "lambdaloss_ndcg2": go.LambdaLossObjective(weighting="ndcg2"),
        "lambdaloss_lambdarank": go.LambdaLossObjective(weighting="lambdarank"),
        "lambdarank_xgboost_mean": go.LambdaRankObjective(convention="xgboost", pair_method="mean",
                                                          truncation_level=2),
        "yetirank": go.YetiRankObjective(),
        "stochasticrank": go.StochasticRankObjective(num_estimations=3, top=10),
    }
    metrics = ("ndcg", "ndcg@5", "map", "mrr", "mrr@3", "p@5", "auc")
    out = {}

    def run_all(tag):
        for name, obj in objectives.items():
            for kind, raw in scores.items():
                g, h = obj.grad_hess(y, raw, group=sizes)
                out[f"{name}/{kind}/{tag}/grad"] = g
                out[f"{name}/{kind}/{tag}/hess"] = h
                if name.startswith(("softmax", "listmle", "approx", "lambdaloss", "yetirank")):
                    out[f"{name}/{kind}/{tag}/loss"] = np.array([obj.loss(y, raw, group=sizes)])
        for convention in ("lightgbm", "trec", "sklearn"):
            for kind in ("normal", "tied"):
                values = go.evaluate(y, scores[kind], group=sizes, metrics=metrics, convention=convention, reduce=None)
                for m, v in values.items():
                    out[f"metric/{convention}/{m}/{kind}/{tag}"] = np.asarray(v, dtype=np.float64)

    run_all("serial")
    PARALLEL_MIN.update(dict.fromkeys(PARALLEL_MIN, 0))  # every call now takes its parallel twin
    run_all("parallel")
    np.savez(sys.argv[1], **out)
    ds = package_dispatchers().values()
    print(json.dumps({
        "misses": sum(sum(d.stats.cache_misses.values()) for d in ds),
        "hits": sum(sum(d.stats.cache_hits.values()) for d in ds),
    }))
    """
)


@pytest.mark.slow
def test_every_ranking_kernel_gives_the_same_bytes_fresh_and_cached(tmp_path):
    """Each ranking objective (LambdaRank in both conventions and emulating LightGBM, BPR, XE-NDCG, the four listwise
    objectives with their variants, YetiRank and StochasticRank, also ``loss``), on normal, tied and float32 scores, and the metrics under each
    convention, serial and parallel: bit-identical bytes from a fresh compilation and from the warm cache."""
    cache = tmp_path / "cache"
    fresh = _run(cache, _RANKING_SCRIPT, tmp_path / "fresh.npz")  # empty cache: compiles and writes the cache
    warm = _run(cache, _RANKING_SCRIPT, tmp_path / "warm.npz")  # loads every kernel from it
    assert fresh["misses"] > 0
    assert warm["misses"] == 0 and warm["hits"] > 0  # nothing recompiled: the comparison is fresh against cached
    with np.load(tmp_path / "fresh.npz") as f, np.load(tmp_path / "warm.npz") as w:
        assert sorted(f.files) == sorted(w.files)
        differ = [k for k in f.files if f[k].dtype != w[k].dtype or f[k].tobytes() != w[k].tobytes()]
        assert not differ, differ
        for k in f.files:
            if not k.startswith("metric/"):
                assert np.isfinite(f[k]).all(), k
