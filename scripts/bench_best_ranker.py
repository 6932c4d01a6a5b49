"""Benchmark "best ranker": go.cv on the official MQ2008 folds, go.tune per fold, Optuna's LightGBMTunerCV beside it.

Sections (each unit, a row's fold or a CatBoost cell or a go.cv row, cached in a state file as it finishes, so a
killed or partial run resumes where it stopped; the tuning studies live in SQLite files beside it, one per study, and
resume trial by trial; ``--jobs 2`` runs two units at once in worker processes, one per core of the 2-core machine,
with the same results: every unit is seeded and single-threaded on its own):

* ``cv``: ``go.cv`` with the five official folds (train on ``train.txt``, score ``test.txt``, 100 rounds, no early
  stopping) for every entry of :data:`UNTUNED` on both engines; the per-fold test NDCG@10 of ``lambdarank`` is
  checked against the "Ranking quality" section of BENCHMARKS.md (written by ``bench_ranking.py``).
* ``catboost``: CatBoost's ``LambdaMart``, ``YetiRank`` and ``StochasticRank`` untuned (the cell of
  ``bench_catboost_rankers.py``) on the same folds: the reference column (the ``[bench]`` extra; skipped without it).
* ``tune``: ``go.tune`` for the entries of :data:`TUNED` (the default ones, or ``--tuned all``), per fold, selecting on
  the fold's ``vali.txt`` or by inner CV on ``train.txt`` (the test file is never read until the tuned model is
  scored), then the best configuration trained on ``train.txt``; the "CV-100" rows follow
  :data:`HEADLINE_PROTOCOL` (inner 5-fold CV, 100 rounds fixed, the :data:`REGULARISED` space), fixed before their
  runs, and the report picks per fold, within each selection protocol, the row with the best selection score.
* ``optuna``: Optuna's ``LightGBMTunerCV`` on LightGBM's built-in ``lambdarank``, per fold, with the same selection
  rows (one CV split: ``train.txt`` / ``vali.txt``) and the same trial budget (stopped after it).
* ``report``: the BENCHMARKS.md section from the state file (whatever has been run), with ``go.compare_runs`` over
  the 784 test queries against untuned LightGBM ``lambdarank`` and against CatBoost's best untuned cell.

Run: ``python scripts/bench_best_ranker.py [--sections cv,catboost,tune,optuna,report] [--trials 40]
[--folds 1,2,3,4,5] [--tuned all|0,1,...] [--state PATH] [--threads 1] [--jobs 1] [--redo PREFIX,...]``; ``--redo
cv|stochasticrank`` runs the units whose state key starts so again (stale after a change of the objective).
Objective entries are lists (:data:`UNTUNED`, :data:`TUNED`): add a row to compare another objective.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import BENCHMARKS, SHARED_DATASETS, machine_info, publish  # noqa: E402
from bench_catboost_rankers import CATBOOST_LOSSES, STOCHASTIC_TOP, catboost_scores  # noqa: E402

import gbm_objectives as go  # noqa: E402

SECTION = "best_ranker"
# $GBM_OBJECTIVES_DATA (as the tests read it) or ../shared/datasets beside the checkout
ROOT = Path(os.environ.get("GBM_OBJECTIVES_DATA", str(SHARED_DATASETS)).split(os.pathsep)[0]) / "letor4_mq2008"
ROUNDS = 100  # untuned: as the published "Ranking quality" runs
METRIC = "ndcg@10"


# (label, objective factory, backends): untuned, go.cv on the official folds
UNTUNED = [
    ("lambdarank:native", lambda: "lambdarank:native", ("lightgbm", "xgboost")),
    ("lambdarank (LightGBM conv.)", lambda: go.LambdaRankObjective(), ("lightgbm", "xgboost")),
    ("lambdarank (XGBoost conv.)", lambda: go.LambdaRankObjective(convention="xgboost"), ("lightgbm",)),
    ("yetirank", lambda: go.YetiRankObjective(), ("lightgbm", "xgboost")),
    (f"stochasticrank (top={STOCHASTIC_TOP})", lambda: go.StochasticRankObjective(top=STOCHASTIC_TOP),
     ("lightgbm", "xgboost")),
    (f"stochasticrank (err, top={STOCHASTIC_TOP})",
     lambda: go.StochasticRankObjective(metric="err", top=STOCHASTIC_TOP), ("lightgbm", "xgboost")),
]
class Tuned(NamedTuple):
    """A tuned row: ``go.tune`` per fold on ``train.txt``.

    The search space is go.tune's default: the engine's plus the objective's own parameters
    (``type(objective).search_space``, e.g. YetiRank's ``decay``, StochasticRank's ``sigma``, ``mu``, ``nu``), or
    ``space(make(), backend)`` where given. ``inner_cv``: None selects on the fold's ``vali.txt``; k selects by
    query-grouped k-fold CV inside ``train.txt`` (``vali.txt`` unused). ``rounds``: None tunes the round count by
    early stopping (up to 1000 rounds, patience 50); an int fixes it (no early stopping, each trial scored at that
    round). ``default``: run without ``--tuned`` (the other rows are exploratory, run with ``--tuned all`` or their
    index, and keep the default bench under an hour).
    """

    label: str
    make: Callable
    backend: str
    inner_cv: Optional[int] = None
    default: bool = True
    rounds: Optional[int] = None
    space: Optional[Callable] = None

    @property
    def protocol(self):
        """The selection protocol: rows of one protocol have selection scores on the same rows, comparable."""
        where = "vali" if not self.inner_cv else f"inner {self.inner_cv}-fold CV"
        if self.rounds is None:
            return where
        return f"{where}, {self.rounds} rounds fixed" + (", regularised space" if self.space else "")


#: CatBoost's defaults regularise strongly (depth-6 symmetric trees, l2_leaf_reg=3, 100 iterations) and win
#: untuned on MQ2008 (471 training queries a fold): the space of the "regularised" rows narrows the engine's
#: default space to that regime (smaller trees, larger leaves, L2 from 0.1 to 30, sampling >= 0.5, no L1)
REGULARISED = {
    "lightgbm": {"learning_rate": ("float", 0.02, 0.3, True), "num_leaves": ("int", 7, 63, True),
                 "min_data_in_leaf": ("int", 20, 200, True), "lambda_l2": ("float", 0.1, 30.0, True),
                 "feature_fraction": ("float", 0.5, 1.0, False), "bagging_fraction": ("float", 0.5, 1.0, False)},
    "xgboost": {"learning_rate": ("float", 0.02, 0.3, True), "max_depth": ("int", 3, 8, False),
                "min_child_weight": ("float", 1e-3, 10.0, True), "reg_lambda": ("float", 0.1, 30.0, True),
                "colsample_bytree": ("float", 0.5, 1.0, False), "subsample": ("float", 0.5, 1.0, False)},
}


def regularised_space(objective, backend):
    """:data:`REGULARISED` for ``backend`` plus the objective's own parameters of go.tune's default space."""
    import optuna
    from gbm_objectives.selection import default_search_space

    dist = {"float": optuna.distributions.FloatDistribution, "int": optuna.distributions.IntDistribution}
    space = {name: dist[kind](low, high, log=log) for name, (kind, low, high, log) in REGULARISED[backend].items()}
    own = {k: v for k, v in default_search_space(objective, backend).items() if k.startswith("objective.")}
    return {**space, **own}


# The protocol of the rows marked "100 rounds fixed" (chosen before any of their test scores was seen): selection
# by query-grouped 5-fold CV inside train.txt (471 queries scored, three times vali.txt's 157), the rounds fixed
# at 100 (CatBoost's iterations; no early stopping, so the round count is not the argmax of a noisy curve: the
# vali-selected rows early-stopped after 2-25 rounds) with the learning rate tuned, in the regularised space. Its
# headline is fixed in advance too: per fold, the row of this protocol with the best inner-CV score (every row of a
# fold sees the same inner folds: go.tune seeds them with the fold number).
HEADLINE_PROTOCOL = "inner 5-fold CV, 100 rounds fixed, regularised space"

TUNED = [
    Tuned("lambdarank:native", lambda: "lambdarank:native", "lightgbm"),
    Tuned("lambdarank (XGBoost conv.), custom", lambda: go.LambdaRankObjective(convention="xgboost"), "xgboost"),
    # CatBoost's default ranking loss (its own space: the permutation decay)
    Tuned("yetirank", lambda: go.YetiRankObjective(), "lightgbm", default=False),
    Tuned("lambdarank (XGBoost conv.)", lambda: go.LambdaRankObjective(convention="xgboost"), "lightgbm",
          default=False),
    # selection by 5-fold CV inside train.txt (471 queries) instead of the 157 of vali.txt: a less noisy choice
    Tuned("yetirank, inner CV", lambda: go.YetiRankObjective(), "lightgbm", inner_cv=5, default=False),
    Tuned("yetirank", lambda: go.YetiRankObjective(), "xgboost", default=False),
    # the best untuned objective on LightGBM (StochasticRank on ERR@10); its space: sigma, mu, nu
    Tuned(f"stochasticrank (err, top={STOCHASTIC_TOP})",
          lambda: go.StochasticRankObjective(metric="err", top=STOCHASTIC_TOP), "lightgbm", default=False),
    Tuned(f"stochasticrank (err, top={STOCHASTIC_TOP})",
          lambda: go.StochasticRankObjective(metric="err", top=STOCHASTIC_TOP), "xgboost", default=False),
    Tuned(f"stochasticrank (top={STOCHASTIC_TOP})", lambda: go.StochasticRankObjective(top=STOCHASTIC_TOP),
          "lightgbm", default=False),
    # HEADLINE_PROTOCOL: XGBoost's rank:ndcg (the best untuned native cell), LightGBM's lambdarank, YetiRank
    Tuned("lambdarank:native, CV-100", lambda: "lambdarank:native", "xgboost", inner_cv=5, rounds=100,
          space=regularised_space),
    Tuned("lambdarank:native, CV-100", lambda: "lambdarank:native", "lightgbm", inner_cv=5, rounds=100,
          space=regularised_space),
    Tuned("yetirank, CV-100", lambda: go.YetiRankObjective(), "lightgbm", inner_cv=5, rounds=100,
          space=regularised_space),
]
# the published per-fold test NDCG@10 to reproduce: (label in UNTUNED, backend) -> row of the "Ranking quality" table
PUBLISHED = {("lambdarank:native", "lightgbm"): ("lightgbm", "native"),
             ("lambdarank:native", "xgboost"): ("xgboost", "native"),
             ("lambdarank (LightGBM conv.)", "lightgbm"): ("lightgbm", "scratch"),
             ("lambdarank (LightGBM conv.)", "xgboost"): ("xgboost", "scratch")}


class BudgetSpent(Exception):
    """Raised from an Optuna callback to end LightGBMTunerCV after the trial budget."""


# ---- data and state ----------------------------------------------------------------------------------------------

_CACHE = {}


def load_folds():
    """``(X, y, qid, folds, vali)``: the five test files stacked, go.cv folds (train.txt rows / test.txt rows) and
    each fold's vali.txt ``(X, y, qid)``."""
    if "data" not in _CACHE:
        from gbm_objectives.datasets import load_letor
        from gbm_objectives.selection import stack_folds

        parts, vali = [], []
        for f in range(1, 6):
            read = [tuple(load_letor(ROOT / f"Fold{f}" / f"{s}.txt.gz", n_features=46, dense=True))
                    for s in ("train", "test", "vali")]
            parts.append((read[0], read[1]))
            vali.append(read[2])
        X, y, qid, folds = stack_folds(parts)
        _CACHE["data"] = (X, y, qid, folds, vali)
    return _CACHE["data"]


