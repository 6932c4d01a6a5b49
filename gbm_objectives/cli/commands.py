"""The subcommands of ``gbm-objectives``: one ``cmd_*`` function per command (train, evaluate, compare, demo,
datasets, simulate-clicks, warmup), each taking the parsed ``argparse.Namespace`` and returning the exit status.

They raise :class:`~gbm_objectives.cli.UsageError` for bad options and input files; :func:`gbm_objectives.cli.main`
turns that into one line on stderr and exit status 2.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from .. import datasets as _datasets
from .._core.progress import Reporter
from ..adapters import ParameterError
from .._core.files import atomic_write_bytes, atomic_write_json, output_directory
from ..model_io import load_model, save_model
from ..metrics.by_task import default_metrics, evaluate_metrics
from ._common import (
    EXIT_OK,
    EXIT_USAGE,
    OWN_OUTPUTS,
    UsageError,
    build_objective,
    check_objective_names,
    check_out,
    check_out_file,
    check_task,
    final_table,
    format_table,
    infer_n_classes,
    load_split,
    load_splits,
    parse_params,
    reference_of,
    resolve_metrics,
    train_one,
    training_params,
)
from .demo import run_demo
from .plots import plot_compare, plot_fan_chart, plot_learning_curve
from .experiments import cmd_fuse, cmd_report  # noqa: F401  (their home: .experiments)
from .report import training_report

__all__ = ["cmd_train", "cmd_evaluate", "cmd_fuse", "cmd_report", "cmd_compare", "cmd_demo", "cmd_datasets", "cmd_simulate_clicks",
           "cmd_warmup"]


def _training_kwargs(args, reporter):
    return dict(backend=args.backend, rounds=args.rounds, learning_rate=args.learning_rate,
                num_leaves=args.num_leaves, seed=args.seed, threads=args.threads, early_stopping=args.early_stopping,
                convention=args.convention, reporter=reporter)


def _prepare_training(args, objectives):
    """Everything that can be checked before loading data: names, parameters, metrics, the output folder."""
    check_objective_names(objectives)
    params = parse_params(args.param)
    out = check_out(args.out)
    if args.early_stopping and not args.valid:
        raise UsageError("--early-stopping: needs --valid")
    return params, out


def _metric_names_for(args, objective):
    names = args.metric or list(default_metrics(reference_of(objective)))
    resolve_metrics(names, objective, args.convention)
    return names


# ==============================================================================================================
# train
# ==============================================================================================================

def cmd_train(args):
    """``train``: one objective; writes ``--out``'s ``model/``, ``metrics.json`` and ``learning_curve.png``."""
    reporter = Reporter(args.quiet)
    params, out = _prepare_training(args, [args.objective])
    if args.dask:
        result, summary, splits, feature_names = _train_dask(args, params, reporter)
    else:
        splits = load_splits(args, reporter)
        objective, engine_params, _ = build_objective(args.objective, args.backend, params,
                                                      n_classes=infer_n_classes(splits["train"].y))
        names = _metric_names_for(args, objective)
        result, summary = train_one(objective, splits, label=args.objective, engine_params=engine_params,
                                    metric_names=names, **_training_kwargs(args, reporter))
        feature_names = splits["train"].feature_names
    _write_training(args, out, result, summary, splits, feature_names, reporter)
    return EXIT_OK


