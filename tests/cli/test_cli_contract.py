"""The CLI contract: every input error is one line on stderr naming the file or option, exit status 2, found before
training; outputs are atomic as a whole and never delete the user's files."""

import gzip
import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from gbm_objectives import datasets
from gbm_objectives.cli import commands, main

FAST = ["--rounds", "3", "--threads", "1", "--num-leaves", "7", "-q"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("contract")
    X, y = datasets.make_imbalanced(n_samples=300, positive_rate=0.3, n_features=4, seed=0)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(target=y)
    frame.to_csv(d / "binary.csv", index=False)
    multi = frame.assign(target=(X[:, 0] > 0).astype(int) + (X[:, 1] > 0))
    multi.to_csv(d / "multi.csv", index=False)
    multi.assign(target=np.where(np.arange(len(multi)) == 5, 3, multi["target"])).to_csv(d / "multi_unseen.csv",
                                                                                          index=False)
    frame.assign(target=np.where(np.arange(len(frame)) == 7, np.inf, y)).to_csv(d / "inf_label.csv", index=False)
    frame[["target"]].to_csv(d / "no_features.csv", index=False)
    (d / "nan_label.txt").write_text("1 qid:1 1:0.5\nnan qid:1 1:0.1\n")
    lines = "".join(f"{i % 2} qid:{i // 10} 1:{i * 0.1:.2f} 2:{(i * 7) % 5}\n" for i in range(200))
    (d / "rank.txt").write_text(lines)
    full = gzip.compress(lines.encode())
    (d / "truncated.txt.gz").write_bytes(full[: len(full) // 2])
    (d / "a_file").write_text("not a folder")
    # a trained model to corrupt
    model = d / "model_run"
    assert main(["train", "--train", str(d / "binary.csv"), "--label", "target", "--objective", "logloss",
                 "--out", str(model), *FAST]) == 0
    multi_model = d / "multi_run"
    assert main(["train", "--train", str(d / "multi.csv"), "--label", "target", "--objective", "softmax",
                 "--out", str(multi_model), *FAST]) == 0
    return d


def _corrupt(files, tmp_path, how):
    target = tmp_path / "model"
    import shutil

    shutil.copytree(files / "model_run", target)
    if how == "meta-garbage":
        (target / "model" / "meta.json").write_text("{not json")
    elif how == "model-garbage":
        (target / "model" / "model.txt").write_text("garbage\n")
    elif how == "model-missing":
        (target / "model" / "model.txt").unlink()
    elif how == "meta-incomplete":
        meta = json.loads((target / "model" / "meta.json").read_text())
        del meta["backend"]
        (target / "model" / "meta.json").write_text(json.dumps(meta))
    return target


CASES = [
    # (id, argv template, message fragment)
    ("nan-label-letor", ["train", "--train", "{d}/nan_label.txt", "--objective", "lambdarank", "--out", "{t}/o"],
     "nan_label.txt"),
    ("inf-label-csv", ["train", "--train", "{d}/inf_label.csv", "--label", "target", "--objective", "logloss",
                       "--out", "{t}/o"], "--train: "),
    ("truncated-gzip", ["train", "--train", "{d}/truncated.txt.gz", "--objective", "lambdarank", "--out", "{t}/o"],
     "--train: "),
    ("no-feature-columns", ["train", "--train", "{d}/no_features.csv", "--label", "target", "--objective", "logloss",
                            "--out", "{t}/o"], "no feature columns"),
    ("bad-engine-value", ["train", "--train", "{d}/binary.csv", "--label", "target", "--objective", "logloss",
                          "--param", "min_data_in_leaf=-5", "--out", "{t}/o"],
     "--param: LightGBM rejects the parameters: Check failed: (min_data_in_leaf) >= (0)"),
    ("bad-engine-value-xgboost", ["train", "--train", "{d}/binary.csv", "--label", "target", "--objective", "logloss",
                                  "--backend", "xgboost", "--param", "max_depth=abc", "--out", "{t}/o"],
     "--param: XGBoost rejects the parameters"),
    ("typo-param", ["train", "--train", "{d}/binary.csv", "--label", "target", "--objective", "focal",
                    "--param", "gama=5", "--out", "{t}/o"], "--param: unknown LightGBM parameter(s) ['gama']"),
    ("typo-param-xgboost", ["train", "--train", "{d}/binary.csv", "--label", "target", "--objective", "focal",
                            "--backend", "xgboost", "--param", "gama=5", "--out", "{t}/o"],
     "--param: unknown XGBoost parameter(s) ['gama']"),
    ("other-objectives-param", ["train", "--train", "{d}/binary.csv", "--label", "target", "--objective", "focal",
                                "--param", "delta=2", "--out", "{t}/o"], "--param delta: not a parameter of 'focal'"),
    ("param-contradicts-option", ["train", "--train", "{d}/binary.csv", "--label", "target", "--objective",
                                  "focal", "--param", "eta=0.5", "--out", "{t}/o"],
     "--param eta: set by the command line itself; use --learning-rate"),
    ("param-sets-objective", ["train", "--train", "{d}/binary.csv", "--label", "target", "--objective", "focal",
                              "--param", "objective=binary", "--out", "{t}/o"], "use --objective"),
    ("n-classes-mismatch", ["train", "--train", "{d}/multi.csv", "--label", "target", "--objective", "softmax",
                            "--param", "n_classes=2", "--out", "{t}/o"], "has n_classes=2; got class 2"),
    ("label-on-letor", ["train", "--train", "{d}/rank.txt", "--label", "y", "--objective", "lambdarank",
                        "--out", "{t}/o"], "--label names a column of a CSV/Parquet table"),
    ("out-is-a-file", ["train", "--train", "{d}/binary.csv", "--label", "target", "--objective", "logloss",
                       "--out", "{d}/a_file"], "--out: "),
    ("out-unwritable", ["train", "--train", "{d}/binary.csv", "--label", "target", "--objective", "logloss",
                        "--out", "{d}/a_file/sub"], "--out: "),
    ("evaluate-meta-garbage", ["evaluate", "--model", "{meta-garbage}", "--data", "{d}/binary.csv"],
     "--model: cannot read the model"),
    ("evaluate-model-garbage", ["evaluate", "--model", "{model-garbage}", "--data", "{d}/binary.csv"],
     "--model: cannot read the model"),
    ("evaluate-model-missing", ["evaluate", "--model", "{model-missing}", "--data", "{d}/binary.csv"],
     "--model: no model file"),
    ("evaluate-meta-incomplete", ["evaluate", "--model", "{meta-incomplete}", "--data", "{d}/binary.csv"],
     "--model: cannot read the model"),
    ("evaluate-predictions-folder", ["evaluate", "--model", "{d}/model_run", "--data", "{d}/binary.csv",
                                     "--predictions", "{d}"], "--predictions: "),
    ("evaluate-unseen-class", ["evaluate", "--model", "{d}/multi_run", "--data", "{d}/multi_unseen.csv"],
     "has n_classes=3; got class 3 in row 5"),
]


@pytest.mark.parametrize("argv, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_input_errors_are_one_line_exit_2(files, tmp_path, capfd, argv, fragment):
    kinds = ("meta-garbage", "model-garbage", "model-missing", "meta-incomplete")
    subst = {"d": str(files), "t": str(tmp_path)}
    args = []
    for a in argv:
        for kind in kinds:
            if a == "{" + kind + "}":
                a = str(_corrupt(files, tmp_path, kind))
        args.append(a.format(**subst) if "{" in a else a)
    t0 = time.perf_counter()
    assert main([*args, "-q"]) == 2
    err = capfd.readouterr().err  # capfd: the engines' C++ code writes to file descriptor 2 directly
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in err and "[LightGBM]" not in err
    assert time.perf_counter() - t0 < 30  # found before any training (these runs would take no longer anyway)
    assert not (tmp_path / "o").exists()


def test_out_that_is_a_file_is_found_before_training(files, monkeypatch, capsys):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking --out")

    monkeypatch.setattr(commands, "train_one", no_training)
    assert main(["train", "--train", str(files / "binary.csv"), "--label", "target", "--objective", "logloss",
                 "--out", str(files / "a_file"), "-q"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_output_folder_keeps_the_users_files_and_cleans_stale_temporaries(files, tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--train", str(files / "binary.csv"), "--label", "target", "--objective", "logloss",
            "--out", str(out), *FAST]
    assert main(argv) == 0
    (out / "model" / "notes.txt").write_text("mine")
    (out / "report.md").write_text("also mine")
    stale = tmp_path / ".run.tmp-999999999-abc"  # left by a killed run (no such process)
    stale.mkdir()
    (stale / "junk").write_text("x")
    assert main([*argv[:-len(FAST)], "--rounds", "4", "--threads", "1", "-q"]) == 0
    assert (out / "model" / "notes.txt").read_text() == "mine" and (out / "report.md").read_text() == "also mine"
    assert json.loads((out / "metrics.json").read_text())["rounds_trained"] == 4
    assert not stale.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]


def test_predictions_one_line_per_row(files, tmp_path):
    pred = tmp_path / "p.txt"
    assert main(["evaluate", "--model", str(files / "multi_run"), "--data", str(files / "multi.csv"),
                 "--predictions", str(pred), "-q"]) == 0
    rows = [line.split() for line in pred.read_text().splitlines()]
    assert len(rows) == 300 and all(len(r) == 3 for r in rows)
    assert np.allclose(np.array(rows, dtype=float).sum(axis=1), 1.0)
    pred_bin = tmp_path / "b.txt"
    assert main(["evaluate", "--model", str(files / "model_run"), "--data", str(files / "binary.csv"),
                 "--predictions", str(pred_bin), "-q"]) == 0
    assert len(pred_bin.read_text().splitlines()) == 300


def test_compare_quantile_uses_leaf_renewal(tmp_path):
    """compare trains through go.train, whose QuantileLoss renews leaves as LightGBM's built-in does."""
    X, y, _ = datasets.load("diabetes", "all")
    path = tmp_path / "d.csv"
    pd.DataFrame(X).add_prefix("c").assign(label=y).to_csv(path, index=False)
    out = tmp_path / "cmp"
    assert main(["compare", "--train", str(path), "--objective", "quantile", "--objective", "quantile:native",
                 "--param", "alpha=0.9", "--rounds", "30", "--threads", "1", "--out", str(out), "-q"]) == 0
    rows = {r["objective"]: r for r in json.loads((out / "compare.json").read_text())["table"]}
    assert rows["quantile"]["pinball"] == pytest.approx(rows["quantile:native"]["pinball"], rel=0.01)


def test_evaluate_no_traceback_for_a_model_of_a_newer_format(files, tmp_path, capsys):
    import shutil

    target = tmp_path / "m"
    shutil.copytree(files / "model_run", target)
    meta = json.loads((target / "model" / "meta.json").read_text())
    meta["format_version"] = 99
    (target / "model" / "meta.json").write_text(json.dumps(meta))
    assert main(["evaluate", "--model", str(target), "--data", str(files / "binary.csv"), "-q"]) == 2
    assert "unsupported model format version 99" in capsys.readouterr().err
    assert os.path.exists(target)


def test_letor_files_are_read_the_way_the_training_file_was(tmp_path, capsys):
    """A zero-based training file and a zero-based test file in which feature 0 never appears: the test file is
    read zero-based too (recorded with the model), not re-detected as one-based and shifted by one column."""
    rng = np.random.default_rng(0)

    def write(path, X, y, qid, skip_zero=False):
        lines = []
        for i in range(len(y)):
            feats = " ".join(f"{j}:{X[i, j]:.6g}" for j in range(X.shape[1]) if not (skip_zero and j == 0))
            lines.append(f"{int(y[i])} qid:{qid[i]} {feats}")
        path.write_text("\n".join(lines) + "\n")

    n, d = 400, 4
    X = rng.normal(size=(n, d))
    y = (X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    qid = np.repeat(np.arange(40), 10)
    write(tmp_path / "train.txt", X, y, qid)
    Xt = X.copy()
    Xt[:, 0] = 0.0
    write(tmp_path / "test.txt", Xt, y, qid, skip_zero=True)
    out = tmp_path / "run"
    assert main(["train", "--train", str(tmp_path / "train.txt"), "--test", str(tmp_path / "test.txt"),
                 "--objective", "lambdarank", "--rounds", "20", "--threads", "1", "--out", str(out), "-q"]) == 0
    meta = json.loads((out / "model" / "meta.json").read_text())
    assert meta["letor_zero_based"] is True
    report = tmp_path / "e.json"
    assert main(["evaluate", "--model", str(out), "--data", str(tmp_path / "test.txt"), "--out", str(report),
                 "-q"]) == 0
    scores = json.loads(report.read_text())["metrics"]
    final = json.loads((out / "metrics.json").read_text())["final"]["test"]
    assert scores == pytest.approx(final, abs=1e-12)
    # the model (features 1 and 2 decide the labels) ranks the correctly read test file well
    assert scores["ndcg@10"] > 0.9
