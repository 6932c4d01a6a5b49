"""``gbm-objectives datasets`` says how to reach the data when no data root holds any file-based set.

The library never looks beside its source tree (nor beside the working directory) on its own, so a checkout next to
``../shared/datasets`` finds nothing until ``GBM_OBJECTIVES_DATA`` points there; the listing then ends with one line
on stderr naming both ways (the variable and ``--fetch NAME``). Once any set is found, no such line.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gbm_objectives.cli import main

ROOT = Path(__file__).resolve().parents[2]
HINT_PARTS = ("GBM_OBJECTIVES_DATA=../shared/datasets", "gbm-objectives datasets --fetch NAME")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("GBM_OBJECTIVES_CACHE", str(cache))
    return cache


def _hint_lines(err):
    return [line for line in err.splitlines() if all(part in line for part in HINT_PARTS)]


@pytest.mark.parametrize("data", ["unset", "empty-folder", "missing-folder", "two-empty-roots"])
@pytest.mark.parametrize("json_output", [False, True], ids=["table", "json"])
def test_hint_when_nothing_local_is_found(data, json_output, tmp_path, empty_cache, monkeypatch, capsys):
    if data == "unset":
        monkeypatch.delenv("GBM_OBJECTIVES_DATA", raising=False)
    else:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        value = {"empty-folder": tmp_path / "a", "missing-folder": tmp_path / "nope",
                 "two-empty-roots": f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}"}[data]
        monkeypatch.setenv("GBM_OBJECTIVES_DATA", str(value))
    assert main(["datasets", "--json"] if json_output else ["datasets"]) == 0
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and _hint_lines(err) == lines, err
    assert str(empty_cache) in lines[0]  # the roots that were searched are named
    if json_output:  # stdout stays machine-readable: the hint is on stderr only
        listed = {d["name"]: d for d in json.loads(out)}
        assert listed["mq2008"]["available"] is False
    else:
        assert "mq2008" in out and not _hint_lines(out)


def test_quiet_silences_the_hint(empty_cache, monkeypatch, capsys):
    monkeypatch.delenv("GBM_OBJECTIVES_DATA", raising=False)
    assert main(["datasets", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "mq2008" in out


@pytest.mark.parametrize("where", ["data-root", "cache"])
def test_no_hint_once_a_set_is_found(where, tmp_path, empty_cache, monkeypatch, capsys):
    root = empty_cache if where == "cache" else tmp_path / "data"
    fold = root / "letor4_mq2008" / "Fold1"
    fold.mkdir(parents=True)
    (fold / "train.txt").write_text("1 qid:1 1:0.5\n0 qid:1 1:0.1\n")  # the file that marks mq2008 as present
    if where == "cache":
        monkeypatch.delenv("GBM_OBJECTIVES_DATA", raising=False)
    else:
        monkeypatch.setenv("GBM_OBJECTIVES_DATA", str(root))
    assert main(["datasets", "--json"]) == 0
    out, err = capsys.readouterr()
    assert not _hint_lines(err), err
    assert {d["name"]: d for d in json.loads(out)}["mq2008"]["available"] is True


def test_checkout_without_the_variable_gets_the_hint(tmp_path):
    """From the repository root, beside ../shared/datasets but without GBM_OBJECTIVES_DATA: nothing is found
    (the library does not look there on its own) and the console script says how."""
    env = {k: v for k, v in os.environ.items() if k != "GBM_OBJECTIVES_DATA"}
    env["GBM_OBJECTIVES_CACHE"] = str(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run([sys.executable, "-m", "gbm_objectives", "datasets"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(_hint_lines(done.stderr)) == 1, done.stderr
    mq2008 = next(line for line in done.stdout.splitlines() if line.startswith("mq2008 "))
    assert mq2008.split()[3] == "no"
