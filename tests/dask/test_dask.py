"""gbm_objectives.dask on a real LocalCluster (2 worker processes, 1 thread each), no mocks.

The init-score math is also checked without Dask (``gbm_objectives.dask._sums`` on NumPy partitions), for every
registered pointwise objective, against ``objective.init_score`` on the concatenated labels.
"""

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives.datasets import make_imbalanced, make_ranking
from gbm_objectives.objectives import OBJECTIVES

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (extra 'dask')")
da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")
god = pytest.importorskip("gbm_objectives.dask")
P = pytest.importorskip("gbm_objectives.dask._sums")

POINTWISE = sorted(name for name, cls in OBJECTIVES.items() if cls.task != "ranking")


def _objective(name):
    cls = OBJECTIVES[name]
    return cls(n_classes=3) if cls.task == "multiclass" else cls()


def _labels(obj, n, rng, continuous):
    if obj.task == "multiclass":
        return rng.integers(0, 3, n)
    if obj.task == "binary":
        return (rng.random(n) < 0.3).astype(float)
    return rng.normal(2.0, 3.0, n) if continuous else np.round(rng.normal(2.0, 3.0, n))


@pytest.mark.parametrize("continuous", [False, True], ids=["table", "solve"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", POINTWISE)
def test_init_score_from_partition_sums_equals_single_machine(name, weighted, continuous):
    rng = np.random.default_rng(0)
    obj = _objective(name)
    y = _labels(obj, 5000, rng, continuous)
    w = rng.random(len(y)) + 0.5 if weighted else None
    cuts = [0, 700, 701, 3100, 5000]  # uneven partitions, one with a single row
    parts = [(y[a:b], None if w is None else w[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    expected = obj.init_score(y, sample_weight=w)
    got = P.init_score(obj, lambda fn: [fn(yp, wp) for yp, wp in parts])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_quantile_search_is_the_weighted_quantile_on_ties_and_extremes():
    rng = np.random.default_rng(1)
    for alpha in (0.01, 0.5, 0.9, 0.999):
        obj = go.QuantileLoss(alpha)
        y = np.concatenate([rng.standard_cauchy(3000), np.full(500, 1.25), [-1e300, 1e300]])
        parts = np.array_split(y, 3)
        got = P.solve_quantile(obj, lambda fn: [fn(p, None) for p in parts])
        assert got == obj.init_score(y)


# ---- on the cluster ------------------------------------------------------------------------------------------------
def _binary_data(n=4000):
    X, y = make_imbalanced(n_samples=n, positive_rate=0.2, seed=0)
    # 8 quantile levels per feature: every feature has the same few values on every worker, so LightGBM's bins do not depend
    # on which worker gets which rank (lightgbm.dask assigns ranks in an order that changes between calls)
    edges = np.quantile(X, np.linspace(0, 1, 9)[1:-1], axis=0)
    X = np.stack([np.searchsorted(edges[:, j], X[:, j]) for j in range(X.shape[1])], axis=1).astype(np.float64)
    return X, y.astype(np.float64)


def test_init_score_on_the_cluster_equals_single_machine(client):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 3))
    for obj, y in [(go.QuantileLoss(0.3), rng.normal(size=3000)), (go.HuberLoss(2.0), rng.normal(size=3000)),
                   (go.SoftmaxFocalLoss(n_classes=3), rng.integers(0, 3, 3000).astype(float))]:
        res = god.train(client, obj, da.from_array(X, chunks=(800, -1)), da.from_array(y, chunks=800),
                        num_boost_round=1)
        np.testing.assert_allclose(res.init_score, obj.init_score(y), rtol=0, atol=1e-9)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_pointwise_parity_with_the_engines_dask_builtins(client, backend):
    X, y = _binary_data()
    Xd, yd = da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000)
    wce = go.WeightedCrossEntropy(3.0)
    # LightGBM's binary starts from the plain mean (boost_from_average ignores scale_pos_weight): ours starts there
    # too; XGBoost: both sides from our start (base_margin), as in tests/adapters/test_adapters.py
    start = go.LogLoss().init_score(y) if backend == "lightgbm" else wce.init_score(y)
    native_start = None if backend == "lightgbm" else start
    cases = [("logloss", "logloss:native", "auto", None), ("squared_error", "squared_error:native", "auto", None),
             (wce, go.NativeObjective(wce), start, native_start)]
    for ours, native, init, init_native in cases:
        a = god.train(client, ours, Xd, yd, backend=backend, num_boost_round=20, init_score=init)
        b = god.train(client, native, Xd, yd, backend=backend, num_boost_round=20, init_score=init_native)
        diff = np.abs(a.predict_raw(X) - b.predict_raw(X)).max()
        assert diff <= 1e-6, (ours, diff)


def _ranking_frame(n_queries=120, seed=0):
    X, y, q = make_ranking(n_queries=n_queries, docs_per_query=(5, 30), n_features=10, seed=seed)
    group = np.bincount(q)
    qid = q * 7 + 3
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df["label"], df["qid"] = y, qid
    return df, X, y, group


def test_float32_features_stay_float32_and_train_as_locally(client):
    """float32 features reach the engine as they are (half the memory on the workers); with one partition (one
    LightGBM machine) the trees equal a local run on the same array bit for bit."""
    _, X, y, group = _ranking_frame()
    assert X.dtype == np.float32
    Xd, yd = da.from_array(X, chunks=(len(X), -1)), da.from_array(y, chunks=len(y))
    data = god._Data(client, Xd, yd, group=[group])
    assert data.X.dtype == np.float32 and data.X.compute().dtype == np.float32
    assert god._Data(client, Xd.astype(np.float64), yd, group=[group]).X.compute().dtype == np.float64
    res = god.train(client, "lambdarank", Xd, yd, group=[group], num_boost_round=5)
    local = go.train("lambdarank", X, y, group=group, num_boost_round=5, n_jobs=1)
    np.testing.assert_array_equal(res.predict_raw(X), local.predict_raw(X))


def test_columns_of_one_parquet_frame_keep_their_partitions_together(client, tmp_path):
    """Dask fuses the files of a narrow column selection (the label) into fewer partitions than a wide one (the
    features); train and evaluate read X, y and qid as one frame, so their blocks still line up."""
    X, y = _binary_data(1600)
    cols = [f"f{j}" for j in range(X.shape[1])]
    for i in range(8):
        part = pd.DataFrame(X[i * 200:(i + 1) * 200], columns=cols).assign(label=y[i * 200:(i + 1) * 200])
        part.to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    ddf = dd.read_parquet(str(tmp_path))
    assert len(ddf[cols].to_delayed()) != len(ddf["label"].to_delayed())  # the fusion this guards against
    res = god.train(client, "logloss", ddf[cols], ddf["label"], num_boost_round=5)
    # the same partitions as Dask arrays (each keeps its own chunks): the same model, to the parity test's 1e-6
    # (lightgbm.dask ranks the workers in an order that may change between calls); rows paired with another
    # partition's labels would miss by far more
    arrays = god.train(client, "logloss", da.from_array(X, chunks=(200, -1)), da.from_array(y, chunks=200),
                       num_boost_round=5)
    np.testing.assert_allclose(res.predict_raw(X), arrays.predict_raw(X), rtol=0, atol=1e-6)
    out = god.evaluate(ddf["label"], res.predict_raw(ddf[cols]), metrics=["global_auc"])
    from sklearn.metrics import roc_auc_score

    assert out["global_auc"] == pytest.approx(roc_auc_score(y, res.predict_raw(X)), abs=1e-12)


def test_objective_kernels_get_the_worker_thread_count(client):
    from gbm_objectives.adapters._dask_common import worker_threads

    assert client.submit(worker_threads, pure=False).result() == 1  # threads_per_worker=1
    assert worker_threads() is None  # not on a worker


def test_partition_by_query_keeps_queries_whole_and_sorted(client):
    df, *_ = _ranking_frame()
    shuffled = df.sample(frac=1.0, random_state=0)
    out = god.partition_by_query(dd.from_pandas(shuffled, npartitions=4), qid="qid")
    parts = [p for p in out.partitions]
    seen = []
    for part in parts:
        q = part["qid"].compute().to_numpy()
        if len(q):
            assert (np.diff(q) >= 0).all()
            seen.append(np.unique(q))
    ids = np.concatenate(seen)
    assert len(ids) == len(np.unique(ids)) == df["qid"].nunique()
    assert all(a.max() < b.min() for a, b in zip(seen[:-1], seen[1:]))


def test_a_query_cut_in_two_raises_before_training(client):
    df, *_ = _ranking_frame()
    first = int(np.flatnonzero(df["qid"].to_numpy() != df["qid"].iloc[0])[0])
    cut = first + 2  # inside the second query
    ddf = dd.concat([dd.from_pandas(df.iloc[:cut], npartitions=1), dd.from_pandas(df.iloc[cut:], npartitions=1)])
    features = [c for c in df.columns if c.startswith("f")]
    qid = int(df["qid"].iloc[cut])
    with pytest.raises(ValueError, match=rf"query {qid} spans partitions \[0, 1\]"):
        god.train(client, "lambdarank", ddf[features], ddf["label"], qid=ddf["qid"], num_boost_round=2)


def test_group_that_does_not_sum_to_the_partition_says_both_numbers(client):
    X = da.ones((10, 2), chunks=(5, 2))
    y = da.zeros(10, chunks=5)
    with pytest.raises(ValueError, match="partition 1: group sizes sum to 4 rows but the partition has 5"):
        god.train(client, "lambdarank", X, y, group=[[2, 3], [4]], num_boost_round=1)


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_scratch_lambdarank_on_the_cluster_learns_and_predicts_dask(client, backend):
    df, X, y, group = _ranking_frame()
    ddf = god.partition_by_query(dd.from_pandas(df, npartitions=3), qid="qid")
    features = [c for c in df.columns if c.startswith("f")]
    res = god.train(client, "lambdarank", ddf[features], ddf["label"], qid=ddf["qid"], backend=backend,
                    num_boost_round=10, eval_set=[(ddf[features], ddf["label"])], eval_qid=[ddf["qid"]],
                    metric=["ndcg@10", "map"])
    scores = res.predict_raw(ddf[features])
    assert isinstance(scores, dd.Series)
    s = scores.compute().to_numpy()
    np.testing.assert_allclose(s, res.to_local().predict_raw(ddf[features].compute().to_numpy()), atol=1e-12)
    ordered = ddf.compute()
    ndcg = go.evaluate(ordered["label"].to_numpy(), s, qid=ordered["qid"].to_numpy(), metrics=["ndcg@10"])["ndcg@10"]
    assert ndcg == pytest.approx(res.evals_result["valid_0"]["ndcg@10"][-1], abs=1e-12)
    assert ndcg > go.evaluate(y, np.zeros(len(y)), group=group, metrics=["ndcg@10"])["ndcg@10"] + 0.05
    assert isinstance(res.to_local(), go.TrainResult) and not isinstance(res.to_local(), god.DaskTrainResult)


@pytest.mark.parametrize("convention", ["lightgbm", "trec", "sklearn"])
def test_evaluate_equals_go_evaluate(client, convention):
    rng = np.random.default_rng(3)
    df, X, y, group = _ranking_frame(seed=1)
    s = np.round(rng.normal(size=len(y)), 1)  # ties
    w = np.repeat(rng.random(len(group)) + 0.5, group)
    df["s"], df["w"] = s, w
    ddf = dd.from_pandas(df, npartitions=1).repartition(npartitions=1)
    ddf = god.partition_by_query(dd.from_pandas(df, npartitions=3), qid="qid")
    names = ("ndcg@10", "ndcg", "mrr", "map", "p@5", "auc") + (("map@5",) if convention != "sklearn" else ())
    for weights in (None, "w"):
        got = god.evaluate(ddf["label"], ddf["s"], qid=ddf["qid"], metrics=names, convention=convention,
                           sample_weight=None if weights is None else ddf[weights])
        want = go.evaluate(y, s, qid=df["qid"].to_numpy(), metrics=names, convention=convention,
                           sample_weight=None if weights is None else w)
        for name in names:
            assert got[name] == pytest.approx(want[name], abs=1e-12), (name, weights)


def test_early_stopping_scores_every_round_on_the_cluster(client):
    X, y = _binary_data(3000)
    Xd, yd = da.from_array(X[:2000], chunks=(1000, -1)), da.from_array(y[:2000], chunks=1000)
    Xv, yv = da.from_array(X[2000:], chunks=(500, -1)), da.from_array(y[2000:], chunks=500)
    res = god.train(client, "focal", Xd, yd, num_boost_round=60, eval_set=[(Xv, yv)], metric=["logloss", "rmse"]
                    if False else ["logloss"], early_stopping_rounds=3, params={"learning_rate": 0.5})
    log = res.evals_result["valid_0"]["logloss"]
    best = res.best_iteration
    assert best is not None and len(log) <= 60 and res.num_rounds == len(log)
    assert log[best - 1] == min(log)
    raw = res.predict_raw(X[2000:])
    assert go.metrics.by_task.get_task_metric("logloss", go.FocalLoss())(y[2000:], raw) == pytest.approx(log[best - 1], abs=1e-12)
    if len(log) < 60:
        assert len(log) - best == 3


def test_metric_that_does_not_reduce_is_refused_before_training(client):
    X, y = _binary_data(400)
    Xd, yd = da.from_array(X, chunks=(200, -1)), da.from_array(y, chunks=200)
    with pytest.raises(ValueError, match="'auc' is not a mean over rows or queries"):
        god.train(client, "logloss", Xd, yd, eval_set=[(Xd, yd)], metric="auc", num_boost_round=1)


def test_estimators_fit_dask_and_predict_dask(client):
    X, y = _binary_data(2000)
    Xd, yd = da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000)
    clf = god.DaskGBMClassifier(objective="focal", n_estimators=5).fit(Xd, yd)
    proba = clf.predict_proba(Xd)
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), clf.to_local().predict_proba(X), atol=1e-12)
    reg = god.DaskGBMRegressor(objective="huber", n_estimators=5).fit(Xd, yd)
    np.testing.assert_allclose(reg.predict(Xd).compute(), reg.to_local().predict(X), atol=1e-12)
    df, *_ = _ranking_frame()
    ddf = god.partition_by_query(dd.from_pandas(df, npartitions=2), qid="qid")
    features = [c for c in df.columns if c.startswith("f")]
    rk = god.DaskLambdaMART(objective="scratch", n_estimators=5).fit(ddf[features], ddf["label"], qid=ddf["qid"])
    assert isinstance(rk.predict(ddf[features]), dd.Series)


