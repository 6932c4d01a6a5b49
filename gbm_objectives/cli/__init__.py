"""The ``gbm-objectives`` command line: train, evaluate, compare, export, demo, datasets, warmup.

::

    gbm-objectives demo
    gbm-objectives train --train PATH [--valid PATH] [--test PATH] --objective NAME [--param key=value ...]
                         [--backend lightgbm|xgboost] [--rounds N] [--learning-rate X] [--early-stopping N]
                         [--metric ndcg@10 ...] [--label COL --group COL] --out DIR
    gbm-objectives evaluate --model DIR --data PATH [--metric ndcg@10 --metric mrr ...]
    gbm-objectives evaluate --qrels FILE --run FILE [--run FILE ...] [--metric ndcg_cut_10 ...] [--per-query]
                            [--test randomization] [--format trec]
    gbm-objectives compare --train PATH --valid PATH [--test PATH] --objective lambdarank
                           --objective lambdarank:native ... --out DIR   # two objectives or more
    gbm-objectives fuse RUN RUN ... [--method rrf] [--norm min-max] [--weight W ...] [--optimize QRELS] -o FILE
    gbm-objectives report RESULTS ... -o report.html [--format html|latex] [--baseline NAME]
    gbm-objectives export --model DIR --format onnx|treelite|lightgbm|xgboost-json|json-dump --out FILE
                          [--output raw|transformed] [--verify DATA]   # verified; exit 2 and no file if it fails
    gbm-objectives cv --train PATH [--folds 5] | --fold-files "Fold*/"  --objective NAME [...] --out DIR
    gbm-objectives tune --train PATH [--valid PATH | --cv 5] --objective NAME [--metric ndcg@10] [--trials 40]
                        [--storage sqlite:///study.db] --out DIR
    gbm-objectives datasets [--fetch NAME]
    gbm-objectives simulate-clicks --data PATH --out PATH [--ranking-feature COL] [--model pbm|cascade|dcm|ubm]
                                   [--sessions N] [--policy deterministic|plackett_luce|randpair|randtopk|uniform]
    gbm-objectives warmup                     # compile every kernel once (container images, CI caches)

The CLI only talks to the user: it parses options, loads files, trains through :func:`gbm_objectives.train`,
saves with :func:`gbm_objectives.save_model`, scores with :mod:`gbm_objectives.metrics.by_task` and prints tables.
Objectives are registry names (:data:`gbm_objectives.OBJECTIVES`) or ``NAME:native`` for the engine's own
built-in configured from the same parameters (:mod:`gbm_objectives.adapters.native`). ``--param key=value`` goes
to the objective when it is one of its parameters and to the engine otherwise.

Files are read by extension: ``.txt/.svm/.letor/...`` (SVMlight/LETOR, also gzipped), ``.csv/.tsv`` and
``.parquet`` (with ``--label`` and ``--group`` naming the columns).

``train --out DIR`` writes ``DIR/model/`` (the engine's model file and ``meta.json``, see
:mod:`gbm_objectives.model_io`), ``DIR/metrics.json`` (every metric on every split, at the kept iteration and per
round) and ``DIR/learning_curve.png``. The outputs are built in a temporary folder beside ``DIR`` that replaces it
at the end; files of yours inside an existing ``DIR`` are carried over, never deleted.

Exit status: 0 on success, 2 for usage and input errors (bad option, missing or malformed file, found before any
training), 1 for failures. Errors are one line on stderr (``error: --train: no such file 'x.txt'``); ``--debug``
shows the traceback. Warnings are one line too (``warning: ...``). A progress bar runs
on a terminal, plain log lines otherwise; ``--quiet`` silences both.

This module holds the entry point (:func:`main`, the console script ``gbm-objectives``), the parser
(:func:`build_parser`), the exit codes and :class:`UsageError`. The rest of the sub-package, bottom up:
:mod:`._common` (data loading, objective and parameter parsing, :func:`train_one`, tables, output checks),
:mod:`.report` (the training report, ``metrics.json``), :mod:`.plots`, :mod:`.demo`, :mod:`.fetch` (the command line
of ``datasets/fetch.py``), :mod:`.commands` (one ``cmd_*`` function per subcommand).

>>> main(["datasets", "--quiet"]) == 0   # doctest: +ELLIPSIS
name ...
True
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings

from ._errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["main", "build_parser", "load_model", "TrainedModel", "train_one", "UsageError", "EXIT_OK",
           "EXIT_FAILURE", "EXIT_USAGE"]

# The commands (and the library behind them: engines, numba kernels, pandas) are imported when a command runs, not
# when the command line is parsed: ``gbm-objectives report`` or ``fuse`` do not load what ``train`` needs.
#: re-exported names -> their module: load_model (gbm_objectives.model_io.load_model, also go.load_model) for one
#: more release; format_table, which scripts/train_*.py print with; train_one; TrainedModel
_LAZY = {"load_model": "..model_io", "format_table": "._common", "train_one": "._common",
         "TrainedModel": "..training", "TrainResult": "..training"}


def __getattr__(name):
    """The re-exported names and the ``cmd_*`` functions, imported on first use."""
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), "TrainResult" if name == "TrainedModel"
                        else name)
    elif name.startswith("cmd_"):
        home = {"cmd_cv": ".selection", "cmd_tune": ".selection", "cmd_fuse": ".experiments",
                "cmd_report": ".experiments"}.get(name, ".commands")
        value = getattr(importlib.import_module(home, __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _command(name):
    """The ``func`` of a subcommand: ``cmd_<name>``, imported when the command runs."""
    def run(args):
        return __getattr__(name)(args)

    run.__name__ = name
    return run


class _MetricsHelp(argparse.HelpFormatter):
    """Help text where ``{metric names}`` is replaced by the metric registry's names, read only when the help is
    printed (the registry imports the metric kernels)."""

    def _get_help_string(self, action):
        text = super()._get_help_string(action)
        if text and "{metric names}" in text:
            from ..metrics.by_task import metric_names

            text = text.replace("{metric names}", ", ".join(metric_names()))
        return text


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _MetricsHelp)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(message)


# ==============================================================================================================
# Parser and entry point
# ==============================================================================================================

def _add_common_options(parser, short_quiet=True):
    parser.add_argument("--quiet", *(("-q",) if short_quiet else ()), action="store_true",
                        help="no progress bar or log lines")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def _training_options(p, *, multi_objective):
    p.add_argument("--train", required=True, metavar="PATH", help="training data (.txt/.svm/.letor[.gz], .csv, .parquet)")
    p.add_argument("--valid", metavar="PATH", help="validation data (early stopping, learning curve)")
    p.add_argument("--test", metavar="PATH", help="test data (reported, never used for choices)")
    if multi_objective:
        p.add_argument("--objective", action="append", required=True, metavar="NAME",
                       help="objective to compare (repeat: at least two different ones): a registry name or "
                            "NAME:native")
    else:
        p.add_argument("--objective", required=True, metavar="NAME",
                       help="registry name (focal, weighted_ce, huber, quantile, lambdarank, ...) or NAME:native")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="objective parameter (e.g. gamma=2) or engine parameter (e.g. min_data_in_leaf=50); repeatable")
    p.add_argument("--backend", choices=("lightgbm", "xgboost"), default="lightgbm")
    _fit_options(p, "stop when the first --metric on --valid has not improved for N rounds")
    p.add_argument("--label", metavar="COL", help="label column of a CSV/Parquet file")
    p.add_argument("--group", metavar="COL", help="query column of a CSV/Parquet file")
    p.add_argument("--position", metavar="COL", help="displayed-position column of a CSV/Parquet training file "
                                                      "(LETOR: a FILE.position sibling); with --param position_debias")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=_positive_int, metavar="N", help="engine threads (default: all cores)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")


def _fit_options(p, early_stopping_help):
    """Rounds, learning rate, tree size, early stopping and metrics of ``train``, ``compare`` and ``cv``."""
    p.add_argument("--rounds", type=_positive_int, default=100, metavar="N", help="boosting rounds (default 100)")
    p.add_argument("--learning-rate", type=_positive_float, default=0.1, metavar="X", help="default 0.1")
    p.add_argument("--num-leaves", type=_positive_int, default=None, metavar="N",
                   help="leaves per tree, leaf-wise growth (default: the engine's default shape, see go.train)")
    p.add_argument("--early-stopping", type=_positive_int, metavar="N", help=early_stopping_help)
    p.add_argument("--metric", action="append", metavar="NAME",
                   help="one of {metric names} (repeatable; the first drives early stopping)")
    p.add_argument("--convention", choices=("lightgbm", "trec", "sklearn"), default="lightgbm",
                   help="ranking-metric convention (gain, ties, queries without relevant documents)")


def _model_options(p):
    """Objective, parameters, engine, data columns, seed, threads and output folder of ``cv`` and ``tune``."""
    p.add_argument("--objective", required=True, metavar="NAME",
                   help="registry name (lambdarank, focal, ...) or NAME:native")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="objective parameter (e.g. sigmoid=2) or engine parameter (e.g. min_data_in_leaf=50)")
    p.add_argument("--backend", choices=("lightgbm", "xgboost"), default="lightgbm")
    p.add_argument("--label", metavar="COL", help="label column of a CSV/Parquet file")
    p.add_argument("--group", metavar="COL", help="query column of a CSV/Parquet file")
    p.add_argument("--seed", type=int, default=0, help="engine seed, fold shuffling and sampler seed (default 0)")
    p.add_argument("--threads", type=_positive_int, metavar="N", help="engine threads (default: all cores)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")


def _cv_options(p):
    p.add_argument("--train", metavar="PATH", help="the data (.txt/.svm/.letor[.gz], .csv, .parquet), split by query")
    p.add_argument("--folds", type=_positive_int, default=5, metavar="K", help="query-grouped folds (default 5)")
    p.add_argument("--fold-files", metavar="GLOB",
                   help='predefined folds: folders (e.g. "Fold*/") each with a train.* and a test.* file; the test '
                        'files together are the data, each fold trains on its train file and scores its test file')
    _model_options(p)
    _fit_options(p, "stop each fold when the first --metric on its validation rows has not improved for N rounds")


def _tune_options(p):
    p.add_argument("--train", required=True, metavar="PATH", help="training data")
    p.add_argument("--valid", metavar="PATH", help="selection data (default: inner query-grouped CV of --train)")
    p.add_argument("--cv", type=_positive_int, default=5, metavar="K", help="inner CV folds without --valid (default 5)")
    _model_options(p)
    p.add_argument("--metric", default="ndcg@10", metavar="NAME",
                   help="the selection metric (direction from the metric registry; default ndcg@10)")
    p.add_argument("--trials", type=_positive_int, default=40, metavar="N", help="finished trials wanted (default 40)")
    p.add_argument("--timeout", type=_positive_float, metavar="SECONDS")
    p.add_argument("--storage", metavar="URL", help="Optuna storage, e.g. sqlite:///study.db (resumes a killed run)")
    p.add_argument("--study-name", metavar="NAME")
    p.add_argument("--no-pruning", action="store_true", help="run every trial to its end")
    p.add_argument("--max-rounds", type=_positive_int, default=1000, metavar="N",
                   help="round budget of a trial (early stopping picks the rounds; default 1000)")
    p.add_argument("--early-stopping", type=_positive_int, default=50, metavar="N", help="default 50")
    p.add_argument("--show", type=_positive_int, default=10, metavar="N", help="best trials printed (default 10)")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _float_in(accept, expected):
    """An argparse type: a finite float for which ``accept(value)`` holds, else "expected {expected}; got ..."."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}") from None
        if not (math.isfinite(value) and accept(value)):
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
        return value

    return parse


