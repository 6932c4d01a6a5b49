"""Benchmark of the from-scratch LambdaRank objective: speed against LightGBM's built-in, and ranking quality.

Two sections of BENCHMARKS.md:

* ``ranking`` (speed): an MSLR-shaped synthetic set from ``gbm_objectives.datasets.make_ranking`` (about 1M rows,
  136 features, 20-250 documents per query, labels 0-4). Whole-training wall time of LightGBM with our objective
  (``objective="scratch"``) against LightGBM's ``lambdarank``, same parameters, same rounds, same Dataset,
  2 threads, alternating A B A B and quoting medians. Also the objective's own time per call (ms per million
  rows) at 1 and 2 threads.
* ``ranking_quality``: LETOR 4.0 MQ2008, all 5 folds, four combinations (LightGBM / XGBoost x native /
  scratch), same settings and rounds: NDCG@1/5/10 and MRR on each fold's test set.

Usage::

    python scripts/bench_ranking.py               # both sections (about 10 minutes on 2 cores)
    python scripts/bench_ranking.py --quick       # smaller data, fewer repeats (a smoke run; does not write)
    python scripts/bench_ranking.py --only speed  # or --only quality
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import SHARED_DATASETS, alternate, machine_info, median, publish  # noqa: E402

import gbm_objectives as go  # noqa: E402

THREADS = 2


def _synthetic(n_queries, seed=0):
    """MSLR-shaped data from the package's generator (falls back to an equivalent local one if it is absent)."""
    try:
        from gbm_objectives.datasets import make_ranking
    except ImportError:  # pragma: no cover - the generator ships with the package
        make_ranking = None
    if make_ranking is not None:
        X, y, qid = make_ranking(n_queries=n_queries, docs_per_query=(20, 250), n_features=136, n_labels=5, seed=seed)
        return X, y, np.bincount(qid), "gbm_objectives.datasets.make_ranking"
    rng = np.random.default_rng(seed)
    sizes = rng.integers(20, 251, size=n_queries)
    X = rng.standard_normal((int(sizes.sum()), 136), dtype=np.float32)
    s = X[:, :10] @ rng.standard_normal(10) + rng.standard_normal(len(X))
    y = np.searchsorted(np.quantile(s, [0.52, 0.84, 0.97, 0.99]), s).astype(np.float64)
    return X, y, sizes, "local fallback generator"