class State:
    """A JSON file of finished units (``{key: result}``), written after each one. Units whose key starts with one
    of ``redo`` count as not run until this invocation has run them again (stale after a change of the code)."""

    def __init__(self, path, redo=()):
        self.path = Path(path)
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.redo, self.redone = tuple(redo), set()

    def get(self, key):
        if self.redo and key.startswith(self.redo) and key not in self.redone:
            return None
        return self.data.get(key)

    def put(self, key, value):
        self.data[key] = value
        self.redone.add(key)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
        os.replace(tmp, self.path)


def per_query_test(y, raw, qid):
    from gbm_objectives.metrics import evaluate

    values = evaluate(y, raw, qid=qid, metrics=[METRIC], reduce=None)[METRIC]
    return [float(v) for v in values]


# ---- sections ----------------------------------------------------------------------------------------------------

def cv_units(state, folds_wanted, threads):
    """The ``cv`` section's units: one per (UNTUNED row, backend), each a go.cv over the wanted folds."""
    for i, (label, _, backends) in enumerate(UNTUNED):
        for backend in backends:
            key = f"cv|{label}|{backend}|{','.join(map(str, folds_wanted))}"
            if not state.get(key):
                yield key, cv_unit, (i, backend, folds_wanted, threads)


def cv_unit(i, backend, folds_wanted, threads):
    X, y, qid, folds, _ = load_folds()
    label, make, _ = UNTUNED[i]
    t0 = time.perf_counter()
    res = go.cv(make(), X, y, qid=qid, folds=[folds[f - 1] for f in folds_wanted], backend=backend,
                num_boost_round=ROUNDS, metric=METRIC, n_jobs=threads)
    seconds = time.perf_counter() - t0
    per_query = {str(q): v for q, v in zip(res.per_query["qid"], res.per_query[METRIC])}
    print(f"cv {label} {backend}: {[round(s, 4) for s in res.scores[METRIC]]} ({seconds:.0f} s)", flush=True)
    return {"label": label, "backend": backend, "folds": folds_wanted, "scores": res.scores[METRIC],
            "seconds": seconds, "per_query": per_query}