def test_fitted_dask_estimators_pickle_and_predict_the_same(client):
    """The Dask estimators are module-level classes: a fitted one survives a pickle round trip and predicts the
    same values on a Dask collection."""
    import pickle

    X, y = _binary_data(1200)
    Xd, yd = da.from_array(X, chunks=(600, -1)), da.from_array(y, chunks=600)
    df, *_ = _ranking_frame(n_queries=40)
    ddf = god.partition_by_query(dd.from_pandas(df, npartitions=2), qid="qid")
    features = [c for c in df.columns if c.startswith("f")]
    fitted = [(god.DaskGBMClassifier(objective="focal", n_estimators=4).fit(Xd, yd), Xd, ("predict_proba", "predict")),
              (god.DaskGBMRegressor(objective="huber", n_estimators=4).fit(Xd, yd), Xd, ("predict",)),
              (god.DaskLambdaMART(objective="scratch", n_estimators=4).fit(ddf[features], ddf["label"],
                                                                            qid=ddf["qid"]), ddf[features],
               ("predict",))]
    for est, data, methods in fitted:
        back = pickle.loads(pickle.dumps(est))
        assert type(back) is type(est)
        for method in methods:
            np.testing.assert_array_equal(np.asarray(getattr(back, method)(data).compute()),
                                          np.asarray(getattr(est, method)(data).compute()))


