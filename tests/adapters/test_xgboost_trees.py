"""Tests for gbm_objectives.adapters.xgboost_trees: XGBoost's trees read from and written into its UBJSON model
bytes (against its JSON form of the same model), and the tree walk (against XGBoost's ``pred_leaf``)."""

import json

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")

from gbm_objectives.adapters import xgboost_trees as T  # noqa: E402
from gbm_objectives.adapters.xgboost_renewal import XGBoostQuantileLeafRenewal, _dense_features  # noqa: E402

K = 3


def _json_trees(booster):
    return json.loads(booster.save_raw(raw_format="json"))["learner"]["gradient_booster"]["model"]["trees"]


def _model(rng, n=500, categorical=False, rounds=4):
    """A K-output model on data with missing values (NaN) and ties with the split thresholds."""
    X = rng.normal(size=(n, 5)).round(1)
    X[rng.random(X.shape) < 0.15] = np.nan
    y = np.nan_to_num(X[:, 0]) + rng.normal(size=n)
    if categorical:
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame(X, columns=list("abcde"))
        frame["c"] = pd.Categorical(rng.integers(0, 4, size=n))
        y = y + 2.0 * (frame["c"].cat.codes.to_numpy() == 2)
        d = xgb.DMatrix(frame, y, enable_categorical=True)
    else:
        d = xgb.DMatrix(X, y)
    params = {"objective": "reg:quantileerror", "quantile_alpha": [0.2, 0.5, 0.8], "max_depth": 4, "nthread": 1}
    return xgb.train(params, d, rounds), d


@pytest.mark.parametrize("categorical", [False, True])
def test_tree_arrays_are_those_of_the_json_model(rng, categorical):
    booster, _ = _model(rng, categorical=categorical)
    for model in (booster, booster[2:3]):  # the whole model and a one-round slice
        expected = _json_trees(model)
        got = T.tree_arrays(model.save_raw(raw_format="ubj"), len(expected))
        assert len(got) == len(expected)
        for nodes, arrays in zip(expected, got):
            for key in T.WALK_KEYS:
                assert arrays[key].dtype.isnative
                np.testing.assert_array_equal(arrays[key], np.asarray(nodes[key], dtype=arrays[key].dtype))
    assert any(np.any(arrays["split_type"]) for arrays in got) == categorical


def test_a_document_laid_out_otherwise_is_refused(rng):
    booster, _ = _model(rng)
    raw = booster.save_raw(raw_format="ubj")
    n_trees = 4 * K
    assert T.tree_arrays(raw, n_trees - 1) is None  # a key found a number of times other than the trees'
    assert T.tree_arrays(booster.save_raw(raw_format="json"), n_trees) is None  # not UBJSON
    bad = bytearray(raw)
    at = bad.find(b"split_conditions[$") + len(b"split_conditions[$")
    bad[at] = ord("Z")  # an unknown value type
    assert T.typed_arrays(bad, "split_conditions") is None and T.tree_arrays(bad, n_trees) is None
    before = bytes(raw)
    assert not T.write_leaf_values(raw, n_trees + 1, {0: (np.array([1]), np.array([1.0]))})
    assert bytes(raw) == before  # left as it was


def test_written_leaf_values_are_the_json_edit(rng):
    booster, d = _model(rng)
    trees = _json_trees(booster)
    renewed = {}
    for t in (0, 5, 11):
        ids = np.flatnonzero(np.asarray(trees[t]["left_children"]) == -1)
        renewed[t] = (ids, np.float32(rng.normal(size=len(ids))).astype(np.float64))
    raw = booster.save_raw(raw_format="ubj")
    assert T.write_leaf_values(raw, len(trees), renewed)
    edited = xgb.Booster(model_file=raw)
    for t, (ids, values) in renewed.items():
        split_conditions = trees[t]["split_conditions"]
        for j, v in zip(ids.tolist(), values.tolist()):
            split_conditions[j] = v
    got = _json_trees(edited)
    for new, old in zip(got, trees):  # every tree as the JSON edit leaves it, the others untouched
        np.testing.assert_array_equal(np.float32(new.pop("split_conditions")), np.float32(old.pop("split_conditions")))
        assert new == old
    np.testing.assert_array_equal(edited.predict(d, pred_leaf=True), booster.predict(d, pred_leaf=True))


