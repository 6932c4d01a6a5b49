"""Hostile layouts for gbm_objectives.dask on one real LocalCluster (2 worker processes, 1 thread each), no mocks
of Dask or the engines: empty partitions (zero-length chunks, a filtered DataFrame, empty Parquet files), a
training set or evaluation set without any row, and ``gbm-objectives train --dask`` being quiet by default.

Empty partitions are legal in Dask; ``god.train`` and ``god.evaluate`` drop them, so every result is compared
*exactly* (``assert_array_equal``, ``==``) with the same call on the same partitions without the empty ones: the
engines then see the same partitions on the same workers. The features sit on 8 quantile levels (as in
``tests/dask/test_dask.py``): every level occurs on every worker, so LightGBM's distributed bins do not depend on
which worker gets which rank, and with two machines the histogram sums are the same two terms in either order.
"""

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.datasets import make_ranking

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (extra 'dask')")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
god = pytest.importorskip("gbm_objectives.dask")

BACKENDS = ["lightgbm", "xgboost"]
ROOT = Path(__file__).resolve().parents[2]


def _ranking_data(n_queries=60, seed=0):
    X, y, q = make_ranking(n_queries=n_queries, docs_per_query=(5, 20), n_features=6, seed=seed)
    edges = np.quantile(X, np.linspace(0, 1, 9)[1:-1], axis=0)
    X = np.stack([np.searchsorted(edges[:, j], X[:, j]) for j in range(X.shape[1])], axis=1).astype(np.float64)
    return X, y.astype(np.float64), q.astype(np.int64)


def _chunked(a, sizes):
    return da.from_array(a, chunks=(tuple(sizes),) + (((a.shape[1],),) if a.ndim == 2 else ()))