def test_global_auc_is_exact_with_ties_across_partitions_and_weights(client):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    n = 6000
    y = (rng.random(n) < 0.3).astype(float)
    s = np.round(rng.normal(size=n) + y, 1)  # about 80 distinct scores: every tie spans many partitions
    s[::7] = 0.0  # one value shared by a seventh of the rows
    w = rng.random(n) * 2
    w[::11] = 0.0
    chunks = (1, 999, 0, 2500, 500, 2000)  # uneven, one single row, one empty
    yd, sd, wd = (da.from_array(a, chunks=(chunks,)) for a in (y, s, w))
    for weights in (None, w):
        got = god.evaluate(yd, sd, metrics="global_auc", sample_weight=None if weights is None else wd)
        want = roc_auc_score(y, s, sample_weight=weights)
        assert got["global_auc"] == pytest.approx(want, abs=1e-12)
        assert want == pytest.approx(go.auc_score(y, s, sample_weight=weights), abs=1e-12)
    # all scores tied: one bucket, AUC 1/2; graded labels binarized at relevance_threshold as "auc"
    flat = god.evaluate(yd, da.zeros(n, chunks=(chunks,)), metrics=["global_auc"])["global_auc"]
    assert flat == 0.5
    graded = np.round(rng.random(n) * 3)
    got = god.evaluate(da.from_array(graded, chunks=(chunks,)), sd, metrics=["global_auc"], relevance_threshold=2)
    assert got["global_auc"] == pytest.approx(roc_auc_score(graded >= 2, s), abs=1e-12)


