"""gbm_objectives.dask.train gets go.train's parameter resolution (training.plan) and its eval-width refusal, on a
real LocalCluster (2 worker processes, 1 thread each)."""

import json

import numpy as np
import pytest

from gbm_objectives.adapters import ParameterError
from gbm_objectives.datasets import make_imbalanced

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (extra 'dask')")
da = pytest.importorskip("dask.array")
god = pytest.importorskip("gbm_objectives.dask")

BACKENDS = ("lightgbm", "xgboost")


@pytest.fixture(scope="module")
def data():
    X, y = make_imbalanced(n_samples=400, positive_rate=0.3, n_features=5, seed=0)
    return da.from_array(X.astype(np.float64), chunks=(200, 5)), da.from_array(y, chunks=200)


def _learning_rate(result):
    if result.backend == "lightgbm":
        text = result.booster.model_to_string()
        return float(next(line for line in text.splitlines() if line.startswith("[learning_rate: "))[16:-1])
    config = json.loads(result.booster.save_config())
    return float(config["learner"]["gradient_booster"]["tree_train_param"]["learning_rate"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_alias_is_the_value_the_cluster_trains_with(client, data, backend):
    X, y = data
    res = god.train(client, "logloss", X, y, backend=backend, params={"eta": 0.9}, num_boost_round=2)
    assert _learning_rate(res) == pytest.approx(0.9, rel=2**-23)  # XGBoost keeps it as float32
    assert res.params["learning_rate"] == 0.9 and "eta" not in res.params


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_parameter_duplicating_an_argument_is_refused(client, data, backend):
    X, y = data
    with pytest.raises(ParameterError, match=r"params\['n_estimators'\]=5 would set the number of boosting rounds, "
                                             r"which is the argument num_boost_round="):
        god.train(client, "logloss", X, y, backend=backend, params={"n_estimators": 5}, num_boost_round=2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_eval_set_of_another_width_is_refused_before_training(client, data, backend):
    X, y = data
    narrow = X[:, :3].rechunk((200, 3))
    with pytest.raises(ValueError, match=r"eval_set\[1\] X has 3 features \(columns\) but the training X has 5"):
        god.train(client, "logloss", X, y, backend=backend, num_boost_round=2, eval_set=[(X, y), (narrow, y)])


@pytest.mark.parametrize("backend, params, message", [
    ("lightgbm", {"monotone_constraints": [1, 0, 0]}, r"params\['monotone_constraints'\] has 3 values \(one per "
                                                      r"feature\) but X has 5 features \(columns\)"),
    ("xgboost", {"interaction_constraints": "[[0, 1], [5]]"}, r"params\['interaction_constraints'\]\[1\]\[0\] is "
                                                              r"feature index 5 but X has 5 features"),
    ("xgboost", {"monotone_constraints": {"c0": 1}}, r"params\['monotone_constraints'\] names the feature 'c0' but X "
                                                     r"reaches the engine without feature names"),
], ids=["lightgbm-monotone", "xgboost-interaction", "xgboost-by-name"])
def test_a_parameter_that_does_not_fit_x_is_refused_before_training(client, data, backend, params, message,
                                                                    monkeypatch):
    """As in go.train (the cluster's engine gets unnamed arrays, so constraints by name are refused too)."""
    from gbm_objectives.adapters import get_backend

    def trained(*args, **kwargs):
        raise AssertionError("the engine was asked to train")

    monkeypatch.setattr(get_backend(backend, dask=True), "train", trained)
    X, y = data
    with pytest.raises(ParameterError, match=message):
        god.train(client, "logloss", X, y, backend=backend, params=params, num_boost_round=2)
