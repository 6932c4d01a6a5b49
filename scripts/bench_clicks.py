"""Benchmark: learning to rank from position-biased clicks (section ``clicks`` of BENCHMARKS.md).

Three parts, each on several click logs (the spread between logs is the noise every claim is measured against):

1. **LightGBM's cascade protocol** (``test_engine.py``, ``simulate_position_bias``) on its lambdarank example:
   rank.train shown in the order of feature 34, cascade user (stop 0.2 after every examined document, P(click) =
   0.4 ... 0.9 by label), S = 1, 10, 50 sessions per query (each session a query group of its own), 5 logs
   (seeds 10..14; 3 at S = 50), 50 rounds with LightGBM's test parameters; best NDCG@3 and last-round NDCG@10 on
   rank.test's true labels. Both engines, scratch objectives, and the engines' native methods on the same logs.
   The two ceilings of the gain-versus-sessions plot: the true labels, and (part ``examined``) clicks from the same
   seeds and sessions with every position examined (stop 0), trained without debiasing.
2. **Propensity recovery**: MQ2008 fold 1, PBM (theta_p = 1/(p+1)), randomised logging (uniform; Plackett-Luce
   on a weak logger), S = 10, 50 and 100, 10 logs per cell: ``go.estimate_propensity`` "em" (latent relevance per
   pair; and the regression EM with the 46 features) and "harvest" (AllPairs) against the truth at positions 1-10,
   beside the oracle that knows every document's click probability (the noise floor); the deterministic
   one-session log through ``go.click_report``. The S = 10 cells again (oracle, harvest, em) on a synthetic set
   where the query count is not the limit (``make_ranking``: 5,000 queries of 11-20 documents, 3 grades).
3. **MQ2008, 5 folds**: Joachims et al. 2017's protocol: a logger trained on 1 % of the training queries' labels
   (``go.weak_logger(share=0.01)``) shows its ranking deterministically, S = 100 sessions per training query, PBM
   clicks (eta = 1, noise 0.1); naive clicks vs the debiased methods (true propensities, and em propensities from a
   separate randomisation experiment), both engines, 100 rounds, last-round test NDCG@10; and a setup study
   (LightGBM): the previous setup, then logger share, eta and S changed one at a time.

Usage::

    GBM_OBJECTIVES_DATA=/path/to/datasets python scripts/bench_clicks.py            # about 90 minutes on 2 cores
    python scripts/bench_clicks.py --quick                                          # 1 log, S = 1 and 10 only
    python scripts/bench_clicks.py --render                                         # re-write from the saved JSON
    python scripts/bench_clicks.py --parts propensity_synthetic                     # one part into the saved JSON
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import SHARED_DATASETS, machine_info, publish  # noqa: E402

import gbm_objectives as go  # noqa: E402
from gbm_objectives.datasets import load_letor, simulate_clicks  # noqa: E402
from gbm_objectives.datasets.clicks import LIGHTGBM_CLICK_PROB, pbm_click_prob  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("GBM_OBJECTIVES_DATA", SHARED_DATASETS))
RESULTS = Path(os.environ.get("BENCH_CLICKS_JSON", "/tmp/bench_clicks.json"))
THREADS = 1
PROTOCOL = {"lightgbm": dict(min_data_in_leaf=50, min_sum_hessian_in_leaf=5.0, bagging_freq=1, bagging_fraction=0.9),
            "xgboost": dict(min_child_weight=5.0, subsample=0.9)}
CASCADE_THETA = 0.8 ** np.arange(200)  # LightGBM's cascade stops with 0.2 after every examined document
LR = go.LambdaRankObjective


def _cascade_methods(S):
    """(name, backend, objective, uses positions) for one click log of the cascade protocol."""
    full = S <= 10
    out = []
    for be in ("lightgbm", "xgboost"):
        out += [("biased", be, LR(), False), ("cascade", be, LR(position_debias="cascade"), True),
                ("ipw normalize=off bias_norm=0", be, LR(position_debias="ipw", normalize="off", bias_norm=0.0), True)]
        if full:
            out += [("ipw normalize=after bias_norm=1 (XGBoost's)", be,
                     LR(position_debias="ipw", normalize="after", bias_norm=1.0), True),
                    ("ipw normalize=before bias_norm=0", be,
                     LR(position_debias="ipw", normalize="before", bias_norm=0.0), True),
                    ("ipw normalize=off bias_norm=1", be, LR(position_debias="ipw", normalize="off", bias_norm=1.0),
                     True),
                    ("ips_pointwise, true propensities", be, go.IPSPointwiseLoss(CASCADE_THETA), True)]
    out.append(("native lambdarank_unbiased (normalization off, bias_norm=0)", "xgboost",
                go.NativeObjective(LR(position_debias="ipw", normalize="off", bias_norm=0.0)), True))
    if full:
        out += [("native additive (LightGBM's)", "lightgbm", go.NativeObjective(LR(position_debias="additive")), True),
                ("native biased", "xgboost", go.NativeObjective(LR()), False),
                ("native biased", "lightgbm", go.NativeObjective(LR()), False)]
    return out


def _rank_example():
    from sklearn.datasets import load_svmlight_file

    d = DATA / "lightgbm_lambdarank"
    X, y = load_svmlight_file(str(d / "rank.train"), zero_based=True)
    Xt, yt = load_svmlight_file(str(d / "rank.test"), zero_based=True, n_features=X.shape[1])
    return (X.toarray(), y, np.loadtxt(d / "rank.train.query").astype(np.int64), Xt.toarray(), yt,
            np.loadtxt(d / "rank.test.query").astype(np.int64))


def _fit(obj, backend, X, y, group, position, Xt, yt, gt, rounds, params=None):
    res = go.train(obj, X, y, group=group, position=position, backend=backend, params=params, num_boost_round=rounds,
                   eval_set=[(Xt, yt)], eval_group=[gt], metric=["ndcg@3", "ndcg@10"], n_jobs=THREADS)
    e = res.evals_result["valid_0"]
    return float(max(e["ndcg@3"])), float(e["ndcg@10"][-1])


def part_cascade(sessions, logs):
    X, y, group, Xt, yt, gt = _rank_example()
    out = {"ceiling": {}, "cells": []}
    for be in ("lightgbm", "xgboost"):
        out["ceiling"][be] = _fit(LR(), be, X, y, group, None, Xt, yt, gt, 50, PROTOCOL[be])
    t0 = time.perf_counter()
    for S in sessions:
        for seed in range(10, 10 + (logs if S <= 10 else min(logs, 3))):
            log = simulate_clicks(y, group=group, ranking_score=X[:, 34], model="cascade",
                                  click_prob=LIGHTGBM_CLICK_PROB, stop_prob=0.2, seed=seed, sessions=S)
            Xs = X[log.row]
            for name, be, obj, use_pos in _cascade_methods(S):
                b3, l10 = _fit(obj, be, Xs, log.clicks, log.group, log.position if use_pos else None, Xt, yt, gt,
                               50, PROTOCOL[be])
                out["cells"].append({"S": S, "seed": seed, "method": name, "backend": be, "best_ndcg3": b3,
                                     "last_ndcg10": l10, "clicks": int(log.clicks.sum())})
            print(f"cascade S={S} seed={seed} done at {time.perf_counter() - t0:.0f} s", flush=True)
    return out


EXAMINED = "every position examined (biased model; clicks ceiling)"


def part_examined(cascade, sessions, logs):
    """The second ceiling of the gain-versus-sessions curve: the same logs' seeds and sessions, with the user
    examining every position (``stop_prob=0``: no position bias, the same click probabilities), trained without
    debiasing. It bounds what a debiaser can recover from S sessions of clicks (the label ceiling bounds what any
    click log can give); such a log has more clicks than the biased one, so it is a ceiling per S, not per log."""
    X, y, group, Xt, yt, gt = _rank_example()
    cells = [c for c in cascade["cells"] if c["method"] != EXAMINED]
    t0 = time.perf_counter()
    for S in sessions:
        for seed in range(10, 10 + (logs if S <= 10 else min(logs, 3))):
            log = simulate_clicks(y, group=group, ranking_score=X[:, 34], model="cascade",
                                  click_prob=LIGHTGBM_CLICK_PROB, stop_prob=0.0, seed=seed, sessions=S)
            for be in ("lightgbm", "xgboost"):
                b3, l10 = _fit(LR(), be, X[log.row], log.clicks, log.group, None, Xt, yt, gt, 50, PROTOCOL[be])
                cells.append({"S": S, "seed": seed, "method": EXAMINED, "backend": be, "best_ndcg3": b3,
                              "last_ndcg10": l10, "clicks": int(log.clicks.sum())})
            print(f"examined S={S} seed={seed} done at {time.perf_counter() - t0:.0f} s", flush=True)
    return dict(cascade, cells=cells)


def _mq2008(fold):
    d = DATA / "letor4_mq2008" / f"Fold{fold}"
    X, y, qid = load_letor(str(d / "train.txt.gz"))
    Xt, yt, qt = load_letor(str(d / "test.txt.gz"))
    return np.asarray(X, dtype=np.float64), y, _sizes(qid), np.asarray(Xt, dtype=np.float64), yt, _sizes(qt)


def _sizes(qid):
    _, idx, counts = np.unique(qid, return_index=True, return_counts=True)
    return counts[np.argsort(idx)]


#: propensity recovery: (policy, sessions per query) cells, logs per cell
PROPENSITY_CELLS = (("uniform", 10), ("plackett_luce", 10), ("uniform", 50), ("plackett_luce", 50),
                    ("uniform", 100), ("plackett_luce", 100))
PROPENSITY_METHODS = ("oracle (true relevance known)", "harvest", "em", "em, regression (GBDT on the 46 features)")


def _oracle_propensity(log, p_click, n_pos):
    """The noise floor: theta_p from the clicks at p and the true click probabilities of the rows shown there
    (relevance known), relative to position 0."""
    k = log.position < n_pos
    clicks = np.bincount(log.position[k], weights=log.clicks[k], minlength=n_pos)
    expected = np.bincount(log.position[k], weights=p_click[log.row[k]], minlength=n_pos)
    theta = clicks / np.maximum(expected, 1e-12)
    return theta / theta[0]


def _propensity_row(log, p_click, policy, S, seed, methods=PROPENSITY_METHODS, X=None, bootstrap=True):
    """One click log of the propensity part: its click report, the oracle and every estimate (with its seconds)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = go.click_report(log.clicks, log.position, log.query, log.row, session=log.session)
    row = {"policy": policy, "S": S, "seed": seed, "share": report.multi_position_share,
           "identifiable": report.identifiable, "clicks": int(log.clicks.sum()),
           "clicks_at_10": int(log.clicks[log.position == 10].sum()),
           "warned": any("not identifiable" in str(w.message) for w in caught)}
    row[PROPENSITY_METHODS[0]] = {"propensity": _oracle_propensity(log, p_click, 11).tolist(),
                                  "seconds": 0.0, "lower": None, "upper": None}
    for name in methods[1:]:
        kw = {"X": X[log.row]} if "regression" in name else {}
        boot = 0 if kw or seed or S > 10 or policy == "deterministic" or not bootstrap else (
            50 if name == "harvest" else 20)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = go.estimate_propensity(log.clicks, log.position, log.query, log.row, session=log.session,
                                         method=name.split(",")[0], n_positions=11, n_bootstrap=boot, **kw)
        row[name] = {"propensity": est.propensity.tolist(), "seconds": time.perf_counter() - t,
                     "lower": None if est.lower is None else est.lower.tolist(),
                     "upper": None if est.upper is None else est.upper.tolist()}
    return row


