"""Metrics inside the engines and scikit-learn: LightGBM feval / eval_metric, XGBoost custom_metric, early stopping,
and GridSearchCV with GroupKFold through ``go.ranking_scorer`` (query ids via metadata routing)."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GridSearchCV, GroupKFold

import gbm_objectives as go
from conftest import group_sizes_of, shared_dataset

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")


@pytest.fixture(scope="module")
def mq2008():
    from gbm_objectives.datasets import load_letor

    X, y, qid = load_letor(shared_dataset("letor4_mq2008", "Fold1", "train.txt.gz"))
    Xv, yv, qv = load_letor(shared_dataset("letor4_mq2008", "Fold1", "vali.txt.gz"))
    return X, y, qid, Xv, yv, qv


LGB_PARAMS = {"objective": "lambdarank", "num_leaves": 15, "learning_rate": 0.3, "min_data_in_leaf": 5,
              "verbose": -1, "num_threads": 1, "seed": 0, "deterministic": True}


# ------------------------------------------------------------------------------------------------------------------
# LightGBM


def test_lightgbm_feval_equals_builtin_every_iteration(mq2008):
    X, y, qid, Xv, yv, qv = mq2008
    train = lgb.Dataset(X, y, group=group_sizes_of(qid))
    valid = lgb.Dataset(Xv, yv, group=group_sizes_of(qv), reference=train)
    log = {}
    fevals = [go.lightgbm_metric("ndcg@3", name="go_ndcg@3"), go.lightgbm_metric("ndcg@10", name="go_ndcg@10"),
              go.lightgbm_metric("map@5", name="go_map@5")]
    lgb.train({**LGB_PARAMS, "metric": ["ndcg", "map"], "eval_at": [3, 5, 10]}, train, 15, valid_sets=[train, valid],
              valid_names=["train", "valid"], feval=fevals, callbacks=[lgb.record_evaluation(log)])
    for split in ("train", "valid"):
        for k in (3, 10):
            np.testing.assert_allclose(log[split][f"go_ndcg@{k}"], log[split][f"ndcg@{k}"], rtol=0, atol=1e-9)
    # LightGBM's map@k sorts with an unstable sort; the scores of a 15-round model are tie-free within queries here
    np.testing.assert_allclose(log["valid"]["go_map@5"][-1], log["valid"]["map@5"][-1], rtol=0, atol=1e-9)


def test_lightgbm_early_stopping_stops_at_the_same_iteration(mq2008):
    X, y, qid, Xv, yv, qv = mq2008

    def run(params, feval):
        train = lgb.Dataset(X, y, group=group_sizes_of(qid))
        valid = lgb.Dataset(Xv, yv, group=group_sizes_of(qv), reference=train)
        return lgb.train({**LGB_PARAMS, **params}, train, 300, valid_sets=[valid], feval=feval,
                         callbacks=[lgb.early_stopping(10, verbose=False)])

    builtin = run({"metric": "ndcg", "eval_at": [10]}, None)
    ours = run({"metric": "None"}, go.lightgbm_metric("ndcg@10"))
    assert builtin.best_iteration < 300  # early stopping did trigger
    assert ours.best_iteration == builtin.best_iteration
    assert ours.best_score["valid_0"]["ndcg@10"] == pytest.approx(builtin.best_score["valid_0"]["ndcg@10"], abs=1e-9)


def test_lgbm_ranker_eval_metric_sklearn_api(mq2008):
    """The scikit-learn API calls a 4-parameter eval function with (y_true, y_pred, weight, group)."""
    X, y, qid, Xv, yv, qv = mq2008
    ranker = lgb.LGBMRanker(n_estimators=8, num_leaves=15, learning_rate=0.3, verbose=-1, n_jobs=1)
    ranker.fit(X, y, group=group_sizes_of(qid), eval_X=(Xv,), eval_y=(yv,), eval_group=[group_sizes_of(qv)],
               eval_at=[5], eval_metric=go.lightgbm_metric("ndcg@5", name="go_ndcg@5"))
    res = ranker.evals_result_["valid_0"]
    np.testing.assert_allclose(res["go_ndcg@5"], res["ndcg@5"], rtol=0, atol=1e-9)
    assert ranker.best_score_ is not None


def test_lightgbm_metric_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown metric 'ndgc@10'"):
        go.lightgbm_metric("ndgc@10")


# ------------------------------------------------------------------------------------------------------------------
# XGBoost


XGB_PARAMS = {"objective": "rank:ndcg", "max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 0}
# XGBoost formats a custom metric's value with "%f" (xgboost/core.py, Booster.eval_set) before it reaches the log
# and early stopping: 6 decimals, so the engine rounds our value by at most 5e-7.
XGB_ROUNDING = 5e-7 + 1e-12


def test_xgboost_custom_metric_equals_builtin_every_iteration(mq2008):
    X, y, qid, Xv, yv, qv = mq2008
    dtrain, dvalid = xgb.DMatrix(X, y, qid=qid), xgb.DMatrix(Xv, yv, qid=qv)
    log = {}
    xgb.train({**XGB_PARAMS, "eval_metric": ["ndcg@3", "ndcg@10"]}, dtrain, 10, evals=[(dtrain, "train"), (dvalid, "valid")],
              evals_result=log, verbose_eval=False)
    log_go = {}
    metric = go.xgboost_metric("ndcg@3", name="go_ndcg@3")
    xgb.train({**XGB_PARAMS, "disable_default_eval_metric": 1}, dtrain, 10, evals=[(dtrain, "train"), (dvalid, "valid")],
              evals_result=log_go, custom_metric=metric, verbose_eval=False)
    for split in ("train", "valid"):
        np.testing.assert_allclose(log_go[split]["go_ndcg@3"], log[split]["ndcg@3"], rtol=0, atol=XGB_ROUNDING)
    # unrounded, our metric equals the built-in to 1e-9 on the final model
    booster = xgb.train({**XGB_PARAMS, "eval_metric": "ndcg@3"}, dtrain, 10)
    assert metric(booster.predict(dvalid), dvalid)[1] == pytest.approx(log["valid"]["ndcg@3"][-1], abs=1e-9)


def test_xgboost_early_stopping_stops_at_the_same_iteration(mq2008):
    X, y, qid, Xv, yv, qv = mq2008
    dtrain, dvalid = xgb.DMatrix(X, y, qid=qid), xgb.DMatrix(Xv, yv, qid=qv)
    builtin = xgb.train({**XGB_PARAMS, "eval_metric": "ndcg@10"}, dtrain, 300, evals=[(dvalid, "valid")],
                        early_stopping_rounds=10, verbose_eval=False)
    ours = xgb.train({**XGB_PARAMS, "disable_default_eval_metric": 1}, dtrain, 300, evals=[(dvalid, "valid")],
                     custom_metric=go.xgboost_metric("ndcg@10"), early_stopping_rounds=10, verbose_eval=False)
    assert builtin.best_iteration < 299  # early stopping did trigger
    assert ours.best_iteration == builtin.best_iteration
    assert ours.best_score == pytest.approx(builtin.best_score, abs=XGB_ROUNDING)


def test_xgboost_metric_uses_per_query_weights(mq2008):
    """XGBoost stores one weight per query for ranking; it becomes the query weight of the mean."""
    _, _, _, Xv, yv, qv = mq2008
    sizes = group_sizes_of(qv)
    qw = (np.random.default_rng(0).random(len(sizes)) + 0.5).astype(np.float32)  # XGBoost stores float32
    d = xgb.DMatrix(Xv, yv, qid=qv, weight=qw)
    score = np.random.default_rng(1).random(len(yv))
    name, value = go.xgboost_metric("ndcg@5")(score, d)
    per_query = go.ndcg_score(yv, score, qid=qv, k=5, reduce=None)
    assert name == "ndcg@5"
    qw64 = qw.astype(np.float64)
    assert value == pytest.approx(np.dot(per_query, qw64) / qw64.sum(), abs=1e-12)


# ------------------------------------------------------------------------------------------------------------------
# scikit-learn: GridSearchCV(cv=GroupKFold) with go.ranking_scorer


class PointwiseRanker(RegressorMixin, BaseEstimator):
    """A minimal scikit-learn ranker for the test: go.GBMRegressor on the labels; fit accepts (and ignores) qid."""

    def __init__(self, n_estimators=10, learning_rate=0.1):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate

    def fit(self, X, y, qid=None):
        self.qid_seen_ = qid is not None
        self.model_ = go.GBMRegressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                      backend_params={"verbose": -1, "num_threads": 1}).fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_grid_search_group_kfold_with_ranking_scorer(mq2008):
    _, _, _, Xv, yv, qv = mq2008
    cv = GroupKFold(n_splits=3)
    grid = {"n_estimators": [3, 15]}
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = go.ranking_scorer("ndcg@10")
        est = PointwiseRanker().set_fit_request(qid=True)
        search = GridSearchCV(est, grid, cv=cv, scoring=scorer).fit(Xv, yv, groups=qv, qid=qv)
    assert search.best_estimator_.qid_seen_
    # every fold score equals ndcg@10 of that fold's queries, computed by hand
    for i, n_est in enumerate(grid["n_estimators"]):
        for fold, (tr, te) in enumerate(cv.split(Xv, yv, groups=qv)):
            model = PointwiseRanker(n_estimators=n_est).fit(Xv[tr], yv[tr])
            expected = go.ndcg_score(yv[te], model.predict(Xv[te]), qid=qv[te], k=10)
            assert search.cv_results_[f"split{fold}_test_score"][i] == pytest.approx(expected, abs=1e-12)


def test_ranking_scorer_without_qid_raises(mq2008):
    _, _, _, Xv, yv, _ = mq2008
    model = PointwiseRanker(n_estimators=2).fit(Xv, yv)
    with pytest.raises(ValueError, match="got no qid: enable metadata routing"):
        go.ranking_scorer("ndcg@10")(model, Xv, yv)


def test_grid_search_lambdamart_with_ranking_scorer(mq2008):
    """The same through go.LambdaMART, whose fit takes qid (routed by scikit-learn to fit and to the scorer)."""
    _, _, _, Xv, yv, qv = mq2008
    cv = GroupKFold(n_splits=2)
    params = {"n_estimators": 4, "backend_params": {"verbose": -1, "num_threads": 1}}
    with sklearn.config_context(enable_metadata_routing=True):
        est = go.LambdaMART(**params).set_fit_request(qid=True)
        search = GridSearchCV(est, {"learning_rate": [0.05, 0.3]}, cv=cv, scoring=go.ranking_scorer("map@5"))
        search.fit(Xv, yv, groups=qv, qid=qv)
    lr = search.best_params_["learning_rate"]
    folds = []
    for tr, te in cv.split(Xv, yv, groups=qv):
        model = go.LambdaMART(learning_rate=lr, **params).fit(Xv[tr], yv[tr], qid=qv[tr])
        folds.append(go.map_score(yv[te], model.predict(Xv[te]), qid=qv[te], k=5))
    assert search.best_score_ == pytest.approx(np.mean(folds), abs=1e-12)
