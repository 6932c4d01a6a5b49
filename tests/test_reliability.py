"""Hostile input: every reproducer of the reliability issue, each a clear error or a correct result."""

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives import datasets


# ---- item 4: output buffers are checked before any kernel runs ------------------------------------------------
@pytest.mark.parametrize(
    "objective, y, raw, group",
    [
        (go.LogLoss(), np.array([0.0, 1.0, 1.0, 0.0]), np.zeros(4), None),
        (go.SoftmaxCrossEntropy(3), np.array([0.0, 1.0, 2.0, 1.0]), np.zeros((4, 3)), None),
        (go.LambdaRankObjective(), np.array([0.0, 1.0, 2.0, 1.0]), np.zeros(4), [4]),
    ],
    ids=["logloss", "softmax", "lambdarank"],
)
@pytest.mark.parametrize("which", ["grad_out", "hess_out"])
def test_output_buffers_of_the_wrong_shape_or_dtype_are_refused(objective, y, raw, group, which):
    prepared = objective.prepare(y, group=group)
    good = {"grad_out": np.empty(raw.shape, np.float32), "hess_out": np.empty(raw.shape, np.float32)}
    too_small = np.empty(raw.size - 1 if raw.ndim == 1 else (raw.shape[0] - 1, raw.shape[1]), np.float32)
    too_large = np.empty(raw.size + 1 if raw.ndim == 1 else (raw.shape[0] + 1, raw.shape[1]), np.float32)
    for bad, err, match in ((too_small, ValueError, f"{which} must have shape"),
                            (too_large, ValueError, f"{which} must have shape"),
                            (np.empty(raw.shape, np.int64), TypeError, f"{which} must be float32 or float64"),
                            ([0.0] * raw.size, TypeError, f"{which} must be a NumPy array")):
        with pytest.raises(err, match=match):
            objective.grad_hess_prepared(prepared, raw, **{**good, which: bad})
    read_only = np.empty(raw.shape, np.float64)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match=f"{which} is read-only"):
        objective.grad_hess_prepared(prepared, raw, **{**good, which: read_only})


# ---- item 6: parameter arrays are copied and frozen ---------------------------------------------------------
def test_parameter_arrays_are_not_aliased():
    a = np.ones(3)
    obj = go.SoftmaxFocalLoss(3, alpha=a)
    y, raw = np.array([0.0, 1.0, 2.0]), np.zeros((3, 3))
    before = obj.grad_hess(y, raw)
    a[0] = -5.0
    after = obj.grad_hess(y, raw)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert (after[1] > 0).all()
    g = np.array([0.0, 1.0, 3.0])
    rank = go.LambdaRankObjective(label_gain=g)
    yr, sr = np.array([0.0, 2.0, 1.0]), np.array([0.3, 0.1, 0.2])
    before = rank.grad_hess(yr, sr, group=[3])
    g[2] = 100.0
    assert np.array_equal(before[0], rank.grad_hess(yr, sr, group=[3])[0])
    with pytest.raises(ValueError):
        rank.label_gain[0] = 5.0  # read-only


# ---- item 7: other gaps -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    X, y = datasets.make_imbalanced(n_samples=300, positive_rate=0.3, n_features=4, seed=0)
    return X, y


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"learning_rate": np.inf}, ValueError, "learning_rate must be a finite number > 0; got inf"),
        ({"learning_rate": -0.1}, ValueError, "learning_rate must be a finite number > 0; got -0.1"),
        ({"n_estimators": True}, ValueError, "n_estimators must be a positive integer; got True"),
        ({"n_estimators": 0}, ValueError, "n_estimators must be a positive integer; got 0"),
    ],
    ids=["lr-inf", "lr-negative", "n-estimators-bool", "n-estimators-0"],
)
def test_estimator_options_are_validated(small, kwargs, err, match):
    X, y = small
    for est in (go.GBMClassifier(**kwargs), go.LambdaMART(**kwargs)):
        with pytest.raises(err, match=match):
            est.fit(X, y, **({"group": [len(y)]} if isinstance(est, go.LambdaMART) else {}))


def test_numpy_scalar_options_are_accepted(small):
    X, y = small
    clf = go.GBMClassifier(learning_rate=np.float32(0.1), n_estimators=np.int64(3), n_jobs=1).fit(X, y)
    assert clf.predict_proba(X).shape == (len(y), 2)


def test_early_stopping_rounds_negative_is_an_error_not_ignored(small):
    X, y = small
    with pytest.raises(ValueError, match="early_stopping_rounds must be >= 1; got -3"):
        go.GBMClassifier().fit(X, y, eval_set=[(X, y)], early_stopping_rounds=-3)


def test_eval_set_labels_are_validated(small):
    X, y = small
    bad = y.copy()
    bad[4] = np.nan
    with pytest.raises(ValueError, match=r"eval_set\[0\]: y_true .* index 4"):
        go.GBMRegressor(n_estimators=2).fit(X, y, eval_set=[(X, bad)])
    Xr, yr, qr = datasets.make_ranking(n_queries=10, docs_per_query=(3, 6), n_features=3, seed=0)
    with pytest.raises(ValueError, match=r"eval_set\[0\]: y_true must contain non-negative integer"):
        go.LambdaMART(n_estimators=2).fit(Xr, yr, qid=qr, eval_set=[(Xr, yr + 0.5)], eval_qid=[qr])


