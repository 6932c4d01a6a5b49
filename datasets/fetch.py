#!/usr/bin/env python
"""Download a public learning-to-rank or imbalanced dataset into a cache folder, with checksum verification.

    python datasets/fetch.py --list
    python datasets/fetch.py mq2008                       # into $GBM_OBJECTIVES_CACHE or ~/.cache/gbm_objectives
    python datasets/fetch.py mq2008 --cache-dir DIR
    python datasets/fetch.py mslr-web10k --archive ~/Downloads/MSLR-WEB10K.zip --sha256 HEX
    python datasets/fetch.py mslr-web10k --url URL --sha256 HEX

Every file of a registry entry has a pinned URL and SHA-256. A download goes to ``FILE.part`` and is renamed into
place only after its checksum matches, so the cache never holds a partial or unverified file. Archives (``.zip``,
``.tar.gz``, ``.tgz``, ``.tar``, single-file ``.gz``) are unpacked into the dataset's folder; members that would land
outside it are refused. Datasets whose publishers require a licence click-through or registration (MSLR, Yahoo,
Istella, the Kaggle credit-card set) are ``manual``: the script prints where to get them, and ``--archive`` then
verifies and unpacks the file you downloaded.

The cache layout is the one :func:`gbm_objectives.datasets.load` searches (``letor4_mq2008/Fold1/train.txt``, ...).
See ``datasets/README.md`` for sizes and licences. Exit status: 0 ok, 2 for usage errors, checksum mismatches and
manual datasets, 1 for other failures (network).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

_LIGHTGBM = "https://raw.githubusercontent.com/microsoft/LightGBM/bae0b7ba953341a32b2a9c5c5c437a1b976f576f"
_XGBOOST_DEMO = "https://raw.githubusercontent.com/dmlc/xgboost/379b29f0836b9dbc313b993d8e5743bd452d4117/demo/data"
_XGBOOST_CLAIMS = "https://raw.githubusercontent.com/dmlc/xgboost/c91e91f3e8953dc34174a3b55a2304fa941a08dc/demo/data"
_META = "https://raw.githubusercontent.com/meta-toolkit/meta/ca344dfe6a7bace9b818a6ad4f764c1ad581cf99/data/MQ2008"
_BROWNLEE = "https://raw.githubusercontent.com/jbrownlee/Datasets/master"

# SHA-256 of the MQ2008 fold files (each fold's test file is S(k+4 mod 5), its vali file S(k+3 mod 5)).
_MQ2008 = {
    (1, "train"): ("9b98c14e9536f2a18c59670714c99defc63e74359c56cba219a61db248f27123", 5917377),
    (1, "vali"): ("a239850bc6fe960ad08c2b7b0d99db90fe976dd93a15358e98036591b4e7a2ac", 1663264),
    (1, "test"): ("c68c52feb1ecae7f17b64c8e2fda2098302681bbd4ea5fad8c73a1d32a1cf2b2", 1765771),
    (2, "train"): ("96528d299fc07c54d8a6c7a539142be5cde1b75b15b7da875508b874e73bce91", 5778393),
    (2, "vali"): ("c68c52feb1ecae7f17b64c8e2fda2098302681bbd4ea5fad8c73a1d32a1cf2b2", 1765771),
    (2, "test"): ("cbd42504549a2388f6c0aefdb506f22074225b574c7a5df10194174c9b00e4e0", 1802248),
    (3, "train"): ("3886fb46484c2f55f78ce992886614dd65974f89897db18cf1127d0af259685b", 5310453),
    (3, "vali"): ("cbd42504549a2388f6c0aefdb506f22074225b574c7a5df10194174c9b00e4e0", 1802248),
    (3, "test"): ("055ac792cb8f7d5a029090b8acbfb6c57323339d1371251bf2465ac182aa8605", 2233711),
    (4, "train"): ("46bf4d68615328ec7933b28881129df08b8a23a4b12cb0c0a1652b48eab08b50", 5231283),
    (4, "vali"): ("055ac792cb8f7d5a029090b8acbfb6c57323339d1371251bf2465ac182aa8605", 2233711),
    (4, "test"): ("a03fe2b6e76479de60fecdb37d560a40a4e899b0cd685553d2da31ea205af1ab", 1881418),
    (5, "train"): ("d672fe2403743defa8642b44fa88a1d389ed9ada5a93aaece412ac563da22834", 5801730),
    (5, "vali"): ("a03fe2b6e76479de60fecdb37d560a40a4e899b0cd685553d2da31ea205af1ab", 1881418),
    (5, "test"): ("a239850bc6fe960ad08c2b7b0d99db90fe976dd93a15358e98036591b4e7a2ac", 1663264),
}


def _file(url, path, sha256, size=None):
    return {"url": url, "path": path, "sha256": sha256, "size": size}


#: name -> {"description", "licence", "files": [{"url", "path", "sha256", "size"}], or "manual": instructions}
REGISTRY = {
    "mq2008": {
        "description": "LETOR 4.0 MQ2008, 5 folds (Qin & Liu 2013); 15,211 rows, 784 queries, 46 features",
        "licence": "Microsoft Research, research use; cite arXiv:1306.2597",
        "files": [
            _file(f"{_META}/Fold{k}/{split}.txt", f"letor4_mq2008/Fold{k}/{split}.txt", *_MQ2008[(k, split)])
            for k in range(1, 6)
            for split in ("train", "vali", "test")
        ],
    },
    "lightgbm-lambdarank": {
        "description": "LightGBM's examples/lambdarank data: 3,005 + 768 rows, 300 sparse features, .query files",
        "licence": "shipped in the MIT-licensed LightGBM repository (origin of the data undocumented)",
        "files": [
            _file(f"{_LIGHTGBM}/examples/lambdarank/rank.train", "lightgbm_lambdarank/rank.train",
                  "a0c7201c89120879c14a5059e091f441cbf2a29b8aaef363885ccb1a530448df", 2479271),
            _file(f"{_LIGHTGBM}/examples/lambdarank/rank.train.query", "lightgbm_lambdarank/rank.train.query",
                  "40cb5fef637229311cd30fab13cb7fb633b023e86a87ff04ec55db420143d6af", 580),
            _file(f"{_LIGHTGBM}/examples/lambdarank/rank.test", "lightgbm_lambdarank/rank.test",
                  "3b1219ce117a0a36d2f76c02de7e7831c1d79af0d40f5195c03178bbe26c824b", 649930),
            _file(f"{_LIGHTGBM}/examples/lambdarank/rank.test.query", "lightgbm_lambdarank/rank.test.query",
                  "36dca82ba3bf99201bac3987b00a8fbf6fe5f563e9fa6d0da90e783710a32df4", 146),
        ],
    },
    "agaricus": {
        "description": "UCI mushroom, one-hot (XGBoost demo): 6,513 + 1,611 rows, 126 binary features",
        "licence": "UCI Machine Learning Repository (CC BY 4.0)",
        "files": [
            _file(f"{_XGBOOST_DEMO}/agaricus.txt.train", "xgboost_agaricus/agaricus.txt.train",
                  "915c2def06e9b44a306ad097fe8b6652c7c477d9c1e605bd2130ad20a70a8ad6", 742257),
            _file(f"{_XGBOOST_DEMO}/agaricus.txt.test", "xgboost_agaricus/agaricus.txt.test",
                  "765db79391141953d890ce197fe828a621d6487fbba4de5e4d2217bd140371c0", 183611),
        ],
    },
    "autoclaims": {
        "description": "insurance claim amounts (R insuranceData, Frees 2010): heavy right tail; 5,445 + 1,328 rows",
        "licence": "from the R package insuranceData (GPL-2); research and teaching use",
        "files": [
            _file(f"{_XGBOOST_CLAIMS}/autoclaims.train", "autoclaims/autoclaims.train",
                  "9df9264bea8656cf632aca13cf8aa0823b4c3d39026aca0b21e5cc4d11bba591", 149472),
            _file(f"{_XGBOOST_CLAIMS}/autoclaims.test", "autoclaims/autoclaims.test",
                  "be34ce3d2fb063bec6e3d002cec05741242972dd3148f975569f1df545e3225d", 36449),
        ],
    },
    "oil-spill": {
        "description": "oil spill detection (Kubat et al. 1998): 937 rows, 4.4% positive",
        "licence": "research use; cite Kubat, Holte & Matwin, Machine Learning 30 (1998)",
        "files": [_file(f"{_BROWNLEE}/oil-spill.csv", "oil_spill/oil-spill.csv",
                        "acd090bfa475d6247183c53683a344235136e4e9133d99259ae7fe692870c0f0", 230924)],
    },
    "phoneme": {
        "description": "ELENA phoneme: 5,404 rows, 5 features, 29% positive",
        "licence": "ELENA project (ESPRIT 6891), research use",
        "files": [_file(f"{_BROWNLEE}/phoneme.csv", "phoneme/phoneme.csv",
                        "eacbb9f7a2b2135d067bff28ed7b9adb760f61f5e91f375f91e22e7e42ace24d", 174717)],
    },
    "mq2007": {
        "description": "LETOR 4.0 MQ2007: 69,623 rows, 1,692 queries, 46 features (about 60 MB unpacked)",
        "licence": "Microsoft Research, research use; cite arXiv:1306.2597",
        "manual": "download MQ2007.rar from https://www.microsoft.com/en-us/research/project/letor-learning-rank-"
                  "information-retrieval/ and unpack it (unrar or 7z) into CACHE/letor4_mq2007/",
    },
    "mslr-web10k": {
        "description": "MSLR-WEB10K: 1.2M rows, 10,000 queries, 136 features, labels 0-4 (about 1.2 GB unpacked)",
        "licence": "Microsoft Research data licence (research use); cite arXiv:1306.2597",
        "manual": "download MSLR-WEB10K.zip from https://www.microsoft.com/en-us/research/project/mslr/ then run "
                  "`python datasets/fetch.py mslr-web10k --archive MSLR-WEB10K.zip [--sha256 HEX]`",
    },
    "mslr-web30k": {
        "description": "MSLR-WEB30K: 3.8M rows, 31,531 queries, 136 features, labels 0-4 (about 3.8 GB unpacked)",
        "licence": "Microsoft Research data licence (research use); cite arXiv:1306.2597",
        "manual": "download MSLR-WEB30K.zip from https://www.microsoft.com/en-us/research/project/mslr/ then run "
                  "`python datasets/fetch.py mslr-web30k --archive MSLR-WEB30K.zip [--sha256 HEX]`",
    },
    "yahoo-ltr": {
        "description": "Yahoo! Learning to Rank Challenge C14 (set 1 train: 473k rows, 19,944 queries, 700 features)",
        "licence": "Yahoo Webscope licence: registration required, no redistribution",
        "manual": "request 'C14 - Yahoo! Learning to Rank Challenge' at https://webscope.sandbox.yahoo.com/ then run "
                  "`python datasets/fetch.py yahoo-ltr --archive FILE --sha256 HEX`",
    },
    "istella": {
        "description": "Istella LETOR (33,018 queries, 10.4M rows, 220 features); also Istella-S (3.4M rows)",
        "licence": "Istella licence: research use, registration required, no redistribution",
        "manual": "request it at https://istella.ai/datasets/letor-dataset/ then run "
                  "`python datasets/fetch.py istella --archive FILE --sha256 HEX`",
    },
    "creditcard-fraud": {
        "description": "credit-card fraud (ULB, Dal Pozzolo et al. 2015): 284,807 rows, 492 frauds (0.17%)",
        "licence": "Open Database License (ODbL) 1.0, via Kaggle (login required)",
        "manual": "download creditcard.csv from https://www.kaggle.com/datasets/mlg-ulb/creditcardfraud then run "
                  "`python datasets/fetch.py creditcard-fraud --archive creditcard.csv --sha256 HEX`",
    },
}


class FetchError(Exception):
    """A usage problem, checksum mismatch or manual dataset: reported in one line, exit status 2."""


class ChecksumError(FetchError):
    pass


def default_cache_dir():
    """``$GBM_OBJECTIVES_CACHE``, else ``$XDG_CACHE_HOME/gbm_objectives``, else ``~/.cache/gbm_objectives``."""
    env = os.environ.get("GBM_OBJECTIVES_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gbm_objectives"


def _progress(total, desc, enabled):
    from gbm_objectives._progress import Progress

    return Progress(total, desc, enabled=enabled, unit="B", unit_scale=True, min_interval=1.0,
                    every=max(1, (total or 0) // 10) if total else 1 << 20)


def sha256_file(path, chunk=1 << 20):
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify(path, sha256):
    """Raise :class:`ChecksumError` naming the file and both digests unless ``path`` has the expected SHA-256."""
    actual = sha256_file(path)
    if actual != sha256.lower():
        raise ChecksumError(f"checksum mismatch for {path}: expected sha256 {sha256.lower()}, got {actual}")
    return actual


def download(url, dest, *, sha256=None, progress=True, chunk=1 << 16):
    """Stream ``url`` (``https://``, ``http://`` or ``file://``) to ``dest``, verified before it is renamed in place.

    The bytes go to ``dest.part``; on a checksum mismatch or any error the part file is removed and ``dest`` is left
    as it was.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url) as response, open(part, "wb") as out:
            length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            total = int(length) if length and str(length).isdigit() else None
            with _progress(total, f"downloading {dest.name}", progress) as bar:
                for block in iter(lambda: response.read(chunk), b""):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
        if sha256 is not None and h.hexdigest() != sha256.lower():
            raise ChecksumError(
                f"checksum mismatch for {url}: expected sha256 {sha256.lower()}, got {h.hexdigest()}; the file was "
                f"not kept"
            )
        os.replace(part, dest)
    except BaseException:
        if part.exists():
            part.unlink()
        raise
    return dest