def _train_dask(args, params, reporter):
    """``train --dask``: the training files are read as partitions on the cluster (:func:`gbm_objectives.dask.
    train_files`); ``--valid``/``--test`` are read here and scored here, as in a local run."""
    try:
        import gbm_objectives.dask as god
    except ImportError as exc:
        raise UsageError(f"--dask: needs dask[distributed] (pip install 'gbm-objectives[dask]'): {exc}") from None
    try:
        god.parse_local(args.dask)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if getattr(args, "position", None):  # read_files would take the column for a feature
        raise UsageError("--position: not available with --dask (position debiasing trains on one machine)")
    objective, engine_params, _ = build_objective(args.objective, args.backend, params)
    reference = reference_of(objective)
    if reference.task == "ranking" and not args.group:
        raise UsageError(f"--group: ranking objective {args.objective!r} needs the query column of --train (--group COL)")
    try:  # the columns, before any cluster starts (Parquet: metadata only)
        _, label_column, features = god.read_files(args.train, label=args.label, group=args.group)
    except (ValueError, OSError) as exc:
        raise UsageError(f"--train: {exc}") from None
    splits = {}
    for name, option in (("valid", "--valid"), ("test", "--test")):
        path = getattr(args, name, None)
        if path:
            splits[name] = load_split(name, option, path, reporter, features=features, label=label_column,
                                      group=args.group)
    check_task(objective, args.objective, splits)
    names = _metric_names_for(args, objective)
    metrics = resolve_metrics(names, objective, args.convention)
    if args.early_stopping:
        from ..dask._sums import check_summable

        try:
            check_summable(metrics[0], reference)
        except ValueError as exc:
            raise UsageError(f"--early-stopping with --dask: {exc}") from None
    rounds = args.rounds
    params = training_params(args.learning_rate, args.seed, args.num_leaves, engine_params)
    eval_set = [(splits["valid"].X, splits["valid"].y, splits["valid"].group)] if args.early_stopping else []
    reporter.log(f"training {args.objective} on {args.backend} over Dask ({args.dask}): {rounds} rounds, "
                 f"learning rate {args.learning_rate}")
    t0 = time.perf_counter()
    try:
        with god.connect(args.dask, **({"verbose": True} if args.verbose else {})) as client:  # default: quiet
            trained = god.train_files(client, objective, args.train, label=label_column, group=args.group,
                                      backend=args.backend, params=params, num_boost_round=rounds, metrics=metrics,
                                      eval_set=eval_set, early_stopping_rounds=args.early_stopping)
    except ParameterError as exc:
        raise UsageError(f"--param: {exc}") from None
    seconds = time.perf_counter() - t0  # training and the training split's metrics on the cluster
    result = trained.result.to_local()
    summary = training_report(objective, result, splits, metrics, label=args.objective, backend=args.backend,
                              rounds=rounds, seconds=seconds, early_stopping=args.early_stopping,
                              convention=args.convention, staged=True)
    summary["dask"] = {"scheduler": args.dask, "train_partitions": trained.data["partitions"]}
    summary["data"] = {"train": trained.data, **summary["data"]}
    summary["final"] = {"train": trained.final, **summary["final"]}
    summary["computed"] = {"train": trained.computed,
                           **{name: "client: read and scored locally" for name in splits}}
    if "per_round" in summary:
        summary["computed"]["per_round"] = "valid/test only (the training split is scored once, at the kept round)"
    return result, summary, {"train": _SplitInfo(trained.data), **splits}, trained.feature_names


class _SplitInfo:
    """The training split of a --dask run: only what the output writer needs (it stays on the cluster)."""

    def __init__(self, data):
        self.data, self.zero_based = data, None


def _write_training(args, out, result, summary, splits, feature_names, reporter):
    meta = {"label_column": args.label, "group_column": args.group, "metrics": summary["metrics"],
            "convention": args.convention, "letor_zero_based": splits["train"].zero_based}
    with output_directory(out, OWN_OUTPUTS, reporter.log) as tmp:
        save_model(tmp / "model", result, feature_names=feature_names, metadata=meta)
        atomic_write_json(tmp / "metrics.json", summary)
        plotted = plot_learning_curve(summary, tmp / "learning_curve.png", reporter)
        fan = _fan_chart(args, result, splits, tmp / "fan_chart.png", reporter)
    print(final_table(summary))
    note = (f" (best iteration {summary['iteration_kept']} of {summary['rounds_trained']})"
            if summary["best_iteration"] else "")
    reporter.log(f"trained {args.objective} on {args.backend} in {summary['train_seconds']:.2f} s{note}")
    reporter.log(f"wrote {out / 'model'}/, {out / 'metrics.json'}"
                 + (f", {out / 'learning_curve.png'}" if plotted else "") + (f", {out / 'fan_chart.png'}" if fan else ""))


def _fan_chart(args, result, splits, path, reporter):
    """``fan_chart.png``: the predicted quantiles of a ``multi_quantile`` model on the test split."""
    alphas = getattr(result.objective, "alphas", None)
    if alphas is None or len(alphas) < 2 or "test" not in splits:
        return False
    test = splits["test"]
    title = f"{args.objective} on the test split ({args.backend}): {len(test.y)} rows"
    return plot_fan_chart(test.y, result.predict(test.X), alphas, path, reporter, title)


# ==============================================================================================================
# evaluate
# ==============================================================================================================

