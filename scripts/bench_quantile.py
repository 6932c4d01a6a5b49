"""Quantile regression at native quality: our QuantileLoss with and without leaf renewal vs the engines' built-ins.

Held-out pinball loss and coverage (fraction of test rows with ``y <= prediction``, ideally ``alpha``) on
california_housing, autoclaims and a synthetic heteroscedastic heavy-tailed set, for alpha in {0.1, 0.5, 0.9}:

* LightGBM built-in ``objective="quantile"``; ``GBMRegressor(objective="quantile")`` with leaf renewal (the default)
  and with ``leaf_renewal=False`` (a plain grad/hess callback); same rounds, leaves, learning rate.
* XGBoost built-in ``reg:quantileerror``; our objective as a plain callback, and with leaf renewal
  (:mod:`gbm_objectives.adapters.xgboost_renewal`).
* XGBoost training wall time: built-in vs ours + renewal (and ours, no renewal), trained round by round in
  lockstep, medians and ratios.

Writes the ``quantile`` section of BENCHMARKS.md.

    .venv/bin/python scripts/bench_quantile.py [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_svmlight_file
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

import lightgbm as lgb  # noqa: E402
import xgboost as xgb  # noqa: E402

import gbm_objectives as go  # noqa: E402
from gbm_objectives.adapters.xgboost_renewal import xgboost_quantile_leaf_renewal  # noqa: E402

DATA = _bench.SHARED_DATASETS
ALPHAS = (0.1, 0.5, 0.9)


def load_california():
    with gzip.open(DATA / "california_housing" / "housing.csv.gz", "rt") as fh:
        frame = pd.read_csv(fh)
    y = frame.pop("median_house_value").to_numpy(dtype=np.float64) / 1e5  # in $100k
    frame["ocean_proximity"] = frame["ocean_proximity"].astype("category").cat.codes
    X = frame.to_numpy(dtype=np.float64)  # total_bedrooms keeps its 207 NaNs (both engines handle them)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    return X_tr, y_tr, X_te, y_te, "20,640 rows, random 80/20 split (seed 0), target in $100k, NaNs kept"


def load_autoclaims():
    X_tr, y_tr = load_svmlight_file(str(DATA / "autoclaims" / "autoclaims.train"), n_features=34)
    X_te, y_te = load_svmlight_file(str(DATA / "autoclaims" / "autoclaims.test"), n_features=34)
    scale = 1e3  # claim amount in thousands
    return X_tr.toarray(), y_tr / scale, X_te.toarray(), y_te / scale, "given train/test files (5,445 / 1,328), target in 1,000s"


def load_synthetic(n=10000, seed=0):
    rng = np.random.default_rng(seed)

    def draw(m):
        X = rng.uniform(-2, 2, size=(m, 5))
        y = np.sin(2 * X[:, 0]) + X[:, 1] + np.exp(0.6 * X[:, 2]) * rng.standard_t(3, size=m)
        return X, y

    X_tr, y_tr = draw(n)
    X_te, y_te = draw(n)
    return X_tr, y_tr, X_te, y_te, (
        f"{n:,} train / {n:,} test rows; y = sin(2 x0) + x1 + exp(0.6 x2) * t_3 noise, x ~ U(-2, 2)^5 (heteroscedastic, "
        "heavy-tailed)"
    )


# ---------------------------------------------------------------------------------------------------------
def fit_predict(kind, alpha, X, y, Xt, *, rounds, leaves, depth, lr, threads):
    obj = go.QuantileLoss(alpha)
    t0 = time.perf_counter()
    if kind == "lgb-builtin":
        params = {"objective": "quantile", "alpha": alpha, "learning_rate": lr, "num_leaves": leaves,
                  "num_threads": threads, "verbosity": -1, "deterministic": True, "seed": 0}
        booster = lgb.train(params, lgb.Dataset(X, y), rounds)
        pred = booster.predict(Xt)
    elif kind in ("lgb-ours-renewal", "lgb-ours-plain"):
        reg = go.GBMRegressor(objective=obj, n_estimators=rounds, learning_rate=lr, n_jobs=threads,
                              backend_params={"num_leaves": leaves}, leaf_renewal=kind.endswith("renewal")).fit(X, y)
        pred = reg.predict(Xt)
    elif kind == "xgb-builtin":
        params = {"objective": "reg:quantileerror", "quantile_alpha": alpha, "eta": lr, "max_depth": depth,
                  "nthread": threads, "tree_method": "hist"}
        booster = xgb.train(params, xgb.DMatrix(X, y), rounds)
        pred = booster.predict(xgb.DMatrix(Xt))
    elif kind == "xgb-ours-plain":
        reg = go.GBMRegressor(objective=obj, backend="xgboost", n_estimators=rounds, learning_rate=lr, n_jobs=threads,
                              backend_params={"max_depth": depth}, leaf_renewal=False).fit(X, y)
        pred = reg.predict(Xt)
    elif kind == "xgb-ours-renewal":
        init = obj.init_score(y)
        params = {"eta": lr, "max_depth": depth, "nthread": threads, "tree_method": "hist", "disable_default_eval_metric": 1}
        dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), init))
        renewal = xgboost_quantile_leaf_renewal(obj, dtrain)
        booster = xgb.train(params, dtrain, rounds, obj=go.xgboost_objective(renewal.objective), callbacks=[renewal])
        pred = booster.predict(xgb.DMatrix(Xt, base_margin=np.full(len(Xt), init)), output_margin=True)
    else:  # pragma: no cover
        raise ValueError(kind)
    return pred, time.perf_counter() - t0


KINDS = ("lgb-builtin", "lgb-ours-renewal", "lgb-ours-plain", "xgb-builtin", "xgb-ours-renewal", "xgb-ours-plain")
LABELS = {
    "lgb-builtin": "LightGBM built-in `quantile`",
    "lgb-ours-renewal": "LightGBM, ours + leaf renewal",
    "lgb-ours-plain": "LightGBM, ours, no renewal",
    "xgb-builtin": "XGBoost built-in `reg:quantileerror`",
    "xgb-ours-renewal": "XGBoost, ours + leaf renewal",
    "xgb-ours-plain": "XGBoost, ours, no renewal",
}
REFERENCE = {k: ("lgb-builtin" if k.startswith("lgb") else "xgb-builtin") for k in KINDS}


def run(name, data, *, rounds, leaves, depth, lr, threads, kinds=KINDS):
    X, y, Xt, yt, note = data
    rows, summary = [], []
    for alpha in ALPHAS:
        obj = go.QuantileLoss(alpha)
        res = {}
        for kind in kinds:
            pred, seconds = fit_predict(kind, alpha, X, y, Xt, rounds=rounds, leaves=leaves, depth=depth, lr=lr,
                                        threads=threads)
            res[kind] = (obj.loss(yt, pred), float(np.mean(yt <= pred)), seconds)
        for kind in kinds:
            loss, cover, seconds = res[kind]
            ref = res[REFERENCE[kind]][0]
            rows.append(f"| {alpha:g} | {LABELS[kind]} | {loss:.5f} | {100 * (loss / ref - 1):+.2f} % | {cover:.3f} | "
                        f"{seconds:.2f} |")
        if "lgb-ours-renewal" in res:
            summary.append((alpha, res["lgb-ours-renewal"][0] / res["lgb-builtin"][0] - 1,
                            res["lgb-ours-plain"][0] / res["lgb-builtin"][0] - 1,
                            res["xgb-ours-renewal"][0] / res["xgb-builtin"][0] - 1))
    header = ("| alpha | model | pinball loss | vs built-in (same engine) | coverage | fit s |\n"
              "|---|---|---|---|---|---|")
    return f"### {name}\n\n{note}; {X.shape[1]} features.\n\n{header}\n" + "\n".join(rows) + "\n", summary


TIMED = ("xgb-builtin", "xgb-ours-renewal", "xgb-ours-plain")


def _xgboost_trainer(kind, alpha, X, y, *, rounds, depth, lr, threads):
    """``(start, step)`` for ``_bench.lockstep``: the loop of ``xgb.train`` (no evaluation sets), one round a step.

    ``start`` (not timed) builds the DMatrix and the Booster and runs ``before_training``; ``step(state, i)`` runs
    ``Booster.update`` and the callback's ``after_iteration``, and in the last round ``after_training`` (the renewal's
    one JSON edit + reload), exactly what ``xgb.train(..., callbacks=[renewal])`` runs.
    """
    params = {"eta": lr, "max_depth": depth, "nthread": threads, "tree_method": "hist"}

    def start():
        if kind == "xgb-builtin":
            dtrain = xgb.DMatrix(X, y)
            return {"booster": xgb.Booster({**params, "objective": "reg:quantileerror", "quantile_alpha": alpha},
                                           [dtrain]), "dtrain": dtrain, "obj": None, "renewal": None}
        obj = go.QuantileLoss(alpha)
        dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), obj.init_score(y)))
        booster = xgb.Booster({**params, "disable_default_eval_metric": 1}, [dtrain])
        renewal = xgboost_quantile_leaf_renewal(obj, dtrain) if kind == "xgb-ours-renewal" else None
        if renewal is not None:
            booster = renewal.before_training(booster)
        fobj = go.xgboost_objective(renewal.objective if renewal is not None else obj)
        return {"booster": booster, "dtrain": dtrain, "obj": fobj, "renewal": renewal}

    def step(state, i):
        state["booster"].update(state["dtrain"], i, fobj=state["obj"])
        renewal = state["renewal"]
        if renewal is not None:
            renewal.after_iteration(state["booster"], i, {})
            if i == rounds - 1:
                renewal.after_training(state["booster"])

    return start, step


def time_xgboost(name, data, *, rounds, leaves, depth, lr, threads, repeats):
    """Training wall time of the XGBoost built-in vs ours + renewal (and ours, no renewal), trained round by round
    in lockstep (``_bench.lockstep``: a slow spell of the shared machine falls on all three alike); medians of
    ``repeats`` runs and ratios of medians. Returns table rows and (alpha, ratio) pairs."""
    X, y = data[0], data[1]
    rows, ratios = [], []
    for alpha in ALPHAS:
        trainers = {kind: _xgboost_trainer(kind, alpha, X, y, rounds=rounds, depth=depth, lr=lr, threads=threads)
                    for kind in TIMED}
        times = _bench.lockstep(trainers, rounds, repeats=repeats, warmup=1)
        med = {kind: _bench.median(times[kind]) for kind in TIMED}
        base = med["xgb-builtin"]
        ratios.append((alpha, med["xgb-ours-renewal"] / base))
        rows.append(f"| {name} | {alpha:g} | {base:.2f} | {med['xgb-ours-renewal']:.2f} | "
                    f"{med['xgb-ours-renewal'] / base:.2f} | {med['xgb-ours-plain']:.2f} | "
                    f"{med['xgb-ours-plain'] / base:.2f} | {1e3 * base / rounds:.2f} | "
                    f"{1e3 * (med['xgb-ours-renewal'] - med['xgb-ours-plain']) / rounds:.2f} |")
    return rows, ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rounds = 30 if args.quick else 100
    leaves, depth, lr = 31, 6, 0.1
    datasets = [
        ("california_housing", load_california),
        ("autoclaims", load_autoclaims),
        ("synthetic heteroscedastic", lambda: load_synthetic(2000 if args.quick else 10000)),
    ]
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    parts, findings, xgb_findings = [], [], []
    repeats = 3 if args.quick else 5
    timing = ["| data | alpha | built-in s | ours + renewal s | ratio | ours, no renewal s | ratio | "
              "built-in ms/round | renewal ms/round |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, loader in datasets:
        try:
            data = loader()
        except FileNotFoundError as exc:
            findings.append(f"- {name}: skipped ({exc})")
            continue
        t0 = time.perf_counter()
        part, summary = run(name, data, rounds=rounds, leaves=leaves, depth=depth, lr=lr, threads=args.threads)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        parts.append(part)
        rows, ratios = time_xgboost(name, data, rounds=rounds, leaves=leaves, depth=depth, lr=lr,
                                    threads=args.threads, repeats=repeats)
        print(f"{name}: timed", flush=True)
        timing += rows
        for (alpha, renewed, plain, xgb_renewed), (_, ratio) in zip(summary, ratios):
            findings.append(f"- {name}, alpha={alpha:g}: LightGBM + renewal {100 * renewed:+.2f} % vs built-in "
                            f"(no renewal: {100 * plain:+.2f} %).")
            xgb_findings.append(f"- {name}, alpha={alpha:g}: XGBoost + renewal {100 * xgb_renewed:+.2f} % vs "
                                f"`reg:quantileerror`, wall time {ratio:.2f}x.")
    # rounds sweep on the heavy-tailed synthetic set (LightGBM only: cheap)
    sweep = ["| rounds | alpha | built-in | ours + renewal | ours, no renewal |", "|---|---|---|---|---|"]
    data = load_synthetic(2000 if args.quick else 10000)
    for r in ((20, 50) if args.quick else (50, 300)):
        for alpha in ALPHAS:
            obj = go.QuantileLoss(alpha)
            loss = {k: obj.loss(data[3], fit_predict(k, alpha, *data[:3], rounds=r, leaves=leaves, depth=depth, lr=lr,
                                                     threads=args.threads)[0])
                    for k in ("lgb-builtin", "lgb-ours-renewal", "lgb-ours-plain")}
            b = loss["lgb-builtin"]
            sweep.append(f"| {r} | {alpha:g} | {b:.5f} | {loss['lgb-ours-renewal']:.5f} ({100 * (loss['lgb-ours-renewal'] / b - 1):+.2f} %) | "
                         f"{loss['lgb-ours-plain']:.5f} ({100 * (loss['lgb-ours-plain'] / b - 1):+.2f} %) |")
    total = time.perf_counter() - t_start
    load = (load_start, os.getloadavg()[0])
    md = "\n".join([
        "## Quantile regression: leaf renewal (`scripts/bench_quantile.py`)",
        "",
        f"Machine: {_bench.machine_info(args.threads)}. Total {total:.0f} s"
        + (" (**--quick** run: not the reported configuration)" if args.quick else "") + ".",
        "",
        f"Settings: {rounds} rounds, learning rate {lr}; LightGBM `num_leaves={leaves}`, XGBoost `max_depth={depth}` "
        "(hist); everything else default. Pinball loss on the held-out rows (lower is better), relative to the "
        "built-in objective of the same engine; coverage = fraction of held-out rows with y <= prediction (target: "
        "alpha). Our models start from `QuantileLoss.init_score` (the lower weighted quantile, a pinball argmin); "
        "LightGBM's built-in starts from its interpolated quantile. Fit times include Python overhead and are "
        "single runs on a shared machine: indicative only.",
        "",
        "### Findings",
        "",
        *findings,
        *xgb_findings,
        "- XGBoost renewal (`xgboost_quantile_leaf_renewal`): O(rounds). The renewed margins are kept outside the "
        "booster (the objective trains on them) and the leaves are written into the model once after training; "
        "the former JSON rewrite + reload every round (O(rounds^2)) took 4.8 to 12.3 s per model in the previous "
        "published run of this benchmark. TreeObjective (XGBoost 3.2) cannot express a per-leaf quantile (its leaf "
        "values stay Newton steps).",
        "",
        f"### XGBoost training wall time: built-in vs ours + renewal (median of {repeats} runs in lockstep)",
        "",
        "Renewal ms/round = (ours + renewal - ours, no renewal) / rounds: the renewal's own cost per round (a "
        "one-tree model slice and its JSON, the leaf walk, the residual sort; the final JSON edit spread over the "
        "rounds). It does not grow with the number of trees (one one-tree slice per round); it has a fixed part (the "
        "slice, the JSON) and a part linear in the rows (walk, sort), so relative to XGBoost's own per-round time it "
        "is largest on the smallest data set (autoclaims). The machine is shared: other processes' load (1-minute "
        f"load average {load[0]:.1f} at the start, {load[1]:.1f} at the end, 2 cores) varies during the run.",
        "",
        *timing,
        "",
        *parts,
        "### Rounds sweep, synthetic heteroscedastic (LightGBM)",
        "",
        *sweep,
        "",
    ])
    _bench.publish("quantile", md, write=not args.no_write, detail=f" ({total:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