def catboost_units(state, folds_wanted):
    """CatBoost's ranking losses untuned (``bench_catboost_rankers.py``'s cell: defaults, 100 iterations, one
    thread) on each fold's ``train.txt``, scored on ``test.txt``: the reference column; one unit per (loss, fold)."""
    try:
        import catboost  # noqa: F401  (the [bench] extra)
    except ImportError:
        print("skipping catboost: not installed (pip install 'gbm_objectives[bench]')")
        return
    for loss in CATBOOST_LOSSES:
        for f in folds_wanted:
            key = f"catboost|{loss}|{f}"
            if not state.get(key):
                yield key, catboost_unit, (loss, f)


def catboost_unit(loss, f):
    X, y, qid, folds, _ = load_folds()
    tr, te = folds[f - 1]
    t0 = time.perf_counter()
    raw = catboost_scores(loss, X[tr], y[tr], qid[tr], X[te], qid[te], ROUNDS)
    seconds = time.perf_counter() - t0
    pq = per_query_test(y[te], raw, qid[te])
    print(f"catboost {loss} fold {f}: test {np.mean(pq):.4f} ({seconds:.0f} s)", flush=True)
    return {"loss": loss, "fold": f, "test": float(np.mean(pq)), "seconds": seconds,
            "per_query": dict(zip(map(str, dict.fromkeys(qid[te])), pq))}


def tune_units(state, folds_wanted, trials, threads, study_dir, tuned):
    """The ``tune`` section's units: one per (TUNED row, fold)."""
    for i in tuned:
        row = TUNED[i]
        for f in folds_wanted:
            key = f"tune|{row.label}|{row.backend}|{f}|{trials}"
            if not state.get(key):
                yield key, tune_unit, (i, f, trials, threads, str(study_dir))


def tune_unit(i, f, trials, threads, study_dir):
    from gbm_objectives.selection import default_search_space

    X, y, qid, folds, vali = load_folds()
    row = TUNED[i]
    label, make, backend, inner_cv = row.label, row.make, row.backend, row.inner_cv
    space = (row.space or default_search_space)(make(), backend)
    rounds = {} if row.rounds is None else {"max_rounds": row.rounds, "early_stopping_rounds": None}
    tr, te = folds[f - 1]
    if inner_cv:
        selection = {"cv": inner_cv}
    else:
        Xv, yv, qv = vali[f - 1]
        selection = {"eval_set": (Xv, yv), "eval_qid": qv}
    study_name = f"{label}|{backend}|fold{f}|{trials}"
    # one SQLite file per study: units run in parallel processes (--jobs) never share a database file
    (Path(study_dir) / "studies").mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{Path(study_dir) / 'studies' / (_slug(study_name) + '.db')}"
    t0 = time.perf_counter()
    best = go.tune(make(), X[tr], y[tr], qid=qid[tr], **selection, backend=backend,
                   metric=METRIC, n_trials=trials, storage=storage, search_space=space, **rounds,
                   study_name=study_name, seed=f, n_jobs=threads, progress=False)
    tune_seconds = time.perf_counter() - t0
    model = best.train(X[tr], y[tr], qid=qid[tr], n_jobs=threads)  # the test file is read only now
    raw = model.predict_raw(X[te])
    pq = per_query_test(y[te], raw, qid[te])
    states = [t.state.name for t in best.study.trials]
    print(f"tune {label} {backend} fold {f}: selection {best.value:.4f} test {np.mean(pq):.4f} "
          f"({best.num_boost_round} rounds, {tune_seconds:.0f} s)", flush=True)
    return {"label": label, "backend": backend, "fold": f, "trials": trials,
            "n_complete": states.count("COMPLETE"), "n_pruned": states.count("PRUNED"),
            "valid": best.value, "selection": "vali" if not inner_cv else f"inner {inner_cv}-fold CV",
            "protocol": row.protocol,
            "test": float(np.mean(pq)), "rounds": best.num_boost_round,
            "params": best.params, "objective": repr(best.objective), "seconds": tune_seconds,
            "per_query": dict(zip(map(str, dict.fromkeys(qid[te])), pq))}


