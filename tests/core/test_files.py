"""Outputs get the mode the user's umask gives (issue 22, item 13: ``--out`` folders were created 0700, the
temporary folder's mode, so colleagues could not read the results)."""

import os
import stat

import pytest

from gbm_objectives._core.files import atomic_directory, atomic_write_bytes, output_directory


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_output_directory_and_its_files_follow_the_umask(tmp_path, umask_022):
    out = tmp_path / "results"
    with output_directory(out, log=lambda *_: None) as tmp:
        (tmp / "metrics.json").write_text("{}")
    assert _mode(out) == 0o755
    assert _mode(out / "metrics.json") == 0o644


def test_atomic_writes_follow_the_umask(tmp_path, umask_022):
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    assert _mode(tmp_path / "a.bin") == 0o644
    with atomic_directory(tmp_path / "model") as tmp:
        (tmp / "f").write_text("x")
    assert _mode(tmp_path / "model") == 0o755


def test_a_stricter_umask_is_kept(tmp_path):
    old = os.umask(0o077)
    try:
        with output_directory(tmp_path / "private", log=lambda *_: None):
            pass
    finally:
        os.umask(old)
    assert _mode(tmp_path / "private") == 0o700