def _safe_target(root, name):
    root = Path(root).resolve()
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise FetchError(f"refusing to unpack {name!r}: it would be written outside {root}")
    return target


def unpack(archive, dest_dir):
    """Unpack a ``.zip``, ``.tar``, ``.tar.gz``/``.tgz`` or single-file ``.gz`` into ``dest_dir``; returns the paths.

    Member names that would escape ``dest_dir`` (absolute paths, ``..``) raise :class:`FetchError`.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    written = []
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            for m in members:
                _safe_target(dest_dir, m.filename)
            for m in members:
                target = _safe_target(dest_dir, m.filename)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
                written.append(target)
    elif name.endswith((".tar", ".tar.gz", ".tgz")):
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                _safe_target(dest_dir, m.name)
                if m.issym() or m.islnk():
                    raise FetchError(f"refusing to unpack link {m.name!r} from {archive}")
            for m in members:
                if m.isfile():
                    target = _safe_target(dest_dir, m.name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with tf.extractfile(m) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
                    written.append(target)
    elif name.endswith(".gz"):
        target = _safe_target(dest_dir, archive.name[: -len(".gz")])
        with gzip.open(archive, "rb") as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
        written.append(target)
    elif name.endswith(".rar"):
        raise FetchError(f"{archive}: .rar archives need an external tool (unrar x or 7z x) to unpack")
    else:
        raise FetchError(f"{archive}: not an archive this script unpacks (.zip, .tar, .tar.gz, .tgz, .gz)")
    return written


def fetch(name, cache_dir=None, *, force=False, progress=True, log=print):
    """Download (or reuse) every file of a registry dataset; returns the dataset's folder(s) in the cache.

    A file already in the cache is kept when its checksum matches (re-downloaded with ``force``).
    """
    if name not in REGISTRY:
        raise FetchError(f"unknown dataset {name!r}; choose one of {sorted(REGISTRY)} (see --list)")
    entry = REGISTRY[name]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if "manual" in entry:
        raise FetchError(f"{name} must be downloaded by hand ({entry['licence']}): "
                         + entry["manual"].replace("CACHE", str(cache)))
    paths = []
    for spec in entry["files"]:
        dest = cache / spec["path"]
        if dest.is_file() and not force:
            try:
                verify(dest, spec["sha256"])
                log(f"{dest}: already present, checksum ok")
                paths.append(dest)
                continue
            except ChecksumError:
                log(f"{dest}: checksum mismatch, downloading again")
        download(spec["url"], dest, sha256=spec["sha256"], progress=progress)
        log(f"{dest}: downloaded, checksum ok")
        if spec.get("unpack"):
            unpack(dest, dest.parent)
        paths.append(dest)
    return paths


def install_archive(name, archive, cache_dir=None, *, sha256=None, log=print):
    """Verify a hand-downloaded archive (when ``sha256`` is given) and unpack it into ``CACHE/name/``."""
    if name not in REGISTRY:
        raise FetchError(f"unknown dataset {name!r}; choose one of {sorted(REGISTRY)} (see --list)")
    archive = Path(archive)
    if not archive.is_file():
        raise FetchError(f"--archive: no such file {str(archive)!r}")
    if sha256 is not None:
        verify(archive, sha256)
        log(f"{archive}: checksum ok")
    else:
        log(f"{archive}: sha256 {sha256_file(archive)} (not verified: pass --sha256 to check it)")
    target = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / name
    try:
        written = unpack(archive, target)
    except FetchError:
        if archive.suffix.lower() in (".csv", ".txt"):
            target.mkdir(parents=True, exist_ok=True)
            written = [Path(shutil.copy2(archive, target / archive.name))]
        else:
            raise
    log(f"unpacked {len(written)} file(s) into {target}")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fetch.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", help="dataset name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the datasets")
    parser.add_argument("--cache-dir", help="default: $GBM_OBJECTIVES_CACHE or ~/.cache/gbm_objectives")
    parser.add_argument("--force", action="store_true", help="download again even when the checksum matches")
    parser.add_argument("--archive", help="a file you downloaded yourself: verify and unpack it")
    parser.add_argument("--url", help="download this URL instead (needs --sha256)")
    parser.add_argument("--sha256", help="expected SHA-256 of --archive or --url")
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)
    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        if args.list or not args.name:
            for name, entry in REGISTRY.items():
                kind = "manual" if "manual" in entry else f"{len(entry['files'])} file(s)"
                print(f"{name:22s} {kind:12s} {entry['description']}")
            return 0
        if args.url:
            if not args.sha256:
                raise FetchError("--url: needs --sha256 (files are only kept after verification)")
            cache = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
            dest = download(args.url, cache / "downloads" / Path(args.url).name, sha256=args.sha256,
                            progress=not args.quiet)
            install_archive(args.name, dest, args.cache_dir, sha256=args.sha256, log=log)
        elif args.archive:
            install_archive(args.name, args.archive, args.cache_dir, sha256=args.sha256, log=log)
        else:
            fetch(args.name, args.cache_dir, force=args.force, progress=not args.quiet, log=log)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