def _slug(name):
    """A file name for a study name: letters, digits and ``-._`` kept, the rest ``_``, and a short hash of the
    name (two names that differ only in punctuation get two files)."""
    import hashlib

    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in name) + "-" + digest


def optuna_units(state, folds_wanted, trials, threads):
    """Optuna's ``LightGBMTunerCV`` on LightGBM's built-in ``lambdarank``: one unit per fold."""
    for f in folds_wanted:
        key = f"optuna|{f}|{trials}"
        if not state.get(key):
            yield key, optuna_unit, (f, trials, threads)


def optuna_unit(f, trials, threads):
    import lightgbm as lgb
    import optuna
    from optuna_integration.lightgbm import LightGBMTunerCV

    X, y, qid, folds, vali = load_folds()
    tr, te = folds[f - 1]
    Xv, yv, qv = vali[f - 1]
    Xa = np.vstack([X[tr], Xv])
    ya = np.concatenate([y[tr], yv])
    qa = np.concatenate([qid[tr], qv])
    sizes = np.diff(np.flatnonzero(np.r_[True, qa[1:] != qa[:-1], True]))
    data = lgb.Dataset(Xa, ya, group=sizes, free_raw_data=False)
    split = [(np.arange(len(tr)), np.arange(len(tr), len(ya)))]  # select on vali.txt, as go.tune does
    params = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [10], "verbosity": -1, "seed": 0,
              "deterministic": True, "num_threads": threads, "feature_pre_filter": False}
    done = {"n": 0}

    def budget(study, trial):  # the stepwise tuner runs ~68 trials in 6 steps: end it at the shared budget
        done["n"] += 1
        if done["n"] >= trials:
            raise BudgetSpent  # study.stop() would end the current step only (one more trial per later step)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    tuner = LightGBMTunerCV(params, data, num_boost_round=1000, folds=split, seed=0, optuna_seed=f,
                            callbacks=[lgb.early_stopping(50, verbose=False)], return_cvbooster=True,
                            optuna_callbacks=[budget], show_progress_bar=False)
    try:
        tuner.run()
    except BudgetSpent:
        pass
    seconds = time.perf_counter() - t0
    booster = tuner.get_best_booster()  # trained on the train.txt rows of the split, best round kept
    raw = booster.boosters[0].predict(X[te], num_iteration=booster.best_iteration, raw_score=True)
    pq = per_query_test(y[te], raw, qid[te])
    print(f"LightGBMTunerCV fold {f}: vali {tuner.best_score:.4f} test {np.mean(pq):.4f} "
          f"({len(tuner.study.trials)} trials, {seconds:.0f} s)", flush=True)
    return {"fold": f, "trials": trials, "n_trials_run": len(tuner.study.trials),
            "valid": tuner.best_score, "test": float(np.mean(pq)), "params": tuner.best_params,
            "rounds": booster.best_iteration, "seconds": seconds,
            "per_query": dict(zip(map(str, dict.fromkeys(qid[te])), pq))}


def _call(unit):
    """Run one unit ``(key, function, args)``: ``(key, result)`` (in a worker process under ``--jobs``)."""
    key, fn, args = unit
    return key, fn(*args)


def execute(state, units, jobs):
    """Run the units, each result stored in the state as it finishes: one after the other, or ``jobs`` at a time in
    worker processes (spawned: a fresh interpreter each, no engine thread pool inherited across a fork). Every unit
    is deterministic on its own (fixed seeds, one engine thread), so the results do not depend on ``jobs``."""
    units = list(units)
    if jobs <= 1 or len(units) <= 1:
        for unit in units:
            state.put(*_call(unit))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    failed = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_call, unit): unit[0] for unit in units}
        for future in as_completed(futures):
            try:
                state.put(*future.result())  # every unit that finishes is kept, whatever fails beside it
            except Exception as exc:  # noqa: BLE001 (reported below, after the other units)
                failed.append((futures[future], exc))
                print(f"unit {futures[future]} failed: {exc!r}", flush=True)
    if failed:
        raise RuntimeError(f"{len(failed)} unit(s) failed (the others are in the state file): "
                           + "; ".join(key for key, _ in failed)) from failed[0][1]


# ---- report ------------------------------------------------------------------------------------------------------

def published_folds():
    """``{(backend, objective): [NDCG@10 per fold]}`` from the per-fold table of the "Ranking quality" section."""
    text = BENCHMARKS.read_text()
    block = text.split("<!-- BEGIN ranking_quality -->")[1].split("<!-- END ranking_quality -->")[0]
    out = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].isdigit():
            out.setdefault((cells[1], cells[2]), {})[int(cells[0])] = float(cells[5])
    return out


def _largest_budget(state, key, folds_wanted, trials):
    """``(trial budget, results per fold)`` of the largest budget <= ``trials`` run on every wanted fold."""
    for n in range(trials, 0, -1):
        rs = [state.get(key(f, n)) for f in folds_wanted]
        if all(rs):
            return n, rs
    return None, None