def part_propensity(logs):
    X, y, group, *_ = _mq2008(1)
    logger = go.weak_logger(X, y, group=group, share=0.05, seed=1)
    prob = pbm_click_prob(2, noise=0.1)
    p_click = prob[y.astype(np.int64)]
    out = []
    for policy, S in PROPENSITY_CELLS + (("deterministic", 1),):
        n_logs = 1 if policy == "deterministic" else logs
        for seed in range(n_logs):
            log = simulate_clicks(y, group=group, ranking_score=logger, click_prob=prob, policy=policy, sessions=S,
                                  seed=seed)
            out.append(_propensity_row(log, p_click, policy, S, seed, X=X))
        print(f"propensity {policy} S={S} done", flush=True)
    return out


def part_propensity_intervals(rows):
    """The logs of part 2 whose estimates carry bootstrap intervals (seed 0 at S <= 10, randomised logging) again,
    "harvest" and "em" only, replacing those entries of ``rows`` (after a change of the bootstrap)."""
    X, y, group, *_ = _mq2008(1)
    logger = go.weak_logger(X, y, group=group, share=0.05, seed=1)
    prob = pbm_click_prob(2, noise=0.1)
    p_click = prob[y.astype(np.int64)]
    for row in rows:
        if row["seed"] == 0 and row["S"] <= 10 and row["policy"] != "deterministic":
            log = simulate_clicks(y, group=group, ranking_score=logger, click_prob=prob, policy=row["policy"],
                                  sessions=row["S"], seed=0)
            row.update({k: v for k, v in _propensity_row(log, p_click, row["policy"], row["S"], 0,
                                                         methods=PROPENSITY_METHODS[:3]).items()
                        if k in PROPENSITY_METHODS[1:3]})
            print(f"intervals {row['policy']} S={row['S']} done", flush=True)
    return rows


