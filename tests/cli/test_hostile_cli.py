"""Hostile uses of the ``gbm-objectives`` command line: warnings as one line, displayed positions that the objective
ignores, ``compare`` with one objective, and ``evaluate --out``/``--predictions`` over an earlier output or a
user's file (the output-folder rule of ``gbm_objectives._core.files.output_directory``, for one file)."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gbm_objectives import datasets
from gbm_objectives.adapters import get_backend
from gbm_objectives.cli import commands, main

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--rounds", "4", "--threads", "1", "--num-leaves", "7", "-q"]


def _letor(path, X, y, qid):
    path.write_text("".join(f"{int(v)} qid:{q} " + " ".join(f"{j + 1}:{x:.6g}" for j, x in enumerate(row)) + "\n"
                            for v, q, row in zip(y, qid, X)))
    return path


@pytest.fixture(scope="module")
def clicks(tmp_path_factory):
    """A click-labelled LETOR file with its ``.position`` sibling, and the same rows as a CSV with a position column."""
    d = tmp_path_factory.mktemp("clicks")
    X, y, qid = datasets.make_ranking(n_queries=30, docs_per_query=(5, 10), n_features=4, seed=0)
    click, position = datasets.simulate_clicks(y, qid=qid, seed=0)
    letor = _letor(d / "clicks.txt", X, click, qid)
    (d / "clicks.txt.position").write_text("".join(f"{p}\n" for p in position))
    csv = d / "clicks.csv"
    pd.DataFrame(X, columns=list("abcd")).assign(click=click, q=qid, pos=position).to_csv(csv, index=False)
    return letor, csv


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A trained ranking model and a LETOR file to evaluate it on."""
    d = tmp_path_factory.mktemp("model")
    X, y, qid = datasets.make_ranking(n_queries=30, docs_per_query=(5, 10), n_features=4, seed=1)
    data = _letor(d / "data.txt", X, y, qid)
    assert main(["train", "--train", str(data), "--objective", "lambdarank", "--out", str(d / "run"), *FAST]) == 0
    return d / "run", data


