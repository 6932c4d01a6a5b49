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

With ``--multi``: many quantiles in one model (``MultiQuantileLoss``, issue 27) against 9 separate built-in models,
9 levels 0.1 ... 0.9, both engines, on the same three data sets: share of test rows whose quantiles cross, mean
pinball loss over the levels, coverage per level, and the wall time of one multi-quantile fit against the 9
built-in fits, at 1 and 2 threads (alternated runs, medians); XGBoost's one-model ``quantile_alpha`` list and
CatBoost's ``MultiQuantile`` (when ``catboost`` is installed: the ``[bench]`` extra) as reference rows. Writes the
``multi_quantile`` section of BENCHMARKS.md.

    .venv/bin/python scripts/bench_quantile.py [--quick] [--multi]
"""

from __future__ import annotations

import argparse
import gzip
import math
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


# ---- many quantiles in one model (--multi) ----------------------------------------------------------------
NINE = tuple(round(0.1 * k, 1) for k in range(1, 10))


def _catboost():
    try:
        import catboost
    except ImportError:
        return None
    return catboost


class _Clock:
    """Wall and CPU seconds of the fit parts of one call (``with clock:`` around each fit), the rest of the call
    being prediction."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self._t, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self._t
        self.cpu += time.process_time() - self._c


#: the fit part (wall, CPU seconds) of each fitter's last call
LAST_FIT = {}


def multi_fitters(X, y, Xt, *, rounds, leaves, depth, lr, threads):
    """name -> fn() returning the (n_test, 9) predicted quantiles (one fit or nine, each followed by its
    prediction of the test rows); the fit part of the call's time goes to ``LAST_FIT[name]``."""

    def timed(name, fn):
        def call():
            clock = _Clock()
            out = fn(clock)
            LAST_FIT[name] = (clock.wall, clock.cpu)
            return out
        return call

    def lgb_builtin(clock):
        out = []
        for a in NINE:
            params = {"objective": "quantile", "alpha": a, "learning_rate": lr, "num_leaves": leaves,
                      "num_threads": threads, "verbosity": -1, "deterministic": True, "seed": 0}
            with clock:
                booster = lgb.train(params, lgb.Dataset(X, y), rounds)
            out.append(booster.predict(Xt, num_threads=threads))
        return np.column_stack(out)

    def xgb_builtin(clock):
        out = []
        for a in NINE:
            params = {"objective": "reg:quantileerror", "quantile_alpha": a, "eta": lr, "max_depth": depth,
                      "nthread": threads, "tree_method": "hist"}
            with clock:
                booster = xgb.train(params, xgb.DMatrix(X, y, nthread=threads), rounds)
            out.append(booster.predict(xgb.DMatrix(Xt)))
        return np.column_stack(out)

    def xgb_vector(clock):  # one XGBoost model with the 9 levels as a quantile_alpha list (crossing reference)
        params = {"objective": "reg:quantileerror", "quantile_alpha": list(NINE), "eta": lr, "max_depth": depth,
                  "nthread": threads, "tree_method": "hist"}
        with clock:
            booster = xgb.train(params, xgb.DMatrix(X, y, nthread=threads), rounds)
        return booster.predict(xgb.DMatrix(Xt))

    def ours(backend, shape, kind, renewal=True):
        def fit(clock):
            with clock:
                res = go.train(go.MultiQuantileLoss(NINE, renewal=renewal), X, y, backend=backend,
                               num_boost_round=rounds, n_jobs=threads, params={"learning_rate": lr, **shape})
            raw = res.predict_raw(Xt)  # one prediction, as each built-in fit makes (res.predict would make a second)
            LAST_RAW[kind] = (raw, res.objective.scale)
            return np.asarray(res.objective.transform(raw), dtype=np.float64)
        return fit

    fitters = {
        "lgb-9-builtin": lgb_builtin,
        "lgb-multi": ours("lightgbm", {"num_leaves": leaves}, "lgb-multi"),
        "xgb-9-builtin": xgb_builtin,
        "xgb-multi": ours("xgboost", {"max_depth": depth}, "xgb-multi"),
        # XGBoost's vector leaf: one tree per round for the 9 outputs; no renewal (it renews one tree per output)
        "xgb-multi-vector": ours("xgboost", {"max_depth": depth, "multi_strategy": "multi_output_tree"},
                                 "xgb-multi-vector", renewal=False),
        "xgb-vector": xgb_vector,
    }
    catboost = _catboost()
    if catboost is not None:
        def cat(clock):
            model = catboost.CatBoostRegressor(
                loss_function="MultiQuantile:alpha=" + ",".join(f"{a:g}" for a in NINE), iterations=rounds,
                depth=depth, learning_rate=lr, thread_count=threads, verbose=0, random_seed=0,
                allow_writing_files=False)
            with clock:
                model.fit(X, y)
            return model.predict(Xt)
        fitters["catboost-multiquantile"] = cat
    return {name: timed(name, fn) for name, fn in fitters.items()}