def catboost_section_folds():
    """``{(label, backend): [NDCG@10 per fold]}`` from the table of the "CatBoost's ranking losses" section
    (``bench_catboost_rankers.py``), for the untuned yetirank / stochasticrank and CatBoost rows."""
    text = BENCHMARKS.read_text()
    if "<!-- BEGIN catboost_rankers_quality -->" not in text:
        return {}
    block = text.split("<!-- BEGIN catboost_rankers_quality -->")[1].split("<!-- END catboost_rankers_quality -->")[0]
    out = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and " / " in cells[3]:
            out[(cells[0], cells[1])] = [float(v) for v in cells[3].split(" / ")]
    return out


def _check(scores, published):
    if published is None:
        return ""
    return "identical" if [round(x, 4) for x in scores] == published else f"differs: published {published}"


def _significance(systems, baseline, title):
    """Markdown table of ``go.compare_runs`` over the test queries, every system of ``systems`` against ``baseline``."""
    import pandas as pd

    qids = sorted(systems[baseline])
    common = {k: v for k, v in systems.items() if sorted(v) == qids}
    frames = {k: pd.DataFrame({METRIC: [v[q] for q in qids]}, index=qids) for k, v in common.items()}
    table = go.compare_runs(frames, baseline=baseline, n_resamples=10000, seed=0)
    rows = "\n".join(
        f"| {r.system} | {r.mean:.4f} | {r.diff:+.4f} | {r.wins} / {r.losses} | "
        + ("–" if np.isnan(r.p_value) else f"{r.p_value:.4f}") + " | "
        + ("–" if np.isnan(r.p_value_corrected) else f"{r.p_value_corrected:.4f}")
        + f" | [{r.ci_low:+.4f}, {r.ci_high:+.4f}] |" for r in table.itertuples())
    return (f"{title} (`go.compare_runs` over the {len(qids)} test queries; paired randomization test, 10,000 sign "
            f"flips, Holm correction):\n\n| system | mean NDCG@10 | diff | queries better / worse | p | p (Holm) | "
            f"95% CI of diff |\n|---|---:|---:|---|---:|---:|---|\n{rows}\n"), table