# ---- warnings: one line, the formatter scoped to the run ------------------------------------------------------------
def test_warnings_are_one_line_without_source_location(tmp_path):
    """A library warning during a run (a run query without qrels) shows as ``warning: ...``, not as
    ``runs.py:NNN: UserWarning: ...`` followed by the source line."""
    qrels = tmp_path / "qrels"
    qrels.write_text("1 0 d1 1\n1 0 d2 0\n")
    run = tmp_path / "run"
    run.write_text("1 Q0 d1 1 2.0 r\n1 Q0 d2 2 1.0 r\n7 Q0 d9 1 1.0 r\n")  # query 7 has no qrels
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    out = subprocess.run([sys.executable, "-m", "gbm_objectives.cli", "evaluate", "--qrels", str(qrels), "--run",
                          str(run), "--metric", "ndcg@10"], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("warning: 1 queries of the run have no qrels"), lines[0]
    assert "UserWarning" not in out.stderr and ".py:" not in out.stderr


def test_the_warning_formatter_is_restored_after_the_run(model, tmp_path, capsys):
    run, data = model
    before = warnings.formatwarning
    assert main(["evaluate", "--model", str(run), "--data", str(data), "-q"]) == 0
    assert warnings.formatwarning is before
    assert main(["evaluate", "--model", str(tmp_path / "nothing"), "--data", str(data), "-q"]) == 2
    assert warnings.formatwarning is before
    capsys.readouterr()


def test_the_formatter_is_the_one_in_use_during_the_run(model, monkeypatch, capsys):
    """While main runs, ``warnings.formatwarning`` turns any warning into one ``warning:`` line."""
    run, data = model
    seen = []
    original = commands.load_model

    def spy(*args, **kwargs):
        seen.append(warnings.formatwarning(UserWarning("two\nlines"), UserWarning, "/x/cli.py", 553, "code()"))
        return original(*args, **kwargs)

    monkeypatch.setattr(commands, "load_model", spy)
    assert main(["evaluate", "--model", str(run), "--data", str(data), "-q"]) == 0
    assert seen == ["warning: two lines\n"]
    capsys.readouterr()


# ---- displayed positions that the objective does not use -------------------------------------------------------------
def test_train_letor_with_a_position_sibling_but_no_debiasing_says_positions_are_ignored(clicks, tmp_path, capsys):
    letor, _ = clicks
    assert main(["train", "--train", str(letor), "--objective", "lambdarank", "--out", str(tmp_path / "o"),
                 *FAST]) == 0
    captured = capsys.readouterr()
    assert captured.err == (f"warning: {letor}.position: the displayed positions are ignored by lambdarank (no "
                            "position debiasing); --param position_debias=additive or ipw learns from them\n")
    assert main(["train", "--train", str(letor), "--objective", "lambdarank", "--param", "position_debias=additive",
                 "--out", str(tmp_path / "d"), *FAST]) == 0
    assert capsys.readouterr().err == ""


def test_compare_warns_for_each_objective_that_ignores_the_position_column(clicks, tmp_path, capsys):
    _, csv = clicks
    assert main(["compare", "--train", str(csv), "--label", "click", "--group", "q", "--position", "pos",
                 "--objective", "lambdarank", "--objective", "lambdarank:native", "--significance", "none",
                 "--out", str(tmp_path / "c"), *FAST]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [f"warning: {csv} (--position column): the displayed positions are ignored by {label} (no "
                   "position debiasing); --param position_debias=additive or ipw learns from them"
                   for label in ("lambdarank", "lambdarank:native")]


# ---- compare needs two different objectives --------------------------------------------------------------------------
@pytest.mark.parametrize("objectives, message", [
    (["lambdarank"], "error: --objective: compare needs at least two objectives; got one ('lambdarank'); to train "
                     "one objective use gbm-objectives train\n"),
    (["lambdarank", "lambdarank:native", "lambdarank"],
     "error: --objective 'lambdarank' is given twice: both runs would train the same model\n"),
])
def test_compare_with_one_objective_is_a_usage_error_before_reading_data(tmp_path, capsys, objectives, message):
    argv = ["compare", "--train", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "o"), "-q"]
    for spec in objectives:
        argv += ["--objective", spec]
    assert main(argv) == 2  # the missing --train file is never looked at
    assert capsys.readouterr().err == message
    assert not (tmp_path / "o").exists()


# ---- evaluate --out / --predictions: an earlier output is replaced, a user's file is kept -------------------------
def test_evaluate_out_replaces_its_own_earlier_output(model, tmp_path, capsys):
    run, data = model
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(run), "--data", str(data), "--out", str(out), "-q"]) == 0
    first = json.loads(out.read_text())
    assert main(["evaluate", "--model", str(run), "--data", str(data), "--out", str(out), "--metric", "mrr",
                 "-q"]) == 0
    second = json.loads(out.read_text())
    assert set(first["metrics"]) != {"mrr"} and set(second["metrics"]) == {"mrr"}
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]  # no temporary file left beside it
    capsys.readouterr()


def test_evaluate_predictions_replace_their_own_earlier_output(model, tmp_path, capsys):
    run, data = model
    pred = tmp_path / "pred.txt"
    for _ in range(2):
        assert main(["evaluate", "--model", str(run), "--data", str(data), "--predictions", str(pred), "-q"]) == 0
    values = np.loadtxt(pred)
    assert values.shape == (len(data.read_text().splitlines()),)
    capsys.readouterr()


def test_evaluate_runs_out_replaces_its_own_earlier_output(tmp_path):
    qrels = tmp_path / "qrels"
    qrels.write_text("1 0 d1 1\n1 0 d2 0\n")
    run = tmp_path / "run"
    run.write_text("1 Q0 d1 1 2.0 r\n1 Q0 d2 2 1.0 r\n")
    out = tmp_path / "runs.json"
    for metric in ("ndcg@10", "mrr"):
        assert main(["evaluate", "--qrels", str(qrels), "--run", str(run), "--metric", metric, "--out", str(out),
                     "-q"]) == 0
    assert list(json.loads(out.read_text())[str(run)]["mean"]) == ["mrr"]