def test_global_auc_beside_per_query_metrics_and_its_errors(client):
    df, X, y, group = _ranking_frame(seed=2)
    rng = np.random.default_rng(5)
    df["s"] = np.round(rng.normal(size=len(y)), 1)
    ddf = god.partition_by_query(dd.from_pandas(df, npartitions=3), qid="qid")
    got = god.evaluate(ddf["label"], ddf["s"], qid=ddf["qid"], metrics=["ndcg@10", "global_auc", "auc"])
    assert list(got) == ["ndcg@10", "global_auc", "auc"]
    ordered = ddf.compute()
    want = go.evaluate(ordered["label"].to_numpy(), ordered["s"].to_numpy(), qid=ordered["qid"].to_numpy(),
                       metrics=["ndcg@10", "auc"])
    assert got["auc"] == pytest.approx(want["auc"], abs=1e-12)
    assert got["global_auc"] == pytest.approx(go.auc_score(y, df["s"].to_numpy(), relevance_threshold=1), abs=1e-12)
    yd = da.from_array(np.array([0.0, 1.0, 1.0, 0.0]), chunks=2)
    with pytest.raises(ValueError, match="qid is required for the per-query metrics"):
        god.evaluate(yd, yd, metrics=["global_auc", "mrr"])
    with pytest.raises(ValueError, match=r"partition 1: y_score must be finite; got nan at row 0"):
        god.evaluate(yd, da.from_array(np.array([0.1, 0.2, np.nan, 0.3]), chunks=2), metrics="global_auc")
    with pytest.raises(ValueError, match="global_auc is undefined when y_true has one class only"):
        god.evaluate(da.ones(4, chunks=2), yd, metrics="global_auc")


