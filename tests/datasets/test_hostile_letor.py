"""Hostile LETOR/SVMlight widths: a feature index that would make ``X`` wider than ``MAX_FEATURES`` columns.

One line ``0 qid:1 2147483646:1`` used to make a 1 x 2,147,483,646 matrix, then a list of as many feature names in
the command line: minutes to a ``MemoryError``. It is now a ``ValueError`` naming the file, the line and the index,
raised once the file is parsed, before anything of that width is allocated.
"""

import gzip
import time

import numpy as np
import pytest

from gbm_objectives.cli import main
from gbm_objectives.datasets import load_letor
from gbm_objectives.datasets.letor import MAX_FEATURES

HEAD = "2 qid:1 1:0.5 2:1.5\n1 qid:1 1:0.25 2:3\n"


def _write(path, text, compress=False):
    data = text.encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_the_limit_is_2_to_the_24():
    assert MAX_FEATURES == 16_777_216 == 2 ** 24


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("index, zero_based, width", [
    (2147483646, "auto", 2147483646),        # the reported line (the largest index the scanner reads)
    (2 ** 30, "auto", 2 ** 30),
    (MAX_FEATURES + 1, "auto", MAX_FEATURES + 1),     # one-based: one column past the limit
    (MAX_FEATURES, True, MAX_FEATURES + 1),  # zero-based: index MAX_FEATURES is column MAX_FEATURES
], ids=["2^31-2", "2^30", "one-based-limit+1", "zero-based-limit+1"])
def test_a_feature_index_past_the_limit_names_file_line_and_index(tmp_path, index, zero_based, width, compress):
    path = _write(tmp_path / "wide.txt", HEAD + f"0 qid:2 1:1 {index}:1\n3 qid:2 2:2\n", compress)
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as info:
        load_letor(path, zero_based=zero_based)
    assert time.perf_counter() - t0 < 5  # not minutes: nothing of that width was allocated
    assert str(info.value).startswith(f"{path}:3: feature index {index} would make X {width} columns wide, above "
                                      f"the limit of {MAX_FEATURES}")


@pytest.mark.parametrize("zero_based, index", [(False, MAX_FEATURES), (True, MAX_FEATURES - 1)],
                         ids=["one-based", "zero-based"])
def test_exactly_the_limit_is_read(tmp_path, zero_based, index):
    path = _write(tmp_path / "edge.txt", HEAD + f"0 qid:2 1:1 {index}:7\n")
    X, y, qid = load_letor(path, zero_based=zero_based)
    assert X.shape == (3, MAX_FEATURES) and X.format == "csr"  # 6 of 50 million entries: sparse
    assert X[2, MAX_FEATURES - 1] == 7 and X.nnz == 6


def test_the_line_is_counted_across_chunks(tmp_path):
    rows = "".join(f"{i % 3} qid:{i // 4} 1:{i} 2:1\n" for i in range(200))
    path = _write(tmp_path / "late.txt", rows + f"0 qid:99 3:1 {2 ** 30}:1\n" + rows.replace("qid:", "qid:1"))
    with pytest.raises(ValueError, match=rf"^{path}:201: feature index {2 ** 30} would make X"):
        load_letor(path, chunk_bytes=64, n_jobs=2)


def test_n_features_past_the_limit_is_refused_before_reading(tmp_path):
    path = _write(tmp_path / "ok.txt", HEAD)
    with pytest.raises(ValueError, match=rf"^n_features must be at most MAX_FEATURES={MAX_FEATURES} .*got "
                                         rf"{MAX_FEATURES + 1}$"):
        load_letor(path, n_features=MAX_FEATURES + 1)
    assert load_letor(path, n_features=MAX_FEATURES)[0].shape == (2, MAX_FEATURES)


def test_n_features_given_keeps_its_own_message(tmp_path):
    """A validation file read with the training file's width: the index is beyond that width (as before)."""
    path = _write(tmp_path / "v.txt", HEAD + "0 qid:2 2147483646:1\n")
    with pytest.raises(ValueError, match=rf"^{path}:3: feature index 2147483646 is beyond n_features=2$"):
        load_letor(path, n_features=2)


@pytest.mark.parametrize("command", ["train", "compare"])
def test_cli_reports_the_wide_line_in_one_line_exit_2_fast(tmp_path, capsys, command):
    load_letor(_write(tmp_path / "warm.txt", HEAD))  # the compiled scanner loaded (a cold numba cache compiles)
    path = _write(tmp_path / "wide.txt", HEAD + "0 qid:2 1:1 2147483646:1\n")
    objectives = ["--objective", "lambdarank"] + (["--objective", "lambdarank:native"] if command == "compare" else [])
    t0 = time.perf_counter()
    assert main([command, "--train", str(path), *objectives, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    seconds = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert err == (f"error: --train: {path}:3: feature index 2147483646 would make X 2147483646 columns wide, above "
                   f"the limit of {MAX_FEATURES} (gbm_objectives.datasets.letor.MAX_FEATURES: wider matrices cost "
                   "memory per column before any training); is the index mistyped?\n")
    assert seconds < 1.0, seconds
    assert not (tmp_path / "o").exists()