#: the raw test outputs and scale of the last fit of each of our models (for the link comparison)
LAST_RAW = {}


def lifted_link(raw, scale):
    """The previous link of ``multi_quantile`` (before the sort), for comparison: ``q_1 = r_1``, ``q_k = q_{k-1} +
    scale * softplus((r_k - q_{k-1}) / scale)`` on the outputs as they come (a crossing output lifted to the one
    below it)."""
    q = np.empty_like(raw)
    q[:, 0] = raw[:, 0]
    for k in range(1, raw.shape[1]):
        d = raw[:, k] - q[:, k - 1]
        q[:, k] = q[:, k - 1] + (np.maximum(d, 0.0) + scale * np.log1p(np.exp(-np.abs(d) / scale)))
    return q


MULTI_LABELS = {
    "lgb-9-builtin": "LightGBM, 9 built-in `quantile` models",
    "lgb-multi": "LightGBM, `multi_quantile` (one model, renewal)",
    "xgb-9-builtin": "XGBoost, 9 built-in `reg:quantileerror` models",
    "xgb-multi": "XGBoost, `multi_quantile` (one model, renewal)",
    "xgb-multi-vector": "XGBoost, `multi_quantile`, vector leaf (`multi_output_tree`, no renewal)",
    "xgb-vector": "XGBoost, one `reg:quantileerror` model, `quantile_alpha` list",
    "catboost-multiquantile": "CatBoost `MultiQuantile` (reference)",
}
MULTI_REFERENCE = {"lgb-multi": "lgb-9-builtin", "xgb-multi": "xgb-9-builtin", "xgb-vector": "xgb-9-builtin",
                   "xgb-multi-vector": "xgb-9-builtin",
                   "catboost-multiquantile": "lgb-9-builtin"}


_ENGINE_OF = {"lgb": "lightgbm", "xgb": "xgboost", "catboost": "catboost"}


def _fit_timed(fitters, fit, fit_cpu):
    """The fitters, each also adding the wall and CPU seconds of its fit part to ``fit[name]`` and
    ``fit_cpu[name]``."""
    def wrap(name, fn):
        def timed():
            out = fn()
            fit[name].append(LAST_FIT[name][0])
            fit_cpu[name].append(LAST_FIT[name][1])
            return out
        return timed
    return {name: wrap(name, fn) for name, fn in fitters.items()}