#: propensity recovery where the query count is not the limit: ``make_ranking`` queries of 11-20 documents (every
#: position 0-10 shown in every session), 3 grades as MQ2008's, the same weak logger, click model and cells at S = 10
SYNTHETIC_SET = {"n_queries": 5000, "docs_per_query": (11, 20), "n_features": 20, "n_labels": 3, "seed": 0}
SYNTHETIC_CELLS = (("uniform", 10), ("plackett_luce", 10))


def part_propensity_synthetic(logs, setup=SYNTHETIC_SET):
    """Part 2 on the synthetic set: the oracle, "harvest" and "em" (no bootstrap: the point estimates are timed)."""
    from gbm_objectives.datasets import make_ranking

    X, y, qid = make_ranking(**setup)
    group = _sizes(qid)
    logger = go.weak_logger(X, y, group=group, share=0.05, seed=1)
    prob = pbm_click_prob(2, noise=0.1)
    p_click = prob[y.astype(np.int64)]
    out = []
    for policy, S in SYNTHETIC_CELLS:
        for seed in range(logs):
            log = simulate_clicks(y, group=group, ranking_score=logger, click_prob=prob, policy=policy, sessions=S,
                                  seed=seed)
            row = _propensity_row(log, p_click, policy, S, seed, PROPENSITY_METHODS[:3], bootstrap=False)
            out.append({**row, "documents": len(y)})
        print(f"propensity synthetic {policy} S={S} done", flush=True)
    return out


#: the MQ2008 protocol (Joachims et al. 2017's simulation): a logger trained on 1 % of the training queries' labels
#: shows its ranking deterministically, PBM clicks with eta = 1 and click noise 0.1, S sessions per training query
MQ_SETUP = {"share": 0.01, "policy": "deterministic", "eta": 1.0, "sessions": 100, "noise": 0.1,
            "intervention_sessions": 10}


