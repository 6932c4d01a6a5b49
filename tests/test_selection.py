"""go.cv (query-grouped cross-validation, a loop over go.train) and go.tune (Optuna, metric-aware)."""

import os
import runpy
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupKFold, GroupShuffleSplit

import gbm_objectives as go
from gbm_objectives import datasets, selection
from gbm_objectives.metrics import ndcg_score
from gbm_objectives.selection import fold_rows, stack_folds

FAST = {"num_leaves": 7, "min_data_in_leaf": 2}
FAST_XGB = {"max_depth": 3}


def _params(backend):
    return FAST if backend == "lightgbm" else FAST_XGB


@pytest.fixture(scope="module")
def ranking():
    X, y, qid = datasets.make_ranking(n_queries=30, docs_per_query=(5, 15), n_features=6, n_labels=3, seed=0)
    return X, y, qid


# ---- folds -------------------------------------------------------------------------------------------------------

def _assert_whole_queries(pairs, qid):
    seen = []
    for tr, va in pairs:
        assert not set(qid[tr]) & set(qid[va])
        for q in set(qid[va]):
            assert (qid[va] == q).sum() == (qid == q).sum()
        seen += list(set(qid[va]))
    return seen


def test_kfold_partitions_queries_and_is_seeded(ranking):
    _, _, qid = ranking
    pairs = fold_rows(4, len(qid), qid=qid, seed=3)
    seen = _assert_whole_queries(pairs, qid)
    assert sorted(seen) == sorted(set(qid))  # every query validated exactly once
    sizes = [len(set(qid[va])) for _, va in pairs]
    assert max(sizes) - min(sizes) <= 1
    again = fold_rows(4, len(qid), qid=qid, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(pairs, again))
    other = fold_rows(4, len(qid), qid=qid, seed=4)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(pairs, other))


@pytest.mark.parametrize("splitter", [GroupKFold(n_splits=3), GroupShuffleSplit(n_splits=2, test_size=0.3,
                                                                                   random_state=0)])
def test_sklearn_splitters_get_the_queries_as_groups(ranking, splitter):
    _, _, qid = ranking
    pairs = fold_rows(splitter, len(qid), qid=qid)
    assert len(pairs) == splitter.get_n_splits()
    _assert_whole_queries(pairs, qid)


def test_explicit_fold_that_splits_a_query_names_it():
    qid = np.array([7, 7, 8, 8, 9, 9])
    with pytest.raises(ValueError, match=r"folds\[1\]: query 8 is split"):
        fold_rows([([0, 1], [2, 3, 4, 5]), ([0, 1, 2], [3, 4, 5])], 6, qid=qid)
    with pytest.raises(ValueError, match=r"query 9 is split: 0 of its 2 rows in the training rows, 1"):
        fold_rows([([0, 1, 2, 3], [4])], 6, qid=qid)
    mask = np.array([True, True, False, False, False, False])
    tr, va = fold_rows([(~mask, mask)], 6, qid=qid)[0]
    assert tr.tolist() == [2, 3, 4, 5] and va.tolist() == [0, 1]
    with pytest.raises(ValueError, match="row index 6 is outside"):
        fold_rows([([0, 1], [6])], 6, qid=qid)
    with pytest.raises(ValueError, match="folds must be between 2 and the number of queries"):
        fold_rows(4, 6, qid=qid)


# ---- cv is a loop over go.train ----------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("objective", ["lambdarank", "lambdarank:native"])
def test_cv_folds_are_go_train_runs(ranking, backend, objective):
    X, y, qid = ranking
    res = go.cv(objective, X, y, qid=qid, folds=3, backend=backend, params=_params(backend), num_boost_round=4,
                metric=["ndcg@5", "mrr"], n_jobs=1, seed=1)
    pairs = fold_rows(3, len(y), qid=qid, seed=1)
    for i, (tr, va) in enumerate(pairs):
        alone = go.train(objective, X[tr], y[tr], qid=qid[tr], backend=backend, params=_params(backend),
                         num_boost_round=4, n_jobs=1)
        raw = alone.predict_raw(X[va])
        np.testing.assert_array_equal(res.oof_score[va], raw)
        assert res.scores["ndcg@5"][i] == pytest.approx(ndcg_score(y[va], raw, qid=qid[va], k=5), abs=1e-12)
        part = res.per_query[res.per_query["fold"] == i]
        assert part["ndcg@5"].mean() == pytest.approx(res.scores["ndcg@5"][i], abs=1e-12)
        assert part["qid"].tolist() == list(dict.fromkeys(qid[va]))
    curves = np.array([f.evals_result["valid_0"]["mrr"] for f in res.folds])
    np.testing.assert_allclose(res.evals_result["mrr"]["mean"], curves.mean(axis=0))
    np.testing.assert_allclose(res.evals_result["mrr"]["std"], curves.std(axis=0))
    mean = np.asarray(res.evals_result["ndcg@5"]["mean"])
    assert res.best_iteration == int(np.argmax(mean)) + 1
    assert res.mean["ndcg@5"] == pytest.approx(np.mean(res.scores["ndcg@5"]))
    assert sorted(res.per_query["qid"]) == sorted(set(qid))