# =====================================================================================================
# Speed
# =====================================================================================================
def bench_speed(quick=False):
    import lightgbm as lgb
    import numba

    n_queries = 600 if quick else 7400  # 7400 queries of 20..250 documents: about 1.0M rows
    rounds = 5 if quick else 20
    repeats = 1 if quick else 3
    t0 = time.perf_counter()
    X, y, group, source = _synthetic(n_queries)
    n = len(y)
    print(f"data: {n} rows, {len(group)} queries ({source}), {time.perf_counter() - t0:.1f} s", flush=True)

    obj = go.LambdaRankObjective()  # metric ndcg, truncation 30, sigmoid 1, norm on: LightGBM's defaults
    params = dict(
        learning_rate=0.1, num_leaves=31, num_threads=THREADS, deterministic=True, seed=0, verbosity=-1,
        lambdarank_truncation_level=obj.truncation_level, lambdarank_norm=obj.norm, sigmoid=obj.sigmoid,
    )
    data = lgb.Dataset(X, y, group=group, free_raw_data=False, params={"verbosity": -1})
    data.construct()
    numba.set_num_threads(THREADS)
    models = {}

    def native():
        models["native"] = lgb.train({**params, "objective": "lambdarank"}, data, rounds)

    def scratch():  # a new wrapper each time: label/group validation and the max-DCG cache are timed too
        models["scratch"] = lgb.train({**params, "objective": go.lightgbm_objective(obj)}, data, rounds)

    times = alternate({"native": native, "scratch": scratch}, repeats=repeats, warmup=1)
    t_nat, t_scr = median(times["native"]), median(times["scratch"])
    pred_diff = float(
        np.abs(models["native"].predict(X[:20000], raw_score=True) - models["scratch"].predict(X[:20000], raw_score=True)).max()
    )
    print(f"training: native {t_nat:.2f} s, scratch {t_scr:.2f} s, ratio {t_scr / t_nat:.3f}", flush=True)

    # the objective alone: one call on scores after a few rounds (realistic ties and spreads)
    raw = models["native"].predict(X, raw_score=True)
    prepared = obj.prepare(y, group=group)
    g32, h32 = np.empty(n, np.float32), np.empty(n, np.float32)
    per_thread = {}
    for threads in (1, THREADS):
        numba.set_num_threads(threads)
        per_thread[threads] = alternate(
            {"call": lambda: obj.grad_hess_prepared(prepared, raw, grad_out=g32, hess_out=h32)},
            repeats=3 if quick else 7, warmup=1,
        )["call"]
    # CPU time of one call at 1 thread: insensitive to other jobs competing for the cores
    numba.set_num_threads(1)
    cpu = []
    for _ in range(5):
        c0 = time.process_time()
        obj.grad_hess_prepared(prepared, raw, grad_out=g32, hess_out=h32)
        cpu.append(time.process_time() - c0)
    cpu_ms = median(cpu) * 1e3 / (n / 1e6)
    numba.set_num_threads(THREADS)
    ms = {t: median(v) * 1e3 / (n / 1e6) for t, v in per_thread.items()}
    print(f"objective: {ms[1]:.1f} ms/Mrow at 1 thread, {ms[THREADS]:.1f} at {THREADS}", flush=True)

    t_prep = alternate({"prepare": lambda: obj.prepare(y, group=group)}, repeats=3, warmup=1)["prepare"]
    md = f"""## Ranking: from-scratch LambdaRank vs LightGBM `lambdarank` (speed)

Data: `{source}(n_queries={n_queries}, docs_per_query=(20, 250), n_features=136, n_labels=5, seed=0)`:
{n:,} rows, {len(group):,} queries. LightGBM {rounds} rounds, `num_leaves=31`, `learning_rate=0.1`,
`deterministic=True`, truncation 30, norm on, sigma 1, {THREADS} threads (LightGBM `num_threads` and numba).
Timing: {repeats} alternating A/B runs after one warm-up, median wall time of the whole `lgb.train` call (Dataset
built once, before timing; the scratch run includes its one-time label/group validation and max-DCG cache).

| | wall time (s) | per round (ms) |
|---|---:|---:|
| LightGBM `lambdarank` (native) | {t_nat:.2f} | {t_nat / rounds * 1e3:.0f} |
| LightGBM + `go.LambdaRankObjective` (scratch) | {t_scr:.2f} | {t_scr / rounds * 1e3:.0f} |
| **ratio scratch / native** | **{t_scr / t_nat:.3f}** | |

Runs per side: native {", ".join(f"{t:.2f}" for t in times["native"])}; scratch {", ".join(f"{t:.2f}" for t in times["scratch"])} s;
paired ratios (each scratch run over the native run just before it): {", ".join(f"{b / a:.3f}" for a, b in zip(times["native"], times["scratch"]))}.
Max |prediction difference| after {rounds} rounds (first 20,000 rows): {pred_diff:.2e} (LightGBM reads the sigmoid
from a table; with `norm=True` that ~1e-5 difference can flip a near-tie split, see the tests).

The objective alone (one `grad_hess_prepared` call into float32 buffers, scores of the trained native model):

| threads | ms per call | ms per million rows |
|---:|---:|---:|
| 1 | {median(per_thread[1]) * 1e3:.1f} | {ms[1]:.1f} |
| {THREADS} | {median(per_thread[THREADS]) * 1e3:.1f} | {ms[THREADS]:.1f} |

CPU time of one call at 1 thread (`time.process_time`, unaffected by other jobs' load): {cpu_ms:.1f} ms per
million rows. Wall-time scaling 1 -> {THREADS} threads: {ms[1] / ms[THREADS]:.2f}x (meaningful only on idle cores). One-time `prepare` (validation, max-DCG cache, work
blocks): {median(t_prep) * 1e3:.0f} ms.

Machine: {machine_info(THREADS)}. The machine was shared with other jobs while this ran (load average
{_loadavg()}), so absolute times are noisy; the A/B alternation keeps the ratio fair.
"""
    return md