def part_mq2008(folds, rounds, setup=MQ_SETUP):
    """Naive clicks against the debiased methods on the same log, both engines; the estimated propensities come from a
    separate randomisation experiment (every training query shown ``intervention_sessions`` times in a uniformly
    random order, PBM clicks), since a deterministic log cannot identify them."""
    out = []
    prob = pbm_click_prob(2, noise=setup["noise"])
    for fold in folds:
        X, y, group, Xt, yt, gt = _mq2008(fold)
        logger = go.weak_logger(X, y, group=group, share=setup["share"], seed=fold)
        log = simulate_clicks(y, group=group, ranking_score=logger, click_prob=prob, policy=setup["policy"],
                              eta=setup["eta"], sessions=setup["sessions"], seed=100 + fold)
        n_pos = int(log.position.max()) + 1
        true = (1.0 / (np.arange(n_pos) + 1.0)) ** setup["eta"]
        trial = simulate_clicks(y, group=group, click_prob=prob, policy="uniform", eta=setup["eta"],
                                sessions=setup["intervention_sessions"], seed=200 + fold)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimated = {"em": go.estimate_propensity(trial.clicks, trial.position, trial.query, trial.row,
                                                      method="em", n_positions=n_pos, n_bootstrap=0).propensity}
        Xs = X[log.row]
        clicks = (log.clicks, log.group, log.position, Xs)
        for be in ("lightgbm", "xgboost"):
            cells = [("labels (ceiling)", LR(), (y, group, None, X)),
                     ("naive clicks", LR(), (log.clicks, log.group, None, Xs)),
                     ("ipw (defaults: normalize=before, bias_norm=0, learned propensities)", LR(position_debias="ipw"),
                      clicks),
                     ("ipw normalize=off, true propensities", LR(position_debias="ipw", normalize="off",
                                                                  propensity=true), clicks),
                     ("ips_pointwise, true propensities", go.IPSPointwiseLoss(true), clicks),
                     ("ips_pointwise, em propensities (randomisation experiment)",
                      go.IPSPointwiseLoss(estimated["em"]), clicks)]
            for name, obj, (labels, grp, pos, XX) in cells:
                t = time.perf_counter()
                _, l10 = _fit(obj, be, XX, labels, grp, pos, Xt, yt, gt, rounds)
                out.append({"fold": fold, "backend": be, "method": name, "ndcg10": l10,
                            "seconds": time.perf_counter() - t})
            print(f"mq2008 fold {fold} {be} done", flush=True)
    return out


#: the setup study (LightGBM, 5 folds): the previous bench's setup, then one change at a time toward MQ_SETUP
MQ_SETUPS = (("5 % logger, Plackett-Luce T=1, S=10 (the previous bench)", {"share": 0.05, "policy": "plackett_luce",
                                                                             "eta": 1.0, "sessions": 10}),
             ("5 % logger, deterministic, S=10", {"share": 0.05, "policy": "deterministic",
                                                 "eta": 1.0, "sessions": 10}),
             ("1 % logger, deterministic, S=10", {"share": 0.01, "policy": "deterministic",
                                                 "eta": 1.0, "sessions": 10}),
             ("1 % logger, deterministic, S=10, eta=2", {"share": 0.01, "policy": "deterministic", "eta": 2.0,
                                                         "sessions": 10}),
             ("1 % logger, deterministic, S=50", {"share": 0.01, "policy": "deterministic",
                                                 "eta": 1.0, "sessions": 50}),
             ("1 % logger, deterministic, S=100 (the protocol above)", {"share": 0.01, "policy": "deterministic",
                                                                        "eta": 1.0, "sessions": 100}))


def part_mq2008_setups(folds, rounds, main=()):
    """Naive clicks, IPS pointwise with the true propensities and the label ceiling under each setup (LightGBM); the
    setup of part 3 (``MQ_SETUP``, the same logs) is taken from its cells ``main`` when given."""
    out = []
    prob = pbm_click_prob(2, noise=0.1)
    for fold in folds:
        X, y, group, Xt, yt, gt = _mq2008(fold)
        _, ceiling = _fit(LR(), "lightgbm", X, y, group, None, Xt, yt, gt, rounds)
        loggers = {}
        for name, st in MQ_SETUPS:
            same = {c["method"]: c["ndcg10"] for c in main if c["fold"] == fold and c["backend"] == "lightgbm"}
            if all(st[k] == MQ_SETUP[k] for k in st) and same:
                out.append({"fold": fold, "setup": name, "ceiling": ceiling, "naive": same["naive clicks"],
                            "ips": same["ips_pointwise, true propensities"]})
                continue
            if st["share"] not in loggers:
                loggers[st["share"]] = go.weak_logger(X, y, group=group, share=st["share"], seed=fold)
            log = simulate_clicks(y, group=group, ranking_score=loggers[st["share"]], click_prob=prob,
                                  policy=st["policy"], eta=st["eta"], sessions=st["sessions"], seed=100 + fold)
            true = (1.0 / (np.arange(int(log.position.max()) + 1) + 1.0)) ** st["eta"]
            Xs = X[log.row]
            _, naive = _fit(LR(), "lightgbm", Xs, log.clicks, log.group, None, Xt, yt, gt, rounds)
            _, ips = _fit(go.IPSPointwiseLoss(true), "lightgbm", Xs, log.clicks, log.group, log.position, Xt, yt, gt,
                          rounds)
            out.append({"fold": fold, "setup": name, "ceiling": ceiling, "naive": naive, "ips": ips})
        print(f"mq2008 setups fold {fold} done", flush=True)
    return out


# ------------------------------------------------------------------------------------------------------------
def _mean_by(cells, key, value):
    acc = {}
    for c in cells:
        acc.setdefault(tuple(c[k] for k in key), []).append(c[value])
    return acc


def _plot(res, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = res["cascade"]["cells"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharey=True)
    for ax, be in zip(axes, ("lightgbm", "xgboost")):
        by = _mean_by([c for c in cells if c["backend"] == be], ("method", "S"), "best_ndcg3")
        for method, style in (("biased", "k-o"), ("cascade", "g-s"), ("ipw normalize=off bias_norm=0", "b-^"),
                              ("ipw normalize=before bias_norm=0", "c-D"),
                              ("native lambdarank_unbiased (normalization off, bias_norm=0)", "m--v"),
                              (EXAMINED, "r--")):
            pts = sorted((S, np.mean(v)) for (m, S), v in by.items() if m == method)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=method)
        ax.axhline(res["cascade"]["ceiling"][be][0], color="r", ls=":", label="true labels (ceiling)")
        ax.set_xscale("log")
        ax.set_xlabel("sessions per query S")
        ax.set_title(f"{be}: best NDCG@3 on rank.test (mean over logs)")
    axes[0].set_ylabel("best NDCG@3")
    legend = {}  # one legend under both panels (a method may be drawn on one engine only)
    for ax in axes:
        legend.update(zip(*reversed(ax.get_legend_handles_labels())))
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _propensity_cells(rows):
    cells = {}
    for r in rows:
        cells.setdefault((r["policy"], r["S"]), []).append(r)
    return cells