def test_cv_early_stopping_curves_run_to_the_shortest_fold(ranking):
    X, y, qid = ranking
    res = go.cv("lambdarank", X, y, qid=qid, folds=3, params=FAST, num_boost_round=60, metric="ndcg@3",
                early_stopping_rounds=2, n_jobs=1)
    lengths = [len(f.evals_result["valid_0"]["ndcg@3"]) for f in res.folds]
    assert len(res.evals_result["ndcg@3"]["mean"]) == min(lengths) < 60
    for i, f in enumerate(res.folds):
        assert res.scores["ndcg@3"][i] == f.evals_result["valid_0"]["ndcg@3"][f.best_iteration - 1]


def test_cv_per_query_feeds_compare_runs(ranking):
    X, y, qid = ranking
    a = go.cv("lambdarank", X, y, qid=qid, folds=3, params=FAST, num_boost_round=3, metric="ndcg@5", n_jobs=1)
    b = go.cv("xendcg", X, y, qid=qid, folds=3, params=FAST, num_boost_round=3, metric="ndcg@5", n_jobs=1)
    table = go.compare_runs({"lambdarank": a.per_query.set_index("qid")[["ndcg@5"]],
                             "xendcg": b.per_query.set_index("qid")[["ndcg@5"]]}, n_resamples=200)
    assert table["system"].tolist() == ["lambdarank", "xendcg"]
    assert table["mean"].iloc[0] == pytest.approx(a.per_query["ndcg@5"].mean())


def test_cv_binary_objective_and_json(tmp_path):
    X, y = datasets.make_imbalanced(n_samples=300, positive_rate=0.3, n_features=4, seed=0)
    res = go.cv("focal", X, y, folds=3, params=FAST, num_boost_round=3, metric=["logloss", "auc"], n_jobs=1)
    assert res.per_query is None and not np.isnan(res.oof_score).any()
    assert res.higher_is_better == {"logloss": False, "auc": True}
    mean = np.asarray(res.evals_result["logloss"]["mean"])
    assert res.best_iteration == int(np.argmin(mean)) + 1  # the registry's direction
    res.save_json(tmp_path / "cv.json")
    import json

    data = json.loads((tmp_path / "cv.json").read_text())
    assert data["version"] == 1 and [f["fold"] for f in data["folds"]] == [1, 2, 3]
    assert data["folds"][0]["scores"]["auc"] == res.scores["auc"][0]


def test_cv_json_feeds_the_report_with_its_folds_and_curves(ranking, tmp_path):
    """The cv.json that go.cv writes is what go.report reads: the per-fold table and the mean +- std curves."""
    from gbm_objectives.experiment import load_results

    X, y, qid = ranking
    res = go.cv("lambdarank", X, y, qid=qid, folds=3, params=FAST, num_boost_round=4, metric=["ndcg@5", "map"],
                n_jobs=1)
    res.save_json(tmp_path / "cv.json")
    systems, extras = load_results([str(tmp_path / "cv.json")])
    html = (go.report(systems, tmp_path / "report.html", **extras)).read_text()
    for i in range(3):
        assert f"{res.scores['ndcg@5'][i]:.4f}" in html  # each fold's score in the table
    assert "ndcg@5: mean ± std over 3 folds" in html and "map: mean ± std over 3 folds" in html  # both curves