# ---- zero-length chunks: the same model, scores and evaluation as without them -------------------------------------
@pytest.mark.parametrize("queries", ["pointwise", "qid", "group"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_length_chunks_train_exactly_as_without_them(client, backend, queries):
    """3 of 5 chunks empty (first, middle, last) against the two non-empty chunks alone: lightgbm.dask failed
    inside the workers ("Sum of query counts differs from the length of #data")."""
    X, y, q = _ranking_data()
    if queries == "pointwise":
        y = (y > 0).astype(np.float64)
    n, a = len(y), int(np.searchsorted(q, 30))  # a query boundary
    with_empty, without = (0, a, 0, n - a, 0), (a, n - a)
    sizes = [np.bincount(q[:a] - q[0]), np.bincount(q[a:] - q[a])]

    def fit(chunks):
        kw = {}
        if queries == "qid":
            kw = dict(qid=_chunked(q, chunks), eval_qid=[_chunked(q, chunks)])
        elif queries == "group":
            parts = iter(sizes)
            kw = dict(group=[next(parts) if c else np.zeros(0, dtype=np.int64) for c in chunks],
                      eval_qid=[_chunked(q, chunks)])
        objective = "logloss" if queries == "pointwise" else "lambdarank"
        Xd, yd = _chunked(X, chunks), _chunked(y, chunks)
        return god.train(client, objective, Xd, yd, backend=backend, num_boost_round=6, eval_set=[(Xd, yd)],
                         **kw), Xd

    res_e, Xe = fit(with_empty)
    res_n, _ = fit(without)
    assert np.array_equal(np.asarray(res_e.init_score), np.asarray(res_n.init_score))
    np.testing.assert_array_equal(res_e.predict_raw(X), res_n.predict_raw(X))
    assert res_e.evals_result == res_n.evals_result and len(res_e.evals_result["valid_0"]) >= 1
    scores = res_e.predict_raw(Xe)  # prediction on the cluster, empty chunks included
    assert scores.chunks == (with_empty,)
    np.testing.assert_array_equal(scores.compute(), res_n.predict_raw(X))


def _filtered_frame(client):
    """A DataFrame of whole queries in 5 partitions (persisted), then a filter that empties partitions 0, 2, 4."""
    X, y, q = _ranking_data(seed=1)
    features = [f"f{j}" for j in range(X.shape[1])]
    df = pd.DataFrame(X, columns=features).assign(label=y, qid=q)
    ddf = client.persist(god.partition_by_query(dd.from_pandas(df, npartitions=5), qid="qid"))
    ids = [np.unique(p["qid"].to_numpy()) for p in (ddf.partitions[i].compute() for i in range(5))]
    assert all(len(i) for i in ids)
    drop = np.concatenate([ids[0], ids[2], ids[4]])
    filtered = ddf[~ddf["qid"].isin(drop.tolist())]
    lengths = filtered.map_partitions(len).compute().tolist()
    assert [i for i, n in enumerate(lengths) if n == 0] == [0, 2, 4]
    return filtered, filtered.partitions[[1, 3]], features, df[~df["qid"].isin(drop)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_dataframe_with_empty_partitions_after_a_filter(client, backend):
    filtered, compact, features, local = _filtered_frame(client)

    def fit(ddf):
        return god.train(client, "lambdarank", ddf[features], ddf["label"], qid=ddf["qid"], backend=backend,
                         num_boost_round=6, eval_set=[(ddf[features], ddf["label"])], eval_qid=[ddf["qid"]],
                         metric=["ndcg@10", "map"])

    res_f, res_c = fit(filtered), fit(compact)
    X = local[features].to_numpy()
    np.testing.assert_array_equal(res_f.predict_raw(X), res_c.predict_raw(X))
    assert res_f.evals_result == res_c.evals_result
    s_f = res_f.predict_raw(filtered[features])  # a Dask Series with the empty partitions
    assert s_f.npartitions == 5
    np.testing.assert_array_equal(s_f.compute().to_numpy(), res_c.predict_raw(X))
    names = ["ndcg@10", "map", "auc", "global_auc"]
    got = god.evaluate(filtered["label"], s_f, qid=filtered["qid"], metrics=names)
    assert got == god.evaluate(compact["label"], res_c.predict_raw(compact[features]), qid=compact["qid"],
                               metrics=names)
    # and the single-machine value (the order of the final sums differs: 1e-12, as in test_dask.py)
    want = go.evaluate(local["label"].to_numpy(), res_c.predict_raw(X), qid=local["qid"].to_numpy(),
                       metrics=names[:3])
    for name in names[:3]:
        assert got[name] == pytest.approx(want[name], abs=1e-12)
    assert got["ndcg@10"] == pytest.approx(res_f.evals_result["valid_0"]["ndcg@10"][-1], abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_evaluate_skips_zero_length_chunks(client, weighted):
    rng = np.random.default_rng(4)
    X, y, q = _ranking_data(seed=2)
    s = np.round(rng.normal(size=len(y)), 1)  # ties
    w = np.repeat(rng.random(q.max() + 1) + 0.5, np.bincount(q))
    a = int(np.searchsorted(q, 25))
    with_empty, without = (0, 0, a, 0, len(y) - a), (a, len(y) - a)
    names = ["ndcg@10", "mrr", "map", "auc", "global_auc"]

    def run(chunks):
        return god.evaluate(_chunked(y, chunks), _chunked(s, chunks), qid=_chunked(q, chunks), metrics=names,
                            sample_weight=_chunked(w, chunks) if weighted else None)

    assert run(with_empty) == run(without)


# ---- nothing to train on: one ValueError, before the engine is reached --------------------------------------------
@pytest.fixture
def engines_must_not_train(monkeypatch):
    from gbm_objectives.adapters import get_backend

    def tripwire(*args, **kwargs):
        raise AssertionError("the engine was asked to train")

    for backend in BACKENDS:
        monkeypatch.setattr(get_backend(backend, dask=True), "train", tripwire)


@pytest.mark.parametrize("layout", ["arrays", "frame"])
@pytest.mark.parametrize("objective", ["logloss", "lambdarank"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_all_partitions_empty_is_one_error_before_training(client, engines_must_not_train, backend, objective,
                                                           layout):
    X, y, q = _ranking_data(n_queries=10)
    y = (y > 0).astype(np.float64)
    if layout == "arrays":
        Xd, yd, qd = _chunked(X[:0], (0, 0, 0)), _chunked(y[:0], (0, 0, 0)), _chunked(q[:0], (0, 0, 0))
        parts = 3
    else:
        df = pd.DataFrame(X, columns=[f"f{j}" for j in range(6)]).assign(label=y, qid=q)
        ddf = dd.from_pandas(df, npartitions=4)
        ddf = ddf[ddf["qid"] < 0]  # nothing left
        Xd, yd, qd = ddf[[f"f{j}" for j in range(6)]], ddf["label"], ddf["qid"]
        parts = ddf.npartitions
    kw = {"qid": qd} if objective == "lambdarank" else {}
    with pytest.raises(ValueError, match=rf"^training set: no rows \(every one of its {parts} partition\(s\) is "
                                         r"empty\)$"):
        god.train(client, objective, Xd, yd, backend=backend, num_boost_round=2, **kw)


def test_an_evaluation_set_without_rows_is_refused_before_training(client, engines_must_not_train):
    X, y, _ = _ranking_data(n_queries=10)
    y = (y > 0).astype(np.float64)
    Xd, yd = _chunked(X, (len(y),)), _chunked(y, (len(y),))
    empty = (_chunked(X[:0], (0, 0)), _chunked(y[:0], (0, 0)))
    with pytest.raises(ValueError, match=r"^eval_set\[0\]: no rows \(every one of its 2 partition\(s\) is empty\)$"):
        god.train(client, "logloss", Xd, yd, num_boost_round=2, eval_set=[empty])


@pytest.mark.parametrize("metrics", [["ndcg@10"], ["global_auc"], ["map", "global_auc"]])
def test_evaluate_without_rows_says_so(client, metrics):
    empty = _chunked(np.zeros(0), (0, 0, 0))
    with pytest.raises(ValueError, match=r"^evaluate: y_true is empty \(all 3 partitions have 0 rows\): a metric "
                                         r"needs at least one row$"):
        god.evaluate(empty, empty, qid=empty, metrics=metrics)


# ---- gbm-objectives train --dask on a folder with empty Parquet files ----------------------------------------------
def _parquet_folder(tmp_path, name, pieces):
    folder = tmp_path / name
    folder.mkdir()
    for i, piece in enumerate(pieces):
        piece.to_parquet(folder / f"part{i}.parquet", index=False)
    return folder


@pytest.fixture
def cli_on_module_cluster(client, monkeypatch):
    """``main`` with ``--dask tcp://module-cluster`` served by the module's LocalCluster (no cluster per test)."""
    from gbm_objectives.cli import main

    calls = []

    @contextmanager
    def module_client(address, **kwargs):
        calls.append(address)
        yield client

    monkeypatch.setattr(god, "connect", module_client)

    def run(*argv):
        return main(["train", "--dask", "tcp://module-cluster", "--quiet", "--threads", "1", "--rounds", "6",
                     "--num-leaves", "7", *argv])

    run.calls = calls
    return run


def _frame(seed=0):
    X, y, q = _ranking_data(n_queries=40, seed=seed)
    return pd.DataFrame(X.astype(np.float32), columns=[f"f{j}" for j in range(6)]).assign(label=y, qid=q)


def test_cli_dask_folder_with_empty_parquet_files_pointwise(cli_on_module_cluster, tmp_path):
    """3 empty files of 5: the same model and training metrics as the folder of the 2 non-empty files (the files
    are the partitions), and the training split's rmse is the saved model's on the rows."""
    df = _frame().drop(columns="qid")
    a = len(df) // 2
    empty = df.iloc[:0]
    with_empty = _parquet_folder(tmp_path, "with", [empty, df.iloc[:a], empty, df.iloc[a:], empty])
    without = _parquet_folder(tmp_path, "without", [df.iloc[:a], df.iloc[a:]])
    for folder, out in ((with_empty, "o_with"), (without, "o_without")):
        assert cli_on_module_cluster("--train", str(folder), "--label", "label", "--objective", "squared_error",
                                     "--metric", "rmse", "--out", str(tmp_path / out)) == 0
    X = df[[f"f{j}" for j in range(6)]].to_numpy()
    raw_with = go.load_model(tmp_path / "o_with" / "model").predict_raw(X)
    np.testing.assert_array_equal(raw_with, go.load_model(tmp_path / "o_without" / "model").predict_raw(X))
    m_with = json.loads((tmp_path / "o_with" / "metrics.json").read_text())
    m_without = json.loads((tmp_path / "o_without" / "metrics.json").read_text())
    assert m_with["final"]["train"] == m_without["final"]["train"]
    rmse = float(np.sqrt(np.mean((df["label"].to_numpy() - raw_with) ** 2)))
    assert m_with["final"]["train"]["rmse"] == pytest.approx(rmse, rel=1e-12)


def test_cli_dask_folder_with_empty_parquet_files_ranking(cli_on_module_cluster, tmp_path):
    df = _frame(seed=3)
    a = int(np.searchsorted(df["qid"].to_numpy(), 20))
    empty = df.iloc[:0]
    folder = _parquet_folder(tmp_path, "with", [empty, df.iloc[:a], empty, df.iloc[a:], empty])
    assert cli_on_module_cluster("--train", str(folder), "--label", "label", "--group", "qid", "--objective",
                                 "lambdarank", "--out", str(tmp_path / "o")) == 0
    raw = go.load_model(tmp_path / "o" / "model").predict_raw(df[[f"f{j}" for j in range(6)]].to_numpy())
    want = go.evaluate(df["label"].to_numpy(), raw, qid=df["qid"].to_numpy(), metrics=["ndcg@10"])["ndcg@10"]
    summary = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert summary["final"]["train"]["ndcg@10"] == pytest.approx(want, abs=1e-12)


def test_cli_dask_folder_of_empty_parquet_files_exits_2_before_any_cluster(cli_on_module_cluster, tmp_path, capsys):
    empty = _frame().iloc[:0]
    folder = _parquet_folder(tmp_path, "empty", [empty, empty, empty])
    assert cli_on_module_cluster("--train", str(folder), "--label", "label", "--group", "qid", "--objective",
                                 "lambdarank", "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert err == f"error: --train: {folder}: no rows (every Parquet file is empty); nothing to train on\n"
    assert cli_on_module_cluster.calls == [] and not (tmp_path / "o").exists()


def test_cli_dask_refuses_a_position_column(cli_on_module_cluster, tmp_path, capsys):
    """read_files would have taken the column for a feature."""
    df = _frame().assign(pos=0)
    folder = _parquet_folder(tmp_path, "p", [df])
    assert cli_on_module_cluster("--train", str(folder), "--label", "label", "--group", "qid", "--position", "pos",
                                 "--objective", "lambdarank", "--out", str(tmp_path / "o")) == 2
    assert capsys.readouterr().err == ("error: --position: not available with --dask (position debiasing trains on "
                                       "one machine)\n")
    assert cli_on_module_cluster.calls == []


# ---- train --dask is quiet by default; --verbose shows the logs ------------------------------------------------------
def _run_cli_dask(tmp_path, backend, *extra):
    df = _frame()
    a = int(np.searchsorted(df["qid"].to_numpy(), 20))
    folder = _parquet_folder(tmp_path, "data", [df.iloc[:a], df.iloc[a:]])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "gbm_objectives.cli", "train", "--dask", "local:2", "--train", str(folder),
           "--label", "label", "--group", "qid", "--objective", "lambdarank", "--rounds", "2", "--backend", backend,
           "--threads", "1", "--out", str(tmp_path / "o"), *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_train_dask_is_quiet_by_default(tmp_path, backend):
    """No ``distributed.`` records, no engine lines (``[LightGBM] [Info]``, XGBoost's ``got rank``), no Python
    warnings: stderr holds the CLI's own log lines only, stdout the table."""
    out = _run_cli_dask(tmp_path, backend)
    err = out.stderr.splitlines()
    assert not [line for line in err if "distributed." in line], out.stderr
    assert not [line for line in err + out.stdout.splitlines() if "[LightGBM]" in line or "got rank" in line
                or "Finding random open ports" in line or "Warning" in line], out.stdout + out.stderr
    assert err[0].startswith("training lambdarank on") and err[-1].startswith("wrote ")
    assert all(line.startswith(("training ", "trained ", "wrote ")) for line in err), out.stderr
    assert out.stdout.splitlines()[0].split()[:2] == ["split", "ndcg@10"]


@pytest.mark.slow
def test_cli_train_dask_verbose_shows_the_logs(tmp_path):
    out = _run_cli_dask(tmp_path, "lightgbm", "--verbose")
    assert any("distributed." in line for line in out.stderr.splitlines()), out.stderr
    assert "[LightGBM]" in out.stdout + out.stderr