@pytest.mark.parametrize("option, content", [
    ("--out", "my notes\n"),
    ("--out", '{"something": "else"}\n'),
    ("--predictions", "id,score\n1,0.5\n"),
    ("--predictions", '{"metrics": {}}\n'),
], ids=["out-text", "out-other-json", "predictions-csv", "predictions-json"])
def test_evaluate_keeps_a_users_file_and_says_so(model, tmp_path, capsys, option, content):
    run, data = model
    target = tmp_path / "mine"
    target.write_text(content)
    assert main(["evaluate", "--model", str(run), "--data", str(data), option, str(target), "-q"]) == 2
    what = "evaluate --out" if option == "--out" else "evaluate --predictions"
    assert capsys.readouterr().err == (f"error: {option}: {str(target)!r} exists and is not an earlier output of "
                                       f"{what}; it is left as it is (remove it or choose another name)\n")
    assert target.read_text() == content


def test_evaluate_runs_keeps_a_users_file(tmp_path, capsys):
    qrels = tmp_path / "qrels"
    qrels.write_text("1 0 d1 1\n")
    run = tmp_path / "run"
    run.write_text("1 Q0 d1 1 2.0 r\n")
    target = tmp_path / "notes.json"
    target.write_text("[1, 2, 3]\n")
    assert main(["evaluate", "--qrels", str(qrels), "--run", str(run), "--out", str(target), "-q"]) == 2
    assert "exists and is not an earlier output of evaluate --out" in capsys.readouterr().err
    assert target.read_text() == "[1, 2, 3]\n"


def test_evaluate_writes_over_an_empty_file(model, tmp_path, capsys):
    run, data = model
    out = tmp_path / "eval.json"
    out.touch()
    assert main(["evaluate", "--model", str(run), "--data", str(data), "--out", str(out), "-q"]) == 0
    assert "metrics" in json.loads(out.read_text())
    capsys.readouterr()


# ---- engine parameters naming features: checked against the data before training -----------------------------------
@pytest.mark.parametrize("backend, param, message", [
    ("lightgbm", "monotone_constraints=1,0", "params['monotone_constraints'] has 2 values (one per feature) but X "
                                             "has 4 features (columns)"),
    ("xgboost", "monotone_constraints=(1,0,0)", "params['monotone_constraints'] has 3 values (one per feature) but "
                                                "X has 4 features (columns)"),
    ("xgboost", "interaction_constraints=[[0,1],[4]]", "params['interaction_constraints'][1][0] is feature index 4 "
                                                       "but X has 4 features (indices 0 to 3)"),
], ids=["lightgbm-monotone", "xgboost-monotone", "xgboost-interaction"])
def test_a_parameter_that_does_not_fit_the_features_is_one_line_and_exit_2_before_training(
        tmp_path, capsys, monkeypatch, backend, param, message):
    """LightGBM would fail inside training with its "Check failed" line; XGBoost would pad the constraints with 0 or
    ignore index 4, silently."""
    rng = np.random.default_rng(0)
    table = tmp_path / "t.csv"
    pd.DataFrame(rng.normal(size=(60, 4)), columns=list("abcd")).assign(y=rng.normal(size=60)).to_csv(table,
                                                                                                       index=False)

    def trained(*args, **kwargs):
        raise AssertionError("the engine was asked to train")

    monkeypatch.setattr(get_backend(backend), "train", trained)
    assert main(["train", "--train", str(table), "--label", "y", "--objective", "squared_error", "--backend", backend,
                 "--param", param, "--out", str(tmp_path / "o"), *FAST]) == 2
    assert capsys.readouterr().err == f"error: --param: {message}\n"
    assert not (tmp_path / "o" / "model").exists()