# ---- gbm-objectives train --dask -------------------------------------------------------------------------------------
def _ranking_parquet(tmp_path):
    """Three Parquet files of whole queries (the partitions) and the same rows in one file (the local run).

    Features on 8 quantile levels, as in ``_binary_data``: every file holds every level, so LightGBM's bins are
    the same whichever worker computes them, and data-parallel training can match the local trees."""
    X, y, q = make_ranking(n_queries=90, docs_per_query=(5, 30), n_features=6, seed=0)
    edges = np.quantile(X, np.linspace(0, 1, 9)[1:-1], axis=0)
    X = np.stack([np.searchsorted(edges[:, j], X[:, j]) for j in range(X.shape[1])], axis=1).astype(np.float64)
    df = pd.DataFrame(X.astype(np.float32), columns=[f"f{j}" for j in range(6)]).assign(label=y, qid=q * 3 + 1)
    (tmp_path / "parts").mkdir()
    cuts = np.searchsorted(q, [0, 30, 60, q.max() + 1])
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        df.iloc[a:b].to_parquet(tmp_path / "parts" / f"part{i}.parquet")
    df.to_parquet(tmp_path / "all.parquet")
    return df


def _cli_scores(out, df):
    model = go.load_model(out / "model")
    raw = model.predict_raw(df[[f"f{j}" for j in range(6)]].to_numpy())
    ndcg = go.evaluate(df["label"].to_numpy(), raw, qid=df["qid"].to_numpy(), metrics=["ndcg@10"])["ndcg@10"]
    return raw, ndcg