def _evaluate_runs(args):
    from ..datasets import read_qrels, read_run
    from ..metrics import compare_runs, evaluate_run

    if not args.run:
        raise UsageError("--qrels needs at least one --run FILE")
    if args.out:
        check_out_file(args.out, "--out", "evaluate-json")
    try:
        qrels = read_qrels(args.qrels)
    except (FileNotFoundError, ValueError) as exc:  # missing, a folder, a truncated gzip, a bad line
        raise UsageError(f"--qrels: {exc}") from None
    metrics = args.metric or ["ndcg@10", "map", "recall@100", "mrr"]
    results = {}
    for path in args.run:
        try:
            run = read_run(path)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(f"--run: {exc}") from None
        try:
            results[path] = evaluate_run(qrels, run, metrics=metrics, convention=args.convention or "trec",
                                         relevance_threshold=args.relevance_threshold, max_docs=args.max_docs,
                                         judged_only=args.judged_only, n_docs_collection=args.n_docs_collection,
                                         missing_queries="zero" if args.complete else "skip")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        metrics = list(results[path].metrics)  # named sets and parameters expanded
    if args.trec_q:
        args.format, args.per_query = "trec", True
    if args.format == "trec":
        for res in results.values():
            print(res.to_trec(per_query=args.per_query), end="")
    else:
        header = ["run", *metrics]
        if args.test and len(results) > 1:
            table = compare_runs(results, test=args.test,
                                 correction=None if args.correction == "none" else args.correction)
            rows = []
            for name, res in results.items():
                cells = []
                for m in metrics:
                    row = table[(table.system == name) & (table.metric == m)].iloc[0]
                    p = row.p_value_corrected
                    cells.append(f"{res.mean[m]:.4f}" + ("" if np.isnan(p) else f" (p={p:.3g})"))
                rows.append([name + (" (baseline)" if name == args.run[0] else ""), *cells])
        else:
            rows = [[name, *res.mean.values()] for name, res in results.items()]
        print(format_table(header, rows))
        if args.per_query:
            for name, res in results.items():
                print(f"\n{name}")
                print(format_table(["qid", *metrics], [[q, *vals] for q, vals in zip(
                    res.per_query.index, res.per_query.to_numpy().tolist())]))
    if args.out:
        atomic_write_json(args.out, {name: {"mean": res.mean} for name, res in results.items()})
    return EXIT_OK


def _load_model_option(path):
    """The model of ``--model``; UsageError when it cannot be read."""
    try:
        return load_model(path)
    except FileNotFoundError as exc:
        raise UsageError(f"--model: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--model: cannot read the model: {exc}") from None


def _model_data(model, path, option, label, group, reporter):
    """The data file ``path`` read with the model's features (a LETOR file by its feature count)."""
    meta = model.meta
    try:
        fmt_letor = _datasets.data_format(path) == "letor" if Path(path).is_file() else False
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    zero_based = meta.get("letor_zero_based")
    split = load_split(
        option.lstrip("-"), option, path, reporter,
        n_features=meta["n_features"] if fmt_letor else None,
        features=None if fmt_letor else meta["feature_names"], label=None if fmt_letor else label, group=group,
        zero_based="auto" if zero_based is None else zero_based,
    )
    if split.X.shape[1] != meta["n_features"]:
        raise UsageError(f"{option}: has {split.X.shape[1]} features but the model expects {meta['n_features']}")
    return split


def cmd_evaluate(args):
    """``evaluate``: score a trained model on a data file, or TREC runs against qrels (``--qrels``/``--run``)."""
    if getattr(args, "trec_q", False) and not (args.qrels or args.run):
        args.quiet = True  # -q without --qrels: --quiet
    if args.qrels or args.run:
        if args.model or args.data:
            raise UsageError("evaluate takes either --model/--data or --qrels/--run, not both")
        if not args.qrels:
            raise UsageError("--run needs --qrels FILE")
        return _evaluate_runs(args)
    if not args.model or not args.data:
        raise UsageError("evaluate needs --model DIR and --data PATH (or --qrels FILE --run FILE)")
    reporter = Reporter(args.quiet)
    for option, kind in (("out", "evaluate-json"), ("predictions", "predictions")):
        if getattr(args, option):
            check_out_file(getattr(args, option), f"--{option}", kind)
    model = _load_model_option(args.model)
    meta = model.meta
    label = args.label or meta.get("label_column")
    group = args.group or meta.get("group_column")
    split = _model_data(model, args.data, "--data", label, group, reporter)
    check_task(model.objective, meta["objective"]["name"], {"data": split})
    convention = args.convention or meta.get("convention", "lightgbm")
    names = args.metric or meta.get("metrics") or list(default_metrics(reference_of(model.objective)))
    metrics = resolve_metrics(names, model.objective, convention)
    raw = model.predict_raw(split.X)
    values = evaluate_metrics(metrics, split.y, raw, group=split.group)
    print(format_table(["data", *values], [[str(split.path), *values.values()]]))
    if args.out:
        atomic_write_json(args.out, {"model": str(args.model), "data": split.summary(), "convention": convention,
                                     "iteration": meta.get("iteration_kept"), "metrics": values})
        reporter.log(f"wrote {args.out}")
    if args.predictions:
        pred = np.asarray(model.objective.transform(raw), dtype=np.float64)
        rows = pred.reshape(len(split.y), -1)
        text = "".join(" ".join(repr(v) for v in row) + "\n" for row in rows.tolist())
        atomic_write_bytes(args.predictions, text.encode())
        reporter.log(f"wrote {args.predictions}")
    return EXIT_OK


