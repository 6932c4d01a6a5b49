#!/usr/bin/env python
"""Benchmark: whole-training wall time of each custom pointwise objective / the engine's built-in counterpart,
plus the parity numbers (max |prediction difference|) that prove the core and adapters reproduce the built-ins.

Writes the "objectives" section of BENCHMARKS.md. Same data, same trees, same threads. The two trainings of a pair
run in lockstep, one boosting round of each in turn with the order flipped every round (A B, B A, ...), so that a
slow spell of a shared machine hits both; the sum of the rounds' wall times is one run, and the ratio of the medians
over runs is reported.

    python scripts/bench_objectives.py                 # 1M rows x 50 features, 2 threads
    python scripts/bench_objectives.py --rows 200000 --rounds 10 --repeats 2 --no-write   # a quick look
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import lightgbm as lgb
import numba
import numpy as np
import xgboost as xgb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

import gbm_objectives as go  # noqa: E402
from gbm_objectives.adapters import lightgbm as L  # noqa: E402
from gbm_objectives.adapters import xgboost as XG  # noqa: E402


def make_data(n_rows, n_features, seed=0):
    """Synthetic tabular data: a binary label (~10% positive), a heavy-tailed regression target, 3 classes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    signal = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + 0.3 * np.sin(3 * X[:, 3])
    y_bin = (signal + rng.logistic(size=n_rows) > 2.2).astype(np.float64)
    y_reg = signal * 2 + rng.standard_t(df=2, size=n_rows)
    y_cls = np.digitize(signal + rng.normal(size=n_rows) * 0.5, [-0.5, 0.7]).astype(np.float64)
    return X, y_bin, y_reg, y_cls


def cases(y_bin, y_reg, y_cls):
    """(name, objective, labels, LightGBM built-in params, XGBoost built-in params or None, note)."""
    pos_weight = float((y_bin == 0).sum() / (y_bin == 1).sum())
    return [
        ("logloss", go.LogLoss(), y_bin, {"objective": "binary"}, {"objective": "binary:logistic"}, ""),
        ("weighted_ce", go.WeightedCrossEntropy(pos_weight), y_bin,
         {"objective": "binary", "scale_pos_weight": pos_weight},
         {"objective": "binary:logistic", "scale_pos_weight": pos_weight}, ""),
        ("focal", go.FocalLoss(), y_bin, {"objective": "binary"}, {"objective": "binary:logistic"},
         "no built-in twin: reference is binary log loss"),
        ("squared_error", go.SquaredError(), y_reg, {"objective": "regression"}, {"objective": "reg:squarederror"}, ""),
        ("huber", go.HuberLoss(1.0), y_reg, {"objective": "huber", "alpha": 1.0},
         {"objective": "reg:pseudohubererror", "huber_slope": 1.0}, "XGBoost reference is pseudo-Huber"),
        ("quantile", go.QuantileLoss(0.9), y_reg, {"objective": "quantile", "alpha": 0.9},
         {"objective": "reg:quantileerror", "quantile_alpha": 0.9}, "built-ins also re-fit leaves"),
        ("softmax", go.SoftmaxCrossEntropy(3, hessian_scale="lightgbm"), y_cls,
         {"objective": "multiclass", "num_class": 3}, {"objective": "multi:softprob", "num_class": 3}, "3 classes"),
        ("softmax_focal", go.SoftmaxFocalLoss(3), y_cls, {"objective": "multiclass", "num_class": 3},
         {"objective": "multi:softprob", "num_class": 3}, "no built-in twin: reference is softmax"),
    ]


def time_lightgbm(X, name, obj, y, builtin, rounds, threads, repeats):
    params = {"num_leaves": 31, "learning_rate": 0.1, "num_threads": threads, "verbosity": -1,
              "force_row_wise": True, "max_bin": 255}
    init = obj.init_score(y)
    init_arr = L.init_score_array(init, len(y))
    # one Dataset each, constructed (binned) before timing; both start from the same init score
    ds_custom = lgb.Dataset(X, y, init_score=init_arr, params={"max_bin": 255}, free_raw_data=False).construct()
    ds_builtin = lgb.Dataset(X, y, init_score=init_arr, params={"max_bin": 255}, free_raw_data=False).construct()
    # what lgb.train does with a callable objective: objective "none" and Booster.update(fobj=...) every round
    custom_params = {**params, "objective": "none"}
    if obj.task == "multiclass":
        custom_params["num_class"] = obj.n_classes
    fobj = go.lightgbm_objective(obj)
    builtin_params = {**params, **builtin}
    return _bench.lockstep(
        {
            "custom": (lambda: lgb.Booster(custom_params, ds_custom), lambda b, i: b.update(fobj=fobj)),
            "builtin": (lambda: lgb.Booster(builtin_params, ds_builtin), lambda b, i: b.update()),
        },
        rounds,
        repeats=repeats,
    )


