"""Every estimator, fitted, survives a pickle round trip and predicts exactly as before (the Dask estimators are
checked in tests/dask/test_dask.py, on the module's cluster)."""

import pickle

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.datasets import make_imbalanced, make_ranking


def _fitted():
    X, y = make_imbalanced(n_samples=300, positive_rate=0.3, seed=0)
    Xr, yr, qid = make_ranking(n_queries=20, docs_per_query=(5, 10), n_features=6, seed=0)
    out = []
    for backend in ("lightgbm", "xgboost"):
        out.append((f"GBMClassifier-{backend}", go.GBMClassifier(backend=backend, n_estimators=5, n_jobs=1).fit(X, y),
                    X, "predict_proba"))
        out.append((f"GBMRegressor-{backend}", go.GBMRegressor(backend=backend, n_estimators=5, n_jobs=1,
                                                                objective="quantile").fit(X, X[:, 0]), X, "predict"))
        out.append((f"LambdaMART-{backend}", go.LambdaMART(backend=backend, n_estimators=5, n_jobs=1)
                    .fit(Xr, yr, qid=qid), Xr, "predict"))
    cal = go.calibrate(out[0][1], X, y)
    out.append(("CalibratedModel", cal, X, "predict_proba"))
    return out


@pytest.mark.parametrize("name, estimator, X, method", _fitted(), ids=lambda v: v if isinstance(v, str) else "")
def test_fitted_estimator_pickles_and_predicts_the_same(name, estimator, X, method):
    back = pickle.loads(pickle.dumps(estimator))
    assert type(back) is type(estimator)
    np.testing.assert_array_equal(getattr(back, method)(X), getattr(estimator, method)(X))