# ==============================================================================================================
# fuse, report
# ==============================================================================================================

# ==============================================================================================================
# export
# ==============================================================================================================

def cmd_export(args):
    """``export``: write the model for a serving consumer (ONNX, Treelite, engine files, JSON dump), verified by that
    consumer (:func:`gbm_objectives.export`); prints the verification figures. A refused verification writes
    nothing and exits 2."""
    from ..serving import ExportVerificationError, export

    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out: {str(out)!r} is a folder")
    if out.exists() and not args.force:
        raise UsageError(f"--out: {str(out)!r} exists; it is left as it is (--force replaces it)")
    reporter = Reporter(args.quiet)
    model = _load_model_option(args.model)
    verify = None
    if args.verify:
        meta = model.meta
        verify = _model_data(model, args.verify, "--verify", args.label or meta.get("label_column"),
                             args.group or meta.get("group_column"), reporter).X
    try:
        report = export(model, out, format=args.format, output=args.output, verify=verify)
    except ExportVerificationError as exc:
        print("\n".join(exc.report.lines()))
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(report.lines()))
    return EXIT_OK


# ==============================================================================================================
# compare
# ==============================================================================================================

def cmd_compare(args):
    """``compare``: several objectives on the same data; prints the table, writes ``compare.json``/``compare.png``.

    At least two distinct ``--objective`` values: one objective, or one given twice, is a usage error (exit 2)
    before any data is read; ``train`` trains one objective."""
    reporter = Reporter(args.quiet)
    if len(args.objective) < 2:  # nothing to compare (and no significance test): before any data is read
        raise UsageError(f"--objective: compare needs at least two objectives; got one ({args.objective[0]!r}); to "
                         f"train one objective use gbm-objectives train")
    repeated = sorted({spec for spec in args.objective if args.objective.count(spec) > 1})
    if repeated:
        raise UsageError(f"--objective {repeated[0]!r} is given twice: both runs would train the same model")
    params, out = _prepare_training(args, args.objective)
    splits = load_splits(args, reporter)
    n_classes = infer_n_classes(splits["train"].y)
    built = [(spec, *build_objective(spec, args.backend, params, n_classes=n_classes)[:2]) for spec in args.objective]
    tasks = {o.task for _, o, _ in built}
    if len(tasks) > 1:
        raise UsageError(f"--objective: the objectives mix tasks ({', '.join(sorted(tasks))}); compare like with like")
    metric_names = _metric_names_for(args, built[0][1])
    for _, objective, _ in built[1:]:
        resolve_metrics(metric_names, objective, args.convention)
    results, raws = [], []
    eval_split = "test" if "test" in splits else ("valid" if "valid" in splits else "train")
    for spec, objective, engine_params in built:
        result, summary = train_one(objective, splits, label=spec, engine_params=engine_params,
                                    metric_names=metric_names, **_training_kwargs(args, reporter))
        results.append(summary)
        raws.append(result.predict_raw(splits[eval_split].X))
    header = ["objective", "backend", *metric_names, "rounds", "seconds"]
    rows = [[r["label"], r["backend"], *[r["final"][eval_split][m] for m in r["metrics"]], r["iteration_kept"],
             r["train_seconds"]] for r in results]
    significance = _compare_significance(args, results, raws, splits[eval_split])
    shown = [list(row) for row in rows]
    if significance:
        for row, r in zip(shown, results):
            row[0] += " (baseline)" if r is results[0] else ""
            for c, m in enumerate(r["metrics"], start=2):
                p = significance["p_values"].get(r["label"], {}).get(m)
                row[c] = f"{row[c]:.4f}" + ("" if p is None else f" (p={p:.3g})")
    print(f"metrics on {eval_split} ({splits[eval_split].path})"
          + (f"; p-values: {significance['test']} test over queries against {results[0]['label']}, "
             f"{significance['correction']} correction" if significance else ""))
    print(format_table(header, shown))
    summary = {"split": eval_split, "metrics": list(results[0]["metrics"]),
               "table": [dict(zip(header, row)) for row in rows], "significance": significance, "results": results}
    with output_directory(out, OWN_OUTPUTS, reporter.log) as tmp:
        atomic_write_json(tmp / "compare.json", summary)
        plotted = plot_compare(results, results[0]["metrics"], eval_split, tmp / "compare.png", reporter)
    reporter.log(f"wrote {out / 'compare.json'}" + (f", {out / 'compare.png'}" if plotted else ""))
    return EXIT_OK