def time_xgboost(X, name, obj, y, builtin, rounds, threads, repeats):
    params = {"max_depth": 6, "eta": 0.1, "nthread": threads, "tree_method": "hist", "max_bin": 256, "verbosity": 0}
    init = obj.init_score(y)
    dtrain = xgb.QuantileDMatrix(X, y, base_margin=XG.base_margin_array(init, len(y)), max_bin=256)
    custom_params = {**params, "disable_default_eval_metric": 1}
    if obj.task == "multiclass":
        custom_params["num_class"] = obj.n_classes
    fobj = go.xgboost_objective(obj)
    builtin_params = {**params, **builtin}
    # what xgb.train does every round (without evaluation sets): Booster.update(dtrain, i, fobj)
    return _bench.lockstep(
        {
            "custom": (lambda: xgb.Booster(custom_params, [dtrain]), lambda b, i: b.update(dtrain, i, fobj)),
            "builtin": (lambda: xgb.Booster(builtin_params, [dtrain]), lambda b, i: b.update(dtrain, i)),
        },
        rounds,
        repeats=repeats,
    )


def grad_hess_ms(obj, y, X, repeats=5):
    """Milliseconds per grad_hess call of the core alone (float32 buffers, as the adapters call it)."""
    import time

    prepared = obj.prepare(y)
    shape = (len(y), obj.n_classes) if obj.n_classes else (len(y),)
    raw = np.random.default_rng(0).normal(size=shape)
    g, h = np.empty(shape, np.float32), np.empty(shape, np.float32)
    obj.grad_hess_prepared(prepared, raw, grad_out=g, hess_out=h)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        obj.grad_hess_prepared(prepared, raw, grad_out=g, hess_out=h)
        ts.append(time.perf_counter() - t0)
    return 1e3 * _bench.median(ts)


