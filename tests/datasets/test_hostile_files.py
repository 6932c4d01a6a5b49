"""Hostile TREC files: a UTF-8 byte order mark, a file that shrinks while it is read, a truncated gzip, a folder."""

import gzip
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.datasets import trec

BOM = b"\xef\xbb\xbf"
RUN = "1 Q0 a 1 0.5 t\n1 Q0 b 2 0.4 t\n2 Q0 a 1 0.3 t\n1 Q0 c 3 0.2 t\n"
QRELS = "1 0 a 1\n1 0 b 0\n2 0 a 2\n"
ROOT = Path(__file__).resolve().parents[2]


def _put(path, text, *, bom, gz):
    data = (BOM if bom else b"") + text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("chunk_min", [None, 8])  # one chunk, and many (the BOM is only in the first)
def test_bom_is_not_part_of_the_first_qid(tmp_path, monkeypatch, gz, chunk_min):
    if chunk_min:
        monkeypatch.setattr(trec, "_CHUNK_MIN", chunk_min)
        monkeypatch.setattr(trec.numba, "get_num_threads", lambda: 4)
    name = "x.txt.gz" if gz else "x.txt"
    run = go.read_run(_put(tmp_path / f"run-{name}", RUN, bom=True, gz=gz))
    plain = go.read_run(_put(tmp_path / f"plain-{name}", RUN, bom=False, gz=gz))
    assert list(run.qid.cat.categories) == ["1", "2"]  # before: "\ufeff1" and "1", query 1 split in two
    assert run.qid.astype(str).tolist() == ["1", "1", "2", "1"]
    assert run.equals(plain)
    qrels = go.read_qrels(_put(tmp_path / f"qrels-{name}", QRELS, bom=True, gz=gz))
    assert qrels.equals(go.read_qrels(_put(tmp_path / f"qplain-{name}", QRELS, bom=False, gz=gz)))
    res = go.evaluate_run(qrels, run, metrics=["map", "ndcg"])
    assert list(res.per_query.index) == ["1", "2"]


def test_bom_alone_and_line_numbers_after_it(tmp_path):
    with pytest.raises(ValueError, match="no lines"):
        go.read_run(_put(tmp_path / "empty.txt", "", bom=True, gz=False))
    with pytest.raises(ValueError, match=r"bad.txt, line 2: expected 6 fields"):
        go.read_run(_put(tmp_path / "bad.txt", "1 Q0 a 1 0.5 t\n1 Q0 b\n", bom=True, gz=False))
    with pytest.raises(ValueError, match=r"word.txt, line 1: the score .* must be a number; got 'high'"):
        go.read_run(_put(tmp_path / "word.txt", "1 Q0 a 1 high t\n", bom=True, gz=False))


@pytest.mark.parametrize("reader", ["read_run", "read_qrels"])
def test_truncated_gzip_and_folder_name_the_path(tmp_path, reader):
    text = RUN if reader == "read_run" else QRELS
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(text.encode() * 50)[:-12])  # before: EOFError without the path
    with pytest.raises(ValueError, match=rf"{cut}: not a complete gzip file"):
        getattr(go, reader)(cut)
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"\x1f\x8b" + b"not gzip at all")
    with pytest.raises(ValueError, match=rf"{bad}: not a complete gzip file"):
        getattr(go, reader)(bad)
    folder = tmp_path / "a folder"
    folder.mkdir()
    with pytest.raises(ValueError, match=rf"'{folder}' is a folder"):  # before: FileNotFoundError "no such file"
        getattr(go, reader)(folder)
    with pytest.raises(FileNotFoundError, match="no such file"):
        getattr(go, reader)(tmp_path / "absent.txt")


def test_size_change_during_the_read_is_refused(tmp_path, monkeypatch):
    """The file shrinks between the reader's size check and its read: ValueError naming the file (before: the
    mapped pages beyond the new end raised SIGBUS; see the subprocess tests below)."""
    path = tmp_path / "run.txt"
    path.write_text(RUN * 1000)
    real = os.fstat
    calls = []

    def fstat(fd):
        st = real(fd)
        if not calls:
            os.truncate(path, 50)
        calls.append(fd)
        return st

    monkeypatch.setattr(trec.os, "fstat", fstat)
    with pytest.raises(ValueError, match=rf"{path}: the file changed size while it was read"):
        go.read_run(path)


_HOOKED = textwrap.dedent("""
    import os, sys
    from gbm_objectives.datasets import trec
    path = sys.argv[1]
    real = trec._scan
    def scan(buf, *args):  # the file shrinks after the reader has its bytes, before they are scanned
        os.truncate(path, 100)
        return real(buf, *args)
    trec._scan = scan
    print(len(trec.read_run(path)))
""")

_RACING = textwrap.dedent("""
    import os, sys, threading, time
    from gbm_objectives.datasets import trec
    path, data = sys.argv[1], open(sys.argv[1], "rb").read()
    trec.read_run(path)  # compiled and warm: the reads below take milliseconds
    for k in range(30):
        open(path, "wb").write(data)
        cut = threading.Timer(0.0005 * k, os.truncate, (path, (k * 7919) % len(data)))
        cut.start()
        try:
            trec.read_run(path)
        except ValueError as exc:  # a clean refusal (a line cut short, the size changed) is fine
            print("ValueError:", str(exc)[:80])
        cut.join()
    print("survived")
""")


@pytest.mark.parametrize("script", [_HOOKED, _RACING], ids=["after-the-read", "racing"])
def test_a_file_shrinking_while_read_never_kills_the_process(tmp_path, script):
    path = tmp_path / "run.txt"
    rng = np.random.default_rng(0)
    path.write_text("".join(f"q{i // 100} Q0 d{i} 1 {rng.normal()!r} t\n" for i in range(200_000)))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)
    # before: the memory-mapped file raised SIGBUS (returncode -7) as soon as a page past the new end was read
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    if script is _HOOKED:
        assert proc.stdout.strip() == "200000"  # the bytes read before the file shrank: every row
    else:
        assert proc.stdout.strip().endswith("survived")