_positive_float = _float_in(lambda v: v > 0, "a positive number")
_nonnegative_float = _float_in(lambda v: v >= 0, "a number >= 0")
_probability = _float_in(lambda v: 0 <= v <= 1, "a probability in [0, 1]")


def build_parser():
    """The ``gbm-objectives`` argument parser; its errors raise :class:`UsageError` instead of exiting.

    Returns
    -------
    argparse.ArgumentParser
        One subparser per command, each with ``func`` running its ``cmd_*`` function
        (:mod:`gbm_objectives.cli.commands`), imported when it runs.
    """
    from .._core.version import __version__

    parser = _Parser(prog="gbm-objectives", description="Train and compare GBM objectives (LightGBM, XGBoost).")
    parser.add_argument("--version", action="version", version=f"gbm-objectives {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("train", help="train one objective; write the model, metrics.json and learning_curve.png")
    _training_options(p, multi_objective=False)
    p.add_argument("--dask", metavar="ADDRESS",
                   help="train on a Dask cluster: a scheduler address (tcp://host:8786) or local:N (a LocalCluster of "
                        "N single-thread workers, closed at the end); --train is then a Parquet folder, a "
                        "Parquet/CSV file or a glob of them, read as partitions (ranking: query-aligned by --group)")
    p.add_argument("--verbose", action="store_true",
                   help="with --dask: also show Dask's log records and the engines' own progress lines (left out "
                        "by default)")
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_train"))

    p = sub.add_parser("evaluate", help="score a trained model on a data file, or TREC runs against qrels")
    p.add_argument("--model", metavar="DIR", help="the --out folder of train (or its model/)")
    p.add_argument("--data", metavar="PATH")
    p.add_argument("--qrels", metavar="FILE", help="TREC qrels (with --run: evaluate runs as trec_eval does)")
    p.add_argument("--run", action="append", metavar="FILE", help="TREC run file (repeat to compare runs)")
    p.add_argument("--per-query", action="store_true", help="also print the per-query values")
    p.add_argument("--test", choices=("randomization", "t-test", "bootstrap"),
                   help="paired test of each run against the first (corrected p-values, see --correction)")
    p.add_argument("--correction", choices=("holm", "bonferroni", "bh", "none"), default="holm",
                   help="with --test: multiple-comparison correction over the runs per metric (default holm; bh: "
                        "Benjamini-Hochberg)")
    p.add_argument("--format", choices=("table", "trec"), default="table", help="trec: trec_eval's line format")
    p.add_argument("--relevance-threshold", "-l", type=int, default=1, metavar="N",
                   help="with --qrels: relevance >= N is relevant (trec_eval -l; default 1)")
    p.add_argument("--metric", "-m", action="append", metavar="NAME",
                   help="default: the metrics used in training; with --qrels any trec_eval measure (P.5,10, "
                        "ndcg_cut.10, official, all_trec), ir_measures name (nDCG@10, AP(rel=2)) or ours")
    p.add_argument("-q", dest="trec_q", action="store_true",
                   help="with --qrels: trec_eval -q (every query's lines, then the summary, in trec_eval's text "
                        "format); otherwise --quiet")
    p.add_argument("-M", dest="max_docs", type=int, default=None, metavar="N",
                   help="with --qrels: evaluate at most the first N documents of each query (trec_eval -M)")
    p.add_argument("-J", dest="judged_only", action="store_true",
                   help="with --qrels: drop the unjudged retrieved documents (trec_eval -J)")
    p.add_argument("-c", dest="complete", action="store_true",
                   help="with --qrels: queries of the qrels the run lacks count (trec_eval -c)")
    p.add_argument("-N", dest="n_docs_collection", type=int, default=0, metavar="N",
                   help="with --qrels: documents in the collection (trec_eval -N, for utility)")
    p.add_argument("--convention", choices=("lightgbm", "trec", "sklearn"), default=None)
    p.add_argument("--label", metavar="COL")
    p.add_argument("--group", metavar="COL")
    p.add_argument("--out", metavar="FILE.json", help="also write the metrics as JSON")
    p.add_argument("--predictions", metavar="FILE",
                   help="write the predictions, one line per row (multiclass: the k class probabilities)")
    _add_common_options(p, short_quiet=False)
    p.set_defaults(func=_command("cmd_evaluate"))

    p = sub.add_parser("compare", help="train several objectives on the same data; table, compare.json, compare.png")
    _training_options(p, multi_objective=True)
    p.add_argument("--significance", choices=("randomization", "t-test", "bootstrap", "none"), default="randomization",
                   help="paired test over the evaluation split's queries of each objective against the first "
                        "(ranking metrics; Holm-corrected; default randomization)")
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_compare"))

    p = sub.add_parser("fuse", help="fuse TREC runs into one run (rrf, combsum, combmnz, wsum, ...)")
    p.add_argument("runs", nargs="+", metavar="RUN", help="TREC run files (at least two)")
    p.add_argument("--method", default="rrf", metavar="NAME", help="fusion method (default rrf): one of "
                   "combsum, combmnz, combgmnz, combanz, combmax, combmin, combmed, wsum, wmnz, rrf, isr, log_isr, "
                   "logn_isr, rbc, bordafuse")
    p.add_argument("--norm", default="min-max", choices=("min-max", "max", "sum", "zmuv", "rank", "none"),
                   help="per-query score normalisation (default min-max)")
    p.add_argument("--weight", action="append", type=float, metavar="W",
                   help="wsum/wmnz: one weight per run, in the runs' order (repeat)")
    p.add_argument("--k", type=_positive_float, default=60.0, help="rrf's k (default 60)")
    p.add_argument("--depth", type=_positive_int, metavar="N", help="keep the N best documents per query")
    p.add_argument("--optimize", metavar="QRELS", help="wsum/wmnz: grid-search the weights on these training qrels")
    p.add_argument("--metric", default="ndcg@10", metavar="NAME", help="--optimize's metric (default ndcg@10)")
    p.add_argument("--step", type=_positive_float, default=0.1, help="--optimize's grid step (default 0.1)")
    p.add_argument("--tag", default="fused", help="run tag written in the sixth column (default fused)")
    p.add_argument("--out", "-o", required=True, metavar="FILE", help="the fused run (TREC format)")
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_fuse"))

    p = sub.add_parser("report", help="one self-contained HTML report (or a LaTeX table) of evaluated systems")
    p.add_argument("results", nargs="+", metavar="RESULTS",
                   help="a compare folder (compare.json), a cv.json, per-query CSV files (qid, one column per metric; "
                        "one per system), or TREC runs with --qrels")
    p.add_argument("--qrels", metavar="FILE", help="evaluate RESULTS as TREC runs against these qrels")
    p.add_argument("--metric", action="append", metavar="NAME", help="with --qrels (default ndcg@10, map, "
                   "recall@100, mrr)")
    p.add_argument("--baseline", metavar="NAME", help="the system the others are compared with (default the first)")
    p.add_argument("--test", choices=("t-test", "randomization", "bootstrap"), default="t-test")
    p.add_argument("--correction", choices=("holm", "bonferroni", "bh", "none"), default="holm")
    p.add_argument("--format", choices=("html", "latex"), default="html")
    p.add_argument("--title", default="Experiment report")
    p.add_argument("--out", "-o", required=True, metavar="FILE")
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_report"))
    p = sub.add_parser("cv", help="query-grouped cross-validation: per-fold table with mean ± std, cv.json, cv.png")
    _cv_options(p)
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_cv"))

    p = sub.add_parser("tune", help="tune engine and objective parameters with Optuna: best trials, tune.json, plots")
    _tune_options(p)
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_tune"))

    p = sub.add_parser("demo", help="focal vs weighted CE vs log loss on both engines (--ranking: LambdaMART)")
    p.add_argument("--rounds", type=_positive_int, default=100, metavar="N")
    p.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                   help="engine threads (default 1: the demo's data sets are small)")
    p.add_argument("--ranking", action="store_true",
                   help="also train LambdaMART (scratch and native, both engines) on make_ranking data")
    p.add_argument("--out", metavar="FILE.json", help="also write the results as JSON")
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_demo"))

    p = sub.add_parser("datasets", help="list the named datasets (generators, scikit-learn sets, local copies); "
                                        "--fetch NAME downloads a public one")
    p.add_argument("--json", action="store_true")
    p.add_argument("--fetch", metavar="NAME", help="download NAME into the cache (checksums verified) and print where")
    p.add_argument("--cache-dir", metavar="DIR", help="download cache (default $GBM_OBJECTIVES_CACHE or ~/.cache)")
    p.add_argument("--force", action="store_true", help="download again even if cached")
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_datasets"))

    p = sub.add_parser("simulate-clicks", help="write a click-labelled copy of a LETOR file and its .position file")
    _add_common_options(p)
    p.add_argument("--data", required=True, metavar="PATH", help="LETOR file with true labels (.txt[.gz])")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="click-labelled copy (PATH.position beside it; gzip if PATH ends in .gz); never --data itself")
    p.add_argument("--model", default="pbm", metavar="MODEL",
                   help="user model: pbm (default), cascade, dcm or ubm (go.datasets.clicks.CLICK_MODELS); dcm and "
                        "ubm are simulated per session (--sessions, default 1)")
    p.add_argument("--eta", type=_nonnegative_float, default=1.0,
                   help="pbm/ubm: examination (1/(p+1))**eta (default 1)")
    p.add_argument("--stop-prob", type=_probability, default=0.2,
                   help="cascade: stop probability after every examined document; dcm: after a click (default 0.2)")
    p.add_argument("--ranking-feature", type=int, metavar="COL",
                   help="the logger: each query ranked by this feature column, descending (default: file order)")
    p.add_argument("--sessions", type=_positive_int, metavar="N",
                   help="sessions per query, each ranked by --policy; with N > 1 every session is written as a "
                        "query of its own (qid = 1 + session number)")
    p.add_argument("--policy", default="deterministic", metavar="POLICY",
                   help="how each session's ranking is drawn from the logger: deterministic (default), plackett_luce, "
                        "randpair, randtopk or uniform (go.datasets.clicks.LOGGING_POLICIES; the randomised ones "
                        "imply --sessions 1 when it is not given)")
    p.add_argument("--temperature", type=_positive_float, default=1.0,
                   help="plackett_luce: the logger's scores are divided by it (default 1)")
    p.add_argument("--top-k", type=_positive_int, default=10, metavar="K",
                   help="randtopk: how many of the logger's top documents are shuffled (default 10)")
    p.add_argument("--click-noise", type=_probability, default=0.0,
                   help="sessions: P(click | examined) = noise + (1 - noise) P(click | label) (default 0)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_command("cmd_simulate_clicks"))

    p = sub.add_parser("export", help="write a model for serving (ONNX, Treelite, engine file, JSON dump), verified by "
                                      "its consumer; exit 2 when the verification fails (nothing is written)")
    p.add_argument("--model", required=True, metavar="DIR", help="the --out folder of train (or its model/)")
    p.add_argument("--format", required=True, choices=("onnx", "treelite", "lightgbm", "xgboost-json", "json-dump"))
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--output", choices=("raw", "transformed"), default="raw",
                   help="what an ONNX/Treelite file returns: raw scores (default) or probabilities/values (a link "
                        "with no built-in twin, e.g. multi_quantile's, is exported raw; the printed note says what "
                        "to apply)")
    p.add_argument("--verify", metavar="DATA",
                   help="rows to verify on (a data file as for evaluate; default: rows drawn across every split "
                        "threshold of the model)")
    p.add_argument("--label", metavar="COL")
    p.add_argument("--group", metavar="COL")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_export"))

    p = sub.add_parser("warmup", help="compile every numba kernel once (for container images and CI caches)")
    _add_common_options(p)
    p.set_defaults(func=_command("cmd_warmup"))
    return parser


def main(argv=None):
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 usage or input error).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        :data:`EXIT_OK` (0), :data:`EXIT_FAILURE` (1, one line ``error: Type: message`` on stderr),
        :data:`EXIT_USAGE` (2, a bad option or input file, one line on stderr) or 130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = warnings.formatwarning
    warnings.formatwarning = _format_warning  # for this run only: warnings as one line, like the errors
    try:
        return _main(argv)
    finally:
        warnings.formatwarning = previous


def _format_warning(message, category, filename, lineno, line=None):
    """A warning as the command line shows it: ``warning: MESSAGE`` on one line (no source file, line number or
    code line; a message of several lines is joined with spaces). Installed as ``warnings.formatwarning`` while
    :func:`main` runs, the previous formatter restored when it returns."""
    text = " ".join(str(message).split())
    return f"warning: {text}\n"


def _main(argv):
    debug = "--debug" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        return int(args.func(args) or EXIT_OK)
    except (UsageError, ValueError, TypeError) as exc:  # the library's input errors, raised before any training
        if debug:
            raise
        print(f"error: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns a failure into a clean message
        if debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"error: {type(exc).__name__}: {message}" if message else f"error: {type(exc).__name__}",
              file=sys.stderr)
        return EXIT_FAILURE
