"""``gbm-objectives cv`` and ``gbm-objectives tune`` end to end on tiny CSV files."""

import json

import numpy as np
import pandas as pd
import pytest

import gbm_objectives as go
from gbm_objectives import datasets
from gbm_objectives.cli import main
from gbm_objectives.selection import stack_folds

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--rounds", "4", "--threads", "1", "--num-leaves", "5", "--param", "min_data_in_leaf=2", "--quiet"]


def _frame(X, y, qid):
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]).assign(label=y, q=qid)


@pytest.fixture(scope="module")
def data():
    return datasets.make_ranking(n_queries=24, docs_per_query=(4, 10), n_features=4, n_labels=3, seed=2)


def test_cv_command_prints_the_fold_table_and_writes_cv_json(tmp_path, data, capsys):
    X, y, qid = data
    _frame(X, y, qid).to_csv(tmp_path / "all.csv", index=False)
    out = tmp_path / "out"
    code = main(["cv", "--train", str(tmp_path / "all.csv"), "--label", "label", "--group", "q", "--folds", "3",
                 "--objective", "lambdarank", "--metric", "ndcg@5", "--out", str(out), *FAST])
    assert code == 0
    printed = capsys.readouterr().out
    assert "mean ± std" in printed and printed.count("\n") == 5  # header, 3 folds, mean ± std
    summary = json.loads((out / "cv.json").read_text())
    ref = go.cv("lambdarank", X.astype(np.float32), y, qid=qid, folds=3, num_boost_round=4, metric="ndcg@5",
                params={"learning_rate": 0.1, "seed": 0, "num_leaves": 5, "min_data_in_leaf": 2}, n_jobs=1)
    assert [f["scores"]["ndcg@5"] for f in summary["folds"]] == ref.scores["ndcg@5"]
    assert summary["evals_result"]["ndcg@5"]["mean"] == ref.evals_result["ndcg@5"]["mean"]
    assert (out / "cv.png").read_bytes()[:8] == PNG_MAGIC


def test_cv_command_on_fold_folders(tmp_path, data, capsys):
    X, y, qid = data
    chunks = [np.isin(qid, np.arange(k, 24, 3)) for k in range(3)]
    parts = []
    for k in range(3):
        folder = tmp_path / f"Fold{k + 1}"
        folder.mkdir()
        train = chunks[(k + 1) % 3] | chunks[(k + 2) % 3]
        _frame(X[train], y[train], qid[train]).to_csv(folder / "train.csv", index=False)
        _frame(X[chunks[k]], y[chunks[k]], qid[chunks[k]]).to_csv(folder / "test.csv", index=False)
        parts.append(((X[train], y[train], qid[train]), (X[chunks[k]], y[chunks[k]], qid[chunks[k]])))
    out = tmp_path / "out"
    assert main(["cv", "--fold-files", str(tmp_path / "Fold*"), "--label", "label", "--group", "q",
                 "--objective", "lambdarank:native", "--metric", "ndcg@5", "--out", str(out), *FAST]) == 0
    Xs, ys, qs, folds = stack_folds(parts)
    ref = go.cv("lambdarank:native", Xs.astype(np.float32), ys, qid=qs, folds=folds, num_boost_round=4,
                metric="ndcg@5", params={"learning_rate": 0.1, "seed": 0, "num_leaves": 5, "min_data_in_leaf": 2},
                n_jobs=1)
    summary = json.loads((out / "cv.json").read_text())
    assert [f["scores"]["ndcg@5"] for f in summary["folds"]] == ref.scores["ndcg@5"]
    assert main(["cv", "--fold-files", str(tmp_path / "Nothing*"), "--objective", "lambdarank", "--out",
                 str(out), "--quiet"]) == 2
    assert "--fold-files" in capsys.readouterr().err


def test_tune_command_writes_tune_json_and_plots(tmp_path, data, capsys):
    pytest.importorskip("optuna")
    X, y, qid = data
    _frame(X[qid < 16], y[qid < 16], qid[qid < 16]).to_csv(tmp_path / "train.csv", index=False)
    _frame(X[qid >= 16], y[qid >= 16], qid[qid >= 16]).to_csv(tmp_path / "valid.csv", index=False)
    out = tmp_path / "out"
    code = main(["tune", "--train", str(tmp_path / "train.csv"), "--valid", str(tmp_path / "valid.csv"),
                 "--label", "label", "--group", "q", "--objective", "lambdarank", "--metric", "ndcg@5",
                 "--trials", "3", "--max-rounds", "5", "--early-stopping", "2", "--threads", "1", "--quiet",
                 "--out", str(out)])
    assert code == 0
    summary = json.loads((out / "tune.json").read_text())
    assert summary["direction"] == "maximize" and len(summary["trials"]) == 3
    assert summary["value"] == max(t["value"] for t in summary["trials"] if t["state"] == "COMPLETE")
    assert "selection on --valid (ndcg@5, maximize)" in capsys.readouterr().out
    assert (out / "tune_history.png").read_bytes()[:8] == PNG_MAGIC