def test_stack_folds_rebuilds_predefined_folds(ranking):
    X, y, qid = ranking
    chunks = [np.isin(qid, np.arange(k, 30, 3)) for k in range(3)]
    parts = []
    for k in range(3):
        train = chunks[(k + 1) % 3] | chunks[(k + 2) % 3]
        parts.append(((X[train], y[train], qid[train]), (X[chunks[k]], y[chunks[k]], qid[chunks[k]])))
    Xs, ys, qs, folds = stack_folds(parts)
    for k, (tr, va) in enumerate(folds):
        train = chunks[(k + 1) % 3] | chunks[(k + 2) % 3]
        np.testing.assert_array_equal(Xs[tr], X[train])  # the training file's own row order
        np.testing.assert_array_equal(qs[va], qid[chunks[k]])
    bad = list(parts)
    (Xt, yt, qt), valid = bad[0]
    yt = yt.copy()
    yt[0] += 1
    bad[0] = ((Xt, yt, qt), valid)
    with pytest.raises(ValueError, match=f"fold 1: the training rows of query {qt[0]} differ"):
        stack_folds(bad)


# ---- go.train's on_round hook ------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_on_round_sees_each_rounds_metrics_and_can_stop_training(ranking, backend):
    X, y, qid = ranking
    tr, va = qid < 20, qid >= 20
    seen = []
    res = go.train("lambdarank", X[tr], y[tr], qid=qid[tr], backend=backend, params=_params(backend),
                   num_boost_round=5, eval_set=[(X[va], y[va])], eval_qid=[qid[va]], metric=["ndcg@5", "mrr"],
                   n_jobs=1, on_round=lambda r, s: seen.append((r, s)))
    assert [r for r, _ in seen] == [1, 2, 3, 4, 5]
    assert [s["valid_0"]["mrr"] for _, s in seen] == res.evals_result["valid_0"]["mrr"]

    class Stop(Exception):
        pass

    def stop(r, s):
        if r == 2:
            raise Stop

    with pytest.raises(Stop):
        go.train("lambdarank", X[tr], y[tr], qid=qid[tr], backend=backend, params=_params(backend),
                 num_boost_round=5, eval_set=[(X[va], y[va])], eval_qid=[qid[va]], n_jobs=1, on_round=stop)
    with pytest.raises(TypeError, match="on_round must be a callable"):
        go.train("lambdarank", X[tr], y[tr], qid=qid[tr], num_boost_round=1, on_round=3)


# ---- tune --------------------------------------------------------------------------------------------------------

optuna = pytest.importorskip("optuna")


def _split(ranking):
    X, y, qid = ranking
    tr, va = qid < 20, qid >= 20
    return X[tr], y[tr], qid[tr], X[va], y[va], qid[va]


def test_tune_selects_on_eval_set_and_best_reproduces(ranking):
    Xt, yt, qt, Xv, yv, qv = _split(ranking)
    best = go.tune("lambdarank", Xt, yt, qid=qt, eval_set=(Xv, yv), eval_qid=qv, metric="ndcg@5", n_trials=3,
                   max_rounds=8, early_stopping_rounds=3, n_jobs=1, progress=False, pruning=False)
    assert best.direction == "maximize" and len(best.trials_) == 3
    assert {"objective.sigmoid", "objective.truncation_level", "learning_rate", "num_leaves"} <= set(
        best.study.best_trial.params)
    assert best.params["bagging_freq"] == 1 and "sigmoid" not in best.params
    res = best.train(Xt, yt, qid=qt, n_jobs=1)
    assert res.num_rounds == best.num_boost_round
    assert ndcg_score(yv, res.predict_raw(Xv), qid=qv, k=5) == pytest.approx(best.value, abs=1e-12)
    assert best.objective.sigmoid == best.study.best_trial.params["objective.sigmoid"]
    assert best.value == max(t.value for t in best.study.trials)


def test_tune_without_early_stopping_fixes_the_rounds_and_scores_the_last_round(ranking):
    # early_stopping_rounds=None: every trial runs max_rounds, scored at its last round (not the curve's argmax)
    Xt, yt, qt, Xv, yv, qv = _split(ranking)
    kw = dict(metric="ndcg@5", n_trials=2, max_rounds=6, early_stopping_rounds=None, n_jobs=1, progress=False)
    best = go.tune("lambdarank", Xt, yt, qid=qt, eval_set=(Xv, yv), eval_qid=qv, **kw)
    assert {t.user_attrs["num_boost_round"] for t in best.study.trials} == {6}
    res = best.train(Xt, yt, qid=qt, n_jobs=1)
    assert res.num_rounds == 6
    assert ndcg_score(yv, res.predict_raw(Xv), qid=qv, k=5) == pytest.approx(best.value, abs=1e-12)
    X, y, qid = ranking
    inner = go.tune("lambdarank", X, y, qid=qid, cv=3, **kw)
    assert inner.num_boost_round == 6
    check = go.cv(inner.objective, X, y, qid=qid, folds=3, params=inner.params, num_boost_round=6, metric="ndcg@5",
                  n_jobs=1)
    assert check.evals_result["ndcg@5"]["mean"][-1] == pytest.approx(inner.value, abs=1e-12)


