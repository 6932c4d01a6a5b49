"""Tests of the LambdaMART estimator (gbm_objectives/lambdamart.py) on both engines and both paths."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import gbm_objectives as go
from gbm_objectives.adapters.native import lightgbm_lambdarank_params, xgboost_rank_params
from gbm_objectives.datasets import make_ranking
from gbm_objectives.metrics import ndcg_score

from conftest import shared_dataset

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")

COMBOS = [("lightgbm", "native"), ("lightgbm", "scratch"), ("xgboost", "native"), ("xgboost", "scratch")]


@pytest.fixture(scope="module")
def small():
    X, y, qid = make_ranking(n_queries=60, docs_per_query=(5, 25), n_features=10, seed=0)
    return X, y, qid


@pytest.mark.parametrize("backend,objective", COMBOS)
def test_fit_predict_score_learns(backend, objective, small):
    X, y, qid = small
    model = go.LambdaMART(backend=backend, objective=objective, n_estimators=30, n_jobs=1).fit(X, y, qid=qid)
    s = model.predict(X)
    assert s.shape == y.shape and np.isfinite(s).all()
    random_score = ndcg_score(y, np.random.default_rng(0).normal(size=len(y)), qid=qid, k=10)
    assert model.score(X, y, qid=qid) > random_score + 0.1
    assert model.score(X, y, qid=qid) == pytest.approx(ndcg_score(y, s, qid=qid, k=10))


def test_scratch_equals_native_lightgbm_when_emulating_is_not_needed(small):
    """norm=False: the exact-sigmoid objective builds LightGBM's trees (differences at the lookup-table level)."""
    X, y, qid = small
    a = go.LambdaMART(objective="native", norm=False, n_estimators=20, n_jobs=1).fit(X, y, qid=qid)
    b = go.LambdaMART(objective="scratch", norm=False, n_estimators=20, n_jobs=1).fit(X, y, qid=qid)
    assert np.abs(a.predict(X) - b.predict(X)).max() <= 1e-4


def test_group_and_qid_and_pandas_give_the_same_model(small):
    X, y, qid = small
    group = np.diff(np.flatnonzero(np.r_[True, qid[1:] != qid[:-1], True]))
    a = go.LambdaMART(objective="scratch", n_estimators=10, n_jobs=1).fit(X, y, qid=qid)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    b = go.LambdaMART(objective="scratch", n_estimators=10, n_jobs=1).fit(df, pd.Series(y), group=group)
    np.testing.assert_array_equal(a.predict(X), b.predict(df))
    assert list(b.feature_names_in_) == list(df.columns)


def test_sklearn_clone_and_params():
    m = go.LambdaMART(backend="xgboost", objective="scratch", truncation_level=10, backend_params={"max_depth": 3})
    c = clone(m)
    assert c.get_params() == m.get_params()
    assert c.get_params()["truncation_level"] == 10
    c.set_params(backend="lightgbm")
    assert c.backend == "lightgbm"


def test_native_parameter_mapping():
    obj = go.LambdaRankObjective(truncation_level=7, norm=False, sigmoid=2.0, label_gain=[0, 1, 3, 7])
    assert lightgbm_lambdarank_params(obj) == {
        "objective": "lambdarank",
        "lambdarank_truncation_level": 7,
        "lambdarank_norm": False,
        "sigmoid": 2.0,
        "label_gain": [0.0, 1.0, 3.0, 7.0],
    }
    p = xgboost_rank_params(go.LambdaRankObjective(truncation_level=7, norm=False, label_gain=[0, 1, 2]))
    assert p == {
        "objective": "rank:ndcg",
        "lambdarank_pair_method": "topk",
        "lambdarank_num_pair_per_sample": 7,
        "lambdarank_normalization": False,
        "ndcg_exp_gain": False,
    }
    assert xgboost_rank_params(go.LambdaRankObjective(metric="map"))["objective"] == "rank:map"
    with pytest.raises(ValueError, match="fixed sigmoid of 1"):
        xgboost_rank_params(go.LambdaRankObjective(sigmoid=2.0))
    with pytest.raises(ValueError, match="only the gains"):
        xgboost_rank_params(go.LambdaRankObjective(label_gain=[0, 2, 5]))
    with pytest.raises(ValueError, match="NDCG only; metric='mrr' needs objective='scratch'"):
        lightgbm_lambdarank_params(go.LambdaRankObjective(metric="mrr"))


def test_native_params_reach_the_engines(small):
    X, y, qid = small
    m = go.LambdaMART(objective="native", truncation_level=7, norm=False, n_estimators=2, n_jobs=1).fit(X, y, qid=qid)
    params = m.booster_.params
    assert params["lambdarank_truncation_level"] == 7 and params["lambdarank_norm"] is False
    m = go.LambdaMART(backend="xgboost", truncation_level=7, n_estimators=2, n_jobs=1).fit(X, y, qid=qid)
    import json

    cfg = json.loads(m.booster_.save_config())["learner"]["objective"]
    assert cfg["name"] == "rank:ndcg"
    assert cfg["lambdarank_param"]["lambdarank_num_pair_per_sample"] == "7"
    assert cfg["lambdarank_param"]["lambdarank_pair_method"] == "topk"


