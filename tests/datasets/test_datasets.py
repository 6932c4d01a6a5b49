"""Tests for gbm_objectives.datasets: the LETOR/SVMlight parser, tables, generators and named datasets."""

import gzip

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file

from gbm_objectives import datasets
from conftest import shared_dataset


def write(path, text):
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------------------------
# load_letor: agreement with scikit-learn's parser on real files
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parts",
    [
        ("letor4_mq2008", "Fold1", "vali.txt.gz"),
        ("lightgbm_lambdarank", "rank.test"),
        ("xgboost_agaricus", "agaricus.txt.test"),
        ("autoclaims", "autoclaims.test"),
    ],
    ids=lambda p: "/".join(p),
)
def test_load_letor_matches_sklearn_on_real_files(parts):
    path = shared_dataset(*parts)
    X, y, qid = datasets.load_letor(path)
    source = gzip.open(path) if path.suffix == ".gz" else str(path)
    Xs, ys, qs = load_svmlight_file(source, dtype=np.float32, query_id=True, n_features=X.shape[1])
    dense = X.toarray() if sp.issparse(X) else X
    # identical float32 values: both round the same decimal text to float64 then to float32
    np.testing.assert_array_equal(dense, Xs.toarray())
    np.testing.assert_array_equal(y, ys)
    if qs.size and qs.any():
        np.testing.assert_array_equal(qid, qs)


def test_mq2008_is_dense_and_lambdarank_is_sparse_with_query_sibling():
    X, y, qid = datasets.load_letor(shared_dataset("letor4_mq2008", "Fold1", "vali.txt.gz"))
    assert isinstance(X, np.ndarray) and X.dtype == np.float32 and X.shape == (2707, 46)
    assert len(np.unique(qid)) == 157  # PROVENANCE.md: Fold1 vali has 2,707 rows in 157 queries
    X, y, qid = datasets.load_letor(shared_dataset("lightgbm_lambdarank", "rank.test"))
    assert sp.issparse(X) and X.dtype == np.float32 and X.shape[0] == 768
    sizes = np.loadtxt(shared_dataset("lightgbm_lambdarank", "rank.test.query"), dtype=np.int64)
    np.testing.assert_array_equal(np.bincount(qid), sizes)


# ---------------------------------------------------------------------------------------------------------------
# load_letor: small handwritten files
# ---------------------------------------------------------------------------------------------------------------


def test_qid_column_comments_blank_lines_and_gzip(tmp_path):
    text = "# header comment\n2 qid:3 1:0.5 3:1e-2 # docid = a\n\n0 qid:3 2:-1.5\r\n1 qid:9 1:7\n"
    plain = write(tmp_path / "a.txt", text)
    gz = tmp_path / "a.txt.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    for path in (plain, gz):
        X, y, qid = datasets.load_letor(path, dense=True)
        np.testing.assert_array_equal(X, np.array([[0.5, 0, 0.01], [0, -1.5, 0], [7, 0, 0]], dtype=np.float32))
        np.testing.assert_array_equal(y, [2, 0, 1])
        np.testing.assert_array_equal(qid, [3, 3, 9])


def test_sibling_query_file_gives_qid(tmp_path):
    data = write(tmp_path / "r.train", "1 1:1\n0 1:2\n2 1:3\n0 2:1\n")
    write(tmp_path / "r.train.query", "3\n1\n")
    X, y, qid = datasets.load_letor(data)
    np.testing.assert_array_equal(qid, [0, 0, 0, 1])


def test_no_qid_and_no_group_file_gives_none(tmp_path):
    _, _, qid = datasets.load_letor(write(tmp_path / "b.svm", "1 1:1\n0 2:1\n"))
    assert qid is None


def test_chunked_parse_equals_single_chunk(tmp_path, rng):
    X0, y0, q0 = datasets.make_ranking(n_queries=30, docs_per_query=(2, 9), n_features=7, seed=1)
    lines = [
        f"{int(l)} qid:{q} " + " ".join(f"{j + 1}:{v:.6g}" for j, v in enumerate(row) if v > 0)
        for l, q, row in zip(y0, q0, X0)
    ]
    path = write(tmp_path / "g.txt", "\n".join(lines) + "\n")
    whole = datasets.load_letor(path, dense=True, n_features=7)
    seen = []
    parts = datasets.load_letor(path, dense=True, n_features=7, chunk_bytes=100, progress=seen.append)
    for a, b in zip(whole, parts):
        np.testing.assert_array_equal(a, b)
    assert len(seen) > 5 and seen[-1] == path.stat().st_size


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("1 qid:1 1:0.5\nx qid:1 1:2\n", 2, "label"),
        ("1 qid:1 1:0.5\n1 qid:1 1:abc\n", 2, "feature"),
        ("1 qid:1 1:0.5 1:0.7\n", 1, "strictly increasing"),
        ("1 qid:1 2:0.5 1:0.7\n", 1, "strictly increasing"),
        ("1 qid:a 1:0.5\n", 1, "qid"),
        ("1 qid:1 1:0.5\n0 1:0.2\n", 2, "qid"),
        ("1 qid:1 1:1\n1 qid:2 1:1\n1 qid:1 1:1\n", 3, "goes back to an earlier query"),
    ],
    ids=["label", "value", "duplicate", "unsorted", "qid", "mixed-qid", "qid-back"],
)
def test_bad_lines_name_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path / "bad.txt", text)
    with pytest.raises(ValueError, match=rf"bad\.txt:{line}: .*{words}"):
        datasets.load_letor(path)