def test_tune_direction_comes_from_the_registry(monkeypatch):
    from gbm_objectives.metrics import by_task

    X, y = datasets.make_imbalanced(n_samples=200, positive_rate=0.3, n_features=4, seed=0)
    kw = dict(eval_set=(X[150:], y[150:]), metric="logloss", n_trials=1, max_rounds=3, early_stopping_rounds=2,
              n_jobs=1, progress=False, search_space={"learning_rate": optuna.distributions.FloatDistribution(0.05, 0.1)})
    assert go.tune("logloss", X[:150], y[:150], **kw).direction == "minimize"
    tasks, _, factory = by_task.TASK_METRICS["logloss"]
    monkeypatch.setitem(by_task.TASK_METRICS, "logloss", (tasks, True, factory))  # the registry says otherwise
    assert go.tune("logloss", X[:150], y[:150], **kw).direction == "maximize"


def test_tune_inner_cv_xgboost_custom_objective_and_search_space(ranking):
    X, y, qid = ranking
    space = {"max_depth": optuna.distributions.IntDistribution(2, 4),
             "objective.truncation_level": optuna.distributions.IntDistribution(3, 8)}
    best = go.tune(go.LambdaRankObjective(convention="xgboost"), X, y, qid=qid, cv=3, backend="xgboost",
                   metric="ndcg@5", n_trials=2, search_space=space, max_rounds=6, early_stopping_rounds=2, n_jobs=1,
                   progress=False)
    assert set(best.study.best_trial.params) == set(space)
    assert best.objective.convention == "xgboost" and 3 <= best.objective.truncation_level <= 8
    check = go.cv(best.objective, X, y, qid=qid, folds=3, backend="xgboost", params=best.params,
                  num_boost_round=6, metric="ndcg@5", early_stopping_rounds=2, n_jobs=1)
    assert check.best_score() == pytest.approx(best.value, abs=1e-12)
    with pytest.raises(ValueError, match="has no parameter 'gamma'"):
        go.tune("lambdarank", X, y, qid=qid, n_trials=1, progress=False,
                search_space={"objective.gamma": optuna.distributions.FloatDistribution(0, 1)})


def test_default_search_space_leaves_out_the_fixed_xgboost_sigmoid():
    space = go.selection.default_search_space("lambdarank:native", "xgboost")
    assert "objective.truncation_level" in space and "objective.sigmoid" not in space
    assert "objective.sigmoid" in go.selection.default_search_space("lambdarank:native", "lightgbm")
    custom = go.selection.default_search_space(go.LambdaRankObjective(convention="xgboost"), "xgboost")
    assert "objective.sigmoid" not in custom and "max_depth" in custom


@pytest.mark.parametrize("name", sorted(n for n, c in go.objectives.OBJECTIVES.items() if c.search_space))
def test_default_search_space_holds_every_declared_parameter_of_the_objective(name):
    # a declared range the objective rejects at an end would be dropped silently from the default space
    cls = go.objectives.OBJECTIVES[name]
    space = go.selection.default_search_space(cls(), "lightgbm")
    for param, (kind, low, high, log) in cls.search_space.items():
        dist = space[f"objective.{param}"]
        assert (dist.low, dist.high, dist.log) == (low, high, log)
        assert isinstance(dist, optuna.distributions.IntDistribution) == (kind == "int")


def test_tune_extended_search_space_keeps_the_engine_companions(ranking):
    # default space with an objective parameter's range replaced: bagging_fraction still needs LightGBM's bagging_freq
    Xt, yt, qt, Xv, yv, qv = _split(ranking)
    space = {**go.selection.default_search_space(go.YetiRankObjective(), "lightgbm"),
             "objective.decay": optuna.distributions.FloatDistribution(0.5, 0.9)}
    kw = dict(qid=qt, eval_set=(Xv, yv), eval_qid=qv, n_trials=1, max_rounds=3, early_stopping_rounds=2, n_jobs=1,
              progress=False, pruning=False)
    best = go.tune(go.YetiRankObjective(), Xt, yt, search_space=space, **kw)
    assert best.params["bagging_freq"] == 1 and 0.5 <= best.objective.decay <= 0.9
    engine_only = {k: v for k, v in space.items() if not k.startswith("objective.")}
    assert go.tune("lambdarank", Xt, yt, search_space=engine_only, params={"bagging_freq": 3}, **kw
                   ).params["bagging_freq"] == 3  # the caller's params win over the companions
    only_own = {"objective.decay": space["objective.decay"]}
    assert "bagging_freq" not in go.tune(go.YetiRankObjective(), Xt, yt, search_space=only_own, **kw).params