@pytest.mark.parametrize("metric", ["mrr", "map", "none"])
def test_negative_relevance_refused_for_every_lambdarank_metric(metric):
    with pytest.raises(ValueError, match="non-negative relevance labels; got -1 at index 1"):
        go.LambdaRankObjective(metric=metric).grad_hess([1.0, -1.0, 0.0], np.zeros(3), group=[3])


def test_nan_qid_is_an_error():
    with pytest.raises(ValueError, match="qid must be finite; got nan at row 2"):
        go.LambdaRankObjective().grad_hess([1.0, 0.0, 1.0, 0.0], np.zeros(4), qid=[1.0, 1.0, np.nan, np.nan])


def test_empty_input_raises_instead_of_nan():
    with pytest.raises(ValueError, match="empty"):
        go.LogLoss().loss([], [])
    with pytest.raises(ValueError, match="empty"):
        go.SquaredError().init_score([])


def test_complex_scores_are_refused():
    with pytest.raises(TypeError, match="raw_score must be a real numeric array; got dtype complex128"):
        go.LogLoss().grad_hess([0.0, 1.0], np.array([0.5 + 1j, 0.0]))


def test_huber_init_score_on_huge_labels():
    y = np.full(3, 1e19)
    init = go.HuberLoss().init_score(y)
    assert init == pytest.approx(1e19, rel=1e-12)
    assert go.HuberLoss().init_score(np.array([-1e300, 1e300, 2e300])) == pytest.approx(1e300, rel=1e-9)


def test_sigmoid_is_bounded():
    with pytest.raises(ValueError, match=r"sigmoid must be in \(0, 1e\+06\]; got 1e\+200"):
        go.LambdaRankObjective(sigmoid=1e200)
    g, h = go.LambdaRankObjective(sigmoid=1e6).grad_hess([2.0, 1.0, 0.0], [0.0, -380.0, -540.0], group=[3])
    assert np.isfinite(g).all() and np.isfinite(h).all()


def test_zero_hessian_never_beside_a_nonzero_gradient():
    """LightGBM's sigmoid table keeps p (1 - p) > 0; our exact sigmoid is floored at 1e-16 per pair."""
    g, h = go.LambdaRankObjective().grad_hess([0.0, 1.0], [800.0, 0.0], group=[2])
    assert g[0] > 0 > g[1] and (h > 0).all()
    for norm in (True, False):
        g, h = go.LambdaRankObjective(norm=norm).grad_hess([0.0, 1.0, 2.0], [50.0, 0.0, -50.0], group=[3])
        assert not ((g != 0) & (h <= 0)).any()


# ---- item 14: LambdaMART on long queries; one weight per query ---------------------------------------------
def test_lambdamart_long_queries_and_per_query_weights():
    rng = np.random.default_rng(0)
    n = 12_000
    X, y = rng.normal(size=(n, 3)), rng.integers(0, 3, n).astype(float)
    # the scratch path has no query-size limit and evaluates with this package's metrics (not LightGBM's)
    m = go.LambdaMART(objective="scratch", n_estimators=2, n_jobs=1).fit(X, y, group=[n], eval_set=[(X, y)],
                                                                        eval_group=[[n]])
    assert set(m.best_score_["valid_0"]) == {"ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10"}
    with pytest.raises(ValueError, match="at most 10,000 documents per query; query 0 has 12,000"):
        go.LambdaMART(objective="native", n_estimators=2).fit(X, y, group=[n])
    Xr, yr, qr = datasets.make_ranking(n_queries=20, docs_per_query=(3, 8), n_features=4, seed=0)
    w_query = np.linspace(0.5, 2.0, 20)
    for backend in ("lightgbm", "xgboost"):
        per_query = go.LambdaMART(backend=backend, objective="scratch", n_estimators=3, n_jobs=1).fit(
            Xr, yr, qid=qr, sample_weight=w_query)
        per_row = go.LambdaMART(backend=backend, objective="scratch", n_estimators=3, n_jobs=1).fit(
            Xr, yr, qid=qr, sample_weight=np.repeat(w_query, np.bincount(qr)))
        assert np.array_equal(per_query.predict(Xr), per_row.predict(Xr))


def test_tiny_data_says_what_happened(tmp_path, capsys):
    from gbm_objectives.cli import main

    tiny = tmp_path / "tiny.txt"
    tiny.write_text("1 qid:1 1:0.5 2:1\n0 qid:1 1:0.2 2:0\n1 qid:2 1:0.1 2:1\n0 qid:2 1:0.3 2:0\n")
    assert main(["train", "--train", str(tiny), "--objective", "lambdarank", "--out", str(tmp_path / "o"),
                 "-q"]) == 0
    err = capsys.readouterr().err
    assert "warning: no tree found a split (4 training rows" in err and "[LightGBM]" not in err
