"""Calibration metrics and calibrators: hand-computed values, agreement with scikit-learn, and the focal-loss case."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import train_test_split

import gbm_objectives as go
from gbm_objectives.datasets import make_imbalanced
from gbm_objectives.calibration import (
    IsotonicCalibrator,
    PlattCalibrator,
    brier_score,
    calibrate,
    calibrate_scores,
    expected_calibration_error,
    log_loss_score,
    reliability_diagram,
)


# ---------------------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------------------
def test_ece_hand_computed_uniform():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    # two bins [0, .5] and (.5, 1]: first holds p = .1, .4, .35 with labels 0, 0, 1: |1/3 - 0.85/3| = 0.05, weight 3/4;
    # second holds p = .8 with label 1: |1 - 0.8| = 0.2, weight 1/4
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.05 * 3 / 4 + 0.2 / 4, abs=1e-15)
    # one bin: |mean y - mean p| = |0.5 - 0.4125|
    assert expected_calibration_error(y, p, n_bins=1) == pytest.approx(0.0875, abs=1e-15)
    # a probability on an inner edge (0.5 with 2 bins) belongs to the lower bin
    assert expected_calibration_error([1, 0], [0.5, 0.9], n_bins=2) == pytest.approx(0.5 * 0.5 + 0.9 * 0.5)


def test_ece_hand_computed_quantile():
    y = np.array([0, 1, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    # quantile edges for 2 bins: min 0.1, median 0.45, max 0.9 -> {.1, .2, .3} (y 0,1,0) and {.6, .7, .9} (y 1,1,1)
    want = 0.5 * abs(1 / 3 - 0.2) + 0.5 * abs(1.0 - 2.2 / 3)
    assert expected_calibration_error(y, p, n_bins=2, strategy="quantile") == pytest.approx(want, abs=1e-15)


def test_ece_weights_are_repeats(rng):
    y = rng.integers(0, 2, size=50)
    p = rng.uniform(size=50)
    w = rng.integers(1, 4, size=50)
    repeated = expected_calibration_error(np.repeat(y, w), np.repeat(p, w), n_bins=7)
    assert expected_calibration_error(y, p, n_bins=7, sample_weight=w.astype(float)) == pytest.approx(repeated)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 5, 15])
def test_ece_matches_sklearn_calibration_curve(rng, strategy, n_bins):
    y = rng.integers(0, 2, size=400)
    p = 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(0, 1.5, size=400))))  # no ties, so edges never hit a value
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    q = np.linspace(0, 1, n_bins + 1)
    edges = q if strategy == "uniform" else np.percentile(p, q * 100)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    want = np.sum(counts[counts > 0] / len(y) * np.abs(prob_true - prob_pred))
    assert expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy) == pytest.approx(want, abs=1e-12)


def test_brier_and_log_loss_hand_computed_and_sklearn(rng):
    assert brier_score([0, 1, 1], [0.2, 0.6, 1.0]) == pytest.approx((0.04 + 0.16 + 0.0) / 3, abs=1e-15)
    assert log_loss_score([0, 1], [0.2, 0.6]) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2, abs=1e-15)
    y = rng.integers(0, 2, size=200)
    p = rng.uniform(0.01, 0.99, size=200)
    w = rng.uniform(0.5, 2.0, size=200)
    assert brier_score(y, p, sample_weight=w) == pytest.approx(brier_score_loss(y, p, sample_weight=w), rel=1e-12)
    assert log_loss_score(y, p, sample_weight=w) == pytest.approx(log_loss(y, p, sample_weight=w), rel=1e-12)
    assert np.isfinite(log_loss_score([1, 0], [0.0, 1.0]))  # clipped, not inf


# ---------------------------------------------------------------------------------------------------------
# calibrators against scikit-learn
# ---------------------------------------------------------------------------------------------------------
class _RawScoreModel(ClassifierMixin, BaseEstimator):
    """Hands scikit-learn fixed scores: the raw score ``X @ coef`` as decision_function."""

    def __init__(self, coef=None):
        self.coef = coef

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        return np.asarray(X) @ self.coef

    def predict(self, X):
        return (self.decision_function(X) > 0).astype(int)


class _ProbaModel(ClassifierMixin, BaseEstimator):
    """The same scores, exposed only as ``predict_proba = sigmoid(X @ coef)``."""

    def __init__(self, coef=None):
        self.coef = coef

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-(np.asarray(X) @ self.coef)))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)


def _scores_problem(rng, n=600):
    X = rng.normal(size=(n, 3))
    coef = np.array([1.5, -0.7, 0.3])
    raw = X @ coef
    # labels from a mis-calibrated link: true logit = 0.5 * raw - 1 (the model is over-confident and biased)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.5 * raw - 1.0)))).astype(int)
    return X, y, coef


def test_platt_agrees_with_sklearn_sigmoid(rng):
    X, y, coef = _scores_problem(rng)
    Xt = rng.normal(size=(300, 3))
    model = _RawScoreModel(coef).fit(X, y)
    ref = CalibratedClassifierCV(FrozenEstimator(model), method="sigmoid").fit(X, y)
    ours = calibrate(model, X, y, method="platt")
    # sklearn stops L-BFGS at gtol=1e-6 on the summed loss; ours is Newton to convergence
    np.testing.assert_allclose(ours.predict_proba(Xt), ref.predict_proba(Xt), atol=1e-6)
    sk = ref.calibrated_classifiers_[0].calibrators[0]  # sklearn's convention: p = sigmoid(-(a * raw + b))
    assert ours.calibrator_.a_ == pytest.approx(-sk.a_, rel=1e-6)
    assert ours.calibrator_.b_ == pytest.approx(-sk.b_, rel=1e-6)
    # and the fitted slope is near the true 0.5, intercept near -1
    assert ours.calibrator_.a_ == pytest.approx(0.5, abs=0.15)
    assert ours.calibrator_.b_ == pytest.approx(-1.0, abs=0.3)


def test_isotonic_agrees_with_sklearn_on_the_probability(rng):
    X, y, coef = _scores_problem(rng)
    Xt = rng.normal(size=(300, 3))
    model = _ProbaModel(coef).fit(X, y)  # sklearn then fits isotonic on sigmoid(raw), as we do
    ref = CalibratedClassifierCV(FrozenEstimator(model), method="isotonic").fit(X, y)
    ours = calibrate(model, X, y, method="isotonic")
    np.testing.assert_allclose(ours.predict_proba(Xt), ref.predict_proba(Xt), atol=1e-12)
    # the same calibrator from the raw-score callable form
    direct = calibrate(lambda Z: np.asarray(Z) @ coef, X, y, method="isotonic")
    np.testing.assert_allclose(direct.predict_proba(Xt), ref.predict_proba(Xt), atol=1e-12)


def test_calibrators_are_monotone(rng):
    raw = rng.normal(size=300)
    y = (rng.uniform(size=300) < 1 / (1 + np.exp(-2 * raw))).astype(int)
    grid = np.linspace(-4, 4, 101)
    for cal in (calibrate_scores(raw, y, "platt"), calibrate_scores(raw, y, "isotonic")):
        assert np.all(np.diff(cal.transform(grid)) >= 0)
        assert isinstance(cal, (PlattCalibrator, IsotonicCalibrator))


# ---------------------------------------------------------------------------------------------------------
# the use case: focal loss, then calibration
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def focal_split():
    X, y = make_imbalanced(n_samples=6000, positive_rate=0.05, n_features=10, seed=0)
    X_tr, X_rest, y_tr, y_rest = train_test_split(X, y, test_size=0.6, stratify=y, random_state=0)
    X_cal, X_te, y_cal, y_te = train_test_split(X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0)
    return X_tr, y_tr, X_cal, y_cal, X_te, y_te


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_focal_model_ece_drops_after_calibration(focal_split, backend, method):
    X_tr, y_tr, X_cal, y_cal, X_te, y_te = focal_split
    clf = go.GBMClassifier(objective="focal", objective_params={"alpha": 0.25, "gamma": 2.0}, backend=backend,
                           n_estimators=60, n_jobs=1).fit(X_tr, y_tr)
    before = clf.predict_proba(X_te)[:, 1]
    after = calibrate(clf, X_cal, y_cal, method=method).predict_proba(X_te)[:, 1]
    ece_before = expected_calibration_error(y_te, before)
    ece_after = expected_calibration_error(y_te, after)
    assert ece_after < ece_before
    assert brier_score(y_te, after) < brier_score(y_te, before)


def test_plain_boosters_via_raw_score_callables(focal_split):
    import lightgbm as lgb
    import xgboost as xgb

    X_tr, y_tr, X_cal, y_cal, X_te, _ = focal_split
    obj = go.FocalLoss(alpha=0.25, gamma=2.0)
    init = obj.init_score(y_tr)
    booster = lgb.train({"objective": go.lightgbm_objective(obj), "verbosity": -1, "num_threads": 1},
                        lgb.Dataset(X_tr, y_tr, init_score=np.full(len(y_tr), init)), 30)
    cal = calibrate(lambda X: booster.predict(X, raw_score=True) + init, X_cal, y_cal)
    want = calibrate_scores(booster.predict(X_cal, raw_score=True) + init, y_cal).transform(
        booster.predict(X_te, raw_score=True) + init)
    np.testing.assert_allclose(cal.predict_proba(X_te)[:, 1], want, rtol=0, atol=0)

    dtrain = xgb.DMatrix(X_tr, y_tr, base_margin=np.full(len(y_tr), init))
    xbooster = xgb.train({"nthread": 1}, dtrain, 30, obj=go.xgboost_objective(obj))

    def margin(X):
        return xbooster.predict(xgb.DMatrix(X, base_margin=np.full(len(X), init)), output_margin=True)

    xcal = calibrate(margin, X_cal, y_cal, method="isotonic")
    assert xcal.predict_proba(X_te).shape == (len(X_te), 2)
    assert set(np.unique(xcal.predict(X_te))) <= {0, 1}


def test_string_classes(focal_split):
    X_tr, y_tr, X_cal, y_cal, X_te, _ = focal_split
    names = np.array(["neg", "pos"])
    clf = go.GBMClassifier(objective="logloss", n_estimators=10, n_jobs=1).fit(X_tr, names[y_tr.astype(int)])
    cal = calibrate(clf, X_cal, names[y_cal.astype(int)])
    assert set(np.unique(cal.predict(X_te))) <= {"neg", "pos"}
    with pytest.raises(ValueError, match="y_cal"):
        calibrate(clf, X_cal, np.where(y_cal > 0, "pos", "other"))


# ---------------------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: expected_calibration_error([0, 1], [0.2, 1.2]), "proba"),
        (lambda: expected_calibration_error([0, 1], [-0.1, 0.5]), "proba"),
        (lambda: brier_score([0, 1], [0.2, 1.5]), "proba"),
        (lambda: log_loss_score([0, 1], [0.2, np.nan]), "proba"),
        (lambda: expected_calibration_error([0, 1], [0.2, 0.5], n_bins=0), "n_bins"),
        (lambda: expected_calibration_error([0, 1], [0.2, 0.5], strategy="kmeans"), "strategy"),
        (lambda: expected_calibration_error([0, 2], [0.2, 0.5]), "y_true"),
        (lambda: brier_score([0, 1, 1], [0.2, 0.5]), "proba"),
        (lambda: calibrate(lambda X: np.asarray(X)[:, 0], np.ones((4, 1)), [1, 1, 1, 1]), "y_cal"),
        (lambda: calibrate(lambda X: np.asarray(X)[:, 0], np.ones((4, 1)), [0, 1, 0, 1], method="beta"), "method"),
        (lambda: calibrate_scores([0.1, 0.2], [0, 0]), "y_true"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_bad_model_type():
    with pytest.raises(TypeError, match="model"):
        calibrate(object(), np.ones((4, 1)), [0, 1, 0, 1])
    with pytest.raises(TypeError, match="n_bins"):
        expected_calibration_error([0, 1], [0.2, 0.5], n_bins=2.5)


def test_reliability_diagram_draws(rng):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    y = rng.integers(0, 2, size=100)
    p = rng.uniform(size=100)
    ax = reliability_diagram(y, p, n_bins=5, label="model")
    line = ax.get_lines()[1]
    assert len(line.get_xdata()) <= 5
    assert "ECE=" in ax.get_legend().get_texts()[0].get_text()
    with pytest.raises(ValueError, match="n_bins"):
        reliability_diagram(y, p, n_bins=0)