def test_mismatched_query_file_names_file_and_line(tmp_path):
    data = write(tmp_path / "r.txt", "1 1:1\n0 1:2\n2 1:3\n")
    write(tmp_path / "r.txt.query", "2\n2\n")
    with pytest.raises(ValueError, match=r"r\.txt\.query:2: group sizes reach 4 rows .* only 3 rows"):
        datasets.load_letor(data)
    write(tmp_path / "r.txt.query", "2\n")
    with pytest.raises(ValueError, match=r"r\.txt\.query: group sizes sum to 2 but .*r\.txt has 3 rows"):
        datasets.load_letor(data)
    write(tmp_path / "r.txt.query", "2\n0\n1\n")
    with pytest.raises(ValueError, match=r"r\.txt\.query:2: group sizes must be positive"):
        datasets.load_letor(data)


def test_n_features_widens_and_rejects_out_of_range(tmp_path):
    path = write(tmp_path / "w.txt", "1 1:1 2:2\n0 1:3 2:4\n")
    X, _, _ = datasets.load_letor(path, n_features=4)
    assert X.shape == (2, 4) and not X[:, 2:].any()
    with pytest.raises(ValueError, match=r"w\.txt:1: feature index 2 is beyond n_features=1"):
        datasets.load_letor(path, n_features=1)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no such file"):
        datasets.load_letor("does/not/exist.txt")


# ---------------------------------------------------------------------------------------------------------------
# generators
# ---------------------------------------------------------------------------------------------------------------


def test_make_ranking_shape_and_histogram():
    X, y, qid = datasets.make_ranking(n_queries=200, docs_per_query=(20, 250), n_features=136, seed=0)
    sizes = np.bincount(qid)
    assert len(sizes) == 200 and sizes.min() >= 20 and sizes.max() <= 250
    assert X.dtype == np.float32 and X.shape == (len(y), 136)
    assert np.all(np.diff(qid) >= 0)
    # labels are cut at global quantiles of the latent score: the shares are the MSLR-like ones up to rounding
    shares = np.bincount(y.astype(int), minlength=5) / len(y)
    np.testing.assert_allclose(shares, [0.52, 0.32, 0.13, 0.02, 0.01], atol=2 / len(y))


def test_make_ranking_is_seeded():
    a = datasets.make_ranking(n_queries=5, docs_per_query=10, n_features=4, seed=3)
    b = datasets.make_ranking(n_queries=5, docs_per_query=10, n_features=4, seed=3)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_make_ranking_labels_carry_signal():
    # within queries, the noiseless latent score is a linear+nonlinear function of the features; a linear fit on the
    # features must already beat a random ranking clearly (a GBM does better, see scripts/train_ranker.py)
    X, y, qid = datasets.make_ranking(n_queries=100, docs_per_query=(20, 40), n_features=20, seed=0)
    coef, *_ = np.linalg.lstsq(np.c_[X, np.ones(len(y))], y, rcond=None)
    s = np.c_[X, np.ones(len(y))] @ coef
    assert np.corrcoef(s, y)[0, 1] > 0.5


def test_make_imbalanced_exact_rate_and_signal():
    X, y = datasets.make_imbalanced(n_samples=20000, positive_rate=0.01, seed=0)
    assert X.dtype == np.float32 and int(y.sum()) == 200
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    # the latent logit has a linear and a quadratic part: a linear model finds a clear signal (AUC well above the
    # 0.5 of chance), and adding the squared features, which contain the quadratic part, does better still
    def auc(features):
        model = LogisticRegression(max_iter=1000).fit(features[:10000], y[:10000])
        return roc_auc_score(y[10000:], model.decision_function(features[10000:]))

    auc_linear, auc_squares = auc(X), auc(np.c_[X, X**2])
    assert 0.7 < auc_linear < auc_squares


