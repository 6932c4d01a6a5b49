"""Tests for datasets/fetch.py: checksums, downloads from file:// URLs (no network), unpacking, the registry."""

import gzip
import hashlib
import importlib.util
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

FETCH_PATH = Path(__file__).resolve().parent.parent / "datasets" / "fetch.py"
spec = importlib.util.spec_from_file_location("gbm_objectives_fetch", FETCH_PATH)
fetch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fetch)


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def source(tmp_path):
    data = b"1 qid:1 1:0.5\n0 qid:1 1:0.25\n" * 1000
    path = tmp_path / "src" / "rank.txt"
    path.parent.mkdir()
    path.write_bytes(data)
    return path, data


def test_sha256_file_matches_hashlib(source):
    path, data = source
    assert fetch.sha256_file(path, chunk=7) == sha(data)


def test_download_verifies_and_renames_into_place(source, tmp_path, capsys):
    path, data = source
    dest = tmp_path / "cache" / "x" / "rank.txt"
    fetch.download(path.as_uri(), dest, sha256=sha(data).upper(), progress=True, chunk=4096)
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
    with pytest.raises(fetch.ChecksumError, match=rf"expected sha256 {'0' * 64}, got {sha(data)}"):
        fetch.download(path.as_uri(), dest, sha256="0" * 64, progress=False)
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
        written = fetch.unpack(archive, out)
        assert {str(p.relative_to(out)) for p in written} == set(payload)
        assert all((out / name).read_bytes() == data for name, data in payload.items())
    g = tmp_path / "x.txt.gz"
    g.write_bytes(gzip.compress(b"hello"))
    assert [p.name for p in fetch.unpack(g, tmp_path / "g")] == ["x.txt"]
    assert (tmp_path / "g" / "x.txt").read_bytes() == b"hello"


def test_unpack_refuses_paths_outside_the_folder(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr("../escape.txt", b"bad")
    with pytest.raises(fetch.FetchError, match="outside"):
        fetch.unpack(z, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out" / "ok.txt").exists()
    with pytest.raises(fetch.FetchError, match="external tool"):
        fetch.unpack(tmp_path / "x.rar", tmp_path / "out")


def test_fetch_registry_entry_downloads_then_reuses(source, tmp_path, monkeypatch):
    path, data = source
    entry = {"description": "t", "licence": "t",
             "files": [{"url": path.as_uri(), "path": "toy/rank.txt", "sha256": sha(data), "size": len(data)}]}
    monkeypatch.setitem(fetch.REGISTRY, "toy", entry)
    logs = []
    cache = tmp_path / "cache"
    assert fetch.fetch("toy", cache, progress=False, log=logs.append) == [cache / "toy" / "rank.txt"]
    assert (cache / "toy" / "rank.txt").read_bytes() == data and logs[-1].endswith("downloaded, checksum ok")

    def no_network(*args, **kwargs):
        raise AssertionError("a verified cached file must not be downloaded again")

    monkeypatch.setattr(fetch.urllib.request, "urlopen", no_network)
    fetch.fetch("toy", cache, progress=False, log=logs.append)
    assert logs[-1].endswith("already present, checksum ok")

    (cache / "toy" / "rank.txt").write_bytes(b"corrupted")  # a bad cached file is replaced
    monkeypatch.undo()
    monkeypatch.setitem(fetch.REGISTRY, "toy", entry)
    fetch.fetch("toy", cache, progress=False, log=logs.append)
    assert (cache / "toy" / "rank.txt").read_bytes() == data


def test_manual_datasets_and_unknown_names_are_usage_errors(tmp_path, capsys):
    with pytest.raises(fetch.FetchError, match="must be downloaded by hand"):
        fetch.fetch("mslr-web10k", tmp_path)
    assert fetch.main(["mslr-web10k", "--cache-dir", str(tmp_path)]) == 2
    assert fetch.main(["nope", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[1].startswith("error: unknown dataset 'nope'")


def test_install_archive_verifies_and_unpacks(tmp_path, capsys):
    z = tmp_path / "MSLR.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Fold1/train.txt", b"0 qid:1 1:1\n")
    digest = sha(z.read_bytes())
    assert fetch.main(["mslr-web10k", "--archive", str(z), "--sha256", digest, "--cache-dir", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "mslr-web10k" / "Fold1" / "train.txt").is_file()
    assert fetch.main(["mslr-web10k", "--archive", str(z), "--sha256", "1" * 64, "--cache-dir", str(tmp_path)]) == 2
    assert "checksum mismatch" in capsys.readouterr().err


def test_registry_is_well_formed():
    for name, entry in fetch.REGISTRY.items():
        assert entry["description"] and entry["licence"], name
        assert ("manual" in entry) != ("files" in entry), name
        for f in entry.get("files", []):
            assert f["url"].startswith("https://") and len(f["sha256"]) == 64 and not Path(f["path"]).is_absolute()
    # the cache layout is the one gbm_objectives.datasets.load searches
    from gbm_objectives import datasets

    for name in ("mq2008", "lightgbm-lambdarank", "agaricus", "autoclaims", "oil-spill", "phoneme"):
        first = datasets._REGISTRY[name]["files"][0]
        assert first in {f["path"] for f in fetch.REGISTRY[name]["files"]}, name


def test_registry_checksums_match_the_shared_copies():
    """The pinned SHA-256s are those of the byte-identical copies in ../shared/datasets (gzipped there)."""
    from conftest import shared_dataset

    root = shared_dataset()
    for name in ("mq2008", "lightgbm-lambdarank", "agaricus"):
        for f in fetch.REGISTRY[name]["files"]:
            plain, gz = root / f["path"], root / (f["path"] + ".gz")
            data = plain.read_bytes() if plain.exists() else gzip.decompress(gz.read_bytes())
            assert sha(data) == f["sha256"] and len(data) == f["size"], f["path"]
