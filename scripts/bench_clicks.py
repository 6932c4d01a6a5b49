"""Benchmark: learning to rank from position-biased clicks on LETOR 4.0 MQ2008 (section ``clicks`` of BENCHMARKS.md).

Protocol, per fold (5 folds): an initial ranker (LightGBM ``lambdarank`` on the true labels of 10 % of the training
queries, 30 rounds) orders every training query; ``LOGS`` click logs are simulated on that order with the position-based
model (examination ``1/(p+1)``, eta 1; P(click | examined, label) = e + (1 - e) (2^l - 1)/3 with click noise
e = 0.1, then again with e = 0). Models are trained on the clicks (or, for the ceiling, on the true labels) for
``ROUNDS`` rounds with the package's defaults and evaluated by true-label NDCG@10 (LightGBM's convention) on the
fold's test set, at the last round (no early stopping: no click-free validation set would exist in practice).
"Gap closed" = (debiased - biased) / (ceiling - biased), per engine, from the means over folds.

The oracle row "clicks, no position bias" trains on a second log simulated with every position examined (eta 0,
same click probabilities): what an unbiased method's loss equals in expectation, so the most that debiasing can
reach with one log of this size. When it scores below the biased model, the gap to the ceiling is click noise,
not position bias, and no debiasing method can close it.

Propensity recovery (fold 1, same clicks): the learned ``position_bias_`` against the true examination
probabilities, as a table and ``docs/clicks_propensity.png``.

Usage::

    python scripts/bench_clicks.py            # about 12 minutes on 2 cores
    python scripts/bench_clicks.py --quick    # fold 1 only, 10 rounds, does not write
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import SHARED_DATASETS, machine_info, publish  # noqa: E402

import gbm_objectives as go  # noqa: E402
from gbm_objectives.datasets.clicks import pbm_click_prob  # noqa: E402
from gbm_objectives.datasets import load_letor, simulate_clicks  # noqa: E402

ROUNDS = 100
THREADS = 2
NOISES = (0.1, 0.0)  # P(click | examined, irrelevant): the default click model, then noise-free clicks
LOGS = 3  # click logs per fold and click model (each model's score per fold is the mean over the logs)
ROOT = Path(__file__).resolve().parent.parent


def _fold(i):
    d = SHARED_DATASETS / "letor4_mq2008" / f"Fold{i}"
    if not d.exists():
        raise SystemExit(f"MQ2008 is absent ({d}); set GBM_OBJECTIVES_DATA")
    X, y, qid = load_letor(str(d / "train.txt.gz"))
    Xt, yt, qt = load_letor(str(d / "test.txt.gz"))
    return np.asarray(X, dtype=np.float64), y, qid, np.asarray(Xt, dtype=np.float64), yt, qt


def _sizes(qid):
    _, idx, counts = np.unique(qid, return_index=True, return_counts=True)
    return counts[np.argsort(idx)]


def _initial_ranker(X, y, group, fold):
    """LightGBM lambdarank on the labels of 10 % of the training queries (seeded per fold)."""
    rng = np.random.default_rng(fold)
    bounds = np.concatenate(([0], np.cumsum(group)))
    pick = np.sort(rng.choice(len(group), size=max(1, len(group) // 10), replace=False))
    rows = np.concatenate([np.arange(bounds[q], bounds[q + 1]) for q in pick])
    res = go.train("lambdarank:native", X[rows], y[rows], group=group[pick], num_boost_round=30, n_jobs=THREADS)
    return res.predict_raw(X)


def _variants():
    """(name, backend, objective, trained on: False labels / True clicks / "unbiased" eta-0 clicks, uses position)."""
    out = []
    for backend in ("lightgbm", "xgboost"):
        out += [
            ("labels (ceiling)", backend, go.LambdaRankObjective(), False, False),
            ("clicks, no position bias", backend, go.LambdaRankObjective(), "unbiased", False),
            ("clicks, biased", backend, go.LambdaRankObjective(), True, False),
            ("clicks, additive", backend, go.LambdaRankObjective(position_debias="additive"), True, True),
            ("clicks, ipw", backend, go.LambdaRankObjective(position_debias="ipw"), True, True),
        ]
    # the engines' own methods, each beside the same engine's own lambdarank on the same clicks (its baseline:
    # XGBoost's rank:ndcg computes other lambdas than this package's LightGBM-convention objective)
    for backend, debias in (("lightgbm", "additive"), ("xgboost", "ipw")):
        out.append(("clicks, biased (native)", backend, go.NativeObjective(go.LambdaRankObjective()), True, False))
        out.append((f"clicks, {debias} (native)", backend,
                    go.NativeObjective(go.LambdaRankObjective(position_debias=debias)), True, True))
    return out


def run(folds, rounds):
    """Scores keyed by (noise, model name, backend), one per fold; propensity recovery on the first fold."""
    scores = {}
    recovery = None
    t0 = time.perf_counter()
    for fold in folds:
        X, y, qid, Xt, yt, qt = _fold(fold)
        group, gt = _sizes(qid), _sizes(qt)
        logging_score = _initial_ranker(X, y, group, fold)
        for noise in NOISES:
            prob = pbm_click_prob(2, noise=noise)  # MQ2008 labels are 0, 1, 2
            per_log = {}
            for log in range(LOGS):
                seed = 100 * fold + log
                clicks, position = simulate_clicks(y, group=group, ranking_score=logging_score, model="pbm",
                                                   eta=1.0, click_prob=prob, seed=seed)
                unbiased, _ = simulate_clicks(y, group=group, ranking_score=logging_score, model="pbm", eta=0.0,
                                              click_prob=prob, seed=seed + 50)
                labels = {False: y, True: clicks, "unbiased": unbiased}
                for name, backend, obj, target, use_position in _variants():
                    key = (noise, name, backend)
                    if target is False and (noise != NOISES[0] or log):  # the ceiling sees no clicks: trained once
                        continue
                    res = go.train(obj, X, labels[target], group=group, backend=backend,
                                   position=position if use_position else None, num_boost_round=rounds,
                                   n_jobs=THREADS)
                    per_log.setdefault(key, []).append(go.ndcg_score(yt, res.predict_raw(Xt), group=gt, k=10))
                    if (fold == folds[0] and noise == NOISES[0] and log == 0 and use_position
                            and backend == "lightgbm" and not isinstance(obj, go.NativeObjective)):
                        recovery = recovery or {"position": position}
                        recovery[obj.position_debias] = res.position_bias
                if fold == folds[0] and noise == NOISES[0] and log == 0:
                    res = go.train(go.LambdaRankObjective(position_debias="ipw", bias_norm=0.0), X, clicks,
                                   group=group, position=position, num_boost_round=rounds, n_jobs=THREADS)
                    recovery["ipw_bn0"] = res.position_bias
            for name, backend, *_ in _variants():
                key = (noise, name, backend)
                value = np.mean(per_log[key]) if key in per_log else scores[(NOISES[0], name, backend)][-1]
                scores.setdefault(key, []).append(float(value))
        print(f"fold {fold} done at {time.perf_counter() - t0:.0f} s", flush=True)
    return scores, recovery, time.perf_counter() - t0


def _plot(recovery, path, n=20):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = np.arange(n)
    true = 1.0 / (p + 1.0)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(p, true, "k-o", label="true examination 1/(p+1)")
    a1.plot(p, np.sqrt(true), "k--", label="sqrt(true): what bias_norm=1 targets")
    tp = recovery["ipw"]["t_plus"][:n]
    a1.plot(np.arange(len(tp)), tp, "b-s", label="ipw t+ (bias_norm=1, default)")
    tp0 = recovery["ipw_bn0"]["t_plus"][:n]
    a1.plot(np.arange(len(tp0)), tp0, "g-^", label="ipw t+ (bias_norm=0)")
    a1.set_xlabel("position")
    a1.set_ylabel("propensity (relative to position 0)")
    a1.set_title("IPW propensities, MQ2008 fold 1, PBM eta=1")
    a1.legend(fontsize=8)
    b = recovery["additive"]
    m = min(n, len(b))
    a2.plot(np.arange(m), b[:m] - b[0], "r-s", label="additive bias b_p - b_0")
    a2.plot(p, np.log(true), "k-o", label="log true examination")
    a2.set_xlabel("position")
    a2.set_ylabel("score units")
    a2.set_title("Additive position bias (LightGBM's method)")
    a2.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(scores, recovery, seconds, folds, rounds):
    lines = [
        "Learning to rank from position-biased clicks (`scripts/bench_clicks.py`). LETOR 4.0 MQ2008, folds "
        f"{', '.join(map(str, folds))}; per fold an initial LightGBM ranker trained on the labels of 10 % of the "
        "training queries (30 rounds) orders the training queries, and one PBM click log is simulated on that "
        "order (examination 1/(p+1), eta 1; P(click | examined, label) = e + (1 - e) (2^l - 1)/3, with click "
        f"noise e = 0.1 and then e = 0); {LOGS} click logs per fold and click model, each fold's score the mean "
        "over its logs. "
        f"{rounds} rounds, package defaults, no early stopping; true-label NDCG@10 (LightGBM convention) on each "
        "fold's test set. Scratch = this package's LambdaRankObjective; native = the engine's own method. "
        "The oracle row \"clicks, no position bias\" is trained on a second log with every position examined "
        "(eta 0, same click probabilities): the target of an unbiased method in expectation, so the most that "
        "debiasing can reach from one log of this size.",
        "",
        f"Machine: {machine_info(THREADS)}. Total run time {seconds:.0f} s.",
    ]
    for noise in NOISES:
        lines += ["", f"**Click noise e = {noise:g}**", "",
                  "| model | engine | " + " | ".join(f"fold {f}" for f in folds) + " | mean |",
                  "|---|---|" + "---|" * (len(folds) + 1)]
        for (nz, name, backend), vals in scores.items():
            if nz == noise:
                lines.append(f"| {name} | {backend} | " + " | ".join(f"{v:.4f}" for v in vals)
                             + f" | {np.mean(vals):.4f} |")
    lines += ["", "Gap to the ceiling closed by debiasing, (debiased - biased) / (ceiling - biased), on the means "
              "(the oracle row: what removing the position bias from the clicks themselves does):", "",
              "| click noise | engine | method | biased | debiased | ceiling | gap closed |",
              "|---|---|---|---|---|---|---|"]
    for noise in NOISES:
        for backend in ("lightgbm", "xgboost"):
            top = np.mean(scores[(noise, "labels (ceiling)", backend)])
            for name in ("clicks, no position bias", "clicks, additive", "clicks, ipw", "clicks, additive (native)",
                         "clicks, ipw (native)"):
                if (noise, name, backend) in scores:
                    base = "clicks, biased (native)" if name.endswith("(native)") else "clicks, biased"
                    low = np.mean(scores[(noise, base, backend)])
                    mid = np.mean(scores[(noise, name, backend)])
                    closed = (mid - low) / (top - low) if top != low else float("nan")
                    method = "oracle: no position bias" if name == "clicks, no position bias" else name[8:]
                    lines.append(f"| {noise:g} | {backend} | {method} | {low:.4f} | {mid:.4f} | {top:.4f} | "
                                 f"{100 * closed:.0f} % |")
    pos = recovery["position"]
    n = 12
    true = 1.0 / (np.arange(n) + 1.0)
    b = recovery["additive"]
    lines += [
        "",
        f"Propensity recovery (fold {folds[0]}, click noise {NOISES[0]:g}, LightGBM, scratch objective): true examination vs what was learned. "
        "XGBoost's update raises the propensity ratios to 1/(1 + bias_norm), so with the default bias_norm=1 the "
        "t+ column tracks sqrt(true), with bias_norm=0 the true ratio; the additive biases are in score units, "
        "to compare with log(true). Rows at each position: `count`.",
        "",
        "| position | count | true | sqrt(true) | t+ (bias_norm=1) | t- (bias_norm=1) | t+ (bias_norm=0) | log(true) | additive b_p - b_0 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in range(n):
        def at(t):
            return f"{t[p]:.3f}" if p < len(t) else "-"
        lines.append(
            f"| {p} | {int((pos == p).sum())} | {true[p]:.3f} | {np.sqrt(true[p]):.3f} | {at(recovery['ipw']['t_plus'])} | "
            f"{at(recovery['ipw']['t_minus'])} | {at(recovery['ipw_bn0']['t_plus'])} | {np.log(true[p]):.3f} | "
            f"{(b[p] - b[0]) if p < len(b) else float('nan'):.3f} |")
    lines += ["", "![learned vs true propensities](docs/clicks_propensity.png)"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    folds = [1] if args.quick else [1, 2, 3, 4, 5]
    rounds = 10 if args.quick else ROUNDS
    scores, recovery, seconds = run(folds, rounds)
    _plot(recovery, ROOT / "docs" / "clicks_propensity.png")
    publish("clicks", markdown(scores, recovery, seconds, folds, rounds), write=not args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