@pytest.mark.parametrize("rate", [0.0, 1.0, 1e-6])
def test_make_imbalanced_rejects_degenerate_rates(rate):
    with pytest.raises(ValueError, match="positive_rate"):
        datasets.make_imbalanced(n_samples=100, positive_rate=rate)


# ---------------------------------------------------------------------------------------------------------------
# load_table, data_format, named datasets
# ---------------------------------------------------------------------------------------------------------------


def test_load_table_csv_with_string_group_and_parquet(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"a": [1.5, 2.0, 3.0, 4.0], "rel": [2, 0, 1, 0], "b": [0, 1, 0, 1],
                          "query": ["q9", "q9", "q3", "q3"]})
    csv, parquet = tmp_path / "t.csv", tmp_path / "t.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet)
    for path in (csv, parquet):
        table = datasets.load_table(path, label="rel", group="query")
        X, y, qid = table
        assert X.dtype == np.float32 and table.feature_names == ["a", "b"]
        np.testing.assert_array_equal(X, [[1.5, 0], [2, 1], [3, 0], [4, 1]])
        np.testing.assert_array_equal(y, [2, 0, 1, 0])
        np.testing.assert_array_equal(qid, [0, 0, 1, 1])  # numbered in order of appearance
    # without label=, a column named label / y / target / relevance is used; no group means qid None
    frame.rename(columns={"rel": "target"}).drop(columns="query").to_csv(csv, index=False)
    X, y, qid = datasets.load_table(csv)
    assert X.shape == (4, 2) and qid is None


@pytest.mark.parametrize(
    "text, kwargs, match",
    [
        ("a,b\n1,2\n", {"label": "y"}, r"t\.csv:1: missing label column 'y'"),
        ("a,b\n1,2\n", {}, r"t\.csv:1: no label column"),
        ("a,y\n1,2\n3,x\n", {}, r"t\.csv:3: label 'y' is not a number: 'x'"),
        ("a,y\n1,2\n3,\n", {}, r"t\.csv:3: label 'y' is missing"),
        ("a,y,g\n1,1,q1\n2,0,q2\n3,1,q1\n", {"group": "g"}, r"t\.csv:4: group 'q1' goes back to an earlier query"),
        ("a,y\nu,1\n", {}, r"t\.csv:1: feature column 'a' is not numeric"),
    ],
    ids=["missing-label", "no-label", "bad-label", "empty-label", "group-back", "text-feature"],
)
def test_load_table_errors_name_file_and_line(tmp_path, text, kwargs, match):
    path = write(tmp_path / "t.csv", text)
    with pytest.raises(ValueError, match=match):
        datasets.load_table(path, **kwargs)


def test_data_format_by_extension():
    assert [datasets.data_format(p) for p in ("a.svm", "b.letor.gz", "rank.train", "c.tsv", "d.pq")] == [
        "letor", "letor", "letor", "csv", "parquet"]
    with pytest.raises(ValueError, match="cannot tell the format of 'x.json'"):
        datasets.data_format("x.json")


def test_named_datasets():
    names = [d.name for d in datasets.list_datasets()]
    assert {"synthetic-ranking", "synthetic-imbalanced", "breast_cancer", "mq2008"} <= set(names)
    X, y, qid = datasets.load("synthetic-ranking", "vali", n_queries=50)
    assert qid is not None and len(np.unique(qid)) == 10  # queries 30..39 of 50: the 60/20/20 split by query
    parts = [datasets.load("breast_cancer", s)[1] for s in ("train", "vali", "test")]
    assert sum(len(p) for p in parts) == 569
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        datasets.load("nope")
    with pytest.raises(ValueError, match="has splits"):
        datasets.load("mq2008", split="all")


def test_named_local_dataset_reads_the_shared_copy():
    shared_dataset("letor4_mq2008", "Fold2", "test.txt.gz")
    X, y, qid = datasets.load("mq2008", split="test", fold=2)
    # PROVENANCE.md: Fold2 test has 2,933 rows in 157 queries, labels 2316:427:190
    assert X.shape == (2933, 46) and len(np.unique(qid)) == 157
    np.testing.assert_array_equal(np.bincount(y.astype(int)), [2316, 427, 190])


# ---------------------------------------------------------------------------------------------------------------
# load_letor: how the indices were read, byte order marks, bad labels, truncated gzip, files without features
# ---------------------------------------------------------------------------------------------------------------