def test_cli_train_dask_one_partition_is_bitwise_the_local_run(client, tmp_path, monkeypatch):
    """One file = one partition = one LightGBM machine: the same bins, the same trees as the local run."""
    import json
    from contextlib import contextmanager

    from gbm_objectives.cli import main

    df = _ranking_parquet(tmp_path)

    @contextmanager
    def module_client(address):  # the module's LocalCluster instead of starting one per test
        assert address == "tcp://module-cluster"
        yield client

    monkeypatch.setattr(god, "connect", module_client)
    common = ["--label", "label", "--group", "qid", "--objective", "lambdarank", "--rounds", "8", "--num-leaves", "7",
              "--quiet", "--threads", "1"]
    assert main(["train", "--train", str(tmp_path / "all.parquet"), *common, "--out", str(tmp_path / "local")]) == 0
    assert main(["train", "--dask", "tcp://module-cluster", "--train", str(tmp_path / "all.parquet"), *common,
                 "--out", str(tmp_path / "dask")]) == 0
    raw_local, ndcg_local = _cli_scores(tmp_path / "local", df)
    raw_dask, ndcg_dask = _cli_scores(tmp_path / "dask", df)
    np.testing.assert_array_equal(raw_dask, raw_local)
    local = json.loads((tmp_path / "local" / "metrics.json").read_text())
    dask_m = json.loads((tmp_path / "dask" / "metrics.json").read_text())
    for name in local["metrics"]:  # the train split: the cluster's per-partition sums vs the local pass
        assert dask_m["final"]["train"][name] == pytest.approx(local["final"]["train"][name], abs=1e-12)
    assert dask_m["computed"]["train"]["ndcg@10"].startswith("cluster")
    assert dask_m["data"]["train"]["queries"] == 90 and dask_m["data"]["train"]["partitions"] == 1
    assert (tmp_path / "dask" / "learning_curve.png").exists()


def test_cli_train_dask_local_cluster_on_a_glob_of_files(tmp_path):
    """``--dask local:2`` on three files over two workers: data-parallel LightGBM with the local run's bins (see
    ``_ranking_parquet``) sums the same histograms in another order, so the raw scores agree to 1e-6 (the bound
    of the pointwise parity test) and NDCG@10 to 1e-9 (no near-tie reorders)."""
    import json

    from gbm_objectives.cli import main

    df = _ranking_parquet(tmp_path)
    valid = tmp_path / "all.parquet"
    common = ["--label", "label", "--group", "qid", "--objective", "lambdarank", "--rounds", "8", "--num-leaves", "7",
              "--quiet", "--threads", "1", "--valid", str(valid)]
    assert main(["train", "--train", str(valid), *common, "--out", str(tmp_path / "local")]) == 0
    assert main(["train", "--dask", "local:2", "--train", str(tmp_path / "parts" / "*.parquet"), *common,
                 "--out", str(tmp_path / "dask")]) == 0
    raw_local, ndcg_local = _cli_scores(tmp_path / "local", df)
    raw_dask, ndcg_dask = _cli_scores(tmp_path / "dask", df)
    assert np.abs(raw_dask - raw_local).max() <= 1e-6
    assert ndcg_dask == pytest.approx(ndcg_local, abs=1e-9)
    summary = json.loads((tmp_path / "dask" / "metrics.json").read_text())
    assert summary["data"]["train"]["partitions"] == 3 and summary["computed"]["valid"].startswith("client")
    assert summary["final"]["valid"]["ndcg@10"] == pytest.approx(ndcg_dask, abs=1e-12)