def test_scratch_metric_mrr_trains_where_native_cannot(small):
    X, y, qid = small
    m = go.LambdaMART(objective="scratch", metric="mrr", n_estimators=10, n_jobs=1).fit(X, y, qid=qid)
    assert np.isfinite(m.predict(X)).all()
    with pytest.raises(ValueError, match="needs objective='scratch'"):
        go.LambdaMART(objective="native", metric="mrr").fit(X, y, qid=qid)


def test_sample_weight_paths(small):
    X, y, qid = small
    w_rows = np.random.default_rng(0).uniform(0.5, 2, size=len(y))
    go.LambdaMART(objective="scratch", n_estimators=3, n_jobs=1).fit(X, y, qid=qid, sample_weight=w_rows)
    w_query = np.repeat(np.arange(1.0, 61.0), np.bincount(qid))
    for objective in ("native", "scratch"):
        go.LambdaMART(backend="xgboost", objective=objective, n_estimators=3, n_jobs=1).fit(
            X, y, qid=qid, sample_weight=w_query
        )
    with pytest.raises(ValueError, match="constant within each query"):
        go.LambdaMART(backend="xgboost", n_estimators=3).fit(X, y, qid=qid, sample_weight=w_rows)


def test_bad_input(small):
    X, y, qid = small
    with pytest.raises(ValueError, match="objective must be 'native' or 'scratch'"):
        go.LambdaMART(objective="custom").fit(X, y, qid=qid)
    with pytest.raises(ValueError, match=f"group sizes sum to 10 but there are {len(y)} rows"):
        go.LambdaMART().fit(X, y, group=[10])
    with pytest.raises(ValueError, match="needs group"):
        go.LambdaMART().fit(X, y)
    with pytest.raises(ValueError, match="non-negative integer"):
        go.LambdaMART(objective="native").fit(X, y + 0.5, qid=qid)
    with pytest.raises(ValueError, match="early_stopping_rounds needs an eval_set"):
        go.LambdaMART().fit(X, y, qid=qid, early_stopping_rounds=5)
    with pytest.raises(ValueError, match="eval_group has 2 entries but eval_set has 1"):
        go.LambdaMART().fit(X, y, qid=qid, eval_set=[(X, y)], eval_group=[[1], [2]])


# ---------------------------------------------------------------------------------------------------------------
# LightGBM's own test thresholds for its lambdarank example (tests/python_package_test/test_sklearn.py)
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rank_example():
    from sklearn.datasets import load_svmlight_file

    d = shared_dataset("lightgbm_lambdarank")
    X, y = load_svmlight_file(str(d / "rank.train"))
    Xt, yt = load_svmlight_file(str(d / "rank.test"), n_features=X.shape[1])
    g = np.loadtxt(d / "rank.train.query").astype(np.int64)
    gt = np.loadtxt(d / "rank.test.query").astype(np.int64)
    return X.toarray(), y, g, Xt.toarray(), yt, gt


@pytest.mark.parametrize("objective", ["native", "scratch"])
def test_lightgbm_example_thresholds(objective, rank_example):
    X, y, g, Xt, yt, gt = rank_example
    model = go.LambdaMART(objective=objective, n_estimators=50, eval_at=(1, 3), n_jobs=1).fit(
        X, y, group=g, eval_set=[(Xt, yt)], eval_group=[gt], early_stopping_rounds=10,
        callbacks=[lgb.reset_parameter(learning_rate=lambda i: max(0.01, 0.1 - 0.01 * i))],
    )
    assert model.best_iteration_ <= 24
    assert model.best_score_["valid_0"]["ndcg@1"] > 0.5674
    assert model.best_score_["valid_0"]["ndcg@3"] > 0.578


def test_estimator_scratch_with_emulation_equals_native_lightgbm(rank_example):
    """The issue's exactness setting through the estimator: 100 rounds, norm on, truncation 30, sigma 1."""
    X, y, g, Xt, yt, gt = rank_example
    native = go.LambdaMART(objective="native", n_estimators=100, n_jobs=1).fit(X, y, group=g)
    scratch = go.LambdaMART(objective="scratch", emulate_lightgbm=True, n_estimators=100, n_jobs=1).fit(X, y, group=g)
    assert np.abs(native.predict(Xt) - scratch.predict(Xt)).max() == 0.0
    for k in (1, 3, 5, 10):
        assert round(ndcg_score(yt, native.predict(Xt), group=gt, k=k), 3) == round(
            ndcg_score(yt, scratch.predict(Xt), group=gt, k=k), 3)


def test_mq2008_fold1_scratch_matches_native_lightgbm():
    """Real data: on MQ2008 fold 1, LightGBM with our objective ranks the test set as well as its built-in."""
    from gbm_objectives.datasets import load_letor

    root = shared_dataset("letor4_mq2008", "Fold1")
    X, y, qid = load_letor(root / "train.txt.gz", n_features=46)
    Xt, yt, qt = load_letor(root / "test.txt.gz", n_features=46)
    scores = {}
    for objective in ("native", "scratch"):
        m = go.LambdaMART(objective=objective, n_estimators=30, n_jobs=1).fit(X, y, qid=qid)
        scores[objective] = m.score(Xt, yt, qid=qt)
    assert abs(scores["scratch"] - scores["native"]) <= 0.003
