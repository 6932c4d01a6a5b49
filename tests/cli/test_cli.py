"""End-to-end tests of the ``gbm-objectives`` command line: ``main([...])`` in ``tmp_path`` on tiny generated data."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

import gbm_objectives as go
from gbm_objectives import cli, datasets
from gbm_objectives._core.files import atomic_write_json
from gbm_objectives.cli import commands, load_model, main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--rounds", "6", "--threads", "1", "--num-leaves", "7"]


def write_letor(path, X, y, qid=None, *, query_file=False):
    """SVMlight/LETOR text (one-based indices); with ``query_file`` the groups go to ``PATH.query`` instead of qid:."""
    lines = []
    for i in range(len(y)):
        q = f" qid:{qid[i]}" if qid is not None and not query_file else ""
        feats = " ".join(f"{j + 1}:{X[i, j]:.6g}" for j in range(X.shape[1]))
        lines.append(f"{int(y[i])}{q} {feats} # doc {i}")
    path.write_text("\n".join(lines) + "\n")
    if query_file:
        (path.parent / (path.name + ".query")).write_text("\n".join(str(c) for c in np.bincount(qid)) + "\n")
    return path


@pytest.fixture(scope="module")
def ranking_files(tmp_path_factory):
    """Train/valid LETOR files without qid (groups in .query files) and a test file with qid:."""
    d = tmp_path_factory.mktemp("letor")
    X, y, qid = datasets.make_ranking(n_queries=48, docs_per_query=(5, 15), n_features=6, n_labels=3, seed=0)
    a, b = np.searchsorted(qid, [32, 40])
    train = write_letor(d / "train.txt", X[:a], y[:a], qid[:a], query_file=True)
    valid = write_letor(d / "vali.txt", X[a:b], y[a:b], qid[a:b] - 32, query_file=True)
    test = write_letor(d / "test.txt", X[b:], y[b:], qid[b:])
    return train, valid, test


@pytest.fixture(scope="module")
def binary_tables(tmp_path_factory):
    """A Parquet training file and CSV valid/test files with a label column named 'target'."""
    d = tmp_path_factory.mktemp("tables")
    X, y = datasets.make_imbalanced(n_samples=600, positive_rate=0.2, n_features=5, seed=1)
    frames = [pd.DataFrame(X[s], columns=[f"x{j}" for j in range(5)]).assign(target=y[s])
              for s in (slice(0, 400), slice(400, 500), slice(500, 600))]
    train = d / "train.parquet"
    frames[0].to_parquet(train)
    valid, test = d / "valid.csv", d / "test.csv"
    frames[1].to_csv(valid, index=False)
    frames[2].to_csv(test, index=False)
    return train, valid, test


def read_json(path):
    return json.loads(path.read_text())


def one_error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------------------------------------------------------
# train / evaluate
# ---------------------------------------------------------------------------------------------------------------


def test_train_letor_with_query_files_writes_model_metrics_and_plot(ranking_files, tmp_path, capsys):
    train, valid, test = ranking_files
    out = tmp_path / "run"
    rc = main(["train", "--train", str(train), "--valid", str(valid), "--test", str(test), "--objective",
               "lambdarank", "--metric", "ndcg@5", "--metric", "mrr", "--out", str(out), *FAST])
    assert rc == 0
    captured = capsys.readouterr()
    assert "ndcg@5" in captured.out and "valid" in captured.out
    assert "train: " in captured.err  # plain log lines (not a terminal)

    meta = read_json(out / "model" / "meta.json")
    assert meta["objective"] == {"name": "lambdarank", "native": False, "params": {}, "engine_objective": None}
    assert meta["backend"] == "lightgbm" and meta["init_score"] == 0.0 and meta["iteration_kept"] == 6
    assert meta["feature_names"] == [f"f{j}" for j in range(1, 7)]
    assert (out / "model" / "model.txt").read_text().startswith("tree")

    metrics = read_json(out / "metrics.json")
    assert metrics["per_round"]["iterations"] == [1, 2, 3, 4, 5, 6]
    for split in ("train", "valid", "test"):
        for name in ("ndcg@5", "mrr"):
            curve = metrics["per_round"][split][name]
            assert len(curve) == 6 and all(0 <= v <= 1 for v in curve)
            assert metrics["final"][split][name] == curve[-1]
    assert metrics["data"]["train"]["queries"] == 32 and metrics["data"]["valid"]["queries"] == 8
    assert (out / "learning_curve.png").read_bytes().startswith(PNG_MAGIC)

    # evaluate reloads the model (no pickle) and reproduces the training report on the same file
    report = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(out), "--data", str(valid), "--out", str(report), "-q"]) == 0
    assert read_json(report)["metrics"] == pytest.approx(metrics["final"]["valid"], rel=1e-12, abs=1e-12)

    # a file whose format the extension does not tell is an input error
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), "--data", str(train) + ".query", "-q"]) == 2
    assert "cannot tell the format" in one_error_line(capsys)

    # and Python gets the same scores: the NDCG of load_model(...).predict equals the reported value
    X, y, qid = datasets.load_letor(test, n_features=6)
    model = load_model(out)
    scores = model.predict(X)
    assert go.ndcg_score(y, scores, qid=qid, k=5) == pytest.approx(metrics["final"]["test"]["ndcg@5"], abs=1e-12)


def test_train_csv_with_group_column_native_xgboost(ranking_files, tmp_path):
    X, y, qid = datasets.make_ranking(n_queries=30, docs_per_query=(4, 12), n_features=5, n_labels=3, seed=2)
    frame = pd.DataFrame(X, columns=list("abcde")).assign(rel=y, query=[f"q{q}" for q in qid])
    path = tmp_path / "rank.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "xgb"
    rc = main(["train", "--train", str(path), "--valid", str(path), "--label", "rel", "--group", "query",
               "--objective", "lambdarank:native", "--backend", "xgboost", "--out", str(out), "-q", *FAST])
    assert rc == 0
    meta = read_json(out / "model" / "meta.json")
    assert meta["feature_names"] == list("abcde") and meta["label_column"] == "rel"
    assert meta["objective"]["engine_objective"] == "rank:ndcg" and meta["init_score"] is None
    assert (out / "model" / "model.json").is_file()
    metrics = read_json(out / "metrics.json")
    assert metrics["final"]["train"] == metrics["final"]["valid"]  # the same file twice
    # the model file is the engine's own: XGBoost reads it back and predicts what the CLI reported
    report = tmp_path / "e.json"
    assert main(["evaluate", "--model", str(out / "model"), "--data", str(path), "--out", str(report), "-q"]) == 0
    assert read_json(report)["metrics"] == pytest.approx(metrics["final"]["train"], abs=1e-6)


def test_train_parquet_binary_focal_then_python_reload(binary_tables, tmp_path):
    train, valid, test = binary_tables
    out = tmp_path / "focal"
    rc = main(["train", "--train", str(train), "--valid", str(valid), "--test", str(test), "--label", "target",
               "--objective", "focal", "--param", "gamma=1.5", "--param", "min_data_in_leaf=5", "--out", str(out),
               "-q", *FAST])
    assert rc == 0
    meta = read_json(out / "model" / "meta.json")
    assert meta["objective"]["params"] == {"gamma": 1.5}
    assert meta["engine_params"]["min_data_in_leaf"] == 5
    y_train = pd.read_parquet(train)["target"].to_numpy()
    assert meta["init_score"] == pytest.approx(go.FocalLoss(gamma=1.5).init_score(y_train), abs=1e-12)
    metrics = read_json(out / "metrics.json")
    assert metrics["metrics"] == ["auc", "pr_auc", "logloss"]

    frame = pd.read_csv(test)
    proba = load_model(out).predict(frame[[f"x{j}" for j in range(5)]].to_numpy(np.float32))
    assert np.all((proba > 0) & (proba < 1))
    assert roc_auc_score(frame["target"], proba) == pytest.approx(metrics["final"]["test"]["auc"], abs=1e-12)
    assert average_precision_score(frame["target"], proba) == pytest.approx(metrics["final"]["test"]["pr_auc"],
                                                                             abs=1e-12)


@pytest.mark.parametrize("objective, backend", [("softmax", "lightgbm"), ("softmax:native", "xgboost"),
                                                ("quantile", "xgboost")])
def test_multiclass_and_regression_train_then_evaluate(tmp_path, objective, backend):
    name = "diabetes" if objective == "quantile" else "wine"
    X, y, _ = datasets.load(name, "all")
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(X).add_prefix("c").assign(label=y).to_csv(path, index=False)
    out = tmp_path / "m"
    extra = ["--param", "alpha=0.9"] if objective == "quantile" else []
    assert main(["train", "--train", str(path), "--objective", objective, "--backend", backend, "--out", str(out),
                 "-q", *extra, *FAST]) == 0
    metrics = read_json(out / "metrics.json")
    report = tmp_path / "e.json"
    assert main(["evaluate", "--model", str(out), "--data", str(path), "--out", str(report), "-q"]) == 0
    assert read_json(report)["metrics"] == pytest.approx(metrics["final"]["train"], rel=1e-6)
    if objective == "quantile":  # the 0.9-quantile model covers most rows (pinball training moves it up)
        assert metrics["metrics"] == ["pinball", "coverage"] and metrics["final"]["train"]["coverage"] > 0.5
    else:
        assert metrics["metrics"] == ["mlogloss", "accuracy"] and metrics["final"]["train"]["accuracy"] > 0.9


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_early_stopping_keeps_the_best_round(ranking_files, tmp_path, backend):
    train, valid, _ = ranking_files
    out = tmp_path / "es"
    rc = main(["train", "--train", str(train), "--valid", str(valid), "--objective", "lambdarank:native",
               "--backend", backend, "--early-stopping", "2", "--rounds", "40", "--threads", "1",
               "--learning-rate", "0.3", "--out", str(out), "-q"])
    assert rc == 0
    m = read_json(out / "metrics.json")
    best = m["best_iteration"]
    assert best is not None and m["iteration_kept"] == best
    # training stopped `patience` rounds after the best round, which has the best valid ndcg@10 of the run
    history = m["early_stopping"]["history"]
    assert m["rounds_trained"] == len(history) == min(40, best + 2)
    assert history[best - 1] == max(history) and max(history[best:], default=-1) <= history[best - 1]
    # the saved model stops at the best round, and its own valid ndcg@10 is the engine's value there
    assert read_json(out / "model" / "meta.json")["iteration_kept"] == best
    assert m["per_round"]["iterations"][-1] == best
    # (XGBoost keeps its evaluation log as text with 6 decimals: agreement to half a unit of the 6th decimal)
    tol = 1e-12 if backend == "lightgbm" else 5e-7
    assert m["final"]["valid"]["ndcg@10"] == pytest.approx(history[best - 1], abs=tol)


# ---------------------------------------------------------------------------------------------------------------
# compare, datasets, demo
# ---------------------------------------------------------------------------------------------------------------


def test_compare_prints_table_and_writes_json_and_png(binary_tables, tmp_path, capsys):
    train, valid, test = binary_tables
    out = tmp_path / "cmp"
    rc = main(["compare", "--train", str(train), "--valid", str(valid), "--test", str(test), "--label", "target",
               "--objective", "logloss", "--objective", "logloss:native", "--objective", "focal", "--out", str(out),
               *FAST])
    assert rc == 0
    table = capsys.readouterr().out
    for name in ("logloss:native", "focal", "seconds"):
        assert name in table
    summary = read_json(out / "compare.json")
    assert summary["split"] == "test" and [r["objective"] for r in summary["table"]] == [
        "logloss", "logloss:native", "focal"]
    rows = {r["objective"]: r for r in summary["table"]}
    # our log loss and LightGBM's binary objective start from the same init score and take the same steps
    assert rows["logloss"]["auc"] == pytest.approx(rows["logloss:native"]["auc"], abs=1e-9)
    assert rows["logloss"]["logloss"] == pytest.approx(rows["logloss:native"]["logloss"], rel=1e-6)
    assert (out / "compare.png").read_bytes().startswith(PNG_MAGIC)


def test_datasets_lists_names(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("synthetic-ranking", "breast_cancer", "mq2008"):
        assert name in out
    assert main(["datasets", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {d["name"] for d in listed} == set(datasets.DATASETS)


def test_demo_runs_and_writes_json(tmp_path, capsys):
    out = tmp_path / "demo.json"
    assert main(["demo", "--rounds", "3", "--ranking", "--out", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "breast cancer" in text and "focal" in text
    sections = read_json(out)["sections"]
    first = sections[0]["table"]
    assert {row["backend"] for row in first} == {"lightgbm", "xgboost"}
    assert all(0.5 < row["auc"] <= 1 for row in first)
    ranking = sections[2]["table"]
    assert [row["objective"] for row in ranking] == ["lambdarank", "lambdarank:native"] * 2


def test_progress_bar_on_a_terminal_lines_otherwise_nothing_when_quiet():
    import io

    from gbm_objectives._core.progress import Reporter

    outputs = {}
    for name, kwargs in {"tty": dict(tty=True), "lines": dict(tty=False), "quiet": dict(quiet=True, tty=True)}.items():
        stream = io.StringIO()
        reporter = Reporter(stream=stream, **kwargs)
        with reporter.progress(50, "rounds", every=10, min_interval=0) as bar:
            for _ in range(50):
                bar.update(1)
        reporter.log("done")
        outputs[name] = stream.getvalue()
    # a tqdm bar (redrawn in place with \r, and erased when done), then the log line
    assert outputs["tty"].startswith("\rrounds:") and "| 0/50" in outputs["tty"] and outputs["tty"].endswith("\rdone\n")
    assert outputs["lines"].splitlines() == [f"rounds: {i}/50" for i in (10, 20, 30, 40, 50)] + ["done"]
    assert outputs["quiet"] == ""


def test_module_entry_point_and_version():
    done = subprocess.run([sys.executable, "-m", "gbm_objectives", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("gbm-objectives ")


# ---------------------------------------------------------------------------------------------------------------
# errors: one line on stderr, exit 2 for usage and input errors, 1 for failures
# ---------------------------------------------------------------------------------------------------------------


def test_missing_file_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--train", "x.txt", "--objective", "focal", "--out", "o"]) == 2
    assert one_error_line(capsys) == "error: --train: no such file 'x.txt'"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--objective", "focal", "--out", "o"], "required: --train"),
        (["train", "--train", "{train}", "--objective", "nope", "--out", "o"], "unknown objective 'nope'"),
        (["train", "--train", "{train}", "--objective", "focal", "--out", "o"], "needs 0/1 labels"),
        (["train", "--train", "{train}", "--objective", "lambdarank", "--metric", "ndcg@x", "--out", "o"],
         "cut-off"),
        (["train", "--train", "{train}", "--objective", "lambdarank", "--early-stopping", "3", "--out", "o"],
         "--early-stopping: needs --valid"),
        (["train", "--train", "{train}", "--objective", "focal:native", "--out", "o"], "no built-in equivalent"),
        (["train", "--train", "{train}", "--objective", "lambdarank", "--param", "oops", "--out", "o"],
         "expected key=value"),
        (["train", "--train", "{train}", "--objective", "lambdarank", "--rounds", "0", "--out", "o"],
         "positive integer"),
        (["evaluate", "--model", "{tmp}", "--data", "{train}"], "--model: no model"),
        (["frobnicate"], "invalid choice"),
    ],
    ids=["missing-arg", "objective", "labels", "metric", "early-stopping", "native", "param", "rounds", "model",
         "command"],
)
def test_usage_errors(ranking_files, tmp_path, capsys, argv, message):
    argv = [a.format(train=ranking_files[0], tmp=tmp_path) for a in argv]
    assert main([*argv, "-q"] if argv[0] != "frobnicate" else argv) == 2
    assert message in one_error_line(capsys)


def test_bad_letor_line_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 qid:1 1:0.5\n0 qid:1 1:zz\n")
    assert main(["train", "--train", str(bad), "--objective", "lambdarank", "--out", str(tmp_path / "o"), "-q"]) == 2
    line = one_error_line(capsys)
    assert line.startswith("error: --train: ") and "bad.txt:2: cannot parse a feature" in line


def test_ranking_objective_without_queries_and_missing_label_column(tmp_path, capsys):
    plain = tmp_path / "plain.svm"
    plain.write_text("1 1:0.5\n0 1:0.2\n")
    assert main(["train", "--train", str(plain), "--objective", "lambdarank", "--out", str(tmp_path / "o"), "-q"]) == 2
    assert "needs query ids" in one_error_line(capsys)
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    assert main(["train", "--train", str(table), "--label", "y", "--objective", "logloss",
                 "--out", str(tmp_path / "o"), "-q"]) == 2
    assert "t.csv:1: missing label column 'y'" in one_error_line(capsys)


def test_failure_is_exit_1_without_traceback_unless_debug(binary_tables, tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("engine exploded\nsecond line")

    monkeypatch.setattr(commands, "train_one", boom)
    argv = ["train", "--train", str(binary_tables[0]), "--objective", "focal", "--out", str(tmp_path / "o"), "-q"]
    assert main(argv) == 1
    assert one_error_line(capsys) == "error: RuntimeError: engine exploded"
    with pytest.raises(RuntimeError, match="engine exploded"):
        main([*argv, "--debug"])


def test_outputs_are_atomic(binary_tables, tmp_path, monkeypatch):
    """A failure while writing leaves the previous model and metrics whole, and no temporary files behind."""
    out = tmp_path / "run"
    argv = ["train", "--train", str(binary_tables[0]), "--label", "target", "--objective", "logloss", "--out",
            str(out), "-q", *FAST]
    assert main(argv) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    from gbm_objectives.adapters import lightgbm as lgb_adapter

    def half_written(booster, path, num_iteration=None):
        path.write_text("tree\npartial")
        raise OSError("disk full")

    monkeypatch.setattr(lgb_adapter, "save_booster", half_written)
    assert main([*argv, "--rounds", "3"]) == 1
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before

    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith("metrics.json"):
            raise OSError("no space")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic_write_json(out / "metrics.json", {"x": 1})
    assert (out / "metrics.json").read_bytes() == before[out.joinpath("metrics.json").relative_to(out)]
    assert not [p for p in out.rglob(".*") if p.name.endswith((".tmp", ".old"))]


def test_compare_reports_p_values_against_the_first_objective(ranking_files, tmp_path, capsys):
    """compare's p-values are compare_runs over the evaluation split's per-query values (Holm-corrected)."""
    from gbm_objectives.metrics import evaluate
    from gbm_objectives.metrics.significance import compare_runs

    train, valid, test = ranking_files
    out = tmp_path / "cmp"
    assert main(["compare", "--train", str(train), "--valid", str(valid), "--test", str(test), "--objective",
                 "lambdarank", "--objective", "bpr", "--metric", "ndcg@5", "--metric", "mrr",
                 "--significance", "t-test", "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "lambdarank (baseline)" in text and "(p=" in text and "t-test test over queries" in text
    sig = read_json(out / "compare.json")["significance"]
    assert sig["baseline"] == "lambdarank" and sig["test"] == "t-test" and set(sig["p_values"]) == {"bpr"}
    # the same numbers from go.train with the CLI's options, scored on the test file and tested with compare_runs
    X, y, qid = datasets.load_letor(test, n_features=6)
    Xtr, ytr, qtr = datasets.load_letor(train)
    per_query = {}
    for spec in ("lambdarank", "bpr"):
        res = go.train(spec, Xtr, ytr, qid=qtr, num_boost_round=6, params={"num_leaves": 7}, n_jobs=1)
        v = evaluate(y, res.predict_raw(X), qid=qid, metrics=["ndcg@5", "mrr"], reduce=None)
        per_query[spec] = pd.DataFrame(v)
    table = compare_runs(per_query, baseline="lambdarank", test="t-test")
    expected = table[(table.system == "bpr") & (table.metric == "ndcg@5")].p_value_corrected.iloc[0]
    assert sig["p_values"]["bpr"]["ndcg@5"] == pytest.approx(expected, rel=1e-12)


def test_train_multi_quantile_writes_a_fan_chart_and_never_crossing_quantiles(tmp_path, capsys):
    rng = np.random.default_rng(0)
    paths = {}
    for split, n in (("train", 300), ("test", 120)):
        X = rng.uniform(-2, 2, size=(n, 3))
        y = X[:, 0] + (0.3 + np.abs(X[:, 1])) * rng.normal(size=n)
        paths[split] = tmp_path / f"{split}.csv"
        pd.DataFrame(X).add_prefix("c").assign(label=y).to_csv(paths[split], index=False)
    out = tmp_path / "m"
    assert main(["train", "--train", str(paths["train"]), "--test", str(paths["test"]), "--objective",
                 "multi_quantile", "--param", "alphas=0.1,0.5,0.9", "--metric", "crps", "--metric", "crossing_rate",
                 "--out", str(out), "-q", *FAST]) == 0
    assert (out / "fan_chart.png").stat().st_size > 0
    metrics = read_json(out / "metrics.json")
    model = load_model(out / "model")
    frame = pd.read_csv(paths["test"])
    q = model.predict(frame.drop(columns="label").to_numpy())
    assert q.shape == (len(frame), 3) and model.objective.alphas == (0.1, 0.5, 0.9)
    assert metrics["final"]["test"]["crossing_rate"] == 0.0
    assert go.metrics.quantiles.crps_score(frame["label"], q, model.objective.alphas) == pytest.approx(
        metrics["final"]["test"]["crps"], rel=1e-9)
    assert main(["train", "--train", str(paths["train"]), "--objective", "multi_quantile", "--param",
                 "alphas=0.5,0.1", "--out", str(tmp_path / "bad"), "-q", *FAST]) == 2
    assert "alphas must be sorted" in one_error_line(capsys)