def test_tune_prunes_on_the_per_round_metric(ranking):
    Xt, yt, qt, Xv, yv, qv = _split(ranking)
    storage = optuna.storages.InMemoryStorage()
    with pytest.raises(RuntimeError, match="no trial completed"):
        go.tune("lambdarank", Xt, yt, qid=qt, eval_set=(Xv, yv), eval_qid=qv, metric="ndcg@5", n_trials=2,
                max_rounds=10, early_stopping_rounds=10, n_jobs=1, progress=False, storage=storage,
                study_name="p", pruning=optuna.pruners.ThresholdPruner(lower=1.5, n_warmup_steps=2))
    trials = optuna.load_study(study_name="p", storage=storage).trials
    assert [t.state.name for t in trials] == ["PRUNED", "PRUNED"]
    # rounds are steps 1, 2, ...: the first step not in the warm-up (step >= 2) prunes
    assert all(sorted(t.intermediate_values) == [1, 2] for t in trials)


RESUME_SCRIPT = textwrap.dedent("""
    import sys, time
    import optuna
    import gbm_objectives as go
    from gbm_objectives import datasets, selection

    url, n_trials = sys.argv[1], int(sys.argv[2])
    selection.HEARTBEAT_SECONDS = 1  # stale after 2 s (the test waits that long)
    X, y, qid = datasets.make_ranking(n_queries=20, docs_per_query=(5, 10), n_features=4, n_labels=3, seed=0)
    train = selection.train

    def slow_train(*args, **kwargs):  # long enough trials for the test to kill one mid-way
        time.sleep(0.4)
        return train(*args, **kwargs)

    selection.train = slow_train
    go.tune("lambdarank", X[qid < 14], y[qid < 14], qid=qid[qid < 14], eval_set=(X[qid >= 14], y[qid >= 14]),
            eval_qid=qid[qid >= 14], metric="ndcg@5", n_trials=n_trials, max_rounds=4, early_stopping_rounds=2,
            params={"num_leaves": 4, "min_data_in_leaf": 2}, n_jobs=1, progress=False, pruning=False,
            storage=url, study_name="resume")
""")


@pytest.mark.slow
def test_tune_resumes_after_a_kill_without_losing_or_repeating_trials(tmp_path, monkeypatch):
    script = tmp_path / "tune_job.py"
    script.write_text(RESUME_SCRIPT)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, str(script), url, "5"], env=env, cwd=tmp_path)
    killed = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                trials = optuna.load_study(study_name="resume", storage=url).get_trials(deepcopy=False)
            except (KeyError, Exception):  # the study is not created yet
                trials = []
            done = [t for t in trials if t.state.name == "COMPLETE"]
            running = [t for t in trials if t.state.name == "RUNNING"]
            # kill inside a trial's training: its parameters all drawn (as many as a finished trial's)
            if len(done) >= 2 and running and len(running[0].params) == len(done[0].params):
                proc.send_signal(signal.SIGKILL)
                killed = [t.number for t in running]
                break
            time.sleep(0.05)
    finally:
        proc.wait()
    assert killed, "the tuning process finished before it could be killed"
    time.sleep(2.5)  # the killed trial's heartbeat goes stale
    # resume here, with the same script (the patches it makes are undone when the test ends)
    monkeypatch.setattr(selection, "train", selection.train)
    monkeypatch.setattr(selection, "HEARTBEAT_SECONDS", selection.HEARTBEAT_SECONDS)
    monkeypatch.setattr(sys, "argv", [str(script), url, "5"])
    runpy.run_path(str(script), run_name="resume")
    trials = optuna.load_study(study_name="resume", storage=url).get_trials(deepcopy=False)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 5  # n_trials finished trials in all, none counted twice
    assert [t.state.name for t in trials if t.number in killed] == ["FAIL"]
    retried = [t for t in complete if t.system_attrs.get("failed_trial") == killed[0]]
    assert len(retried) == 1 and retried[0].params == trials[killed[0]].params  # its parameters re-run once
    assert len({tuple(sorted(t.params.items())) for t in complete}) == 5
