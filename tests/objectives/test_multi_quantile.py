"""MultiQuantileLoss: the monotone link, its gradients (finite differences through the parametrisation), K = 1
equals QuantileLoss, extreme and constant labels, bad alphas, zero crossings on random raw outputs, and the round
renewal equal to the per-output one (and its compiled pieces: one tree's renewal, the selection, the gradients)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gbm_objectives as go
from gbm_objectives.objectives.multi_quantile import (SCALE_FRACTION, cumulative_softplus,
                                                      per_output_pinball_gradients, pinball_matrix)
from gbm_objectives.objectives.quantile import _select, kernel_alphas, renew_round, renew_tree, weighted_quantile


def _row_losses(obj, y, raw):
    return obj._pointwise_loss(y, raw)


@pytest.mark.parametrize("scale", [0.3, 2.0])
def test_gradient_matches_finite_differences_through_the_link(scale):
    # raw outputs near and far from the quantile below them: the soft part of the link is exercised
    rng = np.random.default_rng(0)
    obj = go.MultiQuantileLoss(alphas=(0.1, 0.4, 0.5, 0.95), scale=scale)
    y = rng.normal(size=60)
    raw = np.sort(rng.normal(size=(60, 4)), axis=1) + rng.normal(scale=scale, size=(60, 4))
    w = rng.uniform(0.5, 2.0, 60)
    grad, hess = obj.grad_hess(y, raw, sample_weight=w)
    q = obj.transform(raw)
    away_from_kinks = (np.abs(q - y[:, None]) > 1e-4).all(axis=1)
    eps = 1e-6
    for k in range(4):
        step = np.zeros_like(raw)
        step[:, k] = eps
        fd = w * (_row_losses(obj, y, raw + step) - _row_losses(obj, y, raw - step)) / (2 * eps)
        np.testing.assert_allclose(grad[away_from_kinks, k], fd[away_from_kinks], rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(hess, w[:, None] * np.full((60, 4), 1 / 4))


def test_one_level_equals_quantile_loss():
    rng = np.random.default_rng(1)
    y, raw, w = rng.normal(size=200), rng.normal(size=200), rng.uniform(0.1, 3.0, 200)
    one, ref = go.MultiQuantileLoss(alphas=(0.3,)), go.QuantileLoss(0.3)
    for a, b in zip(one.grad_hess(y, raw, sample_weight=w), ref.grad_hess(y, raw, sample_weight=w)):
        np.testing.assert_array_equal(a, b)
    assert one.loss(y, raw, sample_weight=w) == ref.loss(y, raw, sample_weight=w)
    assert one.init_score(y, sample_weight=w) == ref.init_score(y, sample_weight=w)
    np.testing.assert_array_equal(one.transform(raw), raw[:, None])
    leaf = rng.integers(0, 5, 200)
    np.testing.assert_array_equal(
        one.renewed_leaf_values(y, raw, 0, leaf, learning_rate=0.1, sample_weight=w),
        go.renewed_leaf_values(y, raw, leaf, 0.3, learning_rate=0.1, sample_weight=w))


@pytest.mark.parametrize("value", [1e30, -1e30, 0.0, 3.5])
def test_constant_labels_start_at_the_label_and_stay_finite(value):
    y = np.full(50, value)
    obj = go.MultiQuantileLoss(alphas=(0.1, 0.5, 0.9)).fitted_scale(y)
    raw = np.tile(obj.init_score(y), (50, 1))
    q = obj.transform(raw)
    # every level is the label, lifted by at most (K - 1) * log(2) * scale (the link's strictly positive increments)
    assert (q >= value).all() and (q - value <= 2 * np.log(2) * obj.scale).all()
    g, h = obj.grad_hess(y, raw)
    assert np.isfinite(g).all() and np.isfinite(h).all() and np.isfinite(obj.loss(y, raw))


def test_extreme_labels_keep_gradients_and_losses_finite():
    y = np.array([1e30, -1e30, 0.0, 1e30, -1e30, 5.0])
    obj = go.MultiQuantileLoss(alphas=(0.2, 0.5, 0.8)).fitted_scale(y)
    assert obj.scale == SCALE_FRACTION * (1e30 - -1e30) / 2
    raw = np.tile(obj.init_score(y), (6, 1))
    g, h = obj.grad_hess(y, raw)
    assert np.isfinite(g).all() and np.isfinite(h).all()
    np.testing.assert_array_equal(obj.transform(raw), np.tile([-1e30, 0.0, 1e30], (6, 1)))
    assert np.isfinite(obj.loss(y, raw))


@pytest.mark.parametrize("alphas, needle", [
    ((0.5, 0.1, 0.9), "sorted"), ((0.1, 0.5, 0.5), "repeat"), ((0.0, 0.5), "strictly inside"),
    ((0.5, 1.0), "strictly inside"), ((0.2, 1.5), "strictly inside"), ((-0.1,), "strictly inside"),
    ((0.1, float("nan")), "strictly inside"), ((), "non-empty"),
])
def test_bad_alphas_raise_naming_alphas(alphas, needle):
    with pytest.raises(ValueError, match="alphas") as info:
        go.MultiQuantileLoss(alphas=alphas)
    assert needle in str(info.value)


@pytest.mark.parametrize("scale", [0.0, -1.0, float("inf"), "big"])
def test_bad_scale_raises(scale):
    with pytest.raises(ValueError, match="scale"):
        go.MultiQuantileLoss(scale=scale)


def test_auto_scale_must_be_resolved_before_predicting():
    with pytest.raises(ValueError, match="fitted_scale"):
        go.MultiQuantileLoss(alphas=(0.1, 0.9)).transform(np.zeros((2, 2)))


raw_outputs = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
                         elements=st.floats(-1e12, 1e12, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(raw=raw_outputs, scale=st.floats(1e-6, 1e6))
def test_quantiles_never_cross(raw, scale):
    q = cumulative_softplus(raw, scale)
    assert np.isfinite(q).all()
    assert (np.diff(q, axis=1) >= 0).all()
    np.testing.assert_array_equal(q[:, 0], raw.min(axis=1))
    np.testing.assert_array_equal(q, cumulative_softplus(raw[:, ::-1], scale))  # a function of the sorted outputs


def test_link_is_the_identity_on_well_separated_outputs_and_sorts_crossings():
    raw = np.array([[0.0, 1.0, 5.0], [0.0, -3.0, 5.0]])
    q = cumulative_softplus(raw, 0.01)
    np.testing.assert_array_equal(q[0], raw[0])
    np.testing.assert_array_equal(q[1], [-3.0, 0.0, 5.0])  # -3 would cross 0: the pair swaps (no level is lifted)


def test_loss_is_the_mean_pinball_of_the_quantiles():
    rng = np.random.default_rng(2)
    obj = go.MultiQuantileLoss(alphas=(0.25, 0.75), scale=0.1)
    y, raw = rng.normal(size=30), rng.normal(size=(30, 2))
    expected = np.mean(pinball_matrix(y, obj.transform(raw), obj.alphas))
    assert obj.loss(y, raw) == pytest.approx(expected, rel=1e-15)


def test_registry_name_and_params():
    obj = go.get_objective("multi_quantile", alphas=[0.1, 0.9])
    assert isinstance(obj, go.MultiQuantileLoss) and obj.alphas == (0.1, 0.9) and obj.n_classes == 2
    assert obj == go.MultiQuantileLoss(alphas=(0.1, 0.9))


def test_inverse_transform_recovers_the_raw_outputs():
    rng = np.random.default_rng(3)
    obj = go.MultiQuantileLoss(alphas=(0.1, 0.5, 0.9), scale=0.2)
    raw = np.sort(rng.normal(size=(50, 3)), axis=1) + rng.normal(scale=0.1, size=(50, 3))
    np.testing.assert_allclose(obj.inverse_transform(obj.transform(raw)), np.sort(raw, axis=1), rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="non-decreasing"):
        obj.inverse_transform(np.array([[1.0, 0.0, 2.0]]))
    with pytest.raises(ValueError, match="scale"):  # a first gap below scale * log(2): no sorted outputs give it
        obj.inverse_transform(np.array([[0.0, 0.1, 2.0]]))
    tied = obj.transform(np.zeros((1, 3)))  # tied outputs: the link's own quantiles, rounding included, invert
    np.testing.assert_allclose(obj.inverse_transform(tied), np.zeros((1, 3)), atol=1e-12)


@pytest.mark.parametrize("method, float32_leaves", [("lightgbm", False), ("lower", True)])
def test_round_renewal_equals_the_per_output_renewal_bit_for_bit(method, float32_leaves):
    # renew_round (one compiled pass per output) against renewed_leaf_values per output
    rng = np.random.default_rng(4)
    n, alphas, n_leaves = 500, (0.1, 0.5, 0.9), 7
    y = rng.standard_t(3, n)
    score = rng.normal(size=(n, 3))
    leaves = np.ascontiguousarray(rng.integers(0, n_leaves - 1, size=(3, n)))  # leaf 6: no row reaches it
    engine = rng.normal(size=(3, n_leaves))
    renew = np.array([True, False, True])  # output 1: added as the engine grew it
    expected_score, expected_values = score.copy(), engine.copy()
    for k, alpha in enumerate(alphas):
        if renew[k]:
            new = go.renewed_leaf_values(y, score[:, k], leaves[k], alpha, learning_rate=0.3, n_leaves=n_leaves,
                                         method=method)
            hit = ~np.isnan(new)
            expected_values[k, hit] = np.float32(new[hit]) if float32_leaves else new[hit]
        expected_score[:, k] += expected_values[k, leaves[k]]
    values, got_score = engine.copy(), score.copy()
    reached = renew_round(y, got_score, leaves, alphas, learning_rate=0.3, leaf_values=values, renew=renew,
                          method=method, float32_leaves=float32_leaves)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(got_score, expected_score)
    np.testing.assert_array_equal(reached, renew[:, None] & (np.arange(n_leaves) < n_leaves - 1))


def _round_inputs():
    n, K, n_leaves = 20, 2, 3
    return dict(y_true=np.zeros(n), raw_score=np.zeros((n, K)), leaf_index=np.zeros((K, n), dtype=np.int64),
                alphas=(0.25, 0.75), leaf_values=np.zeros((K, n_leaves)))


@pytest.mark.parametrize("name, bad, error, match", [
    ("leaf_index", np.full((2, 20), 3, dtype=np.int64), ValueError, r"leaf_index must lie in \[0, 3\)"),
    ("leaf_index", np.full((2, 20), -1, dtype=np.int64), ValueError, "leaf_index must lie"),
    ("leaf_index", np.zeros((2, 19), dtype=np.int64), ValueError, "shapes disagree"),
    ("leaf_index", np.zeros((2, 20), dtype=np.int32), TypeError, "leaf_index must be"),
    ("raw_score", np.zeros((20, 2), dtype=np.float32), TypeError, "raw_score must be"),
    ("raw_score", np.zeros((2, 20)).T, TypeError, "raw_score must be"),  # not C-contiguous
    ("y_true", np.zeros(21), ValueError, "shapes disagree"),
    ("alphas", (0.25,), ValueError, "shapes disagree"),
    ("alphas", (0.25, 1.5), ValueError, "alphas"),
    ("leaf_values", np.zeros((3, 3)), ValueError, "shapes disagree"),
])
def test_renew_round_refuses_what_its_compiled_pass_would_write_out_of_bounds(name, bad, error, match):
    kw = {**_round_inputs(), name: bad}
    with pytest.raises(error, match=match):
        renew_round(learning_rate=0.1, **kw)
    with pytest.raises(ValueError, match="learning_rate"):
        renew_round(learning_rate=0.0, **_round_inputs())


def _residual_data(kind, rng, n):
    if kind == "ties":  # few distinct values: many equal to each order statistic (capped and rounded labels)
        return rng.integers(0, 4, n).astype(np.float64), np.zeros(n)
    if kind == "signed_zeros":  # residuals -0.0 and +0.0 (y = -0.0 against a zero score)
        return np.where(rng.random(n) < 0.5, -0.0, 0.0), np.zeros(n)
    return rng.standard_t(3, n), rng.normal(size=n)


@pytest.mark.parametrize("method", ["lightgbm", "lower"])
@pytest.mark.parametrize("kind", ["continuous", "ties", "signed_zeros"])
@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.97])
def test_renew_tree_equals_renewed_leaf_values_bit_for_bit(method, kind, alpha):
    # one tree's compiled renewal (its own selection) against the reference, leaf by leaf; leaf 5: one row, leaf 6:
    # none (keeps the engine's value, not reached)
    rng = np.random.default_rng(7)
    n, n_leaves = 400, 7
    y, score = _residual_data(kind, rng, n)
    leaf = rng.integers(0, 5, n)
    leaf[17] = 5
    engine = rng.normal(size=n_leaves)
    want = go.renewed_leaf_values(y, score, leaf, alpha, learning_rate=0.3, n_leaves=n_leaves, method=method)
    values, got_score, reached = engine.copy(), score.copy(), np.zeros(n_leaves, dtype=np.uint8)
    renew_tree(y, got_score, leaf, n_leaves, kernel_alphas([alpha], method)[0], method == "lower", 0.3, False,
               values, reached)
    hit = ~np.isnan(want)
    sorted_form = [0.3 * weighted_quantile((y - score)[leaf == j], alpha, method=method) for j in np.flatnonzero(hit)]
    np.testing.assert_array_equal(want[hit], sorted_form)  # the selection against the sorted definition
    np.testing.assert_array_equal(reached.view(bool), hit)
    assert values[hit].tobytes() == want[hit].tobytes() and values[~hit].tobytes() == engine[~hit].tobytes()
    assert got_score.tobytes() == (score + values[leaf]).tobytes()


@pytest.mark.parametrize("bad", ["leaf_above", "leaf_below", "score_length", "values_length"])
def test_renew_tree_checks_its_arrays_before_writing(bad):
    # the compiled kernel an adapter's round pass calls: a leaf outside [0, n_leaves) or a length mismatch raises
    # (it wrote out of bounds), and nothing is written
    n, n_leaves = 50, 4
    y, score, leaf = np.linspace(-1.0, 1.0, n), np.zeros(n), np.arange(n) % n_leaves
    values, reached = np.zeros(n_leaves), np.zeros(n_leaves, dtype=np.uint8)
    match = {"leaf_above": r"leaf must lie in \[0, n_leaves\).*7, 4, 4", "leaf_below": r"leaf must lie.*7, -1, 4",
             "score_length": "one length.*50, 49, 50", "values_length": "n_leaves entries.*3, 4, 4"}[bad]
    if bad.startswith("leaf"):
        leaf[7] = 4 if bad == "leaf_above" else -1
    elif bad == "score_length":
        score = score[:-1]
    else:
        values = values[:-1]
    before = score.copy()
    with pytest.raises(ValueError, match=match):
        renew_tree(y, score, leaf, n_leaves, 0.5, False, 0.1, False, values, reached)
    assert (score == before).all() and not values.any() and not reached.any()


@pytest.mark.parametrize("heapsort", [False, True])  # a budget of 0 heapsorts at once (the worst-case fallback)
@pytest.mark.parametrize("kind", ["continuous", "ties", "sorted", "reversed", "equal", "one_apart"])
def test_select_finds_every_rank_and_the_next(kind, heapsort):
    rng = np.random.default_rng(3)
    a = {"continuous": rng.normal(size=60), "ties": rng.integers(0, 3, 60).astype(float),
         "sorted": np.arange(60.0), "reversed": np.arange(60.0)[::-1].copy(), "equal": np.ones(60),
         "one_apart": np.r_[np.zeros(55), np.ones(5)]}[kind]  # a pivot at the minimum: the equal block split off
    ordered = np.sort(a)
    for k in range(len(a)):
        work = a.copy()
        got = _select(work, k, 0 if heapsort else 16 * len(a))[:2]
        assert got == (ordered[k], ordered[min(k + 1, len(a) - 1)])
        np.testing.assert_array_equal(np.sort(work), ordered)  # a permutation


@pytest.mark.parametrize("shape", ["V", "Λ", "x_squared"])
def test_select_is_linear_on_v_shaped_input(shape):
    # median-of-three pivots meet their worst case on V- and Λ-shaped inputs (each pass split off a few values:
    # quadratic, 1.7 s on 64k values); from the first pass that keeps > 3/4 of the range the pivots are
    # pseudo-random: the passes scan O(n) elements, and the values are the ranks'
    n = 1 << 16
    x = np.linspace(-1.0, 1.0, n)
    a = {"V": np.abs(x), "Λ": -np.abs(x), "x_squared": x * x}[shape]
    ordered = np.sort(a)
    for k in (0, n // 10, n // 2 - 1, n // 2, n - 2, n - 1):
        v_k, v_next, work = _select(a.copy(), k, 16 * n)
        assert (v_k, v_next) == (ordered[k], ordered[min(k + 1, n - 1)])
        assert work < 8 * n  # quadratic: ~n**2 / 4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_output_gradients_equal_the_numpy_form(dtype):
    rng = np.random.default_rng(5)
    y = rng.normal(size=50)
    raw = np.asfortranarray(np.where(rng.random((50, 3)) < 0.2, y[:, None], rng.normal(size=(50, 3))))  # ties
    alphas = np.array([0.1, 0.5, 0.9])
    grad, hess = np.empty((50, 3), dtype=dtype, order="F"), np.empty((50, 3), dtype=dtype, order="F")
    per_output_pinball_gradients(raw, y, alphas, grad, hess)
    assert grad.tobytes() == np.asfortranarray(np.where(raw - y[:, None] >= 0, 1.0 - alphas, -alphas), dtype).tobytes()
    assert (hess == 1).all()


class _PerOutputGradients(go.MultiQuantileLoss):
    """The renewal form of the gradients (as the engines' renewals set it)."""

    per_output_gradients = True


def test_per_output_gradients_compile_only_the_warmed_up_variants():
    # The compiled gradients run only on the types the warm-up compiles (float64 raw, float32 or float64 outputs,
    # Fortran-ordered with K > 1): a single column (C- and F-ordered at once), C-ordered, mixed-dtype or read-only
    # arrays take the NumPy form (same values) instead of compiling another variant.
    rng = np.random.default_rng(3)
    n = 40
    y = rng.normal(size=n)
    for dtype in (np.float64, np.float32):  # what gbm_objectives._warmup compiles
        grad, hess = np.empty((n, 2), dtype=dtype, order="F"), np.empty((n, 2), dtype=dtype, order="F")
        per_output_pinball_gradients(np.zeros((n, 2), order="F"), y, np.array([0.25, 0.75]), grad, hess)
    warmed = set(per_output_pinball_gradients.signatures)
    read_only = np.asfortranarray(rng.normal(size=(n, 3)))
    read_only.setflags(write=False)
    cases = [  # (alphas, raw, grad_out dtype and order, hess_out dtype and order)
        ((0.3,), rng.normal(size=n), (np.float64, "F"), (np.float64, "F")),
        ((0.3,), rng.normal(size=n), (np.float32, "C"), (np.float32, "C")),
        ((0.1, 0.5, 0.9), rng.normal(size=(n, 3)), (np.float32, "C"), (np.float32, "C")),
        ((0.1, 0.5, 0.9), rng.normal(size=(n, 3)), (np.float32, "F"), (np.float64, "F")),
        ((0.1, 0.5, 0.9), read_only, (np.float64, "F"), (np.float64, "F")),
        ((0.1, 0.5, 0.9), rng.normal(size=(n, 3)), (np.float32, "F"), (np.float32, "F")),
    ]
    for alphas, raw, (g_dtype, g_order), (h_dtype, h_order) in cases:
        obj = _PerOutputGradients(alphas)
        grad = np.empty(raw.shape, dtype=g_dtype, order=g_order)
        hess = np.empty(raw.shape, dtype=h_dtype, order=h_order)
        obj.grad_hess_prepared(obj.prepare(y), raw, grad_out=grad, hess_out=hess)
        a = np.asarray(alphas)
        expected = np.where(raw.reshape(n, -1) - y[:, None] >= 0, 1.0 - a, -a).reshape(raw.shape).astype(g_dtype)
        np.testing.assert_array_equal(grad, expected)
        assert (hess == 1).all()
    assert set(per_output_pinball_gradients.signatures) == warmed