def report(state, folds_wanted, trials, threads):
    rows, tuned_rows, cat_rows = [], [], []
    pub = published_folds()
    pub_cb = catboost_section_folds()
    folds_key = ",".join(map(str, folds_wanted))
    systems, tuned_systems, cat_systems = {}, {}, {}
    untuned_means = {}
    seconds_used = seconds_extra = 0.0  # units of the default run; of the exploratory tuned rows
    for label, _, backends in UNTUNED:
        for backend in backends:
            r = state.get(f"cv|{label}|{backend}|{folds_key}")
            if not r:
                continue
            scores = r["scores"]
            seconds_used += r["seconds"]
            ref = PUBLISHED.get((label, backend))
            published = [pub[ref][f] for f in folds_wanted] if ref and ref in pub else None
            if published is None and (label, backend) in pub_cb and folds_wanted == [1, 2, 3, 4, 5]:
                published = pub_cb[(label, backend)]
            untuned_means[(label, backend)] = scores
            rows.append(f"| {label} | {backend} | untuned, {ROUNDS} rounds | "
                        + " | ".join(f"{s:.4f}" for s in scores) + f" | **{np.mean(scores):.4f}** | "
                        + f"{_check(scores, published)} |")
            systems[f"{label} / {backend} (untuned)"] = r["per_query"]
    cat_means = {}
    for loss in CATBOOST_LOSSES:
        rs = [state.get(f"catboost|{loss}|{f}") for f in folds_wanted]
        if not all(rs):
            continue
        scores = [r["test"] for r in rs]
        seconds_used += sum(r["seconds"] for r in rs)
        label = f"CatBoost {loss}"
        cat_means[label] = float(np.mean(scores))
        published = pub_cb.get((label, "catboost")) if folds_wanted == [1, 2, 3, 4, 5] else None
        cat_rows.append(f"| {label} | catboost | untuned, {ROUNDS} iterations | "
                        + " | ".join(f"{s:.4f}" for s in scores) + f" | **{np.mean(scores):.4f}** | "
                        + f"{_check(scores, published)} |")
        cat_systems[f"{label} (untuned)"] = {k: v for r in rs for k, v in r["per_query"].items()}
    tuned_means = {}
    for t in TUNED:
        label, backend = t.label, t.backend
        n, rs = _largest_budget(state, lambda f, n: f"tune|{label}|{backend}|{f}|{n}", folds_wanted, trials)
        if not rs:
            continue
        scores = [r["test"] for r in rs]
        if t.default:
            seconds_used += sum(r["seconds"] for r in rs)
        else:
            seconds_extra += sum(r["seconds"] for r in rs)
        tuned_means[(label, backend)] = (scores, rs)
        run = f"go.tune, {n} trials" + ("" if t.rounds is None else f", {t.rounds} rounds fixed")
        tuned_rows.append(f"| {label} | {backend} | {run} | " + " | ".join(f"{s:.4f}" for s in scores)
                          + f" | **{np.mean(scores):.4f}** | {rs[0].get('selection', 'vali')} "
                          + f"{np.mean([r['valid'] for r in rs]):.4f} |")
        tuned_systems[f"{label} / {backend} (go.tune, {n} trials)"] = {
            k: v for r in rs for k, v in r["per_query"].items()}
    # the honest picks among the tuned rows: per fold and per selection protocol, the row whose study has the best
    # selection score (vali.txt, or the inner CV on train.txt: the test file takes no part); only rows of one
    # protocol are compared (their scores come from the same rows, the same way)
    selected = {}  # protocol -> (system name, per-fold test scores, picks)
    protocols = {}
    for k, (_, rs) in tuned_means.items():
        protocols.setdefault(rs[0].get("protocol", rs[0].get("selection", "vali")), {})[k] = rs
    for protocol, group in protocols.items():
        if len(group) < 2:
            continue
        picks = [max(group, key=lambda k: group[k][i]["valid"]) for i in range(len(folds_wanted))]
        chosen = [group[k][i] for i, k in enumerate(picks)]
        n_sel = min(r["trials"] for r in chosen)
        scores = [r["test"] for r in chosen]
        by = "selected on vali.txt" if protocol == "vali" else f"selected by {protocol}"
        name = f"{by} / best of {len(group)} go.tune rows (go.tune, {n_sel} trials)"
        selected[protocol] = (name, scores, picks)
        tuned_rows.append(f"| {by}: per fold the best of {len(group)} go.tune rows | (per fold) | "
                          f"go.tune, {n_sel} trials | " + " | ".join(f"{x:.4f}" for x in scores)
                          + f" | **{np.mean(scores):.4f}** | {chosen[0]['selection']} "
                          + f"{np.mean([r['valid'] for r in chosen]):.4f} |")
        tuned_systems[name] = {k: v for r in chosen for k, v in r["per_query"].items()}
    systems.update(tuned_systems)
    n_optuna, rs = _largest_budget(state, lambda f, n: f"optuna|{f}|{n}", folds_wanted, trials)
    if rs:
        scores = [r["test"] for r in rs]
        seconds_used += sum(r["seconds"] for r in rs)
        tuned_rows.append("| lambdarank (LightGBM built-in) | lightgbm | LightGBMTunerCV, stopped at "
                          f"{n_optuna} trials | " + " | ".join(f"{s:.4f}" for s in scores)
                          + f" | **{np.mean(scores):.4f}** | vali {np.mean([r['valid'] for r in rs]):.4f} |")
        systems["lambdarank (LightGBM built-in) / lightgbm (LightGBMTunerCV)"] = {
            k: v for r in rs for k, v in r["per_query"].items()}
    # paired tests over the test queries: every system against untuned LightGBM lambdarank; the tuned cells
    # against CatBoost's best untuned cell
    significance = ""
    base = "lambdarank:native / lightgbm (untuned)"
    if base in systems and len(systems) > 1:
        significance, _ = _significance(systems, base, "Against untuned LightGBM `lambdarank`")
    findings = []
    base_r = state.get(f"cv|lambdarank:native|lightgbm|{folds_key}")
    for (label, backend), scores in untuned_means.items():
        ref = untuned_means.get(("lambdarank (LightGBM conv.)", backend))
        if label.startswith(("yetirank", "stochasticrank")) and ref:
            d = np.asarray(scores) - np.asarray(ref)
            findings.append(f"- untuned {label} on {backend}: {np.mean(scores):.4f}, {np.mean(d):+.4f} against our "
                            f"`lambdarank` on the same engine ({np.mean(ref):.4f}); better on {int((d > 0).sum())} "
                            f"of {len(d)} folds.")
    if base_r:
        base_scores = np.asarray(base_r["scores"])
        for (label, backend), (scores, _) in tuned_means.items():
            d = np.asarray(scores) - base_scores
            findings.append(f"- go.tune {label} on {backend}: {np.mean(scores):.4f}, {np.mean(d):+.4f} against untuned "
                            f"LightGBM `lambdarank` ({base_scores.mean():.4f}); better on {int((d > 0).sum())} of "
                            f"{len(d)} folds ({', '.join(f'{x:+.4f}' for x in d)}).")
        if n_optuna:
            opt = np.asarray([state.get(f"optuna|{f}|{n_optuna}")["test"] for f in folds_wanted])
            d = opt - base_scores
            findings.append(f"- LightGBMTunerCV: {opt.mean():.4f}, {np.mean(d):+.4f} against untuned; better on "
                            f"{int((d > 0).sum())} of {len(d)} folds.")
            ours = tuned_means.get(("lambdarank:native", "lightgbm"))
            if ours:
                gap = np.mean(ours[0]) - opt.mean()
                findings.append(f"- go.tune minus LightGBMTunerCV on LightGBM's `lambdarank`, same selection rows: "
                                f"{gap:+.4f} mean test NDCG@10 ({'no worse' if gap >= 0 else 'worse'}).")
    headline = ""
    if tuned_means and cat_means:
        (best_label, best_backend), (best_scores, _) = max(tuned_means.items(), key=lambda kv: np.mean(kv[1][0]))
        cat_label = max(cat_means, key=cat_means.get)
        cat_scores = [state.get(f"catboost|{cat_label[len('CatBoost '):]}|{f}")["test"] for f in folds_wanted]
        cat_base = f"{cat_label} (untuned)"
        table_md, table = _significance({**cat_systems, **tuned_systems}, cat_base,
                                        f"Against CatBoost's best untuned cell, {cat_label}")
        best_key = next(k for k in tuned_systems if k.startswith(f"{best_label} / {best_backend} (go.tune"))

        def versus(scores, key):
            gap = np.mean(scores) - cat_means[cat_label]
            d = np.asarray(scores) - np.asarray(cat_scores)
            row = table[table["system"] == key].iloc[0]
            return (f"{np.mean(scores):.4f}, {'reaches' if gap >= 0 else 'does not reach'} CatBoost's best untuned "
                    f"cell, {cat_label} {cat_means[cat_label]:.4f} ({gap:+.4f} mean test NDCG@10; higher on "
                    f"{int((d > 0).sum())} of {len(d)} folds: {', '.join(f'{x:+.4f}' for x in d)}); per query "
                    f"({len(cat_systems[cat_base])}): {row.wins} better, {row.losses} worse, "
                    f"paired randomization p = {row.p_value:.4f} (Holm {row.p_value_corrected:.4f}), 95% CI of the "
                    f"difference [{row.ci_low:+.4f}, {row.ci_high:+.4f}]")

        parts = []
        for protocol in sorted(selected, key=lambda p: p != HEADLINE_PROTOCOL):
            label_sel, scores_sel, picks = selected[protocol]
            kind = ("the protocol fixed in advance" if protocol == HEADLINE_PROTOCOL else "honest")
            by = "selected on vali.txt" if protocol == "vali" else f"selected by {protocol}"
            parts.append(f"**Headline, {by} ({kind}: per fold the go.tune row of this protocol with the best "
                         f"selection score, the test file unused): {versus(scores_sel, label_sel)}.** The folds "
                         "picked: " + "; ".join(f"fold {f}: {lab} on {be}" for f, (lab, be) in zip(folds_wanted, picks))
                         + ".")
        parts.append(f"Best by test (optimistic: the best of {len(tuned_means)} tuned rows by mean test NDCG@10, a "
                     f"choice that looks at the test file, not a result): go.tune {best_label} on {best_backend}, "
                     f"{versus(best_scores, best_key)}.")
        headline = "\n\n".join(parts)
        headline += f"\n\n{table_md}"
    tuning_rows = []
    for (label, backend), (scores, rs) in tuned_means.items():
        tuning_rows.append(f"| go.tune {label} | {backend} | " + " | ".join(f"{r['seconds']:.0f}" for r in rs)
                           + f" | {sum(r['seconds'] for r in rs):.0f} | {np.mean([r['n_complete'] for r in rs]):.1f} "
                             f"complete, {np.mean([r['n_pruned'] for r in rs]):.1f} pruned | "
                           + ", ".join(str(r["rounds"]) for r in rs) + " |")
    if n_optuna:
        rs = [state.get(f"optuna|{f}|{n_optuna}") for f in folds_wanted]
        tuning_rows.append("| LightGBMTunerCV lambdarank | lightgbm | " + " | ".join(f"{r['seconds']:.0f}" for r in rs)
                           + f" | {sum(r['seconds'] for r in rs):.0f} | "
                             f"{np.mean([r['n_trials_run'] for r in rs]):.1f} run | "
                           + ", ".join(str(r["rounds"]) for r in rs) + " |")
    walls = sorted((k, v) for k, v in state.data.items() if k.startswith("wall|"))
    fresh = [(k, v) for k, v in walls if v.get("fresh")]
    extra = [f"`{t.label}` on {t.backend}" for t in TUNED if not t.default]
    total = (f"Whole bench: the units of the default run (`--sections cv,catboost,tune,optuna,report`: every row "
             f"but the exploratory tuned rows {', '.join(extra)}) took **{seconds_used / 60:.1f} min** of wall time "
             f"together, {(seconds_used + seconds_extra) / 60:.1f} min with those rows (`--tuned all`); each unit as "
             f"measured when it ran (resumed from the state file across several invocations on the loaded "
             f"machine; the final "
             f"retrainings, data loading and this report add seconds).")
    if fresh:
        k, v = fresh[-1]
        load = (f", 1-minute load average {v['load'][0]:.1f} at the start and {v['load'][1]:.1f} at the end"
                if "load" in v else "")
        total += (f" A fresh run of every section from an empty state ({k[5:]} UTC, `--sections "
                  f"{','.join(v['sections'])} --jobs {v.get('jobs', 1)}`{load}) took **{v['seconds'] / 60:.1f} "
                  "min** end to end.")
    head = " | ".join(f"fold {f}" for f in folds_wanted)
    sep = "|".join("---:" for _ in folds_wanted)
    md = f"""## Best ranker: query-level CV and tuning on LETOR 4.0 MQ2008 (`scripts/bench_best_ranker.py`)

Test NDCG@10 per official fold (LightGBM's convention: a query without a relevant document scores 1; gain
2^l - 1). Untuned rows: `go.cv(objective, X, y, qid=..., folds=<the official folds>, num_boost_round={ROUNDS})`
with the five test files stacked as the data and each fold training on its own `train.txt` rows (in the file's
order: `go.selection.stack_folds`), no early stopping, `go.train` defaults otherwise; "check" compares with
the per-fold tables of the "Ranking quality" section (`lambdarank`) and of the "CatBoost's ranking losses" section
(`yetirank`, `stochasticrank`, CatBoost) at their 4 published decimals. CatBoost rows: the cell of
`bench_catboost_rankers.py` (`CatBoost({{"loss_function": LOSS, "iterations": {ROUNDS}, "thread_count": 1,
"random_seed": 0}})`, its defaults otherwise), untuned, on the same `train.txt` / `test.txt`. Tuned rows:
`go.tune(..., eval_set=<the fold's vali.txt>, n_trials=<the run column's budget>, max_rounds=1000,
early_stopping_rounds=50)` on the fold's `train.txt` (default search space of the engine plus the objective's own
parameters, the classes' `search_space`: `sigmoid` and `truncation_level` for LightGBM-convention LambdaRank,
`truncation_level` for the XGBoost convention, `decay` in [0.5, 1] for YetiRank (10 permutations), `sigma` in
[0.1, 10] (log), `mu` in [0, 1] and `nu` in [0.001, 1] (log) for StochasticRank (one estimation per round); TPE
seeded with the fold number; median pruning on the per-round validation NDCG@10), then the best configuration
retrained on `train.txt` with its early-stopped round count and scored once on `test.txt`: the test file takes no
part in any choice. Rows named "inner CV" select by `go.tune(..., cv=5)` (query-grouped 5-fold CV inside
`train.txt`, the round count of the mean curve; `vali.txt` unused) instead. Rows named "CV-100" follow a
protocol fixed before any of their test scores was seen: `go.tune(..., cv=5, max_rounds=100,
early_stopping_rounds=None)` (query-grouped 5-fold CV inside `train.txt`, 471 queries scored; the rounds fixed at
100, CatBoost's iterations, and each trial scored at its last round, so the round count is not the argmax of a
noisy curve: the vali-selected rows early-stopped after 2-25 rounds; the learning rate tuned) in a regularised
space after CatBoost's strong defaults (LightGBM: `learning_rate` [0.02, 0.3] (log), `num_leaves` [7, 63] (log),
`min_data_in_leaf` [20, 200] (log), `lambda_l2` [0.1, 30] (log), `feature_fraction` and `bagging_fraction`
[0.5, 1]; XGBoost: the same learning rate, `max_depth` [3, 8], `min_child_weight` [0.001, 10] (log),
`reg_lambda` [0.1, 30] (log), `colsample_bytree` and `subsample` [0.5, 1]; the objective's own parameters as
above), then trained on `train.txt` for 100 rounds. The rows "selected by PROTOCOL" take, per fold, the model
of the go.tune row of that selection protocol whose study has the best selection score (vali.txt NDCG@10, or
the inner-CV score: every row of a fold sees the same inner folds; the "check / selection" cell is the mean of
those scores): a choice among the tuned rows that does not look at the test file, unlike picking the row with
the best mean test NDCG@10 (the set of tuned rows itself was chosen by people who had seen the untuned test
scores); the headline of the CV-100 protocol, per fold its best row by inner-CV score, was fixed in advance.
`LightGBMTunerCV` (optuna-integration) tunes LightGBM's
built-in `lambdarank` stepwise on the same selection rows (one CV split `train.txt` / `vali.txt`, `metric=ndcg`,
`eval_at=[10]`, early stopping 50 of up to 1000 rounds), ended (by an exception from an Optuna callback) once
it has run the budget's trials, since its stepwise schedule has about 68; its best booster (trained on the
`train.txt` rows) is scored on `test.txt`.

| objective | backend | run | {head} | mean | check / selection |
|---|---|---|{sep}|---:|---|
{chr(10).join(rows + cat_rows + tuned_rows)}

Means in this table are over the five folds; `go.compare_runs` below averages over the 784 test queries (a fold
has 156 or 157), so its means can differ in the fourth decimal.

{headline}
{chr(10).join(findings)}

{significance}
Tuning wall time per fold (seconds, {threads} engine thread, shared 2-core machine: other jobs ran beside it, load
average 1-11 over the runs, so times are up to several times a quiet machine's), trials and the tuned rounds:

| tuner | backend | {head} | total | trials per fold | rounds per fold |
|---|---|{sep}|---:|---|---|
{chr(10).join(tuning_rows)}

{total}

Machine: {machine_info(threads)}, Optuna {_version("optuna")}, optuna-integration \
{_version("optuna_integration")}, CatBoost {_version("catboost")}.
"""
    return md


