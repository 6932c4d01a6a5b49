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


def test_xgboost_raw_outputs_are_boosted_as_their_quantile_models_and_nothing_crosses():
    X, y = _data()
    res = go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=8, n_jobs=1, backend="xgboost")
    raw = res.predict_raw(X)
    assert raw.shape == (len(y), 3) and res.objective.scale != "auto"
    for k, alpha in enumerate(ALPHAS):  # same gradients, same renewal: the same trees, bit for bit
        single = go.train(go.QuantileLoss(alpha), X, y, num_boost_round=8, n_jobs=1, backend="xgboost")
        np.testing.assert_array_equal(raw[:, k], single.predict_raw(X))
    q = res.predict(X)
    assert Q.crossing_rate_score(q) == 0.0 and (np.diff(q, axis=1) >= 0).all()


def _lightgbm_builtin(X, y, alpha, init, rounds, params=None, **train_kw):
    """Raw scores of LightGBM's own ``quantile`` booster of one level, started from ``init`` as go.train starts."""
    import lightgbm as lgb

    from gbm_objectives.adapters import lightgbm as adapter

    p = {**adapter.DEFAULT_PARAMS, "num_threads": 1, **(params or {}), "objective": "quantile", "alpha": alpha,
         "boost_from_average": False}
    w = train_kw.pop("weight", None)
    booster = lgb.train(p, lgb.Dataset(X, y, weight=w, init_score=np.full(len(y), init)), rounds, **train_kw)
    return booster.predict(X, raw_score=True) + init


@pytest.mark.parametrize("case", ["plain", "weighted+bagging", "lr schedule", "linear trees", "two threads",
                                  "progress"])
def test_lightgbm_raw_outputs_are_its_builtin_quantile_models_and_nothing_crosses(case):
    # on LightGBM each output is grown by a built-in quantile booster (the engine renews the leaves) and the K
    # forests are merged into one K-output model: each raw output equals the built-in of its level, bit for bit
    import lightgbm as lgb

    X, y = _data()
    params, kw, builtin_kw = {}, {}, {}
    if case == "weighted+bagging":
        w = np.random.default_rng(3).choice([0.5, 1.0, 2.0], size=len(y))
        params = {"bagging_fraction": 0.6, "bagging_freq": 1}
        kw, builtin_kw = {"sample_weight": w}, {"weight": w}
    elif case == "linear trees":  # leaves that are linear models: the engine renews them as it does its own
        params = {"linear_tree": True}
    elif case == "lr schedule":  # a before-round callback: LightGBM's own, applied to every output's booster
        rates = [0.3 / (1 + i) for i in range(8)]
        kw = {"callbacks": [lgb.reset_parameter(learning_rate=rates)]}
        builtin_kw = {"callbacks": [lgb.reset_parameter(learning_rate=rates)]}
    elif case == "progress":  # an after-round callback: the boosters live together, grown in blocks of rounds
        kw = {"progress": lambda done: None}  # (without callbacks each is grown alone, created and freed in turn)
    # two threads: the outputs' boosters grow side by side, each on one thread (the same trees at any n_jobs)
    res = go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=8, n_jobs=2 if case == "two threads" else 1,
                   params=params, **kw)
    raw = res.predict_raw(X)
    assert raw.shape == (len(y), 3) and res.objective.scale != "auto" and res.booster.num_trees() == 24
    for k, alpha in enumerate(ALPHAS):
        np.testing.assert_array_equal(raw[:, k], _lightgbm_builtin(X, y, alpha, res.init_score[k], 8, params,
                                                                   **builtin_kw))
    q = res.predict(X)
    assert Q.crossing_rate_score(q) == 0.0 and (np.diff(q, axis=1) >= 0).all()


def test_lightgbm_merged_model_is_a_k_output_model_of_lightgbm():
    import lightgbm as lgb

    from gbm_objectives.adapters.lightgbm_quantiles import merge_models

    X, y = _data()
    res = go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=5, n_jobs=1)
    text = res.booster.model_to_string()
    assert "\nnum_class=3\nnum_tree_per_iteration=3\n" in text and "\nobjective=" not in text.split("Tree=0")[0]
    loaded = lgb.Booster(model_str=text)
    assert loaded.model_to_string() == text  # LightGBM writes back what it read: sizes, importances, parameters
    assert loaded.params["objective"] == "custom" and int(loaded.params["num_class"]) == 3
    # the split-count importances of the text are LightGBM's own count over the merged forest
    importances = dict(line.split("=") for line in text.split("feature_importances:\n")[1].split("\n\n")[0].split())
    split_counts = loaded.feature_importance("split")
    assert {f"Column_{c}": str(v) for c, v in enumerate(split_counts) if v} == importances
    contrib = loaded.predict(X[:20], pred_contrib=True)  # SHAP per output sums to its raw score
    np.testing.assert_allclose(contrib.reshape(20, 3, -1).sum(axis=2), loaded.predict(X[:20], raw_score=True),
                               rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="tree_sizes"):
        merge_models([text.replace("tree_sizes=", "tree_sizes=1 ")], [[0]], len(y))