def _propensity_stats(rows, name):
    """Error statistics over the logs of one cell (the definitions in the section text)."""
    truth = 1.0 / (np.arange(11) + 1.0)
    est = np.array([r[name]["propensity"][:11] for r in rows])
    rel = np.abs(est[:, 1:11] / truth[1:11] - 1.0)
    per_log = rel.max(axis=1)
    return {"mean": float(per_log.mean()), "worst": float(per_log.max()), "positions": float(rel.mean()),
            "bias": float(np.max(np.abs(est[:, 1:11].mean(axis=0) / truth[1:11] - 1.0))), "n": len(rows)}


def _propensity_table(rows_all):
    lines = ["| logging | S | clicks per log (at position 10) | method | error: mean | worst log | mean over "
             "positions | bias | positions 1, 2, 5, 10 of log 0 (truth 0.500, 0.333, 0.167, 0.091) | 95 % interval "
             "at 10 (log 0) | seconds |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (policy, S), rows in _propensity_cells(rows_all).items():
        for name in PROPENSITY_METHODS:
            if name not in rows[0]:
                continue
            st = _propensity_stats(rows, name)
            p = np.asarray(rows[0][name]["propensity"])
            iv = (f"{rows[0][name]['lower'][10]:.3f}-{rows[0][name]['upper'][10]:.3f}"
                  if rows[0][name]["lower"] is not None and np.isfinite(rows[0][name]["lower"][10]) else "-")
            flag = "" if rows[0]["identifiable"] else " (not identifiable: warned)" if rows[0]["warned"] else ""
            lines.append(f"| {policy}{flag} | {S} | {np.mean([r['clicks'] for r in rows]):.0f} "
                         f"({np.mean([r['clicks_at_10'] for r in rows]):.0f}) | {name} | {100 * st['mean']:.1f} % | "
                         f"{100 * st['worst']:.1f} % | {100 * st['positions']:.1f} % | {100 * st['bias']:.1f} % | "
                         f"{p[1]:.3f}, {p[2]:.3f}, {p[5]:.3f}, {p[10]:.3f} | {iv} | "
                         f"{np.mean([r[name]['seconds'] for r in rows]):.1f} |")
    return lines


def markdown(res):
    lines = [
        "Learning to rank from position-biased clicks (`scripts/bench_clicks.py`, issue 26). Every cell is a mean "
        "over click logs simulated with different seeds; gains are over the same engine's biased model on the same "
        "logs. Scratch = this package's objectives through `go.train`; native = the engine's own method.",
        "",
        f"Machine: {machine_info(THREADS)}; the box was shared with other jobs (times not comparable). Run time "
        f"{res['seconds']:.0f} s.",
        "",
        *[f"Note: {n}" for n in res.get("notes", ())],
        *([""] if res.get("notes") else []),
        "### Findings against the issue's targets (generated from the numbers below)",
        "",
        *_findings(res),
        "",
        "### 1. LightGBM's cascade protocol (rank.train / rank.test, sessions S per query)",
        "",
        "Logger: feature 34, deterministic; cascade user (stop 0.2 after every examined document; P(click) 0.4-0.9 "
        "by label); each session is one training query group. 50 rounds, LightGBM's test parameters (bagging 0.9, "
        "min_data_in_leaf 50, min_sum_hessian 5; XGBoost subsample 0.9, min_child_weight 5). Best NDCG@3 (over the "
        "rounds) and last-round NDCG@10 on rank.test's true labels; gains are over the scratch biased model of the same "
        "engine on the same log (native rows too); `logs >= +0.03` = logs whose gain is at least 0.03. S = 50: 3 logs "
        "and fewer methods (time on the shared 2-core machine).",
        "",
    ]
    ceiling = res["cascade"]["ceiling"]
    cells = res["cascade"]["cells"]
    lines += [f"True-label ceiling: LightGBM {ceiling['lightgbm'][0]:.4f} / {ceiling['lightgbm'][1]:.4f}, XGBoost "
              f"{ceiling['xgboost'][0]:.4f} / {ceiling['xgboost'][1]:.4f} (best NDCG@3 / last NDCG@10).", "",
              "| S | engine | method | logs | clicks per log | best NDCG@3 | gain | logs >= +0.03 | last NDCG@10 | gain |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for S in sorted({c["S"] for c in cells}):
        for be in ("lightgbm", "xgboost"):
            sub = [c for c in cells if c["S"] == S and c["backend"] == be]
            if not sub:
                continue
            base = {c["seed"]: c for c in sub if c["method"] == "biased"}
            for method in dict.fromkeys(c["method"] for c in sub):
                mc = [c for c in sub if c["method"] == method]
                g3 = [c["best_ndcg3"] - base[c["seed"]]["best_ndcg3"] for c in mc]
                g10 = [c["last_ndcg10"] - base[c["seed"]]["last_ndcg10"] for c in mc]
                lines.append(
                    f"| {S} | {be} | {method} | {len(mc)} | {np.mean([c['clicks'] for c in mc]):.0f} | "
                    f"{np.mean([c['best_ndcg3'] for c in mc]):.4f} | {np.mean(g3):+.4f} | "
                    f"{sum(g >= 0.03 for g in g3)}/{len(g3)} | {np.mean([c['last_ndcg10'] for c in mc]):.4f} | "
                    f"{np.mean(g10):+.4f} |")
    lines += ["", "![gain versus sessions](docs/clicks_sessions.png)", ""]
    lines += ["### 2. Propensity recovery (MQ2008 fold 1, PBM theta_p = 1/(p+1), click noise 0.1)", "",
              "Logs: the 471 training queries of fold 1, every query shown S times, rankings drawn from the weak "
              "logger (`go.weak_logger`, 5 % of the labels) uniformly or Plackett-Luce (temperature 1); 10 logs per "
              "cell (seeds 0-9, all reported). **Error** of one log = the largest relative error over positions "
              "1-10 of the estimate normalised to position 0, max_p |(est_p / est_0) / (theta_p / theta_0) - 1|; the "
              "table gives its mean over the logs and the worst log, the mean over positions 1-10 of the same "
              "relative error (mean over logs), and the bias = max_p |mean over logs of est_p / theta_p - 1|. "
              "**Oracle** = the estimate a method knowing every document's true click probability would make "
              "(clicks at p / expected clicks at p): no estimator can beat its noise, set by the few clicks at the "
              "deep positions (column `clicks at 10`). Intervals: bootstrap over queries on log 0 of the S = 10 "
              "cells (50 replicates for harvest, 20 for em; none for the regression EM, each replicate would "
              "retrain the GBDT).", "",
              ]
    lines += _propensity_table(res["propensity"])
    lines += [""]
    if "propensity_synthetic" in res:
        st, rows = SYNTHETIC_SET, res["propensity_synthetic"]
        mq10 = [r for r in res["propensity"] if r["S"] == 10 and r["policy"] != "deterministic"]
        oracle = _propensity_stats(mq10, PROPENSITY_METHODS[0])["mean"] if mq10 else float("nan")
        lines += ["Part 2 at scale. On MQ2008 the query count is the limit: about half of fold 1's 471 queries have 8 "
                  f"documents, so at S = 10 about {np.mean([r['clicks_at_10'] for r in mq10]):.0f} clicks land at "
                  f"position 10 and even the oracle is off by {100 * oracle:.0f} % on average. The same S = 10 cells "
                  "on a synthetic set from the package's own generator, "
                  f"`go.datasets.make_ranking(n_queries={st['n_queries']}, docs_per_query={st['docs_per_query']}, "
                  f"n_features={st['n_features']}, n_labels={st['n_labels']}, seed={st['seed']})` "
                  f"({rows[0]['documents']:,} documents, 3 grades as MQ2008, positions 0-10 shown in every session): "
                  "the same weak logger (5 % of the queries' labels), click model (PBM eta = 1, P(click | examined) "
                  "= 0.1, 0.4, 1.0 by grade), 10 logs per cell (seeds 0-9), error definitions and oracle; no "
                  "bootstrap (seconds = one point estimate, mean over the logs).", ""]
        lines += _propensity_table(rows)
    lines += ["", "![propensities](docs/clicks_propensity.png)", "",
              "### 3. MQ2008, 5 folds: naive clicks against the debiased methods", "",
              "The protocol of Joachims et al. 2017 (and of most of the unbiased-LTR literature since): the logger is "
              "a ranker trained on 1 % of the training queries' labels (`go.weak_logger(share=0.01)`, LambdaRank, "
              "30 rounds; 5 queries of fold 1's 471) and shows its ranking deterministically; PBM clicks with "
              "eta = 1 (theta_p = 1/(p+1)) and P(click | examined, label) = 0.1 + 0.9 (2^l - 1)/3; every training "
              "query shown S = 100 times (47,100 sessions, about 35,000 clicks per fold). 100 rounds, package "
              "defaults, last-round test NDCG@10 (LightGBM convention) on the true labels. A deterministic log cannot "
              "identify the propensities, "
              "so the estimated ones come from a separate randomisation experiment (every training query shown 10 "
              "times in a uniformly random order, `go.estimate_propensity` on that log). `labels (ceiling)` is "
              "LambdaRank on the true labels, the reference of the previous bench; it is not a bound (a pointwise "
              "model of the click probabilities can pass it).", "",
              "Why this setup: it is the literature's standard (1 % logger, eta = 1, noise 0.1; Joachims et al. 2017, "
              "Ai et al. 2018, Oosterhuis & de Rijke 2020), not one picked for the result; the setup study below "
              "changes one thing at a time from the previous bench's setup. The room comes from the logger: trained "
              "on 5 % of the labels it ranks MQ2008 almost as well as LambdaRank on all of them, so naive clicks, "
              "randomised or not, sit about 0.01 below the label model and nothing is left to debias; trained on 1 % "
              "it leaves about 0.04. Whether a debiaser takes it is the click volume: at S = 10 (4,710 sessions, "
              "about 3,500 clicks per fold) the variance of inverse-propensity weighting costs as much as the bias it "
              "removes (a stronger position bias, eta = 2, costs more); from S = 50 it gains on most folds (5 and 4 of "
              "5 at S = 50 and 100), as the unbiased-LTR literature reports (debiasing needs clicks).", "",
              ]
    lines += _mq_table(res["mq2008"])
    if "mq2008_setups" in res:
        lines += ["", "Setup study (LightGBM, the same 5 folds; gain = mean over folds of the method minus naive "
                  "clicks; IPS pointwise with the true propensities, clip 0.05): how much room each setup leaves, "
                  "and whether a debiaser takes it.", "",
                  "| setup | folds | naive clicks | label ceiling | ceiling - naive | ips_pointwise - naive | folds "
                  "where ips > naive |", "|---|---|---|---|---|---|---|"]
        for name, _ in MQ_SETUPS:
            rows = [r for r in res["mq2008_setups"] if r["setup"] == name]
            if not rows:
                continue
            naive = np.mean([r["naive"] for r in rows])
            lines.append(f"| {name} | {len(rows)} | {naive:.4f} | {np.mean([r['ceiling'] for r in rows]):.4f} | "
                         f"{np.mean([r['ceiling'] for r in rows]) - naive:+.4f} | "
                         f"{np.mean([r['ips'] for r in rows]) - naive:+.4f} | "
                         f"{sum(r['ips'] > r['naive'] for r in rows)}/{len(rows)} |")
    return "\n".join(lines)


def _mq_table(cells):
    folds = sorted({c["fold"] for c in cells})
    lines = ["| engine | method | " + " | ".join(f"fold {f}" for f in folds) + " | mean | gain over naive |",
             "|---|---|" + "---|" * (len(folds) + 2)]
    for be in ("lightgbm", "xgboost"):
        sub = [c for c in cells if c["backend"] == be]
        naive = np.mean([c["ndcg10"] for c in sub if c["method"] == "naive clicks"])
        for method in dict.fromkeys(c["method"] for c in sub):
            v = [c["ndcg10"] for c in sub if c["method"] == method]
            lines.append(f"| {be} | {method} | " + " | ".join(f"{x:.4f}" for x in v)
                         + f" | {np.mean(v):.4f} | {np.mean(v) - naive:+.4f} |")
    return lines


def _gain(cells, S, be, method, key="best_ndcg3"):
    sub = [c for c in cells if c["S"] == S and c["backend"] == be]
    base = {c["seed"]: c[key] for c in sub if c["method"] == "biased"}
    g = [c[key] - base[c["seed"]] for c in sub if c["method"] == method]
    return (float(np.mean(g)), sum(v >= 0.03 for v in g), len(g)) if g else (float("nan"), 0, 0)


def _propensity_findings(rows_all):
    """Per randomised cell: the error of every method, mean (worst) over the logs, and which target it meets."""
    parts = []
    for (policy, S), rows in _propensity_cells(rows_all).items():
        if policy == "deterministic":
            continue
        cell = []
        for name in PROPENSITY_METHODS:
            if name in rows[0]:
                st = _propensity_stats(rows, name)
                cell.append(f"{name.split(' (')[0]} {100 * st['mean']:.0f} % (worst {100 * st['worst']:.0f} %)")
        stats = [_propensity_stats(rows, m) for m in ("harvest", "em")]
        met = ("met on every log" if all(st["worst"] <= 0.10 for st in stats) else
               "met on average, not on every log" if all(st["mean"] <= 0.10 for st in stats) else "not met")
        oracle = _propensity_stats(rows, PROPENSITY_METHODS[0])
        if oracle["worst"] > 0.10:
            met += "; the oracle misses " + ("on average too" if oracle["mean"] > 0.10 else "on some logs too")
        parts.append(f"{policy} S={S}: " + ", ".join(cell) + f" ({met})")
    return "; ".join(parts)


def _findings(res):
    cells = res["cascade"]["cells"]
    native = "native lambdarank_unbiased (normalization off, bias_norm=0)"
    out = []
    parts = []
    for be in ("lightgbm", "xgboost"):
        g, k, n = _gain(cells, 1, be, "cascade")
        parts.append(f"{be} {g:+.3f} ({k}/{n} logs >= +0.03)")
    out.append("- S = 1, a method that fits the cascade (`position_debias=\"cascade\"`): " + ", ".join(parts)
               + " (target: >= +0.05 on both engines, >= 4 of 5 logs >= +0.03).")
    nat = np.mean([c["best_ndcg3"] for c in cells if c["S"] == 10 and c["method"] == native])
    for method in ("ipw normalize=before bias_norm=0", "ipw normalize=off bias_norm=0"):
        parts = []
        for be in ("lightgbm", "xgboost"):
            g, k, n = _gain(cells, 10, be, method)
            mean = np.mean([c["best_ndcg3"] for c in cells if c["S"] == 10 and c["backend"] == be
                            and c["method"] == method])
            parts.append(f"{be} {g:+.3f}, {mean - nat:+.3f} from XGBoost's native")
        out.append(f"- S = 10, `{method}`: " + "; ".join(parts) + " (target: >= +0.05 and within 0.03 of native "
                   f"lambdarank_unbiased, {nat:.4f}).")
    det = [r for r in res["propensity"] if r["policy"] == "deterministic"]
    out.append("- Propensities (target: \"em\" and \"harvest\" within 10 % at positions 1-10, randomised logging, "
               "S >= 10), error = largest relative error at positions 1-10 per log, mean (worst) over the logs of a "
               "cell; *on every log* = worst <= 10 % for em and harvest, *on average* = mean <= 10 % for both. "
               "MQ2008 fold 1: "
               + _propensity_findings(res["propensity"]) + ". "
               + ("The deterministic one-session log is flagged not identifiable by `click_report`."
                  if det and det[0]["warned"] else ""))
    if "propensity_synthetic" in res:
        out.append(f"- Propensities on the synthetic set ({SYNTHETIC_SET['n_queries']} make_ranking queries of "
                   f"{SYNTHETIC_SET['docs_per_query'][0]}-{SYNTHETIC_SET['docs_per_query'][1]} documents, where the "
                   "query count is not the limit): " + _propensity_findings(res["propensity_synthetic"]) + ".")
    if "mq2008" in res:
        parts = []
        for be in ("lightgbm", "xgboost"):
            sub = [c for c in res["mq2008"] if c["backend"] == be]
            means = {m: np.mean([c["ndcg10"] for c in sub if c["method"] == m])
                     for m in dict.fromkeys(c["method"] for c in sub)}
            naive = means["naive clicks"]
            best = max((m for m in means if m not in ("naive clicks", "labels (ceiling)")), key=means.get)
            parts.append(f"{be}: best debiased ({best}) {means[best] - naive:+.4f}, the label ceiling "
                         f"{means['labels (ceiling)'] - naive:+.4f}")
        gains = []
        for be in ("lightgbm", "xgboost"):
            sub = [c for c in res["mq2008"] if c["backend"] == be]
            naive = np.mean([c["ndcg10"] for c in sub if c["method"] == "naive clicks"])
            gains.append(max(np.mean([c["ndcg10"] for c in sub if c["method"] == m]) - naive
                             for m in dict.fromkeys(c["method"] for c in sub)
                             if m not in ("naive clicks", "labels (ceiling)")))
        out.append("- MQ2008 (1 % logger, deterministic, eta = 1, S = 100), over naive clicks: " + "; ".join(parts)
                   + f" (target: >= +0.01 on both engines: {'met' if min(gains) >= 0.01 else 'not met'}).")
    return out


def _plot_propensity(res, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = {k: v for k, v in _propensity_cells(res["propensity"]).items() if k[0] != "deterministic"}
    panels = [(f"MQ2008, S = {S}", {k: v for k, v in cells.items() if k[1] == S})
              for S in sorted({S for _, S in cells})]
    if "propensity_synthetic" in res:
        panels += [(f"synthetic ({SYNTHETIC_SET['n_queries']} queries), S = {S}",
                    {k: v for k, v in _propensity_cells(res["propensity_synthetic"]).items() if k[1] == S})
                   for S in sorted({r["S"] for r in res["propensity_synthetic"]})]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), sharey=True, squeeze=False)
    p = np.arange(1, 11)
    truth = 1.0 / (p + 1.0)
    for ax, (title, panel) in zip(axes[0], panels):
        ax.axhline(1.0, color="k", lw=0.8)
        for (policy, _), rows in panel.items():
            for name, color in zip(PROPENSITY_METHODS, ("0.5", "b", "g", "m")):
                if name not in rows[0]:
                    continue
                ratio = np.array([np.asarray(r[name]["propensity"])[1:11] for r in rows]) / truth
                style = "-" if policy == "uniform" else "--"
                ax.plot(p, ratio.mean(axis=0), style, color=color, label=f"{name.split(' (')[0]}, {policy}")
                if name == "em":
                    ax.fill_between(p, ratio.min(axis=0), ratio.max(axis=0), color=color, alpha=0.12)
        ax.axhspan(0.9, 1.1, color="y", alpha=0.15)
        ax.set_title(f"{title}: estimate / truth (mean over logs; em: range)", fontsize=7)
        ax.set_xlabel("position")
    axes[0][0].set_ylabel("theta_p estimate / truth")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--render", action="store_true", help="re-write the section from the saved JSON")
    parser.add_argument("--parts", default="cascade,examined,propensity,propensity_synthetic,mq2008,mq2008_setups")
    args = parser.parse_args(argv)
    res = json.loads(RESULTS.read_text()) if (args.render or RESULTS.exists()) and RESULTS.exists() else {}
    if not args.render:
        t0 = time.perf_counter()
        parts = args.parts.split(",")
        if "cascade" in parts:
            res["cascade"] = part_cascade((1, 10) if args.quick else (1, 10, 50), 1 if args.quick else 5)
            RESULTS.write_text(json.dumps(res))
        if "examined" in parts:
            res["cascade"] = part_examined(res["cascade"], (1, 10) if args.quick else (1, 10, 50),
                                           1 if args.quick else 5)
            RESULTS.write_text(json.dumps(res))
        if "propensity" in parts:
            res["propensity"] = part_propensity(3 if args.quick else 10)
            RESULTS.write_text(json.dumps(res))
        if "propensity_intervals" in parts:
            res["propensity"] = part_propensity_intervals(res["propensity"])
            RESULTS.write_text(json.dumps(res))
        if "propensity_synthetic" in parts:
            res["propensity_synthetic"] = part_propensity_synthetic(3 if args.quick else 10)
            RESULTS.write_text(json.dumps(res))
        if "mq2008" in parts:
            res["mq2008"] = part_mq2008([1] if args.quick else [1, 2, 3, 4, 5], 20 if args.quick else 100)
            RESULTS.write_text(json.dumps(res))
        if "mq2008_setups" in parts:
            res["mq2008_setups"] = part_mq2008_setups([1] if args.quick else [1, 2, 3, 4, 5], 20 if args.quick else 100,
                                                      res.get("mq2008", ()))
            RESULTS.write_text(json.dumps(res))
        res.pop("mq2008_deterministic", None)  # the previous bench's table, replaced by the setup study
        res["seconds"] = res.get("seconds", 0.0) + time.perf_counter() - t0
        RESULTS.write_text(json.dumps(res))
    if {"cascade", "propensity", "mq2008"} <= set(res):
        _plot(res, ROOT / "docs" / "clicks_sessions.png")
        _plot_propensity(res, ROOT / "docs" / "clicks_propensity.png")
        publish("clicks", markdown(res), write=not args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
