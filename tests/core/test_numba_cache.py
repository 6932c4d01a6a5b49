"""Results never depend on the numba cache: the same calls in this process (which, in CI, compiled the kernels
itself: the suite runs on an empty ``NUMBA_CACHE_DIR``) and in a new process that loads every kernel from the cache
this run wrote give identical, finite numbers, byte for byte (issues: LambdaRank hessians were NaN when freshly
compiled, because fastmath reassociation turned (e_i u)(e_j u) into (e_i e_j)(u u) = 0 * inf; ApproxNDCG differed
by 1-3 ulp, up to ~2000 ulp on small values, because reassoc + nsz let LLVM order a product differently in a
function's own library and in its copy linked into the caller: policy in gbm_objectives._core.jit).

One small warm-cache check (issue 21): the suite itself is the fresh compilation, so the kernels are compiled once
per CI run, not again in a second cold process. ``.ci/run`` sets ``GBM_OBJECTIVES_FRESH_CACHE=1``; then the in-process
side must have loaded nothing from the cache (it is the fresh side). On a developer's warm cache both sides load.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

# LambdaRank's reproducer of the NaN issue, a sweep of 3-document queries [0, -a, -b] with extreme gaps, and the
# parallel kernel (enough pair work to cross its threshold)
_LAMBDARANK_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import gbm_objectives as go


    def compute():
        out = {}
        g, h = go.LambdaRankObjective().grad_hess([2., 1., 0.], [0., -380., -540.], group=[3])
        out["repro/grad"], out["repro/hess"] = g, h
        a, b = np.meshgrid(np.arange(0, 801, 20.0), np.arange(0, 801, 20.0))
        n = a.size
        raw = np.column_stack([np.zeros(n), -a.ravel(), -b.ravel()]).ravel()
        y = np.tile([2.0, 1.0, 0.0], n)
        for norm in (True, False):
            for sign in (1.0, -1.0):
                g, h = go.LambdaRankObjective(norm=norm).grad_hess(y, sign * raw, group=np.full(n, 3))
                out[f"sweep_{norm}_{sign}/grad"], out[f"sweep_{norm}_{sign}/hess"] = g, h
        rng = np.random.default_rng(0)
        m = 4000
        raw = rng.standard_normal(m * 30) * 300.0
        y = rng.integers(0, 5, m * 30).astype(float)
        out["parallel/grad"], out["parallel/hess"] = go.LambdaRankObjective().grad_hess(y, raw, group=np.full(m, 30))
        out["gap800/grad"], out["gap800/hess"] = go.LambdaRankObjective().grad_hess([0.0, 1.0], [800.0, 0.0], group=[2])
        return out
    """
)

# Every ranking objective and the metric kernels, serial and parallel twins, on small inputs
_RANKING_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import gbm_objectives as go
    from gbm_objectives._core.jit import PARALLEL_MIN

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
        "stochasticrank_err": go.StochasticRankObjective(metric="err", num_estimations=3, top=10),
    }
    metrics = ("ndcg", "ndcg@5", "map", "mrr", "mrr@3", "p@5", "auc")


    def run_all(out, tag):
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


    def compute():
        out = {}
        run_all(out, "serial")
        saved = dict(PARALLEL_MIN)
        PARALLEL_MIN.update(dict.fromkeys(PARALLEL_MIN, 0))  # every call now takes its parallel twin
        try:
            run_all(out, "parallel")
        finally:
            PARALLEL_MIN.update(saved)
        return out
    """
)

# The new process: the same ``compute`` on the cache this run wrote; the arrays to a file, the cache counts printed.
_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from gbm_objectives._warmup import package_dispatchers
    namespace = {}
    exec(open(sys.argv[1]).read(), namespace)
    np.savez(sys.argv[2], **namespace["compute"]())
    ds = package_dispatchers().values()
    print(json.dumps({
        "misses": sum(sum(d.stats.cache_misses.values()) for d in ds),
        "hits": sum(sum(d.stats.cache_hits.values()) for d in ds),
    }))
    """
)

ROOT = Path(__file__).resolve().parents[2]


def _cache_hits():
    """Cache hits (signatures loaded from numba's cache) per package dispatcher of this process."""
    from gbm_objectives._warmup import package_dispatchers

    return {name: sum(d.stats.cache_hits.values()) for name, d in package_dispatchers().items()}


def _here_and_in_a_new_process(script, tmp_path):
    """Run ``script``'s ``compute()`` in this process, then in a new process on the same numba cache (this run's);
    returns both outputs and the kernels this process loaded from the cache while computing."""
    namespace = {}
    exec(script, namespace)
    before = _cache_hits()
    here = namespace["compute"]()
    hits_here = {k: v - before.get(k, 0) for k, v in _cache_hits().items() if v > before.get(k, 0)}
    source = tmp_path / "script.py"
    source.write_text(script)
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # NUMBA_CACHE_DIR (if set) is inherited: this run's cache
    done = subprocess.run([sys.executable, "-c", _CHILD, str(source), str(tmp_path / "there.npz")], env=env,
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    with np.load(tmp_path / "there.npz") as f:
        there = {k: f[k] for k in f.files}
    return here, there, counts, hits_here


def _assert_fresh_and_cached_agree(here, there, counts, hits_here):
    if os.environ.get("GBM_OBJECTIVES_FRESH_CACHE") == "1":  # CI: this process compiled, it loaded nothing
        assert not hits_here, f"kernels loaded from the cache in the process that should compile them: {hits_here}"
    # the new process compiled nothing: the comparison is against machine code loaded from the cache
    assert counts["misses"] == 0 and counts["hits"] > 0, counts
    assert sorted(here) == sorted(there)
    differ = [k for k in here if np.asarray(here[k]).dtype != there[k].dtype
              or np.asarray(here[k]).tobytes() != there[k].tobytes()]
    assert not differ, differ


@pytest.mark.first
def test_lambdarank_fresh_and_cached_compilations_agree(tmp_path):
    here, there, counts, hits_here = _here_and_in_a_new_process(_LAMBDARANK_SCRIPT, tmp_path)
    _assert_fresh_and_cached_agree(here, there, counts, hits_here)
    for key in [k[: -len("/grad")] for k in here if k.endswith("/grad")]:
        g, h = here[key + "/grad"], here[key + "/hess"]
        assert np.isfinite(g).all() and np.isfinite(h).all(), key
        assert (h >= 0).all(), key
        # a pair with a non-zero lambda never gets a zero hessian (positive floor, as LightGBM's sigmoid table)
        assert not ((g != 0) & (h <= 0)).any(), key
    g, h = here["gap800/grad"], here["gap800/hess"]
    assert g[0] > 0 > g[1] and (h > 0).all()


@pytest.mark.first
@pytest.mark.slow
def test_every_ranking_kernel_gives_the_same_bytes_fresh_and_cached(tmp_path):
    """Each ranking objective (LambdaRank in both conventions and emulating LightGBM, BPR, XE-NDCG, the four listwise
    objectives with their variants, YetiRank and StochasticRank, also ``loss``), on normal, tied and float32 scores,
    and the metrics under each convention, serial and parallel: bit-identical bytes from this process and from a new one on the warm cache."""
    here, there, counts, hits_here = _here_and_in_a_new_process(_RANKING_SCRIPT, tmp_path)
    _assert_fresh_and_cached_agree(here, there, counts, hits_here)
    for k, v in here.items():
        if not k.startswith("metric/"):
            assert np.isfinite(v).all(), k
