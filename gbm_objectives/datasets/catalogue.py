"""The named datasets: one :class:`DatasetInfo` per name in ``DATASETS`` (how to load it and, where it is public,
its pinned download URLs and SHA-256s), :func:`load`, :func:`fetch` into the cache folder, :func:`install_archive`
for licence-gated sets, and the folders searched (:func:`data_roots`, :func:`cache_dir`).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import _download
from ._download import ChecksumError, FetchError
from .letor import load_letor
from .synthetic import make_imbalanced, make_ranking

__all__ = ["DownloadFile", "DatasetInfo", "data_roots", "cache_dir", "list_datasets", "load", "fetch", "install_archive", "DATASETS"]


@dataclass(frozen=True)
class DownloadFile:
    """One file of a downloadable data set: a pinned ``url``, its ``path`` under the cache and its SHA-256."""

    url: str
    path: str
    sha256: str
    size: int | None = None
    unpack: bool = False


@dataclass(frozen=True)
class DatasetInfo:
    """A named data set of the catalogue :data:`DATASETS`.

    Attributes
    ----------
    name, task, source, description : str
        ``task`` is ``"ranking"``, ``"binary"``, ``"regression"`` or ``"multiclass"``; ``source`` is
        ``"generator"``, ``"scikit-learn"``, ``"local"`` (files under a data root, downloadable with :func:`fetch`)
        or ``"manual"`` (licence-gated: download by hand, then :func:`install_archive`).
    splits : tuple of str
        What :func:`load` accepts as ``split`` (empty when the set has no loader: read its files directly).
    licence : str
    files : tuple of str
        Paths, relative to a data root, that the loader reads; the first marks the set as present.
    downloads : tuple of DownloadFile
        Pinned URLs and SHA-256s (empty unless ``source == "local"``).
    manual : str or None
        Where to get a licence-gated set by hand.
    location : Path or None
        The data root holding the files (``None`` when absent or not file-based).
    available : bool
        Whether :func:`load` can run without a download.
    """

    name: str
    task: str
    source: str
    splits: tuple
    description: str
    licence: str = ""
    files: tuple = ()
    downloads: tuple = field(default=(), repr=False)
    manual: str | None = field(default=None, repr=False)
    loader: Callable | None = field(default=None, repr=False, compare=False)

    @property
    def location(self):
        if not self.files:
            return None
        for root in data_roots():
            if _find(root, self.files[0]) is not None:
                return root
        return None

    @property
    def available(self):
        if self.loader is None:
            return False
        return self.source not in ("local", "manual") or self.location is not None


def data_roots():
    """Folders searched for local copies of public data sets, in order.

    ``$GBM_OBJECTIVES_DATA`` (``os.pathsep``-separated), then the download cache :func:`cache_dir`.
    """
    roots = []
    env = os.environ.get("GBM_OBJECTIVES_DATA")
    if env:
        roots += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    roots.append(cache_dir())
    return roots


def cache_dir():
    """The download cache: ``$GBM_OBJECTIVES_CACHE``, else ``$XDG_CACHE_HOME/gbm_objectives``, else ``~/.cache/...``."""
    env = os.environ.get("GBM_OBJECTIVES_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gbm_objectives"


def _find(root, rel):
    for candidate in (Path(root) / rel, Path(root) / (rel + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _split_rows(n, split, seed=0):
    """Deterministic 60/20/20 train/vali/test row split (``all``: every row, in order)."""
    if split == "all":
        return np.arange(n)
    perm = np.random.default_rng(seed).permutation(n)
    a, b = int(0.6 * n), int(0.8 * n)
    return np.sort({"train": perm[:a], "vali": perm[a:b], "test": perm[b:]}[split])


def _split_queries(qid, split):
    if split == "all":
        return np.arange(len(qid))
    n_q = int(qid.max()) + 1
    a, b = int(0.6 * n_q), int(0.8 * n_q)
    lo, hi = {"train": (0, a), "vali": (a, b), "test": (b, n_q)}[split]
    return np.flatnonzero((qid >= lo) & (qid < hi))


def _sklearn_loader(fn_name):
    def loader(split, **kwargs):
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, fn_name)(return_X_y=True)
        rows = _split_rows(len(y), split)
        return np.ascontiguousarray(X[rows], dtype=np.float32), y[rows].astype(np.float64), None

    return loader


def _synthetic_ranking(split, n_queries=500, seed=0, **kwargs):
    X, y, qid = make_ranking(n_queries=n_queries, seed=seed, **kwargs)
    rows = _split_queries(qid, split)
    return X[rows], y[rows], qid[rows]


def _synthetic_imbalanced(split, n_samples=50000, positive_rate=0.01, seed=0, **kwargs):
    X, y = make_imbalanced(n_samples=n_samples, positive_rate=positive_rate, seed=seed, **kwargs)
    rows = _split_rows(n_samples, split)
    return X[rows], y[rows], None


def _locate(*patterns, **fmt):
    rels = [p.format(**fmt) for p in patterns]
    for root in data_roots():
        for rel in rels:
            path = _find(root, rel)
            if path is not None:
                return path
    raise FileNotFoundError(_not_found_message(rels[0]))


def _local_letor(*patterns):
    def loader(split, fold=1, **kwargs):
        return load_letor(_locate(*patterns, split=split, fold=int(fold)), **kwargs)

    return loader


def _local_csv(rel, label_col, drop=(), header=None):
    def loader(split, **kwargs):
        import pandas as pd

        path = _locate(rel)
        frame = pd.read_csv(path, header=header)
        col = frame.columns[label_col] if isinstance(label_col, int) else label_col
        y = frame.pop(col).to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            line = int(bad[0]) + (2 if header == 0 else 1)
            raise ValueError(f"{path}:{line}: label is not a finite number: {y[bad[0]]!r}")
        frame = frame.drop(columns=[frame.columns[i] for i in drop])
        X = np.ascontiguousarray(frame.to_numpy(dtype=np.float32))
        rows = _split_rows(len(y), split)
        return X[rows], y[rows], None

    return loader


def _not_found_message(rel):
    roots = ", ".join(str(r) for r in data_roots())
    return (
        f"local data set file {rel!r} not found under any data root ({roots}); download it with "
        f"gbm_objectives.datasets.fetch(NAME) (`gbm-objectives datasets --fetch NAME`) or point GBM_OBJECTIVES_DATA at a "
        f"folder that holds it"
    )


_LIGHTGBM = "https://raw.githubusercontent.com/microsoft/LightGBM/bae0b7ba953341a32b2a9c5c5c437a1b976f576f"
_XGBOOST_DEMO = "https://raw.githubusercontent.com/dmlc/xgboost/379b29f0836b9dbc313b993d8e5743bd452d4117/demo/data"
_XGBOOST_CLAIMS = "https://raw.githubusercontent.com/dmlc/xgboost/c91e91f3e8953dc34174a3b55a2304fa941a08dc/demo/data"
_META = "https://raw.githubusercontent.com/meta-toolkit/meta/ca344dfe6a7bace9b818a6ad4f764c1ad581cf99/data/MQ2008"
_BROWNLEE = "https://raw.githubusercontent.com/jbrownlee/Datasets/master"
_MSR_LETOR = "https://www.microsoft.com/en-us/research/project/letor-learning-rank-information-retrieval/"
_MSR_MSLR = "https://www.microsoft.com/en-us/research/project/mslr/"

# SHA-256 and size of the MQ2008 fold files (each fold's test file is S(k+4 mod 5), its vali file S(k+3 mod 5)).
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

_SPLITS3 = ("train", "vali", "test", "all")
_FOLD_SPLITS = ("train", "vali", "test")
_MSR_LICENCE = "Microsoft Research, research use; cite arXiv:1306.2597"

_CATALOGUE = [
    DatasetInfo(
        "synthetic-ranking", "ranking", "generator", _SPLITS3,
        "make_ranking(n_queries=500): MSLR-shaped, 136 features, labels 0-4; split by query 60/20/20",
        loader=_synthetic_ranking,
    ),
    DatasetInfo(
        "synthetic-imbalanced", "binary", "generator", _SPLITS3,
        "make_imbalanced(n_samples=50000, positive_rate=0.01): 20 features; rows split 60/20/20",
        loader=_synthetic_imbalanced,
    ),
    DatasetInfo(
        "breast_cancer", "binary", "scikit-learn", _SPLITS3,
        "Wisconsin breast cancer (569 rows, 30 features, 37% positive); rows split 60/20/20",
        licence="shipped with scikit-learn (UCI, CC BY 4.0)", loader=_sklearn_loader("load_breast_cancer"),
    ),
    DatasetInfo(
        "diabetes", "regression", "scikit-learn", _SPLITS3,
        "diabetes progression (442 rows, 10 features); rows split 60/20/20",
        licence="shipped with scikit-learn", loader=_sklearn_loader("load_diabetes"),
    ),
    DatasetInfo(
        "wine", "multiclass", "scikit-learn", _SPLITS3,
        "UCI wine recognition (178 rows, 13 features, 3 classes); rows split 60/20/20",
        licence="shipped with scikit-learn (UCI, CC BY 4.0)", loader=_sklearn_loader("load_wine"),
    ),
    DatasetInfo(
        "mq2008", "ranking", "local", _FOLD_SPLITS,
        "LETOR 4.0 MQ2008 (Qin & Liu 2013): 15,211 rows, 784 queries, 46 features, labels 0-2, 5 folds (fold=1..5)",
        licence=_MSR_LICENCE,
        files=("letor4_mq2008/Fold1/train.txt",),
        downloads=tuple(
            DownloadFile(f"{_META}/Fold{k}/{split}.txt", f"letor4_mq2008/Fold{k}/{split}.txt", *_MQ2008[(k, split)])
            for k in range(1, 6)
            for split in _FOLD_SPLITS
        ),
        loader=_local_letor("letor4_mq2008/Fold{fold}/{split}.txt"),
    ),
    DatasetInfo(
        "lightgbm-lambdarank", "ranking", "local", ("train", "test"),
        "LightGBM's examples/lambdarank data: 3,005 + 768 rows, 300 sparse features, labels 0-4, .query files",
        licence="shipped in the MIT-licensed LightGBM repository (origin of the data undocumented)",
        files=("lightgbm_lambdarank/rank.train",),
        downloads=(
            DownloadFile(f"{_LIGHTGBM}/examples/lambdarank/rank.train", "lightgbm_lambdarank/rank.train",
                         "a0c7201c89120879c14a5059e091f441cbf2a29b8aaef363885ccb1a530448df", 2479271),
            DownloadFile(f"{_LIGHTGBM}/examples/lambdarank/rank.train.query", "lightgbm_lambdarank/rank.train.query",
                         "40cb5fef637229311cd30fab13cb7fb633b023e86a87ff04ec55db420143d6af", 580),
            DownloadFile(f"{_LIGHTGBM}/examples/lambdarank/rank.test", "lightgbm_lambdarank/rank.test",
                         "3b1219ce117a0a36d2f76c02de7e7831c1d79af0d40f5195c03178bbe26c824b", 649930),
            DownloadFile(f"{_LIGHTGBM}/examples/lambdarank/rank.test.query", "lightgbm_lambdarank/rank.test.query",
                         "36dca82ba3bf99201bac3987b00a8fbf6fe5f563e9fa6d0da90e783710a32df4", 146),
        ),
        loader=_local_letor("lightgbm_lambdarank/rank.{split}"),
    ),
    DatasetInfo(
        "agaricus", "binary", "local", ("train", "test"),
        "UCI mushroom, one-hot (XGBoost's demo data): 6,513 + 1,611 rows, 126 sparse binary features",
        licence="UCI Machine Learning Repository (CC BY 4.0)",
        files=("xgboost_agaricus/agaricus.txt.train",),
        downloads=(
            DownloadFile(f"{_XGBOOST_DEMO}/agaricus.txt.train", "xgboost_agaricus/agaricus.txt.train",
                         "915c2def06e9b44a306ad097fe8b6652c7c477d9c1e605bd2130ad20a70a8ad6", 742257),
            DownloadFile(f"{_XGBOOST_DEMO}/agaricus.txt.test", "xgboost_agaricus/agaricus.txt.test",
                         "765db79391141953d890ce197fe828a621d6487fbba4de5e4d2217bd140371c0", 183611),
        ),
        loader=_local_letor("xgboost_agaricus/agaricus.txt.{split}"),
    ),
    DatasetInfo(
        "autoclaims", "regression", "local", ("train", "test"),
        "insurance claim amounts (R insuranceData, Frees 2010): heavy right tail; 5,445 + 1,328 rows, 33 features",
        licence="from the R package insuranceData (GPL-2); research and teaching use",
        files=("autoclaims/autoclaims.train",),
        downloads=(
            DownloadFile(f"{_XGBOOST_CLAIMS}/autoclaims.train", "autoclaims/autoclaims.train",
                         "9df9264bea8656cf632aca13cf8aa0823b4c3d39026aca0b21e5cc4d11bba591", 149472),
            DownloadFile(f"{_XGBOOST_CLAIMS}/autoclaims.test", "autoclaims/autoclaims.test",
                         "be34ce3d2fb063bec6e3d002cec05741242972dd3148f975569f1df545e3225d", 36449),
        ),
        loader=_local_letor("autoclaims/autoclaims.{split}"),
    ),
    DatasetInfo(
        "oil-spill", "binary", "local", _SPLITS3,
        "oil spill detection (Kubat et al. 1998): 937 rows, 48 features, 4.4% positive; rows 60/20/20",
        licence="research use; cite Kubat, Holte & Matwin, Machine Learning 30 (1998)",
        files=("oil_spill/oil-spill.csv",),
        downloads=(DownloadFile(f"{_BROWNLEE}/oil-spill.csv", "oil_spill/oil-spill.csv",
                                "acd090bfa475d6247183c53683a344235136e4e9133d99259ae7fe692870c0f0", 230924),),
        loader=_local_csv("oil_spill/oil-spill.csv", label_col=-1, drop=(0,)),
    ),
    DatasetInfo(
        "phoneme", "binary", "local", _SPLITS3,
        "ELENA phoneme: 5,404 rows, 5 features, 29% positive; rows split 60/20/20",
        licence="ELENA project (ESPRIT 6891), research use",
        files=("phoneme/phoneme.csv",),
        downloads=(DownloadFile(f"{_BROWNLEE}/phoneme.csv", "phoneme/phoneme.csv",
                                "eacbb9f7a2b2135d067bff28ed7b9adb760f61f5e91f375f91e22e7e42ace24d", 174717),),
        loader=_local_csv("phoneme/phoneme.csv", label_col=-1),
    ),
    DatasetInfo(
        "mq2007", "ranking", "manual", _FOLD_SPLITS,
        "LETOR 4.0 MQ2007: 69,623 rows, 1,692 queries, 46 features, 5 folds (about 60 MB unpacked)",
        licence=_MSR_LICENCE,
        files=("letor4_mq2007/Fold1/train.txt",),
        manual=f"download MQ2007.rar from {_MSR_LETOR} and unpack it (unrar or 7z) so that its Fold1..Fold5 folders "
               f"land in CACHE/letor4_mq2007/",
        loader=_local_letor("letor4_mq2007/Fold{fold}/{split}.txt", "letor4_mq2007/MQ2007/Fold{fold}/{split}.txt"),
    ),
    DatasetInfo(
        "mslr-web10k", "ranking", "manual", _FOLD_SPLITS,
        "MSLR-WEB10K: 1.2M rows, 10,000 queries, 136 features, labels 0-4, 5 folds (about 1.2 GB unpacked)",
        licence="Microsoft Research data licence (research use); cite arXiv:1306.2597",
        files=("mslr-web10k/Fold1/train.txt",),
        manual=f"download MSLR-WEB10K.zip from {_MSR_MSLR}",
        loader=_local_letor("mslr-web10k/Fold{fold}/{split}.txt", "mslr-web10k/MSLR-WEB10K/Fold{fold}/{split}.txt"),
    ),
    DatasetInfo(
        "mslr-web30k", "ranking", "manual", _FOLD_SPLITS,
        "MSLR-WEB30K: 3.8M rows, 31,531 queries, 136 features, labels 0-4, 5 folds (about 3.8 GB unpacked)",
        licence="Microsoft Research data licence (research use); cite arXiv:1306.2597",
        files=("mslr-web30k/Fold1/train.txt",),
        manual=f"download MSLR-WEB30K.zip from {_MSR_MSLR}",
        loader=_local_letor("mslr-web30k/Fold{fold}/{split}.txt", "mslr-web30k/MSLR-WEB30K/Fold{fold}/{split}.txt"),
    ),
    DatasetInfo(
        "yahoo-ltr", "ranking", "manual", (),
        "Yahoo! Learning to Rank Challenge C14 (set 1 train: 473k rows, 19,944 queries, 700 features); "
        "no loader: read its files with load_letor",
        licence="Yahoo Webscope licence: registration required, no redistribution",
        manual="request 'C14 - Yahoo! Learning to Rank Challenge' at https://webscope.sandbox.yahoo.com/",
    ),
    DatasetInfo(
        "istella", "ranking", "manual", (),
        "Istella LETOR (33,018 queries, 10.4M rows, 220 features); also Istella-S (3.4M rows); "
        "no loader: read its files with load_letor",
        licence="Istella licence: research use, registration required, no redistribution",
        manual="request it at https://istella.ai/datasets/letor-dataset/",
    ),
    DatasetInfo(
        "creditcard-fraud", "binary", "manual", _SPLITS3,
        "credit-card fraud (ULB, Dal Pozzolo et al. 2015): 284,807 rows, 30 features, 492 frauds (0.17%); "
        "rows split 60/20/20",
        licence="Open Database License (ODbL) 1.0, via Kaggle (login required)",
        files=("creditcard-fraud/creditcard.csv",),
        manual="download creditcard.csv from https://www.kaggle.com/datasets/mlg-ulb/creditcardfraud",
        loader=_local_csv("creditcard-fraud/creditcard.csv", label_col="Class", header=0),
    ),
]

#: The catalogue: name -> :class:`DatasetInfo` (how to load each set and, where public, where to download it).
DATASETS = {info.name: info for info in _CATALOGUE}


def list_datasets():
    """The named data sets, as :class:`DatasetInfo` (``.available`` tells whether a file-based one is present).

    >>> [d.name for d in list_datasets()][:3]
    ['synthetic-ranking', 'synthetic-imbalanced', 'breast_cancer']
    """
    return list(DATASETS.values())


def _info(name):
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    return DATASETS[name]


def load(name, split="train", **kwargs):
    """Load a named dataset split as ``(X, y, qid)`` (``qid`` is ``None`` unless it is a ranking set).

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.
    split : str
        One of the dataset's splits (``"train"``, ``"vali"``, ``"test"``; ``"all"`` for generated and
        scikit-learn sets, whose 60/20/20 splits are deterministic).
    **kwargs
        Passed to the loader: ``fold=`` for the LETOR/MSLR folds; generator arguments (``n_queries``, ``seed``,
        ...) for the synthetic sets; :func:`load_letor` arguments for LETOR files.

    >>> X, y, qid = load("breast_cancer", split="test")
    >>> X.shape, qid is None
    ((114, 30), True)
    """
    info = _info(name)
    if info.loader is None:
        raise ValueError(f"dataset {name!r} has no loader ({info.description}); read its files with load_letor")
    if split not in info.splits:
        raise ValueError(f"dataset {name!r} has splits {list(info.splits)}; got split={split!r}")
    return info.loader(split, **kwargs)


def fetch(name, cache_dir=None, *, force=False, progress=True, log=print):
    """Download (or reuse) every file of a catalogue data set into the cache, verifying each SHA-256.

    A file already in the cache is kept when its checksum matches (downloaded again with ``force``). Bytes go to
    ``FILE.part`` and are renamed into place only once verified.

    Parameters
    ----------
    name : str
        A :data:`DATASETS` name with ``source == "local"``.
    cache_dir : path-like, optional
        Default :func:`cache_dir` (which :func:`data_roots` searches, so :func:`load` then finds the files).
    force : bool
    progress : bool
        Show a progress bar (or log lines when not on a terminal) on stderr.
    log : callable
        Called with one line per file.

    Returns
    -------
    list of Path
        The files in the cache (empty for generated and scikit-learn sets, which need no download).

    Raises
    ------
    FetchError (a ValueError)
        For an unknown name, a set that must be downloaded by hand (the message says where) and a checksum
        mismatch (:class:`ChecksumError`, naming the file and both digests).
    OSError
        For network and file-system failures.
    """
    if name not in DATASETS:
        raise FetchError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    info = DATASETS[name]
    cache = Path(cache_dir) if cache_dir is not None else _default_cache()
    if info.manual:
        raise FetchError(
            f"{name} must be downloaded by hand ({info.licence}): {info.manual.replace('CACHE', str(cache))}; then "
            f"install the file with gbm_objectives.datasets.install_archive({name!r}, FILE) "
            f"(`python datasets/fetch.py {name} --archive FILE`)"
        )
    if not info.downloads:
        log(f"{name}: nothing to download ({info.source} data set)")
        return []
    paths = []
    for spec in info.downloads:
        dest = cache / spec.path
        if dest.is_file() and not force:
            try:
                _download.verify(dest, spec.sha256)
                log(f"{dest}: already present, checksum ok")
                paths.append(dest)
                continue
            except ChecksumError:
                log(f"{dest}: checksum mismatch, downloading again")
        _download.download(spec.url, dest, sha256=spec.sha256, progress=progress)
        log(f"{dest}: downloaded, checksum ok")
        if spec.unpack:
            _download.unpack(dest, dest.parent)
        paths.append(dest)
    return paths


def install_archive(name, archive, cache_dir=None, *, sha256=None, log=print):
    """Verify a hand-downloaded archive (when ``sha256`` is given) and unpack it into ``CACHE/<name>/``.

    A ``.csv``/``.txt`` file that is no archive is copied there as it is. Returns the written paths.
    """
    if name not in DATASETS:
        raise FetchError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    archive = Path(archive)
    if not archive.is_file():
        raise FetchError(f"archive: no such file {str(archive)!r}")
    if sha256 is not None:
        _download.verify(archive, sha256)
        log(f"{archive}: checksum ok")
    else:
        log(f"{archive}: sha256 {_download.sha256_file(archive)} (not verified: pass sha256 to check it)")
    info = DATASETS[name]
    folder = Path(info.files[0]).parts[0] if info.files else name
    target = (Path(cache_dir) if cache_dir is not None else _default_cache()) / folder
    try:
        written = _download.unpack(archive, target)
    except FetchError:
        if archive.suffix.lower() in (".csv", ".txt"):
            target.mkdir(parents=True, exist_ok=True)
            written = [Path(shutil.copy2(archive, target / archive.name))]
        else:
            raise
    log(f"unpacked {len(written)} file(s) into {target}")
    return written


_default_cache = cache_dir  # fetch() and install_archive() take a parameter named cache_dir