def parity_report(rounds=100):
    """Max |raw prediction difference| against the built-ins on LightGBM's binary example (real data, weighted)."""
    d = _bench.SHARED_DATASETS / "lightgbm_binary"
    if not d.exists():
        return "Parity: skipped, ../shared/datasets/lightgbm_binary is absent.\n"
    tr, te = np.loadtxt(d / "binary.train"), np.loadtxt(d / "binary.test")
    X, y, Xt, w = tr[:, 1:], tr[:, 0], te[:, 1:], np.loadtxt(d / "binary.train.weight")
    y_reg = 3 * y + X[:, 0]
    lp = {"num_leaves": 31, "learning_rate": 0.1, "verbosity": -1, "deterministic": True, "force_row_wise": True,
          "num_threads": 2}
    xp = {"max_depth": 6, "eta": 0.1, "tree_method": "hist", "nthread": 2}
    rows = []
    # LightGBM: LogLoss + init score vs binary with boost_from_average
    obj = go.LogLoss()
    init = obj.init_score(y, sample_weight=w)
    ref = lgb.train({**lp, "objective": "binary"}, lgb.Dataset(X, y, weight=w), rounds)
    cus, _ = L.train(obj, X, y, params=lp, num_boost_round=rounds, sample_weight=w, init_score=init)
    rows.append(("LightGBM", "LogLoss + init_score", "binary (boost_from_average)",
                 np.abs(ref.predict(Xt, raw_score=True) - L.predict_raw(cus, Xt, init)).max()))
    for label, o, builtin, yy, init in [
        ("WeightedCrossEntropy(3)", go.WeightedCrossEntropy(3.0), {"objective": "binary", "scale_pos_weight": 3.0}, y,
         go.LogLoss().init_score(y, sample_weight=w)),
        ("SquaredError", go.SquaredError(), {"objective": "regression"}, y_reg, np.average(y_reg, weights=w)),
        ("HuberLoss(0.5), mean init", go.HuberLoss(0.5), {"objective": "huber", "alpha": 0.5}, y_reg,
         np.average(y_reg, weights=w)),
    ]:
        ds = lgb.Dataset(X, yy, weight=w, init_score=np.full(len(yy), init))
        ref = lgb.train({**lp, **builtin}, ds, rounds)
        cus, _ = L.train(o, X, yy, params=lp, num_boost_round=rounds, sample_weight=w, init_score=init)
        desc = ", ".join(f"{k}={v}" for k, v in builtin.items())
        rows.append(("LightGBM", label, desc, np.abs(ref.predict(Xt, raw_score=True) - cus.predict(Xt, raw_score=True)).max()))
    for label, o, builtin, yy in [
        ("LogLoss", go.LogLoss(), {"objective": "binary:logistic"}, y),
        ("WeightedCrossEntropy(3)", go.WeightedCrossEntropy(3.0), {"objective": "binary:logistic", "scale_pos_weight": 3.0}, y),
        ("SquaredError", go.SquaredError(), {"objective": "reg:squarederror"}, y_reg),
    ]:
        init = o.init_score(yy, sample_weight=w)
        ref = xgb.train({**xp, **builtin}, xgb.DMatrix(X, yy, weight=w, base_margin=np.full(len(yy), init)), rounds)
        cus, _ = XG.train(o, X, yy, params=xp, num_boost_round=rounds, sample_weight=w, init_score=init)
        desc = ", ".join(f"{k}={v}" for k, v in builtin.items())
        rows.append(("XGBoost", label, desc, np.abs(XG.predict_raw(ref, Xt, init) - XG.predict_raw(cus, Xt, init)).max()))
    # multiclass on LightGBM's multiclass example
    dm = _bench.SHARED_DATASETS / "lightgbm_multiclass"
    trm, tem = np.loadtxt(dm / "multiclass.train"), np.loadtxt(dm / "multiclass.test")
    Xm, ym, Xmt = trm[:, 1:], trm[:, 0], tem[:, 1:]
    for engine, scale in (("LightGBM", "lightgbm"), ("XGBoost", "xgboost")):
        o = go.SoftmaxCrossEntropy(5, hessian_scale=scale)
        init = o.init_score(ym)
        if engine == "LightGBM":
            ref = lgb.train({**lp, "objective": "multiclass", "num_class": 5},
                            lgb.Dataset(Xm, ym, init_score=np.tile(init, (len(ym), 1))), rounds)
            cus, _ = L.train(o, Xm, ym, params=lp, num_boost_round=rounds, init_score=init)
            diff = np.abs(ref.predict(Xmt, raw_score=True) - cus.predict(Xmt, raw_score=True)).max()
            desc = "multiclass"
        else:
            ref = xgb.train({**xp, "objective": "multi:softprob", "num_class": 5},
                            xgb.DMatrix(Xm, ym, base_margin=np.tile(init, (len(ym), 1))), rounds)
            cus, _ = XG.train(o, Xm, ym, params=xp, num_boost_round=rounds, init_score=init)
            diff = np.abs(XG.predict_raw(ref, Xmt, init) - XG.predict_raw(cus, Xmt, init)).max()
            desc = "multi:softprob"
        rows.append((engine, f"SoftmaxCrossEntropy(5, hessian_scale={scale!r})", desc, diff))
    lines = [
        f"Parity after {rounds} rounds on LightGBM's binary example (7,000 rows, row weights) and multiclass example "
        "(7,000 rows, 5 classes): max |raw prediction difference| on the test file. XGBoost predicts in float32.",
        "",
        "| engine | custom objective | built-in | max abs diff |",
        "|---|---|---|---|",
    ]
    lines += [f"| {e} | {c} | {b} | {d:.2e} |" for e, c, b, d in rows]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engines", default="lightgbm,xgboost")
    ap.add_argument("--only", default=None, help="comma-separated objective names")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))

    X, y_bin, y_reg, y_cls = make_data(args.rows, args.features)
    table = ["| objective | engine | custom (s, median) | built-in (s, median) | ratio | grad_hess ms/call | note |",
             "|---|---|---|---|---|---|---|"]
    for name, obj, y, lgb_builtin, xgb_builtin, note in cases(y_bin, y_reg, y_cls):
        if args.only and name not in args.only.split(","):
            continue
        ms = grad_hess_ms(obj, y, X)
        for engine in args.engines.split(","):
            fn = time_lightgbm if engine == "lightgbm" else time_xgboost
            builtin = lgb_builtin if engine == "lightgbm" else xgb_builtin
            times = fn(X, name, obj, y, builtin, args.rounds, args.threads, args.repeats)
            c, b = _bench.median(times["custom"]), _bench.median(times["builtin"])
            row = f"| {name} | {engine} | {c:.2f} | {b:.2f} | {c / b:.3f} | {ms:.1f} | {note} |"
            print(row, flush=True)
            table.append(row)
    parity = parity_report()
    print(parity)
    md = "\n".join([
        "## Pointwise objectives: custom vs built-in",
        "",
        f"`scripts/bench_objectives.py`: {args.rows:,} rows x {args.features} features (synthetic), {args.rounds} rounds, "
        f"LightGBM num_leaves=31 / XGBoost max_depth=6 hist, both at max_bin 255/256, from the same init score. "
        f"Training wall time (the sum of the boosting rounds, `Booster.update` as `lgb.train`/`xgb.train` call it; "
        f"Dataset/DMatrix built before timing). Custom and built-in train in lockstep, one round of each in turn, "
        f"the order flipped every round, so that slow spells of the shared machine hit both; one untimed warm-up "
        f"run, then {args.repeats} runs each, median. Target: ratio <= 1.05.",
        "",
        f"Machine: {_bench.machine_info(args.threads)}.",
        "",
        *table,
        "",
        "`grad_hess ms/call`: the objective core alone on all rows (numba, float32 outputs as the adapters use).",
        "",
        "### Parity with the built-ins",
        "",
        parity,
    ])
    _bench.publish("objectives", md, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