def _loadavg():
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:  # pragma: no cover
        return "n/a"


# =====================================================================================================
# Quality
# =====================================================================================================
COMBOS = [("lightgbm", "native"), ("lightgbm", "scratch"), ("xgboost", "native"), ("xgboost", "scratch")]


def bench_quality(quick=False, n_estimators=100):
    from gbm_objectives.datasets import load_letor
    from gbm_objectives.metrics import mrr_score, ndcg_score

    root = SHARED_DATASETS / "letor4_mq2008"
    if not root.exists():
        print(f"skipping quality: {root} is absent")
        return None
    folds = [1] if quick else [1, 2, 3, 4, 5]
    rows = []
    results = {c: [] for c in COMBOS}
    for fold in folds:
        Xtr, ytr, qtr = load_letor(root / f"Fold{fold}" / "train.txt.gz", n_features=46)
        Xte, yte, qte = load_letor(root / f"Fold{fold}" / "test.txt.gz", n_features=46)
        for backend, objective in COMBOS:
            t0 = time.perf_counter()
            model = go.LambdaMART(
                backend=backend, objective=objective, n_estimators=n_estimators, learning_rate=0.1, n_jobs=THREADS
            ).fit(Xtr, ytr, qid=qtr)
            s = model.predict(Xte)
            m = [ndcg_score(yte, s, qid=qte, k=k) for k in (1, 5, 10)] + [mrr_score(yte, s, qid=qte)]
            results[(backend, objective)].append(m)
            rows.append(f"| {fold} | {backend} | {objective} | " + " | ".join(f"{v:.4f}" for v in m) + " |")
            print(rows[-1], f"{time.perf_counter() - t0:.1f} s", flush=True)
    mean = {c: np.mean(v, axis=0) for c, v in results.items()}
    summary = [
        f"| {b} | {o} | " + " | ".join(f"{v:.4f}" for v in mean[(b, o)]) + " |" for b, o in COMBOS
    ]
    d_lgb = mean[("lightgbm", "scratch")][2] - mean[("lightgbm", "native")][2]
    d_xgb = mean[("xgboost", "scratch")][2] - mean[("xgboost", "native")][2]
    md = f"""## Ranking quality: LETOR 4.0 MQ2008, 5 folds, native vs scratch lambda objectives

`go.LambdaMART(backend, objective, n_estimators={n_estimators}, learning_rate=0.1)` with every other option at
its default (NDCG, truncation 30, sigma 1, norm on; LightGBM `num_leaves=31`, XGBoost `hist`, `max_depth=6`),
trained on each fold's `train.txt`, scored on its `test.txt` (no early stopping, same rounds everywhere).
Native XGBoost is `rank:ndcg` with `lambdarank_pair_method="topk"`, `lambdarank_num_pair_per_sample=30`,
`ndcg_exp_gain=True`. Metrics from `gbm_objectives.metrics` with LightGBM's convention (a query without a
relevant document scores 1; MQ2008 has many), gain 2^l - 1; MRR counts label >= 1 as relevant.

Mean over folds {folds}:

| backend | objective | NDCG@1 | NDCG@5 | NDCG@10 | MRR |
|---|---|---:|---:|---:|---:|
{chr(10).join(summary)}

Mean NDCG@10, scratch - native: LightGBM {d_lgb:+.4f} (target: within 0.003), XGBoost {d_xgb:+.4f}
(target: not below -0.01).

Per fold:

| fold | backend | objective | NDCG@1 | NDCG@5 | NDCG@10 | MRR |
|---:|---|---|---:|---:|---:|---:|
{chr(10).join(rows)}

Machine: {machine_info(THREADS)}.
"""
    print(f"mean NDCG@10 scratch - native: lightgbm {d_lgb:+.4f}, xgboost {d_xgb:+.4f}")
    return md


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run that does not write BENCHMARKS.md")
    parser.add_argument("--only", choices=["speed", "quality"], default=None)
    args = parser.parse_args(argv)
    if args.only in (None, "speed"):
        md = bench_speed(args.quick)
        publish("ranking", md, write=not args.quick)
    if args.only in (None, "quality"):
        md = bench_quality(args.quick)
        if md is not None:
            publish("ranking_quality", md, write=not args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