@pytest.mark.parametrize("categorical", [False, True])
def test_the_walk_of_a_round_is_pred_leaf(rng, categorical):
    booster, d = _model(rng, n=700, categorical=categorical)  # blocks of 256 rows: the last one partial
    features = _dense_features(d)
    walked = 0
    for t in range(4):
        tree = booster[t : t + 1]
        walks = [XGBoostQuantileLeafRenewal._walker(nodes) for nodes in _json_trees(tree)]
        expected = tree.predict(d, pred_leaf=True).astype(np.int64).T
        numerical = [k for k, w in enumerate(walks) if w is not None]  # a categorical split: pred_leaf
        walked += len(numerical)
        if not numerical:
            continue
        packed = T.pack_trees([walks[k] for k in numerical])
        out = np.full((len(numerical), len(features)), -1, dtype=np.int64)
        np.testing.assert_array_equal(T.tree_leaves(features, packed, out), expected[numerical])
    assert (walked < 4 * K) if categorical else (walked == 4 * K)


def test_a_single_leaf_tree_leaves_every_row_at_its_root():
    stump = (np.array([-1]), np.array([-1]), np.array([0]), np.array([0.25], dtype=np.float32), np.array([0]))
    split = (np.array([1, -1, -1]), np.array([2, -1, -1]), np.array([1, 0, 0]),
             np.array([0.5, -1.0, 1.0], dtype=np.float32), np.array([1, 0, 0]))
    X = np.array([[0.0, 0.0], [0.0, 0.5], [0.0, np.nan], [0.0, 1.0]], dtype=np.float32)
    out = T.tree_leaves(X, T.pack_trees([stump, split]), np.empty((2, 4), dtype=np.int64))
    np.testing.assert_array_equal(out, [[0, 0, 0, 0], [1, 2, 1, 2]])  # x < 0.5 left; NaN the default way (left)


def _split_and_rows():
    split = (np.array([1, -1, -1]), np.array([2, -1, -1]), np.array([1, 0, 0]),
             np.array([0.5, -1.0, 1.0], dtype=np.float32), np.array([1, 0, 0]))
    return T.pack_trees([split]), np.zeros((4, 2), dtype=np.float32), np.empty((1, 4), dtype=np.int64)


@pytest.mark.parametrize("case, error, name", [
    ("narrow_X", ValueError, "feature 1"),  # a split on a column X lacks: never read past X
    ("float64_X", TypeError, "X must be a float32"),
    ("fortran_X", ValueError, "X must be C-contiguous"),
    ("list_X", TypeError, "X must be a float32"),
    ("short_out", ValueError, "out must have shape"),
    ("int32_out", TypeError, "out must be a int64"),
    ("bad_child", ValueError, "children of tree 0"),
    ("int64_feature", TypeError, "packed feature"),
    ("read_only_out", ValueError, "out is read-only"),
])
def test_tree_leaves_refuses_what_the_compiled_walk_cannot_take(case, error, name):
    packed, X, out = _split_and_rows()
    if case == "narrow_X":
        X = X[:, :1].copy()
    elif case == "float64_X":
        X = X.astype(np.float64)
    elif case == "fortran_X":
        X = np.asfortranarray(np.zeros((4, 3), dtype=np.float32))[:, :2]
    elif case == "list_X":
        X = X.tolist()
    elif case == "short_out":
        out = out[:, :3].copy()
    elif case == "int32_out":
        out = out.astype(np.int32)
    elif case == "read_only_out":
        out.setflags(write=False)
    elif case == "bad_child":
        packed[0][0, 0, 1] = 7
    else:
        packed = (packed[0], packed[1].astype(np.int64), *packed[2:])
    with pytest.raises(error, match=name):
        T.tree_leaves(X, packed, out)


def test_tree_leaves_reads_a_read_only_X():
    packed, X, out = _split_and_rows()
    X[:, 1] = [0.25, 0.75, np.nan, 0.5]
    X.setflags(write=False)
    np.testing.assert_array_equal(T.tree_leaves(X, packed, out), [[1, 2, 1, 2]])