def test_lightgbm_an_output_without_splits_keeps_its_start_and_the_rest_train():
    # output 0 starts far below every label: its pinball gradient is the same on every row, its booster never
    # splits (LightGBM keeps the first round's constant tree and adds none after); the model gets a single leaf
    # of 0 for it every round, as a multiclass booster keeps one, and the other outputs train as their built-ins
    X, y = _data()
    init = np.array([-1e6, np.median(y), np.quantile(y, 0.9)])
    res = go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=6, n_jobs=1, init_score=init)
    raw = res.predict_raw(X)
    assert res.booster.num_trees() == 18
    np.testing.assert_array_equal(raw[:, 0], np.full(len(y), -1e6))
    for k in (1, 2):
        np.testing.assert_array_equal(raw[:, k], _lightgbm_builtin(X, y, ALPHAS[k], init[k], 6))
    # nothing splits anywhere (constant labels): the first round's constant trees only, as LightGBM keeps them
    const = go.train(go.MultiQuantileLoss(ALPHAS), X, np.full(len(y), 2.5), num_boost_round=6, n_jobs=1)
    assert const.booster.num_trees() == 3
    np.testing.assert_array_equal(const.predict_raw(X), np.full((len(y), 3), 2.5))


def test_lightgbm_adapter_grows_each_booster_alone_with_unevaluated_sets_and_keeps_zero_rounds():
    # the adapter called directly: validation sets without metrics leave no round watched (each booster grows all
    # its rounds alone, the outputs still their built-ins); zero rounds give a K-output model without trees
    import lightgbm as lgb

    from gbm_objectives.adapters import lightgbm_quantiles

    X, y = _data()
    init = np.array([np.quantile(y, a) for a in ALPHAS])
    params = {"num_threads": 1, "verbosity": -1}
    valid = lgb.Dataset(X[:50], y[:50], reference=(train := lgb.Dataset(X, y, params=params)))
    booster = lightgbm_quantiles.train(ALPHAS, params, train, init, [valid], ["valid"], metrics=None,
                                       num_boost_round=5)
    raw = booster.predict(X, raw_score=True) + init
    for k, alpha in enumerate(ALPHAS):
        np.testing.assert_array_equal(raw[:, k], _lightgbm_builtin(X, y, alpha, init[k], 5, params))
    empty = lightgbm_quantiles.train(ALPHAS, params, lgb.Dataset(X, y, params=params), init, num_boost_round=0)
    assert empty.num_trees() == 0 and empty.num_model_per_iteration() == 3


def test_lightgbm_starts_and_refusals():
    X, y = _data()
    # one number for every output; None starts every output from 0 (also where no first tree splits)
    res = go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=2, n_jobs=1, init_score=0.5)
    np.testing.assert_array_equal(res.init_score, [0.5, 0.5, 0.5])
    flat = go.train(go.MultiQuantileLoss(ALPHAS), X, np.full(len(y), 2.5), num_boost_round=2, n_jobs=1,
                    init_score=None)
    np.testing.assert_array_equal(flat.predict_raw(X), np.zeros((len(y), 3)))
    with pytest.raises(ValueError, match="reg_sqrt"):  # the built-ins would fit sqrt(y) from starts in y
        go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=2, n_jobs=1, params={"reg_sqrt": True})


def test_lightgbm_progress_is_reported_for_every_round_in_order():
    X, y = _data()
    done = []
    go.train(go.MultiQuantileLoss(ALPHAS), X, y, num_boost_round=23, n_jobs=1, progress=done.append)
    assert done == list(range(1, 24))


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
    if backend == "lightgbm":  # the model ends at the best round, as lgb.train's (XGBoost's keeps the rest)
        assert res.num_rounds == best


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
    # go.quantile_leaf_renewal of a K-output objective (lgb.train with this package's objective): the renewal reads
    # most rows' leaves from LightGBM's own training score and walks the rest; walking every row instead gives the
    # same model, bit for bit
    import lightgbm as lgb

    from gbm_objectives.adapters import lightgbm_renewal

    X, y = _data(2000, seed=2)
    walked, read = [], []
    renew_outputs = lightgbm_renewal.renew_outputs

    def spy(k0, k1, X, y, *args):  # the round's compiled pass: read flag args[3], rows walked per output args[-1]
        renew_outputs(k0, k1, X, y, *args)
        (read if args[3] else walked).append((int(args[-1][k0:k1].sum()), len(y) * (k1 - k0)))

    def fit():
        obj = go.MultiQuantileLoss(ALPHAS, scale=0.01)
        renewal = go.quantile_leaf_renewal(obj, X)
        init = obj.init_score(y)
        params = {"objective": go.lightgbm_objective(renewal.objective), "num_class": 3, "verbosity": -1,
                  "num_threads": 1, "deterministic": True}
        booster = lgb.train(params, lgb.Dataset(X, y, init_score=np.tile(init, (len(y), 1))), 10,
                            callbacks=[renewal])
        return booster.predict(X, raw_score=True)

    monkeypatch.setattr(lightgbm_renewal, "renew_outputs", spy)
    fast = fit()
    assert read and not walked
    rows = sum(total for _, total in read)
    assert sum(n for n, _ in read) < rows / 4  # most rows' leaves read from the score
    monkeypatch.setattr(lightgbm_renewal.QuantileLeafRenewal, "_engine_after", lambda self, booster, K, n: None)
    slow = fit()
    assert walked
    np.testing.assert_array_equal(fast, slow)