def _compare_significance(args, results, raws, split):
    """Paired tests over the evaluation split's queries of each objective against the first one (ranking metrics
    only: they have a value per query), or None."""
    names = [m for m in results[0]["metrics"] if not m.endswith("_loss")]
    if args.significance == "none" or split.group is None or not names or len(results) < 2:
        return None
    import pandas as pd

    from ..metrics import compare_runs, evaluate

    per_query = {}
    for r, raw in zip(results, raws):
        values = evaluate(split.y, raw, group=split.group, metrics=names, convention=args.convention, reduce=None)
        per_query[r["label"]] = pd.DataFrame({m: values[m] for m in names})
    table = compare_runs(per_query, baseline=results[0]["label"], test=args.significance, seed=args.seed)
    p_values = {}
    for row in table.itertuples():
        if row.system != results[0]["label"]:
            p_values.setdefault(row.system, {})[row.metric] = float(row.p_value_corrected)
    lean = table.drop(columns=["win_queries", "loss_queries", "tie_queries"])  # the counts stay; not every query id
    return {"test": args.significance, "correction": "holm", "baseline": results[0]["label"], "p_values": p_values,
            "table": lean.to_dict(orient="records")}


# ==============================================================================================================
# datasets, demo, simulate-clicks, warmup
# ==============================================================================================================

#: the one line ``datasets`` prints (stderr) when no data root holds a file-based set; ``{roots}``: the roots searched
NO_LOCAL_DATA_HINT = (
    "no local copy of a public data set found under {roots}; set GBM_OBJECTIVES_DATA=../shared/datasets (the "
    "project's verified copies, from the root of a checkout) or download one with `gbm-objectives datasets --fetch NAME`"
)


def cmd_datasets(args):
    """``datasets``: list the named data sets (``--json``), or ``--fetch NAME`` into the cache.

    When no data root (:func:`gbm_objectives.datasets.data_roots`) holds any file-based set, the listing is followed
    by one line on stderr (:data:`NO_LOCAL_DATA_HINT`; silenced by ``--quiet``) saying how to point the library at
    the data: it never looks beside its own source tree (or beside the working directory) on its own, so a checkout
    next to ``../shared/datasets`` finds nothing until ``GBM_OBJECTIVES_DATA`` says so.
    """
    if args.fetch:
        reporter = Reporter(args.quiet)
        if args.fetch not in _datasets.DATASETS:
            raise UsageError(f"--fetch: unknown data set {args.fetch!r}; choose one of {sorted(_datasets.DATASETS)}")
        try:
            location = _datasets.fetch(args.fetch, args.cache_dir, force=args.force, progress=not args.quiet,
                                       log=reporter.log)
        except ValueError as exc:  # FetchError / ChecksumError
            raise UsageError(f"--fetch {args.fetch}: {exc}") from None
        print(location)
        return EXIT_OK
    infos = _datasets.list_datasets()
    if not any(i.location is not None for i in infos if i.files):
        roots = ", ".join(str(r) for r in _datasets.data_roots())
        Reporter(args.quiet).log(NO_LOCAL_DATA_HINT.format(roots=roots))
    if args.json:
        print(json.dumps([{"name": i.name, "task": i.task, "source": i.source, "available": i.available,
                           "splits": list(i.splits), "description": i.description,
                           "location": None if i.location is None else str(i.location)} for i in infos], indent=2))
        return EXIT_OK
    rows = [[i.name, i.task, i.source, "yes" if i.available else "no", "/".join(i.splits), i.description]
            for i in infos]
    print(format_table(["name", "task", "source", "available", "splits", "description"], rows))
    return EXIT_OK