def run_multi(name, data, *, rounds, leaves, depth, lr, repeats, thread_counts, engines=None, min_seconds=0.0,
              max_repeats=15):
    """Quality (one fit each, at the first thread count) and alternated wall and CPU times at each thread count
    (the fit alone, and fit plus prediction of the test rows); table rows, findings and the repeats used.

    At least ``repeats`` alternated runs, more (up to ``max_repeats``) when the untimed first pass over all the
    models took less than ``min_seconds / repeats``: a small data set's fits last a fraction of a second, where a
    few runs leave the median at the mercy of one slow spell of the shared machine."""
    from gbm_objectives.metrics import quantiles as Q

    X, y, Xt, yt, note = data
    quality, lifted = {}, {}
    fit, fit_cpu, total = {}, {}, {}  # threads -> kind -> median seconds
    used = {}  # threads -> alternated runs
    for threads in thread_counts:
        fitters = multi_fitters(X, y, Xt, rounds=rounds, leaves=leaves, depth=depth, lr=lr, threads=threads)
        if engines is not None:  # --engines: only those engines' rows, each with its reference row
            wanted = {kind for kind in fitters if _ENGINE_OF[kind.split("-")[0]] in engines}
            fitters = {kind: fn for kind, fn in fitters.items()
                       if kind in wanted and MULTI_REFERENCE.get(kind, kind) in wanted}
        first = time.perf_counter()
        for kind, fn in fitters.items():  # the untimed first run: predictions, compilation, caches
            q = fn()
            if threads == thread_counts[0]:
                quality[kind] = (Q.crossing_rate_score(q), Q.quantile_pinball_score(yt, q, NINE),
                                 Q.quantile_coverage_score(yt, q))
                if kind in ("lgb-multi", "xgb-multi"):
                    raw, scale = LAST_RAW[kind]
                    lifted[kind] = {"raw outputs (no link)": raw, "previous link (lift)": lifted_link(raw, scale)}
        first = time.perf_counter() - first
        used[threads] = max(repeats, min(max_repeats, math.ceil(min_seconds / first)))
        fits = {kind: [] for kind in fitters}
        fits_cpu = {kind: [] for kind in fitters}
        times = _bench.alternate(_fit_timed(fitters, fits, fits_cpu), repeats=used[threads], warmup=0)
        total[threads] = {kind: _bench.median(t) for kind, t in times.items()}
        fit[threads] = {kind: _bench.median(t) for kind, t in fits.items()}
        fit_cpu[threads] = {kind: _bench.median(t) for kind, t in fits_cpu.items()}
        print(f"{name}: timed at {threads} thread(s), {used[threads]} runs, load {os.getloadavg()[0]:.1f}",
              flush=True)
    rows, findings = [], []

    def ratios(table, kind, ref):
        return " / ".join(f"{table[t][kind] / table[t][ref]:.2f}" if ref else "1" for t in thread_counts)

    for kind, (crossing, pinball, coverage) in quality.items():
        ref = MULTI_REFERENCE.get(kind)
        rel = f"{100 * (pinball / quality[ref][1] - 1):+.2f} %" if ref else "reference"
        cover = f"{100 * np.abs(coverage - quality[ref][2]).max():.1f}" if ref else "reference"
        seconds = " / ".join(f"{fit[t][kind]:.2f}" for t in thread_counts)
        rows.append(f"| {name} | {MULTI_LABELS[kind]} | {100 * crossing:.1f} % | {pinball:.5f} | {rel} | {cover} | "
                    f"{seconds} | {ratios(fit, kind, ref)} | {ratios(fit_cpu, kind, ref)} | "
                    f"{ratios(total, kind, ref)} |")
        if kind in ("lgb-multi", "xgb-multi"):
            gap = {label: 100 * np.abs(Q.quantile_coverage_score(yt, qq) - quality[ref][2]).max()
                   for label, qq in lifted[kind].items()}
            others = "; ".join(
                f"{label}: coverage within {gap[label]:.1f} points, mean pinball "
                f"{100 * (Q.quantile_pinball_score(yt, qq, NINE) / quality[ref][1] - 1):+.2f} %, crossing "
                f"{100 * Q.crossing_rate_score(qq):.1f} %"
                for label, qq in lifted[kind].items())
            findings.append(
                f"- {name}, {'LightGBM' if kind == 'lgb-multi' else 'XGBoost'}: crossing {100 * crossing:.1f} % "
                f"(9 built-ins: {100 * quality[ref][0]:.1f} %), mean pinball {rel} vs the 9 built-ins, coverage "
                f"within {cover} points of theirs at every level ({others}); fit wall time {ratios(fit, kind, ref)} "
                f"x the 9 fits (CPU time {ratios(fit_cpu, kind, ref)} x), with the prediction of the test rows "
                f"{ratios(total, kind, ref)} x, at {' / '.join(map(str, thread_counts))} thread(s).")
    return rows, findings, used


