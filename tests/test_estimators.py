"""GBMClassifier / GBMRegressor: scikit-learn compliance and the custom-objective traps they hide."""

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from scipy import special
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.utils.estimator_checks import parametrize_with_checks

import gbm_objectives as go


# No check is skipped: sklearn's own array-API check skips itself unless SCIPY_ARRAY_API is set.
@parametrize_with_checks(
    [
        go.GBMClassifier(n_estimators=10),
        go.GBMRegressor(n_estimators=10),
        go.GBMClassifier(n_estimators=10, backend="xgboost", n_jobs=1),
        go.GBMRegressor(n_estimators=10, backend="xgboost", n_jobs=1),
        # leaf renewal on both engines, including data on which the engine grows no tree (tiny, constant target)
        go.GBMRegressor(objective="quantile", n_estimators=10, n_jobs=1),
        go.GBMRegressor(objective="quantile", n_estimators=10, backend="xgboost", n_jobs=1),
    ],
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y


def test_classifier_logloss_equals_lightgbm_builtin(cancer):
    X, y = cancer
    ours = go.GBMClassifier(objective="logloss", n_estimators=30, backend_params={"num_threads": 2}).fit(X, y)
    ref = lgb.LGBMClassifier(n_estimators=30, deterministic=True, random_state=0, verbosity=-1, num_threads=2).fit(X, y)
    assert np.abs(ours.predict_proba(X) - ref.predict_proba(X)).max() <= 1e-6


def test_classifier_logloss_equals_xgboost_builtin(cancer):
    X, y = cancer
    ours = go.GBMClassifier(objective="logloss", backend="xgboost", n_estimators=30).fit(X, y)
    base_score = special.expit(ours.init_score_)  # XGBoost's base_score is a probability for binary:logistic
    ref = xgb.XGBClassifier(n_estimators=30, learning_rate=0.1, base_score=base_score, random_state=0).fit(X, y)
    assert np.abs(ours.predict_proba(X) - ref.predict_proba(X)).max() <= 1e-6


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_init_score_is_used_at_fit_and_predict(cancer, backend):
    X, y = cancer
    clf = go.GBMClassifier(objective="focal", backend=backend, n_estimators=1, learning_rate=1e-12).fit(X, y)
    # with a negligible learning rate the model is its init score: the best constant of the focal loss
    expected = go.FocalLoss().init_score(y)
    np.testing.assert_allclose(clf.decision_function(X), expected, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], special.expit(expected), atol=1e-6)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_pandas_input_and_feature_names(cancer, backend):
    X, y = cancer
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    a = go.GBMClassifier(backend=backend, n_estimators=10).fit(df, pd.Series(y))
    b = go.GBMClassifier(backend=backend, n_estimators=10).fit(X, y)
    assert list(a.feature_names_in_) == list(df.columns)
    np.testing.assert_allclose(a.predict_proba(df), b.predict_proba(X))


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_early_stopping_on_objective_loss(cancer, backend):
    X, y = cancer
    Xtr, ytr, Xva, yva = X[:400], y[:400], X[400:], y[400:]
    clf = go.GBMClassifier(backend=backend, n_estimators=500, learning_rate=0.3)
    clf.fit(Xtr, ytr, eval_set=[(Xva, yva)], early_stopping_rounds=5)
    curve = clf.evals_result_["valid_0"]["focal_loss"]
    assert clf.best_iteration_ < 500 and len(curve) < 500
    assert curve[clf.best_iteration_ - 1] == pytest.approx(min(curve))
    # the validation curve is the objective's own loss on the eval set at that iteration
    # (XGBoost's evals_result is parsed from its text log, which prints 6 decimals)
    tol = {"lightgbm": dict(rel=1e-9), "xgboost": dict(abs=5e-7 + 1e-12)}[backend]
    assert clf.objective_.loss(yva, clf.decision_function(Xva)) == pytest.approx(min(curve), **tol)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_multiclass_uses_softmax_twin(backend):
    X, y = load_iris(return_X_y=True)
    clf = go.GBMClassifier(objective="focal", backend=backend, n_estimators=20).fit(X, y)
    assert isinstance(clf.objective_, go.SoftmaxFocalLoss) and clf.objective_.n_classes == 3
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("objective", ["squared_error", "huber", "quantile"])
@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_regressor(objective, backend):
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()  # unit scale: quantile's +-alpha gradients with unit hessian move ~lr per round
    params = {"delta": 0.5} if objective == "huber" else {}
    reg = go.GBMRegressor(objective=objective, backend=backend, objective_params=params, n_estimators=50).fit(X, y)
    assert reg.score(X, y) > 0.5
    assert clone(reg).get_params()["objective_params"] == params


def test_estimator_errors(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="GBMClassifier needs a classifier"):
        go.GBMClassifier(objective="huber").fit(X, y)
    with pytest.raises(ValueError, match="GBMRegressor needs a regression"):
        go.GBMRegressor(objective="focal").fit(X, y)
    with pytest.raises(ValueError, match="backend must be one of"):
        go.GBMClassifier(backend="catboost").fit(X, y)
    with pytest.raises(ValueError, match="is binary but y has 3 classes"):
        go.GBMClassifier(objective="weighted_ce").fit(*load_iris(return_X_y=True))
    with pytest.raises(ValueError, match="early_stopping_rounds needs an eval_set"):
        go.GBMClassifier().fit(X, y, early_stopping_rounds=3)
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        go.GBMClassifier().fit(X, y, sample_weight=-np.ones(len(y)))