def test_cli_train_dask_input_errors_exit_2_before_training(tmp_path, capsys):
    from gbm_objectives.cli import main

    _ranking_parquet(tmp_path)
    base = ["train", "--objective", "lambdarank", "--out", str(tmp_path / "o"), "--quiet"]
    cases = [(["--dask", "local:0", "--train", str(tmp_path / "all.parquet"), "--group", "qid"],
              "local:N needs a positive number of workers; got 'local:0'"),
             (["--dask", "local:2", "--train", str(tmp_path / "all.parquet")], "--group: ranking objective"),
             (["--dask", "local:2", "--train", str(tmp_path / "nope*.parquet"), "--group", "qid"],
              "--train: no such file, folder or matching files"),
             (["--dask", "local:2", "--train", str(tmp_path / "all.parquet"), "--group", "query"],
              "missing group column 'query'")]
    for argv, message in cases:
        assert main(base + argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_importing_the_cli_does_not_import_dask():
    import subprocess
    import sys

    code = "import sys, gbm_objectives.cli; print(any(m == 'dask' or m.startswith('dask.') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


# ---- one plan, two executors: the same refusals from go.train and god.train (one test body, executor passed in) --
def _local_executor(client):
    def fit(objective, X, y, qid=None, eval_set=(), **kwargs):
        return go.train(objective, X, y, qid=qid, eval_set=eval_set, n_jobs=1, **kwargs)

    return fit


def _dask_executor(client):
    def fit(objective, X, y, qid=None, eval_set=(), **kwargs):
        n = len(y)
        cut = n // 2 if qid is None else int(np.searchsorted(qid, qid[n // 2]))  # whole queries per partition
        to = lambda a: da.from_array(a, chunks=((cut, len(a) - cut),) + (((a.shape[1],),) if a.ndim == 2 else ()))  # noqa: E731
        return god.train(client, objective, to(X), to(y), qid=None if qid is None else to(qid),
                         eval_set=[(to(a), to(b)) for a, b in eval_set], **kwargs)

    return fit


@pytest.fixture(params=["go.train", "god.train"])
def fit(request, client):
    return (_local_executor if request.param == "go.train" else _dask_executor)(client)


def _binary(n=400, seed=0):
    X, y = make_imbalanced(n_samples=n, positive_rate=0.3, seed=seed)
    return X.astype(np.float64), y


@pytest.mark.parametrize("kwargs, error, match", [
    ({"params": {"objective": "binary"}}, ValueError, r"params sets objective='binary', but the objective is 'logloss'"),
    ({"params": {"num_leavs": 3}}, go.adapters.ParameterError, "num_leavs"),
    ({"num_boost_round": 0}, ValueError, "num_boost_round must be >= 1"),
    ({"num_boost_round": 2.5}, TypeError, "num_boost_round must be an integer"),
    ({"early_stopping_rounds": 0}, ValueError, "early_stopping_rounds must be >= 1"),
    ({"early_stopping_rounds": 2}, ValueError, "early_stopping_rounds needs an eval_set"),
    ({"metric": "ndgc@10"}, ValueError, "unknown metric"),
    ({"params": "lr=0.1"}, TypeError, "params must be a dict"),
], ids=["objective-clash", "unknown-param", "rounds-0", "rounds-float", "es-0", "es-no-eval", "metric", "params-str"])
def test_both_executors_refuse_the_same_bad_arguments(fit, kwargs, error, match):
    X, y = _binary()
    with pytest.raises(error, match=match):
        fit("logloss", X, y, **kwargs)


def test_both_executors_refuse_an_unknown_objective(fit):
    X, y = _binary()
    with pytest.raises(ValueError, match="unknown objective 'focall'"):
        fit("focall", X, y)


def test_both_executors_refuse_queries_longer_than_lightgbm_accepts(fit):
    """LightGBM's built-in rankers refuse queries above 10,000 rows: both executors say so before training."""
    n = 10_050
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    y = rng.integers(0, 3, n).astype(np.float64)
    qid = np.repeat([0, 1], [40, n - 40])
    with pytest.raises(ValueError, match="at most 10,000 documents per query; query 1 has 10,010"):
        fit("lambdarank:native", X, y, qid=qid)


def test_xgboost_dask_refuses_row_weights_of_a_ranking_objective(client):
    """XGBoost weighs whole queries: per-row weights of a ranking objective cannot reach it (the adapter says so)."""
    X, y, qid = make_ranking(n_queries=10, docs_per_query=(5, 10), n_features=3, seed=0)
    to = lambda a: da.from_array(a, chunks=len(a) if a.ndim == 1 else (len(a), -1))  # noqa: E731
    with pytest.raises(ValueError, match="not supported on the xgboost Dask backend"):
        god.train(client, "lambdarank", to(X), to(y), qid=to(qid), sample_weight=to(np.ones(len(y))),
                  backend="xgboost", num_boost_round=2)