def cmd_demo(args):
    """``demo``: :func:`gbm_objectives.cli.demo.run_demo`."""
    return run_demo(args)


def cmd_simulate_clicks(args):
    """Write a click-labelled copy of a LETOR file and its ``.position`` sibling (LightGBM's convention).

    ``--model`` and ``--policy`` are those of :func:`gbm_objectives.datasets.simulate_clicks`. Without
    ``--sessions`` (and with a model and policy that need none: pbm or cascade, deterministic) every input row is
    written once, as it was; with ``--sessions N`` (or dcm, ubm, a randomised policy: N = 1) the output has one line
    per (session, document), the sessions of a query consecutive, each written as a query of its own when N > 1
    (``qid`` = 1 + the session number; with N = 1 the query's own id).

    ``--out`` may replace an earlier file of that name (gzip when it ends with ``.gz``); refused before any work
    (exit 2): ``--out`` or its ``.position`` being ``--data`` (also through a symlink or another spelling), a
    folder, or an existing ``.position`` file that is not the one of an earlier click file at ``--out``
    (:func:`gbm_objectives.datasets.clicks.click_outputs`); option values out of range (argparse)."""
    from ..datasets.clicks import CLICK_MODELS, LOGGING_POLICIES, click_outputs, write_click_file
    from ..datasets import load_letor, simulate_clicks

    for option, value, known in (("--model", args.model, CLICK_MODELS), ("--policy", args.policy, LOGGING_POLICIES)):
        if value not in known:  # the catalogues live in the library; checked here, before any work
            raise UsageError(f"{option}: expected one of {', '.join(known)}; got {value!r}")
    src = Path(args.data)
    if not src.exists():
        raise UsageError(f"--data: no such file '{args.data}'")
    try:  # before any work: --out must not be the input, nor replace a .position file that is not ours
        click_outputs(src, args.out)
    except ValueError as exc:
        raise UsageError(f"--out: {exc}") from None
    X, y, qid = load_letor(str(src))
    score = None
    if args.ranking_feature is not None:
        if not 0 <= args.ranking_feature < X.shape[1]:
            raise UsageError(f"--ranking-feature {args.ranking_feature} is not a column of {args.data} "
                             f"(0..{X.shape[1] - 1})")
        col = X[:, args.ranking_feature]
        score = np.asarray(col.toarray() if hasattr(col, "toarray") else col, dtype=np.float64).ravel()
    sessions = args.sessions
    if sessions is None and (args.model in ("dcm", "ubm") or args.policy != "deterministic"):
        sessions = 1
    out = Path(args.out)
    if sessions is None:
        clicks, position = simulate_clicks(y, qid=qid, ranking_score=score, model=args.model, eta=args.eta,
                                           stop_prob=args.stop_prob, seed=args.seed)
        write_click_file(src, out, clicks, position)
        query, docno, session = qid, np.arange(len(clicks)), None
    else:
        log = simulate_clicks(y, qid=qid, ranking_score=score, model=args.model, eta=args.eta,
                              stop_prob=args.stop_prob, seed=args.seed, sessions=sessions, policy=args.policy,
                              temperature=args.temperature, top_k=args.top_k, click_noise=args.click_noise)
        written = qid[log.row] if sessions == 1 and qid is not None else log.session + 1
        write_click_file(src, out, log.clicks, log.position, rows=log.row, qid=written)
        clicks, position, query, docno, session = log.clicks, log.position, log.query, log.row, log.session
    print(f"wrote {out} ({int(clicks.sum())} clicks in {len(clicks)} rows) and {out}.position")
    if not getattr(args, "quiet", False):  # what the log can teach (its last line warns when nothing identifies)
        import warnings

        from ..clicks import click_report

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            print(click_report(clicks, position, query, docno, session=session))
    return EXIT_OK


def cmd_warmup(args):
    """Compile every numba kernel once (for container images and CI caches); prints seconds per step."""
    from .._warmup import warmup

    reporter = Reporter(args.quiet)
    start = time.perf_counter()
    seconds = warmup(progress=lambda message: reporter.log(f"[{time.perf_counter() - start:7.1f} s] {message}"))
    print(format_table(["step", "seconds"], [[k, float(v)] for k, v in seconds.items()]))
    return EXIT_OK
