"""Hostile outputs of ``simulate-clicks`` (an output that is the input, a .position file that is not ours, gzip) and
unreadable ``evaluate --qrels/--run`` files: one line on stderr, exit 2, nothing the user had is lost."""

import gzip
import os

import numpy as np
import pytest

from gbm_objectives.cli import main
from gbm_objectives.datasets import load_letor
from gbm_objectives.datasets.clicks import CLICK_MODELS, LOGGING_POLICIES, write_click_file

LETOR = "2 qid:1 1:0.5 2:0.1\n0 qid:1 1:0.9 2:0.2\n1 qid:2 1:0.1 2:0.3\n0 qid:2 1:0.2 2:0.4\n"


def _clicks(data, out, *extra):
    return main(["simulate-clicks", "--data", str(data), "--out", str(out), "--ranking-feature", "0", "-q",
                 *extra])


def _one_error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("spelling", ["same", "dot-dot", "relative", "symlink-out", "symlink-data", "hard-link"])
def test_out_that_is_the_data_is_refused(tmp_path, capsys, monkeypatch, spelling):
    src = tmp_path / "train.txt"
    src.write_text(LETOR)
    (tmp_path / "sub").mkdir()
    data, out = src, src
    if spelling == "dot-dot":
        out = tmp_path / "sub" / ".." / "train.txt"
    elif spelling == "relative":
        monkeypatch.chdir(tmp_path / "sub")
        out = "../train.txt"
    elif spelling == "symlink-out":
        out = tmp_path / "link.txt"
        out.symlink_to(src)
    elif spelling == "symlink-data":
        data = tmp_path / "link.txt"
        data.symlink_to(src)
    elif spelling == "hard-link":
        out = tmp_path / "hard.txt"
        os.link(src, out)
    assert _clicks(data, out) == 2  # before: 0, train.txt replaced by its click copy
    line = _one_error_line(capsys)
    assert "--out" in line and "is the input file" in line
    assert src.read_text() == LETOR and not (tmp_path / f"{os.path.basename(str(out))}.position").exists()


def test_position_file_that_is_the_data_is_refused(tmp_path, capsys):
    src = tmp_path / "train.position"  # --out train writes train.position: the input
    src.write_text(LETOR)
    assert _clicks(src, tmp_path / "train") == 2
    assert "the position file" in _one_error_line(capsys) and src.read_text() == LETOR
    assert not (tmp_path / "train").exists()


def test_existing_position_file_that_is_not_ours_is_kept(tmp_path, capsys):
    src = tmp_path / "train.txt"
    src.write_text(LETOR)
    out = tmp_path / "clicks.txt"
    mine = tmp_path / "clicks.txt.position"
    for content in ("my notes\n", "0\n1\n0\n1\n"):  # not a position file; positions without their click file
        mine.write_text(content)
        assert _clicks(src, out) == 2
        assert "exists and is not the .position file" in _one_error_line(capsys)
        assert mine.read_text() == content and not out.exists()
    mine.unlink()
    (tmp_path / "clicks.txt.position").mkdir()
    assert _clicks(src, out) == 2 and "is a folder" in _one_error_line(capsys)
    os.rmdir(tmp_path / "clicks.txt.position")
    out.mkdir()
    assert _clicks(src, out) == 2 and "is a folder" in _one_error_line(capsys)


def test_rerun_replaces_its_own_outputs(tmp_path, capsys):
    src = tmp_path / "train.txt"
    src.write_text(LETOR)
    out = tmp_path / "clicks.txt"
    assert _clicks(src, out, "--seed", "1") == 0
    first = out.read_text(), (tmp_path / "clicks.txt.position").read_text()
    assert _clicks(src, out, "--seed", "2") == 0  # the pair of an earlier run: ours, replaced
    assert (tmp_path / "clicks.txt.position").read_text() == first[1]  # same display order
    # a click file of another length beside the positions: the .position file is not that file's, kept
    out.write_text("1 qid:1 1:0.5\n")
    assert _clicks(src, out) == 2 and "exists and is not" in _one_error_line(capsys)
    assert src.read_text() == LETOR


