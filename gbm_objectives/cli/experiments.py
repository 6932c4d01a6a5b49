"""The commands on TREC runs and evaluated systems, ``fuse`` and ``report``: a module whose imports are light, so
that these commands do not load the engines and training code the other commands need."""

from __future__ import annotations

from .._core.files import atomic_write_bytes
from .._core.progress import Reporter
from ._errors import EXIT_OK, UsageError
from ._outputs import check_out_file

__all__ = ["cmd_fuse", "cmd_report"]


def cmd_fuse(args):
    """``fuse``: :func:`gbm_objectives.fuse` of the run files (weights from ``--weight`` or grid-searched on
    ``--optimize QRELS``), written as a TREC run (``qid Q0 docno rank score tag``)."""
    from ..datasets import read_qrels, read_run
    from ..metrics.fusion import FUSION_METHODS, fuse, optimize_fusion

    reporter = Reporter(args.quiet)
    if len(args.runs) < 2:
        raise UsageError(f"fuse needs at least two runs; got {len(args.runs)}")
    if args.method not in FUSION_METHODS:
        raise UsageError(f"--method: unknown fusion method {args.method!r}; choose one of {list(FUSION_METHODS)}")
    if args.weight and len(args.weight) != len(args.runs):
        raise UsageError(f"--weight: give one weight per run ({len(args.runs)}); got {len(args.weight)}")
    if args.optimize and args.weight:
        raise UsageError("--optimize searches the weights: leave out --weight")
    if args.optimize and args.method not in ("wsum", "wmnz"):
        raise UsageError(f"--optimize: needs --method wsum or wmnz; got {args.method!r}")
    check_out_file(args.out, "--out", "run")
    runs = {}
    for path in args.runs:
        try:
            runs[path] = read_run(path)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(f"RUN {path}: {exc}") from None
    norm = None if args.norm == "none" else args.norm
    weights = args.weight
    if args.optimize:
        try:
            qrels = read_qrels(args.optimize)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(f"--optimize: {exc}") from None
        search = optimize_fusion(runs, qrels, metric=args.metric, method=args.method, norm=norm, step=args.step)
        weights = search.weights.tolist()
        reporter.log(f"best weights on {args.optimize}: {search.weights.round(4).tolist()} ({args.metric} = "
                     f"{search.value:.4f}, {len(search.trials)} tried)")
    fused = fuse(runs, method=args.method, norm=norm, weights=weights if args.method in ("wsum", "wmnz") else None,
                 k=args.k, depth=args.depth)
    rank = fused.groupby("qid", observed=True).cumcount().to_numpy() + 1
    q, d = fused["qid"].astype(str).to_numpy(), fused["docno"].astype(str).to_numpy()
    text = "".join(f"{a} Q0 {b} {r} {v!r} {args.tag}\n" for a, b, r, v in zip(q, d, rank.tolist(),
                                                                              fused["score"].tolist()))
    atomic_write_bytes(args.out, text.encode())
    reporter.log(f"wrote {args.out} ({len(fused)} lines, {fused['qid'].nunique()} queries)")
    return EXIT_OK


def cmd_report(args):
    """``report``: :func:`gbm_objectives.report` of the results named on the command line."""
    from ..experiment import load_results, report

    check_out_file(args.out, "--out", "report")
    systems, extras = load_results(args.results, qrels=args.qrels, metrics=args.metric)
    path = report(systems, args.out, baseline=args.baseline, test=args.test,
                  correction=None if args.correction == "none" else args.correction, fmt=args.format,
                  title=args.title, **extras)
    Reporter(args.quiet).log(f"wrote {path}")
    return EXIT_OK