def main_multi(args):
    thread_counts = [int(t) for t in args.thread_counts.split(",")]
    engines = None if args.engines is None else set(args.engines.split(","))
    if engines is not None and not args.no_write:
        raise SystemExit("--engines measures part of the table: use it with --no-write")
    rounds = 30 if args.quick else 100
    leaves, depth, lr = 31, 6, 0.1
    repeats = 1 if args.quick else 3
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    tc = " / ".join(map(str, thread_counts))
    table = ["| data | model | rows crossing | mean pinball (9 levels) | vs 9 built-ins | max coverage gap, points | "
             f"fit s, {tc} thread(s) | fit wall time vs 9 built-ins, {tc} | fit CPU time vs 9 built-ins, {tc} | "
             f"fit + prediction wall time vs 9 built-ins, {tc} |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    findings, notes = [], []
    for name, loader in (("california_housing", load_california), ("autoclaims", load_autoclaims),
                         ("synthetic heteroscedastic", lambda: load_synthetic(2000 if args.quick else 10000))):
        try:
            data = loader()
        except FileNotFoundError as exc:
            findings.append(f"- {name}: skipped ({exc})")
            continue
        rows, found, used = run_multi(name, data, rounds=rounds, leaves=leaves, depth=depth, lr=lr,
                                      repeats=repeats, thread_counts=thread_counts, engines=engines,
                                      min_seconds=0.0 if args.quick else 60.0)
        table += rows
        findings += found
        runs = " / ".join(str(used[t]) for t in thread_counts)
        notes.append(f"- {name}: {data[4]}; {data[0].shape[1]} features; {runs} alternated timing runs at "
                     f"{tc} thread(s).")
    catboost = _catboost()
    total = time.perf_counter() - t_start
    md = "\n".join([
        "## Many quantiles in one model: `multi_quantile` (`scripts/bench_quantile.py --multi`)",
        "",
        f"Machine: {_bench.machine_info(2)}"
        + (f", CatBoost {catboost.__version__}" if catboost is not None else ", CatBoost not installed") +
        f". Total {total:.0f} s" + (" (**--quick** run: not the reported configuration)" if args.quick else "") +
        f". The machine is shared with other jobs (1-minute load average {load_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end, 2 cores): times are medians of alternated runs (at least {repeats}; "
        "more for a data set whose fits are short, as many as fill about a minute, at most 15: the count is in "
        "the data notes below) and the "
        "ratios are ratios of medians; CPU time (user + system of the process, all threads) does not count the "
        "waits for a core, so its ratio is the steadier one on a loaded machine.",
        "",
        f"9 levels 0.1, 0.2, ..., 0.9; {rounds} rounds, learning rate {lr}; LightGBM `num_leaves={leaves}`, XGBoost "
        f"and CatBoost depth {depth}; everything else default. `multi_quantile` is `go.train(go.MultiQuantileLoss("
        "alphas), ...)` with leaf renewal (the default): one booster with 9 trees per round, whose 9 raw outputs "
        "are sorted along the row and mapped by the cumulative softplus (`go.cumulative_softplus`). The findings "
        "also give, for the same fit, the raw outputs without the link (they cross like the 9 built-ins) and the "
        "previous link (no sort: a crossing output lifted to the one below it). The vector-leaf row is the same "
        "objective on XGBoost's `multi_strategy=\"multi_output_tree\"` (one tree of 9-value leaves per round), "
        "without renewal, which needs one tree per output. Rows crossing: share of "
        "test rows with some q(k+1) < q(k). Mean pinball: held-out pinball loss averaged over the 9 levels, relative "
        "to the 9 separate built-in models of the same engine (CatBoost: to LightGBM's). Coverage gap: the largest "
        "difference, over the levels, between the share of test rows with y <= q and that of the built-ins. Fit "
        "times: the whole training of one model (data set construction, init scores and, for LightGBM's "
        "`multi_quantile`, merging the 9 forests into one model included) against the sum of the 9 trainings; the "
        "last column adds each model's prediction of the test rows (one 9-output prediction against 9 "
        "predictions: LightGBM walks all 900 trees for each row in turn, which misses the cache more than 9 "
        "walks of 100 trees).",
        "",
        "### Findings",
        "",
        *findings,
        "",
        *table,
        "",
        "Data:",
        "",
        *notes,
        "",
    ])
    _bench.publish("multi_quantile", md, write=not args.no_write, detail=f" ({total:.0f} s)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--multi", action="store_true", help="many quantiles in one model (multi_quantile)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--thread-counts", default="1,2", help="--multi: the thread counts timed, e.g. 1,2")
    parser.add_argument("--engines", help="--multi: only these engines' rows, e.g. lightgbm (with --no-write)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.multi:
        return main_multi(args)
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
