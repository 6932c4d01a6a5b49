"""MultiQuantileLoss trained end to end on both engines: K trees per round, per-output leaf renewal, no crossing."""

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.metrics import quantiles as Q

pytest.importorskip("lightgbm")
pytest.importorskip("xgboost")

ALPHAS = (0.1, 0.5, 0.9)
BACKENDS = ["lightgbm", "xgboost"]


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = X[:, 0] + (0.3 + np.abs(X[:, 1])) * rng.normal(size=n)  # heteroscedastic
    return X, y


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_raw_output_is_boosted_as_its_quantile_model_and_nothing_crosses(backend):
    X, y = _data()
    res = go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=8, n_jobs=1, backend=backend)
    raw = res.predict_raw(X)
    assert raw.shape == (len(y), 3) and res.objective.scale != "auto"
    for k, alpha in enumerate(ALPHAS):  # same gradients, same renewal: the same trees, bit for bit
        single = go.train(go.QuantileLoss(alpha), X, y, num_boost_round=8, n_jobs=1, backend=backend)
        np.testing.assert_array_equal(raw[:, k], single.predict_raw(X))
    q = res.predict(X)
    assert Q.crossing_rate_score(q) == 0.0 and (np.diff(q, axis=1) >= 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_early_stopping_reads_the_renewed_model(backend):
    X, y = _data(400, seed=1)
    res = go.train("multi_quantile", X[:300], y[:300],
                   eval_set=[(X[300:], y[300:])], num_boost_round=40, n_jobs=1, backend=backend,
                   metric=["crps", "pinball@0.9", "coverage@0.1"], early_stopping_rounds=3)
    log = res.evals_result["valid_0"]
    q = res.predict(X[300:])  # at the best iteration
    best = res.best_iteration
    alphas = res.objective.alphas
    assert log["crps"][best - 1] == pytest.approx(Q.crps_score(y[300:], q, alphas), rel=1e-6)
    assert log["pinball@0.9"][best - 1] == pytest.approx(
        Q.quantile_pinball_score(y[300:], q, alphas, per_level=True)[-1], rel=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_renewal_the_full_gradient_trains_and_stays_ordered(backend):
    X, y = _data()
    obj = go.MultiQuantileLoss(ALPHAS, renewal=False)
    res = go.train(obj, X, y, num_boost_round=10, n_jobs=1, backend=backend)
    q = res.predict(X)
    start = res.objective.loss(y, np.tile(res.init_score, (len(y), 1)))
    assert res.objective.loss(y, res.predict_raw(X)) < start
    assert (np.diff(q, axis=1) >= 0).all()


def test_regressor_predicts_quantiles_and_intervals(tmp_path):
    X, y = _data()
    reg = go.GBMRegressor("multi_quantile", objective_params={"alphas": (0.05, 0.5, 0.95)}, n_estimators=10,
                          n_jobs=1).fit(X, y)
    q = reg.predict(X)
    assert q.shape == (len(y), 3) and (np.diff(q, axis=1) >= 0).all()
    lower, upper = reg.predict_interval(X, coverage=0.8)  # levels 0.1 and 0.9: between the model's
    assert ((q[:, 0] <= lower) & (lower <= upper) & (upper <= q[:, 2])).all()
    np.testing.assert_array_equal(reg.predict_interval(X, coverage=0.9)[0], q[:, 0])
    with pytest.raises(ValueError, match="coverage=0.95"):
        reg.predict_interval(X, coverage=0.95)
    with pytest.raises(ValueError, match="multi_quantile"):
        go.GBMRegressor(n_estimators=2, n_jobs=1).fit(X, y).predict_interval(X)
    go.save_model(tmp_path / "m", reg.result_)
    loaded = go.load_model(tmp_path / "m")
    assert loaded.objective == reg.objective_
    np.testing.assert_array_equal(loaded.predict(X), q)


def test_lightgbm_leaves_read_from_its_training_score_are_the_walked_leaves(monkeypatch):
    # the renewal reads most rows' leaves from LightGBM's own training score and walks the rest; walking every row
    # instead gives the same model, bit for bit
    from gbm_objectives.adapters import lightgbm_renewal

    X, y = _data(2000, seed=2)
    walked, read = [], []
    renew_outputs = lightgbm_renewal.renew_outputs

    def spy(k0, k1, X, y, *args):  # the round's compiled pass: read flag args[3], rows walked per output args[-1]
        renew_outputs(k0, k1, X, y, *args)
        (read if args[3] else walked).append((int(args[-1][k0:k1].sum()), len(y) * (k1 - k0)))

    monkeypatch.setattr(lightgbm_renewal, "renew_outputs", spy)
    fast = go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=10, n_jobs=1).predict_raw(X)
    assert read and not walked
    rows = sum(total for _, total in read)
    assert sum(n for n, _ in read) < rows / 4  # most rows' leaves read from the score
    monkeypatch.setattr(lightgbm_renewal.QuantileLeafRenewal, "_engine_after", lambda self, booster, K, n: None)
    slow = go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=10, n_jobs=1).predict_raw(X)
    assert walked
    np.testing.assert_array_equal(fast, slow)
