"""Tests for the download side of the data set catalogue (gbm_objectives.datasets.fetch, gbm_objectives.datasets._download):
checksums, downloads from file:// URLs (never the network), unpacking, the catalogue and the datasets/fetch.py script."""

import dataclasses
import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from gbm_objectives import datasets
from gbm_objectives.datasets import _download as _fetch
from gbm_objectives.cli import fetch as fetch_cli

ROOT = Path(__file__).resolve().parents[2]


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def source(tmp_path):
    data = b"1 qid:1 1:0.5\n0 qid:1 1:0.25\n" * 1000
    path = tmp_path / "src" / "rank.txt"
    path.parent.mkdir()
    path.write_bytes(data)
    return path, data


@pytest.fixture
def toy(source, monkeypatch):
    """A catalogue entry whose one file is the local ``source`` file (a file:// URL)."""
    path, data = source
    info = datasets.DatasetInfo(
        "toy", "ranking", "local", ("train",), "t", licence="t", files=("toy/rank.txt",),
        downloads=(datasets.DownloadFile(path.as_uri(), "toy/rank.txt", sha(data), len(data)),),
        loader=datasets.catalogue._local_letor("toy/rank.txt"),
    )
    monkeypatch.setitem(datasets.DATASETS, "toy", info)
    return info


def test_sha256_file_matches_hashlib(source):
    path, data = source
    assert _fetch.sha256_file(path, chunk=7) == sha(data)


def test_download_verifies_and_renames_into_place(source, tmp_path, capsys):
    path, data = source
    dest = tmp_path / "cache" / "x" / "rank.txt"
    _fetch.download(path.as_uri(), dest, sha256=sha(data).upper(), progress=True, chunk=4096)
    assert dest.read_bytes() == data
    assert not dest.with_name("rank.txt.part").exists()
    # not a terminal: plain progress lines ending at the full size
    err = capsys.readouterr().err.strip().splitlines()
    size = f"{len(data) / 1000:.1f}k"  # 29,000 bytes: "29.0k"
    assert err and err[-1] == f"downloading rank.txt: {size}/{size}"


def test_download_with_wrong_checksum_keeps_nothing(source, tmp_path):
    path, data = source
    dest = tmp_path / "cache" / "rank.txt"
    dest.parent.mkdir()
    dest.write_bytes(b"previous")
    with pytest.raises(_fetch.ChecksumError, match=rf"expected sha256 {'0' * 64}, got {sha(data)}"):
        _fetch.download(path.as_uri(), dest, sha256="0" * 64, progress=False)
    assert dest.read_bytes() == b"previous"
    assert not dest.with_name("rank.txt.part").exists()


def test_unpack_zip_tar_and_gz(tmp_path):
    payload = {"Fold1/train.txt": b"a", "Fold1/test.txt": b"bb"}
    z = tmp_path / "d.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for name, data in payload.items():
            zf.writestr(name, data)
    t = tmp_path / "d.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        for name, data in payload.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    for archive in (z, t):
        out = tmp_path / ("out_" + archive.name.replace(".", "_"))
        written = _fetch.unpack(archive, out)
        assert {str(p.relative_to(out)) for p in written} == set(payload)
        assert all((out / name).read_bytes() == data for name, data in payload.items())
    g = tmp_path / "x.txt.gz"
    g.write_bytes(gzip.compress(b"hello"))
    assert [p.name for p in _fetch.unpack(g, tmp_path / "g")] == ["x.txt"]
    assert (tmp_path / "g" / "x.txt").read_bytes() == b"hello"