def test_gz_out_is_gzip(tmp_path):
    src = tmp_path / "train.txt"
    src.write_text(LETOR)
    assert _clicks(src, tmp_path / "c.txt", "--seed", "3") == 0
    assert _clicks(src, tmp_path / "c.txt.gz", "--seed", "3") == 0
    raw = (tmp_path / "c.txt.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"  # before: plain text under a .gz name
    assert gzip.decompress(raw).decode() == (tmp_path / "c.txt").read_text()
    X, clicks, qid = load_letor(str(tmp_path / "c.txt.gz"))
    assert X.shape == (4, 2) and list(qid) == [1, 1, 2, 2] and set(np.unique(clicks)) <= {0.0, 1.0}
    assert (tmp_path / "c.txt.gz.position").read_text() == (tmp_path / "c.txt.position").read_text()


def test_write_click_file_refuses_its_source(tmp_path):
    src = tmp_path / "train.txt"
    src.write_text(LETOR)
    with pytest.raises(ValueError, match=r"is the input file .*train.txt"):
        write_click_file(src, tmp_path / "." / "train.txt", np.zeros(4), np.zeros(4, dtype=int))
    assert src.read_text() == LETOR


def test_write_click_file_session_rows_are_checked(tmp_path):
    src = tmp_path / "train.txt"
    src.write_text(LETOR)
    out = tmp_path / "c.txt"
    with pytest.raises(ValueError, match="rows= and qid= go together"):
        write_click_file(src, out, np.zeros(2), np.zeros(2, dtype=int), rows=[0, 1])
    with pytest.raises(ValueError, match=r"rows\[1\] = 4 is not a row of .*\(4 rows\)"):
        write_click_file(src, out, np.zeros(2), np.zeros(2, dtype=int), rows=[3, 4], qid=[1, 1])
    with pytest.raises(ValueError, match="one entry per click"):
        write_click_file(src, out, np.zeros(2), np.zeros(3, dtype=int), rows=[0, 1], qid=[1, 1])
    assert not out.exists()
    write_click_file(src, out, np.array([1.0, 0.0]), np.array([1, 0]), rows=[3, 2], qid=[9, 9])
    assert out.read_text() == "1 qid:9 1:0.2 2:0.4\n0 qid:9 1:0.1 2:0.3\n"


@pytest.mark.parametrize("model", CLICK_MODELS)
@pytest.mark.parametrize("policy", LOGGING_POLICIES)
def test_sessions_policies_and_click_models(tmp_path, capsys, model, policy):
    """--sessions 3: one line per (session, document), every session a query of its own in the logger's query
    order, its positions a permutation; the printed click report counts the sessions."""
    src = tmp_path / "train.txt"
    src.write_text(LETOR)
    out = tmp_path / "clicks.txt"
    code = main(["simulate-clicks", "--data", str(src), "--out", str(out), "--ranking-feature", "0", "--sessions", "3",
                 "--model", model, "--policy", policy, "--click-noise", "0.1", "--temperature", "0.5", "--top-k", "2"])
    assert code == 0, capsys.readouterr().err
    assert "6 sessions" in capsys.readouterr().out
    X, clicks, qid = load_letor(str(out))
    source_X = load_letor(str(src))[0]
    assert X.shape == (12, 2) and list(qid) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    assert set(np.unique(clicks)) <= {0.0, 1.0}
    np.testing.assert_array_equal(X, np.vstack([source_X[:2]] * 3 + [source_X[2:]] * 3))  # sessions of a query
    position = np.loadtxt(out.parent / "clicks.txt.position", dtype=int).reshape(6, 2)
    assert (np.sort(position, axis=1) == [0, 1]).all()


def test_one_session_keeps_the_query_ids_and_needs_no_sessions_option(tmp_path):
    src = tmp_path / "train.txt"
    src.write_text(LETOR.replace("qid:2", "qid:7"))
    out = tmp_path / "clicks.txt"
    assert _clicks(src, out, "--model", "dcm") == 0  # dcm is simulated per session: one session per query
    assert list(load_letor(str(out))[2]) == [1, 1, 7, 7]


@pytest.mark.parametrize("option, value", [("--sessions", "0"), ("--temperature", "0"), ("--click-noise", "1.5"),
                                           ("--stop-prob", "-0.1"), ("--eta", "-1"), ("--eta", "nan"),
                                           ("--top-k", "0"), ("--policy", "bandit"), ("--model", "dbn")])
def test_bad_simulation_options_are_one_line_before_any_work(tmp_path, capsys, option, value):
    src = tmp_path / "train.txt"
    src.write_text(LETOR)
    out = tmp_path / "clicks.txt"
    assert _clicks(src, out, option, value) == 2
    line = _one_error_line(capsys)
    assert option in line and value in line
    assert not out.exists() and not (tmp_path / "clicks.txt.position").exists()


@pytest.mark.parametrize("option", ["--qrels", "--run"])
@pytest.mark.parametrize("bad", ["folder", "truncated-gzip"])
def test_evaluate_unreadable_trec_file_is_one_line(tmp_path, capsys, option, bad):
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("1 0 a 1\n1 0 b 0\n")
    run = tmp_path / "run.txt"
    run.write_text("1 Q0 a 1 0.5 t\n1 Q0 b 2 0.4 t\n")
    if bad == "folder":
        target = tmp_path / "dir"
        target.mkdir()
    else:
        target = tmp_path / "cut.gz"
        target.write_bytes(gzip.compress((run if option == "--run" else qrels).read_bytes() * 100)[:-10])
    args = {"--qrels": qrels, "--run": run}
    args[option] = target
    code = main(["evaluate", "--qrels", str(args["--qrels"]), "--run", str(args["--run"]), "--quiet"])
    line = _one_error_line(capsys)
    assert code == 2, line  # before: exit 1 with "EOFError" (gzip), or "no such file" for a folder
    assert line.startswith(f"error: {option}: ") and str(target) in line
    assert ("is a folder" if bad == "folder" else "not a complete gzip file") in line


def test_session_log_trains_with_ips_pointwise_from_the_registry(tmp_path, capsys):
    """simulate-clicks --sessions, then train --objective ips_pointwise on the click file and its .position file:
    the propensities are a --param list; without them, one error line and exit 2 before any tree."""
    rng = np.random.default_rng(0)
    lines = []
    for q in range(1, 31):
        for _ in range(6):
            label = int(rng.integers(0, 3))
            lines.append(f"{label} qid:{q} 1:{label + rng.normal(scale=0.5):.4f} 2:{rng.normal():.4f}\n")
    src = tmp_path / "train.txt"
    src.write_text("".join(lines))
    clicks = tmp_path / "clicks.txt"
    assert main(["simulate-clicks", "--data", str(src), "--out", str(clicks), "--ranking-feature", "1",
                 "--sessions", "5", "--policy", "uniform", "--click-noise", "0.1", "-q"]) == 0
    base = ["train", "--train", str(clicks), "--objective", "ips_pointwise", "--rounds", "3", "-q"]
    assert main(base + ["--out", str(tmp_path / "bare")]) == 2
    assert "needs propensity=" in _one_error_line(capsys) and not (tmp_path / "bare").exists()
    propensity = ",".join(f"{1.0 / (p + 1):.6f}" for p in range(6))
    assert main(base + ["--param", f"propensity={propensity}", "--out", str(tmp_path / "model")]) == 0
    assert (tmp_path / "model" / "metrics.json").exists()
