"""Verified export (go.export): each format read back by its own consumer predicts predict_raw / predict.

The consumers are the real ones: onnxruntime, treelite's reference predictor (treelite.gtil), a fresh engine Booster
(in a subprocess for go.export's own check, in this process for the test's), and for json-dump an evaluator of the
dumped trees written here, row by row and independently of the package's NumPy one. Data is small; the full matrix
on MQ2008 and 1M rows is scripts/bench_export.py.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import gbm_objectives as go
from conftest import group_sizes_of, shared_dataset

onnxruntime = pytest.importorskip("onnxruntime", reason="the [export] extra is not installed")
treelite = pytest.importorskip("treelite", reason="the [export] extra is not installed")
pytest.importorskip("onnxmltools", reason="the [export] extra is not installed")

BACKENDS = ("lightgbm", "xgboost")
FLOAT32, FLOAT64 = 1e-5, 1e-12
#: the registry objectives of the issue (quantile with and without leaf renewal), by the data they train on
OBJECTIVES = [("focal", "binary"), ("weighted_ce", "binary"), ("logloss", "binary"),
              ("squared_error", "regression"), ("huber", "regression"), ("quantile", "regression"),
              ("quantile-no-renewal", "regression"), ("softmax", "multiclass"), ("softmax_focal", "multiclass"),
              ("lambdarank", "ranking"), ("xendcg", "ranking"), ("softmax_rank", "ranking"),
              ("listmle", "ranking"), ("approx_ndcg", "ranking"), ("lambdaloss", "ranking"),
              ("multi_quantile", "regression")]


@pytest.fixture(scope="module")
def data():
    """Small training and check sets per task: make_imbalanced (1 % positives), a regression, 3 classes, and
    make_ranking queries."""
    X, y = go.datasets.make_imbalanced(n_samples=600, positive_rate=0.01, n_features=6, seed=0)
    rng = np.random.default_rng(1)
    Xr = rng.normal(size=(300, 5))
    yr = 3 * Xr[:, 0] + np.sin(Xr[:, 1]) + rng.normal(size=300)
    ym = (Xr[:, 2] > 0).astype(int) + (Xr[:, 3] > 0.5)
    Xq, yq, qid = go.datasets.make_ranking(n_queries=25, docs_per_query=(6, 14), n_features=8, seed=0)
    return {"binary": (X, y, {}), "regression": (Xr, yr, {}), "multiclass": (Xr, ym, {}),
            "ranking": (Xq, yq, {"group": group_sizes_of(qid)})}


_TRAINED = {}


def trained(name, backend, data):
    key = (name, backend)
    if key not in _TRAINED:
        objective, task = name.replace("-no-renewal", ""), dict(OBJECTIVES)[name]
        X, y, kw = data[task]
        renewal = {"leaf_renewal": False} if name.endswith("-no-renewal") else {}
        _TRAINED[key] = go.train(objective, X, y, backend=backend, num_boost_round=4, n_jobs=1,
                                 params={"num_leaves": 7}, **kw, **renewal)
    return _TRAINED[key], data[dict(OBJECTIVES)[name]][0]


def close(a, b, tol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    assert np.all(np.abs(a - b) <= tol * (1 + np.abs(b))), float(np.max(np.abs(a - b)))


# ---- an independent tree evaluator of the dumps (row by row, recursive) ------------------------------------------
def _lightgbm_leaf(node, row):
    while "leaf_value" not in node:
        x = row[node["split_feature"]]
        missing = (node["missing_type"] == "NaN" and np.isnan(x)) or (
            node["missing_type"] == "Zero" and (np.isnan(x) or x == 0))
        if np.isnan(x) and not missing:
            x = 0.0
        left = node["default_left"] if missing else x <= node["threshold"]
        node = node["left_child"] if left else node["right_child"]
    return node["leaf_value"]


def _xgboost_leaf(node, row):
    while "leaf" not in node:
        x = np.float32(row[int(node["split"][1:])])
        target = node["missing"] if np.isnan(x) else node["yes"] if x < np.float32(node["split_condition"]) \
            else node["no"]
        node = next(child for child in node["children"] if child["nodeid"] == target)
    return np.float32(node["leaf"])


def evaluate_dump(backend, dump, X, n_classes):
    if backend == "lightgbm":
        k = dump["num_tree_per_iteration"]
        out = np.zeros((len(X), k))
        for tree in dump["tree_info"]:
            out[:, tree["tree_index"] % k] += [_lightgbm_leaf(tree["tree_structure"], row) for row in X]
    else:
        k = n_classes
        out = np.zeros((len(X), k), dtype=np.float32)
        for t, tree in enumerate(dump):
            out[:, t % k] += np.array([_xgboost_leaf(tree, row) for row in X], dtype=np.float32)
    return out[:, 0] if k == 1 else out


def onnx_scores(path, X, task, transformed):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = dict(zip([o.name for o in session.get_outputs()],
                       session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})))
    values = outputs.get("probabilities", outputs.get("variable"))
    values = values.reshape(len(X), -1)
    if task == "binary" and transformed:
        return values[:, 1]
    return values[:, 0] if values.shape[1] == 1 else values


def treelite_scores(path, X):
    values = treelite.gtil.predict(treelite.Model.deserialize(str(path)), X.astype(np.float32)).reshape(len(X), -1)
    return values[:, 0] if values.shape[1] == 1 else values


# ---- the matrix ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", [name for name, _ in OBJECTIVES])
def test_onnx_treelite_and_dump_predict_predict_raw(name, backend, data, tmp_path):
    """ONNX and Treelite files (raw, and transformed for the sigmoid and softmax links) and the JSON dump, read by
    their consumers, equal predict_raw (predict) within 1e-5 (float32 consumers); the dump, evaluated here, within
    1e-12 (LightGBM's float64 leaves; XGBoost's dump summed in float32 as XGBoost does)."""
    res, X = trained(name, backend, data)
    task, raw, pred = res.task, res.predict_raw(X), res.predict(X)
    # (an identity link's transformed file is the raw one: converted once; multi_quantile: K raw outputs, no twin)
    outputs = (("raw", raw), ("transformed", pred)) if task in ("binary", "multiclass") else (("raw", raw),)
    for output, expected in outputs:
        report = go.export(res, tmp_path / f"m-{output}.onnx", format="onnx", output=output, verify=X)
        assert report.passed and report.output == output
        close(onnx_scores(tmp_path / f"m-{output}.onnx", X, task, output == "transformed"), expected, FLOAT32)
        go.export(res, tmp_path / f"m-{output}.tl", format="treelite", output=output, verify=X)
        close(treelite_scores(tmp_path / f"m-{output}.tl", X), expected, FLOAT32)
    report = go.export(res, tmp_path / "dump.json", format="json-dump", verify=X)
    dumped = evaluate_dump(backend, json.loads((tmp_path / "dump.json").read_text()), X, res.objective.n_classes or 1)
    close(dumped, raw, FLOAT64)
    assert report.max_diff["raw"] <= FLOAT64 * (1 + np.max(np.abs(raw)))


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["focal", "softmax_focal", "listmle", "multi_quantile"])
def test_engine_files_predict_predict_raw_alone(name, backend, data, tmp_path):
    """The engine's own file (one objective per task: the rewrite depends only on the task; and the K outputs of
    multi_quantile), read by a fresh Booster here and in go.export's subprocess: raw scores within 1e-12 of
    predict_raw, with no init score passed, and the built-in twin's transform equal to predict (float32 for
    XGBoost, which applies its link in float32); multi_quantile's link has no twin: the file's identity gives the
    raw outputs (checked by test_multi_quantile_exports_say_how_to_get_the_quantiles)."""
    res, X = trained(name, backend, data)
    multi = name == "multi_quantile"
    path = tmp_path / ("m.txt" if backend == "lightgbm" else "m.json")
    report = go.export(res, path, format="lightgbm" if backend == "lightgbm" else "xgboost-json", verify=X)
    assert report.passed and report.max_diff["raw"] <= FLOAT64
    if backend == "lightgbm":
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(path))
        raw, transformed = booster.predict(X, raw_score=True), booster.predict(X)
        twin = {"binary": "binary sigmoid:1", "regression": "regression", "ranking": "lambdarank",
                "multiclass": "multiclass num_class:3"}[res.task]
        assert f"objective={twin}\n" in path.read_text()
        close(transformed, res.predict_raw(X) if multi else res.predict(X), FLOAT64)
    else:
        import xgboost as xgb

        booster = xgb.Booster(model_file=str(path))
        raw = booster.predict(xgb.DMatrix(X), output_margin=True)
        transformed = booster.predict(xgb.DMatrix(X))
        twin = {"binary": "binary:logistic", "regression": "reg:squarederror", "ranking": "rank:ndcg",
                "multiclass": "multi:softprob"}[res.task]
        assert json.loads(path.read_text())["learner"]["objective"]["name"] == twin
        close(transformed, res.predict_raw(X) if multi else res.predict(X), FLOAT32)
    close(raw, res.predict_raw(X), FLOAT64)


def test_xgboost_rankers_onnx_and_treelite_rank_identical_on_mq2008(tmp_path):
    """XGBoost rankers (onnxmltools takes rank:* for a classifier) convert through the regression view: on every
    MQ2008 test query of the rows used, ONNX and Treelite scores order the documents as predict_raw does."""
    root = shared_dataset("letor4_mq2008", "Fold1")
    X, y, qid = go.datasets.load_letor(root / "train.txt.gz")
    Xt, _, qt = go.datasets.load_letor(root / "test.txt.gz")
    train_rows, test_rows = np.isin(qid, np.unique(qid)[:40]), np.isin(qt, np.unique(qt)[:25])
    X, y, qid, Xt, qt = X[train_rows], y[train_rows], qid[train_rows], Xt[test_rows], qt[test_rows]
    for objective in ("lambdarank", "xendcg"):
        res = go.train(objective, X, y, group=group_sizes_of(qid), backend="xgboost", num_boost_round=5, n_jobs=1)
        raw = res.predict_raw(Xt)
        go.export(res, tmp_path / "r.onnx", format="onnx", verify=Xt)
        go.export(res, tmp_path / "r.tl", format="treelite", verify=Xt)
        for scores in (onnx_scores(tmp_path / "r.onnx", Xt, "ranking", False), treelite_scores(tmp_path / "r.tl", Xt)):
            for q in np.unique(qt):
                rows = qt == q
                if np.ptp(raw[rows]) > 0:
                    assert stats.spearmanr(scores[rows], raw[rows]).statistic == pytest.approx(1.0, abs=1e-12)
                assert np.array_equal(np.argsort(-scores[rows], kind="stable"), np.argsort(-raw[rows], kind="stable"))


# ---- old model folders, the refusal, the CLI ----------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("version", [1, 2])
def test_models_saved_by_earlier_formats_export(version, backend, data, tmp_path):
    res, X = trained("focal", backend, data)
    meta = go.save_model(tmp_path / "m", res)
    old = {k: meta[k] for k in ("package", "backend", "model_file", "task", "engine_params", "init_score",
                                "feature_names", "n_features")}
    old.update(format_version=version, objective=meta["objective"])
    old["iteration_kept" if version == 1 else "best_iteration"] = None
    (tmp_path / "m" / "meta.json").write_text(json.dumps(old))
    report = go.export(tmp_path / "m", tmp_path / "m.onnx", format="onnx", verify=X)
    assert report.passed
    close(onnx_scores(tmp_path / "m.onnx", X, "binary", False), res.predict_raw(X), FLOAT32)


def _unfolded(module):
    """The module's engine_file without the init score (what the engines' own save writes)."""
    original = module.engine_file

    def engine_file(booster, init_score, *args, **kwargs):
        return original(booster, None, *args, **kwargs)

    return engine_file


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_verification_writes_nothing(backend, data, tmp_path, monkeypatch):
    """An export whose file misses the init score is refused: ExportVerificationError with the figures, no file,
    no temporary file left in the folder."""
    from gbm_objectives.adapters import EXPORT_BACKENDS

    res, X = trained("focal", backend, data)
    monkeypatch.setattr(EXPORT_BACKENDS[backend], "engine_file", _unfolded(EXPORT_BACKENDS[backend]))
    with pytest.raises(go.ExportVerificationError, match="refused.*nothing was written") as info:
        go.export(res, tmp_path / "m.onnx", format="onnx", verify=X)
    assert not info.value.report.passed and info.value.report.max_diff["raw"] > 0.1
    assert list(tmp_path.iterdir()) == []


def test_cli_export_prints_the_figures_and_exits_2_on_refusal(data, tmp_path, monkeypatch, capsys):
    from gbm_objectives.adapters import EXPORT_BACKENDS
    from gbm_objectives.cli import main

    res, X = trained("focal", "lightgbm", data)
    go.save_model(tmp_path / "m", res)
    np.savetxt(tmp_path / "rows.csv", np.column_stack([X, np.zeros(len(X))]), delimiter=",", comments="",
               header=",".join([*res.booster.feature_name(), "label"]))
    assert main(["export", "--model", str(tmp_path / "m"), "--format", "treelite", "--out", str(tmp_path / "m.tl"),
                 "--verify", str(tmp_path / "rows.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "verified by treelite.gtil on 600 verify rows: max |diff| raw" in out and "passed" in out
    close(treelite_scores(tmp_path / "m.tl", X), res.predict_raw(X), FLOAT32)
    assert main(["export", "--model", str(tmp_path / "m"), "--format", "treelite", "--out",
                 str(tmp_path / "m.tl")]) == 2
    assert "exists; it is left as it is (--force replaces it)" in capsys.readouterr().err
    monkeypatch.setattr(EXPORT_BACKENDS["lightgbm"], "engine_file", _unfolded(EXPORT_BACKENDS["lightgbm"]))
    assert main(["export", "--model", str(tmp_path / "m"), "--format", "onnx", "--out", str(tmp_path / "m.onnx"),
                 "--quiet"]) == 2
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and captured.err.startswith("error: export to onnx refused")
    assert not (tmp_path / "m.onnx").exists()
    assert main(["export", "--model", str(tmp_path / "m"), "--format", "xgboost-json", "--out",
                 str(tmp_path / "m.json")]) == 2
    assert "format 'xgboost-json' is a xgboost model file" in capsys.readouterr().err


def test_a_link_without_builtin_twin_exports_raw_and_says_so(data, tmp_path):
    class ExpRegression(go.SquaredError):
        def transform(self, raw_score):
            return np.exp(np.asarray(raw_score, dtype=np.float64))

    X, y, _ = data["regression"]
    res = go.train(ExpRegression(), X, y, num_boost_round=3, n_jobs=1)
    report = go.export(res, tmp_path / "m.onnx", format="onnx", output="transformed", verify=X)
    assert report.output == "raw" and "no built-in twin" in report.notes[0]
    close(onnx_scores(tmp_path / "m.onnx", X, "regression", False), res.predict_raw(X), FLOAT32)


def test_bad_arguments(data, tmp_path):
    res, X = trained("focal", "xgboost", data)
    with pytest.raises(ValueError, match="format must be one of .*got 'pmml'"):
        go.export(res, tmp_path / "m", format="pmml")
    with pytest.raises(ValueError, match="output must be one of .*got 'proba'"):
        go.export(res, tmp_path / "m", output="proba")
    with pytest.raises(ValueError, match="verify must be a non-empty 2-d array"):
        go.export(res, tmp_path / "m", verify=X[0])
    with pytest.raises(ValueError, match="verify has 5 columns but the model has 6 features"):
        go.export(res, tmp_path / "m", verify=X[:, :5])
    with pytest.raises(ValueError, match="is a folder; export writes one file"):
        go.export(res, tmp_path, verify=X)
    with pytest.raises(TypeError, match="result_or_model_dir must be a TrainResult or a model folder; got int"):
        go.export(3, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_the_engine_check_runs_without_the_package(data, tmp_path):
    """go.export's subprocess reads the file with the engine alone: the script, run here with this package made
    unimportable, still predicts."""
    from gbm_objectives.adapters import EXPORT_BACKENDS

    res, X = trained("focal", "lightgbm", data)
    module = EXPORT_BACKENDS["lightgbm"]
    (tmp_path / "m.txt").write_bytes(module.engine_file(res.booster, res.init_score, "binary", 1))
    np.save(tmp_path / "x.npy", X)
    (tmp_path / "gbm_objectives.py").write_text("raise ImportError('gbm_objectives must not be imported')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    subprocess.run([sys.executable, "-c", EXPORT_BACKENDS["lightgbm"].RELOAD_SCRIPT, str(tmp_path / "m.txt"),
                    str(tmp_path / "x.npy"), str(tmp_path / "p.npz")], check=True, env=env, cwd=tmp_path)
    close(np.load(tmp_path / "p.npz")["raw"], res.predict_raw(X), FLOAT64)


# ---- models of K raw outputs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_multi_quantile_exports_say_how_to_get_the_quantiles(backend, data, tmp_path, capsys):
    """multi_quantile's link (cumulative_softplus) has no built-in twin: a transformed export gives the K raw
    outputs (init score included) and the note names the transform with the model's scale as a number; that
    transform of the file's outputs is predict. The command line exports the saved model and prints the note."""
    from gbm_objectives.cli import main

    res, X = trained("multi_quantile", backend, data)
    report = go.export(res, tmp_path / "m.onnx", format="onnx", output="transformed", verify=X)
    assert report.output == "raw" and "no built-in twin" in report.notes[0]
    scale = float(report.notes[0].split("go.cumulative_softplus(raw, scale=")[1].split(")")[0])
    assert scale == res.objective.scale
    raw = onnx_scores(tmp_path / "m.onnx", X, "regression", False)
    close(raw, res.predict_raw(X), FLOAT32)
    close(go.cumulative_softplus(raw, scale=scale), res.predict(X), FLOAT32)
    go.save_model(tmp_path / "saved", res)
    assert main(["export", "--model", str(tmp_path / "saved"), "--format", "treelite", "--out",
                 str(tmp_path / "m.tl"), "--quiet"]) == 0
    assert f"  note: {report.notes[0]}\n" in capsys.readouterr().out
    close(treelite_scores(tmp_path / "m.tl", X), res.predict_raw(X), FLOAT32)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_output_models_export_to_onnx(backend, data, tmp_path):
    """onnxruntime reads the two base values of a two-class classifier as a binary model (class 0 the negated
    class 1): they are folded into the leaves, so a 2-class softmax (XGBoost 3: a vector base_score) and a
    2-level multi_quantile export to ONNX with both outputs their own."""
    X, y, _ = data["regression"]
    for objective, labels in (("softmax", (X[:, 2] > 0).astype(int)), (go.MultiQuantileLoss((0.1, 0.9)), y)):
        res = go.train(objective, X, labels, backend=backend, num_boost_round=3, n_jobs=1, params={"num_leaves": 7})
        for output in ("raw", "transformed") if objective == "softmax" else ("raw",):
            go.export(res, tmp_path / "m.onnx", format="onnx", output=output, verify=X)
            expected = res.predict_raw(X) if output == "raw" else res.predict(X)
            close(onnx_scores(tmp_path / "m.onnx", X, res.task, output == "transformed"), expected, FLOAT32)