def test_zero_based_is_recorded_and_passed_to_later_files(tmp_path):
    # a zero-based training file, and a test file of the same data in which feature 0 never occurs
    train = datasets.load_letor(write(tmp_path / "train.txt", "1 qid:1 0:5 1:1 2:2\n0 qid:1 0:6 2:3\n"))
    assert train.zero_based is True and train.n_features == 3
    X, y, qid = train  # still unpacks as (X, y, qid)
    np.testing.assert_array_equal(X, [[5, 1, 2], [6, 0, 3]])
    test_path = write(tmp_path / "test.txt", "1 qid:2 1:7 2:8\n")
    # re-detected, the test file is read one-based: its columns shift by one (the bug passing zero_based fixes)
    assert datasets.load_letor(test_path).zero_based is False
    test = datasets.load_letor(test_path, zero_based=train.zero_based, n_features=train.n_features)
    np.testing.assert_array_equal(test[0], [[0, 7, 8]])
    assert test.zero_based is True


def test_index_zero_in_a_file_read_one_based_names_file_and_line(tmp_path):
    train = datasets.load_letor(write(tmp_path / "train.txt", "1 qid:1 1:1 2:2\n"))
    assert train.zero_based is False
    path = write(tmp_path / "test.txt", "1 qid:1 1:1\n0 qid:1 0:3 2:1\n")
    with pytest.raises(ValueError, match=r"test\.txt:2: feature index 0 in a file read with zero_based=False"):
        datasets.load_letor(path, zero_based=train.zero_based)


def test_utf8_byte_order_mark_is_skipped(tmp_path):
    text = "2 qid:3 1:0.5 2:1\n0 qid:3 2:-1.5\n"
    want = datasets.load_letor(write(tmp_path / "plain.txt", text))
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    gz = tmp_path / "bom.txt.gz"
    gz.write_bytes(gzip.compress(b"\xef\xbb\xbf" + text.encode()))
    for path in (bom, gz):
        for chunk_bytes in (1, 2, 5, 1 << 20):  # the mark split across reads, too
            got = datasets.load_letor(path, chunk_bytes=chunk_bytes)
            for a, b in zip(want, got):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("label", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_labels_name_file_and_line(tmp_path, label):
    path = write(tmp_path / "lab.txt", f"1 qid:1 1:1\n{label} qid:1 1:2\n")
    with pytest.raises(ValueError, match=rf"lab\.txt:2: the label must be a finite number; got -?(nan|inf)"):
        datasets.load_letor(path)


def test_truncated_gzip_names_file(tmp_path):
    lines = "".join(f"{i % 3} qid:{i // 10} 1:{i} 2:{i * 0.5}\n" for i in range(5000))
    data = gzip.compress(lines.encode())
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.txt\.gz:\d+: the gzip stream is truncated or corrupt after line \d+"):
        datasets.load_letor(path, chunk_bytes=4096)
    bad = tmp_path / "corrupt.txt.gz"
    bad.write_bytes(data[:20] + bytes(200) + data[220:])
    with pytest.raises(ValueError, match=r"corrupt\.txt\.gz:\d+: the gzip stream is truncated or corrupt"):
        datasets.load_letor(bad)


def test_file_without_features_names_file(tmp_path):
    path = write(tmp_path / "nofeat.txt", "# comment\n1 qid:1\n0 qid:1 # x\n")
    with pytest.raises(ValueError, match=r"nofeat\.txt:2: no feature on any line"):
        datasets.load_letor(path)


@pytest.mark.parametrize(
    "text, match",
    [
        ("a,y\n1,2\n3,inf\n", r"t\.csv:3: label 'y' must be a finite number; got inf"),
        ("y\n1\n2\n", r"t\.csv:1: no feature columns"),
    ],
    ids=["inf-label", "no-features"],
)
def test_load_table_more_errors(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        datasets.load_table(write(tmp_path / "t.csv", text))


def test_load_table_truncated_gzip_names_file(tmp_path):
    data = gzip.compress(("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(5000))).encode())
    path = tmp_path / "t.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"t\.csv\.gz: cannot read as csv"):
        datasets.load_table(path)


def test_data_roots_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GBM_OBJECTIVES_DATA", f"{tmp_path / 'a'}{__import__('os').pathsep}{tmp_path / 'b'}")
    monkeypatch.setenv("GBM_OBJECTIVES_CACHE", str(tmp_path / "cache"))
    assert datasets.data_roots() == [tmp_path / "a", tmp_path / "b", tmp_path / "cache"]
    monkeypatch.delenv("GBM_OBJECTIVES_DATA")
    assert datasets.data_roots() == [tmp_path / "cache"]  # nothing wired to the source checkout
    assert not datasets.DATASETS["mq2008"].available
    with pytest.raises(FileNotFoundError, match="GBM_OBJECTIVES_DATA"):
        datasets.load("mq2008", "train")