def test_unpack_refuses_paths_outside_the_folder(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr("../escape.txt", b"bad")
    with pytest.raises(_fetch.FetchError, match="outside"):
        _fetch.unpack(z, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out" / "ok.txt").exists()
    with pytest.raises(_fetch.FetchError, match="external tool"):
        _fetch.unpack(tmp_path / "x.rar", tmp_path / "out")


def test_fetch_downloads_then_reuses_then_load_finds_it(source, toy, tmp_path, monkeypatch):
    path, data = source
    logs = []
    cache = tmp_path / "cache"
    assert datasets.fetch("toy", cache, progress=False, log=logs.append) == [cache / "toy" / "rank.txt"]
    assert (cache / "toy" / "rank.txt").read_bytes() == data and logs[-1].endswith("downloaded, checksum ok")

    def no_network(*args, **kwargs):
        raise AssertionError("a verified cached file must not be downloaded again")

    with monkeypatch.context() as m:
        m.setattr(_fetch.urllib.request, "urlopen", no_network)
        datasets.fetch("toy", cache, progress=False, log=logs.append)
    assert logs[-1].endswith("already present, checksum ok")

    (cache / "toy" / "rank.txt").write_bytes(b"corrupted")  # a bad cached file is replaced
    datasets.fetch("toy", cache, progress=False, log=logs.append)
    assert (cache / "toy" / "rank.txt").read_bytes() == data

    # the default cache is one of the data roots, so load() finds what fetch() put there
    monkeypatch.delenv("GBM_OBJECTIVES_DATA", raising=False)
    monkeypatch.setenv("GBM_OBJECTIVES_CACHE", str(cache))
    assert datasets.DATASETS["toy"].available and datasets.DATASETS["toy"].location == cache
    X, y, qid = datasets.load("toy", "train")
    assert X.shape == (2000, 1) and qid is not None


def test_manual_builtin_and_unknown_names(tmp_path, capsys):
    with pytest.raises(datasets.FetchError, match="must be downloaded by hand.*install_archive"):
        datasets.fetch("mslr-web10k", tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):  # FetchError is a ValueError
        datasets.fetch("nope", tmp_path)
    logs = []
    assert datasets.fetch("breast_cancer", tmp_path, log=logs.append) == [] and "nothing to download" in logs[0]
    assert fetch_cli.main(["mslr-web10k", "--cache-dir", str(tmp_path)]) == 2
    assert fetch_cli.main(["nope", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[1].startswith("error: unknown dataset 'nope'")


def test_install_archive_verifies_unpacks_and_load_reads_it(tmp_path, capsys, monkeypatch):
    z = tmp_path / "MSLR.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Fold1/train.txt", b"0 qid:1 1:1\n2 qid:1 1:3 136:1\n")
    digest = sha(z.read_bytes())
    assert fetch_cli.main(["mslr-web10k", "--archive", str(z), "--sha256", digest,
                           "--cache-dir", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "mslr-web10k" / "Fold1" / "train.txt").is_file()
    assert fetch_cli.main(["mslr-web10k", "--archive", str(z), "--sha256", "1" * 64, "--cache-dir", str(tmp_path)]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    monkeypatch.setenv("GBM_OBJECTIVES_DATA", str(tmp_path / "c"))
    X, y, qid = datasets.load("mslr-web10k", "train", fold=1)
    assert X.shape == (2, 136) and list(y) == [0, 2]


def test_catalogue_is_well_formed():
    for name, info in datasets.DATASETS.items():
        assert info.name == name and info.description, name
        assert info.task in ("ranking", "binary", "regression", "multiclass"), name
        assert (info.source == "manual") == bool(info.manual), name
        assert (info.source == "local") == bool(info.downloads), name
        assert info.loader is not None or not info.splits, name
        paths = {f.path for f in info.downloads}
        for f in info.downloads:
            assert f.url.startswith("https://") and len(f.sha256) == 64 and not Path(f.path).is_absolute()
        if info.downloads:  # the loader reads where fetch writes
            assert info.files[0] in paths, name
    with pytest.raises(dataclasses.FrozenInstanceError):
        datasets.DATASETS["mq2008"].task = "binary"


def test_catalogue_checksums_match_the_shared_copies():
    """The pinned SHA-256s are those of the byte-identical copies in the shared data root (gzipped there)."""
    from conftest import shared_dataset

    root = shared_dataset()
    for name in ("mq2008", "lightgbm-lambdarank", "agaricus"):
        for f in datasets.DATASETS[name].downloads:
            plain, gz = root / f.path, root / (f.path + ".gz")
            data = plain.read_bytes() if plain.exists() else gzip.decompress(gz.read_bytes())
            assert sha(data) == f.sha256 and len(data) == f.size, f.path


def test_script_is_a_thin_wrapper():
    out = subprocess.run([sys.executable, str(ROOT / "datasets" / "fetch.py"), "--list"], capture_output=True,
                         text=True, cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert {line.split()[0] for line in out.stdout.splitlines()} == set(datasets.DATASETS)
