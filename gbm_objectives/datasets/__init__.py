"""Data: LETOR/SVMlight files, CSV/Parquet tables, TREC runs and qrels, generators, the click simulator and the
catalogue of named public datasets.

Every loader returns ``(X, y, qid)``: ``X`` is a float32 array (or a SciPy CSR matrix when the data is sparse),
``y`` a float64 array of labels and ``qid`` an int64 array of per-row query ids whose rows are contiguous, or
``None`` for data without queries. Bad files raise ``ValueError`` naming the file and the line.

Modules: :mod:`.letor` (``load_letor``, with the compiled scanner :mod:`._letor_scanner`), :mod:`.tables`
(``load_table``), :mod:`.trec` (``read_run``, ``read_qrels``), :mod:`.synthetic` (``make_ranking``,
``make_imbalanced``), :mod:`.clicks` (``simulate_clicks``), :mod:`.catalogue` (``DATASETS``, ``load``, ``fetch``)
and :mod:`._download` (checksum-verified downloads).

>>> from gbm_objectives import datasets
>>> sorted(datasets.DATASETS)[:3]
['agaricus', 'autoclaims', 'breast_cancer']
"""

from __future__ import annotations

from ._download import ChecksumError, FetchError
from .catalogue import DATASETS, DatasetInfo, DownloadFile, cache_dir, data_roots, fetch, install_archive, list_datasets, load
from .clicks import ClickLog, aggregate_clicks, simulate_clicks
from .letor import LetorData, load_letor, read_position_file
from .synthetic import make_imbalanced, make_ranking
from .tables import LABEL_CANDIDATES, data_format, load_table
from .trec import read_qrels, read_run

__all__ = [
    "simulate_clicks",
    "ClickLog",
    "aggregate_clicks",
    "load_letor",
    "LetorData",
    "read_position_file",
    "load_table",
    "data_format",
    "LABEL_CANDIDATES",
    "read_qrels",
    "read_run",
    "make_ranking",
    "make_imbalanced",
    "list_datasets",
    "load",
    "DATASETS",
    "DatasetInfo",
    "DownloadFile",
    "data_roots",
    "cache_dir",
    "fetch",
    "install_archive",
    "FetchError",
    "ChecksumError",
]