def _version(module):
    try:
        return __import__(module).__version__
    except ImportError:
        return "absent"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="cv,catboost,tune,optuna,report")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--folds", default="1,2,3,4,5")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="units (a row's fold, a CatBoost cell, a go.cv row) run "
                                                            "at once in worker processes, each with --threads")
    parser.add_argument("--tuned", help="indices into TUNED to run, e.g. 0 or 0,1, or 'all' (default: the rows "
                                        "marked default)")
    parser.add_argument("--state", default=str(Path(tempfile.gettempdir()) / "gbm_objectives_bench_best_ranker"),
                        help="folder of the resumable state (state.json, studies/*.db)")
    parser.add_argument("--redo", default="", help="comma-separated state-key prefixes to run again, e.g. "
                                                   "'cv|stochasticrank' (their stored results are stale)")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args()
    if not ROOT.exists():
        print(f"skipping: {ROOT} is absent")
        return
    sections = args.sections.split(",")
    folds = [int(f) for f in args.folds.split(",")]
    state_dir = Path(args.state)
    state_dir.mkdir(parents=True, exist_ok=True)
    state = State(state_dir / "state.json", [p for p in args.redo.split(",") if p])
    fresh = not any(k.split("|")[0] in ("cv", "catboost", "tune", "optuna") for k in state.data)
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    units = []  # the slow units first, so that the worker processes end together
    if "tune" in sections:
        units += tune_units(state, folds, args.trials, args.threads, state_dir,
                            [i for i, t in enumerate(TUNED) if t.default] if args.tuned is None
                            else range(len(TUNED)) if args.tuned == "all" else [int(i) for i in args.tuned.split(",")])
    if "optuna" in sections:
        units += optuna_units(state, folds, args.trials, args.threads)
    if "cv" in sections:
        units += cv_units(state, folds, args.threads)
    if "catboost" in sections:
        units += catboost_units(state, folds)
    execute(state, units, args.jobs)
    runs = [k for k in ("cv", "catboost", "tune", "optuna") if k in sections]
    if runs:  # the script's own wall time, kept per invocation (a fresh state times the whole bench)
        seconds = time.perf_counter() - t0
        state.put(f"wall|{time.strftime('%Y-%m-%dT%H:%M:%S')}", {"sections": runs, "seconds": seconds,
                                                                      "fresh": fresh, "jobs": args.jobs,
                                                                      "load": [load0, os.getloadavg()[0]]})
        print(f"sections {','.join(runs)}: {seconds:.0f} s", flush=True)
    if "report" in sections:
        publish(SECTION, report(state, folds, args.trials, args.threads), write=not args.no_write)


if __name__ == "__main__":
    main()
