"""Many quantiles on LightGBM: ``K`` built-in ``quantile`` boosters on one Dataset, merged into one model.

:class:`~gbm_objectives.MultiQuantileLoss` with leaf renewal boosts every raw output exactly as a quantile model of
its level (its own pinball gradient, its leaves renewed to the residual quantile; the link orders the outputs
afterwards). LightGBM's built-in ``quantile`` objective does precisely that for one level, with the renewal in
C++ (``RenewTreeOutput``). So on LightGBM, :func:`train` grows output ``k``'s trees with a built-in booster
(``objective="quantile"``, ``alpha=alphas[k]``), the ``K`` boosters on one binned training ``Dataset`` (binned
once): one round at a time each when rounds are evaluated or a before-round callback runs, blocks of rounds
when only after-round callbacks are told of them, and without either each booster all its rounds alone (created,
grown, written, freed). It writes the ``K`` forests as one model in LightGBM's multiclass layout (``num_class =
num_tree_per_iteration = K``, tree ``K r + k`` is output ``k``'s tree of round ``r``; no objective line, as a custom
objective's model): the file, ``predict(raw_score=True)``, SHAP values and the exporters see the same model a custom
``K``-output objective would have given. Nothing is computed here; the engine renews.

What follows from the engine doing it: LightGBM keeps labels in float32 and computes the pinball gradients in
float32 (``alpha`` too), so the trees and renewed leaves are the built-in's to the last bit, which can differ in
the last bits (and a flipped tie between two splits) from :class:`~gbm_objectives.QuantileLoss`'s float64
renewal; with bagging or GOSS each leaf is renewed from its in-bag rows, as the built-in does. Every output starts
from its own constant (the model's init score, given to the booster as the Dataset's ``init_score``;
``boost_from_average`` off). A booster that finds no split in a round adds no tree (LightGBM pops it); its output
gets a single leaf of value 0 for that round, as a multiclass booster keeps one, and a round in which no output
splits is dropped, as LightGBM drops it. Each round's evaluation runs on the ``K`` boosters' own scores of the
validation sets (exact, renewed), stacked as an ``(n, K)`` array, so early stopping and the evaluation log read
the model that is saved.

Callbacks are LightGBM's: called before and after every round in their ``order`` as ``lgb.train`` calls them
(after-round callbacks of a block once the block is grown); ``env.model`` is a :class:`Lockstep`, the ``K``
boosters (``reset_parameter`` reaches all of them; other ``Booster`` methods are not there: there is no one
booster until the end). With early stopping the model ends at the best round, as ``lgb.train``'s final model does.
"""

from __future__ import annotations

import collections
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import lightgbm as lgb
import numpy as np

__all__ = ["BuiltinQuantiles", "Lockstep", "train", "merge_models"]


#: with after-round callbacks only (no evaluation, no before-round callback), rounds are grown in this many
#: blocks per booster (the progress steps)
_BLOCKS = 10

#: an evaluation entry as ``lgb.train`` hands its callbacks (a named tuple from LightGBM 4.7, a tuple before)
_EVAL_RESULT = getattr(lgb, "EvalResult", lambda *entry: tuple(entry))


class BuiltinQuantiles:
    """What :func:`gbm_objectives.train` hands LightGBM's adapter for a ``MultiQuantileLoss`` with renewal: train
    with ``K`` built-in quantile boosters (:func:`train`). ``objective``: the MultiQuantileLoss."""

    def __init__(self, objective):
        self.objective = objective
        self.alphas = tuple(objective.alphas)

    @property
    def n_classes(self):
        return len(self.alphas)


class Lockstep:
    """``env.model`` of the callbacks: the ``K`` boosters of one lockstep training run."""

    _train_data_name = "training"  # LightGBM's early stopping asks which set is the training set

    def __init__(self, boosters):
        self.boosters = list(boosters)

    def reset_parameter(self, params):
        """``Booster.reset_parameter`` on every output's booster (``lgb.reset_parameter`` calls this)."""
        for booster in self.boosters:
            booster.reset_parameter(params)
        return self

    def current_iteration(self):
        return max(b.current_iteration() for b in self.boosters)


def _ordered(callbacks):
    """``lgb.train``'s callback order: before-iteration and after-iteration callbacks, each sorted by ``order``
    (a callback without one keeps its place, ahead of those that have one)."""
    callbacks = list(dict.fromkeys(callbacks))
    for i, cb in enumerate(callbacks):
        if not hasattr(cb, "order"):
            cb.__dict__.setdefault("order", i - len(callbacks))
    before = sorted((cb for cb in callbacks if getattr(cb, "before_iteration", False)), key=lambda cb: cb.order)
    after = sorted((cb for cb in callbacks if not getattr(cb, "before_iteration", False)), key=lambda cb: cb.order)
    return before, after


def train(alphas, params, train_set, init_score, valid_sets=(), valid_names=(), metrics=None, num_boost_round=100,
          callbacks=()):
    """Train ``K = len(alphas)`` built-in ``quantile`` boosters on ``train_set``; return one merged ``lgb.Booster``.

    Parameters
    ----------
    alphas : sequence of float
        The levels, one booster each.
    params : dict
        LightGBM parameters (no objective); each booster gets ``objective="quantile"``, its ``alpha``, no metric of
        its own and ``boost_from_average=False``.
    train_set : lightgbm.Dataset
        The training set, without an init score (each booster gets its own).
    init_score : array of shape (K,) or None
        Each output's constant start (None: 0).
    valid_sets, valid_names : sequences
        Validation Datasets (``reference=train_set``, no init score) and their names.
    metrics : callable, optional
        ``metrics(set_name, raw) -> [(metric_name, value, higher_is_better), ...]``, ``raw`` of shape (n, K), the
        init score included; called for every validation set after every round.
    callbacks : sequence
        LightGBM callbacks (``lgb.record_evaluation``, early stopping raising ``EarlyStopException``...).

    Returns
    -------
    lightgbm.Booster
        The ``K``-output model (:func:`merge_models`), with ``best_iteration`` (1-based; 0 without early stopping)
        and ``best_score`` set as ``lgb.train`` sets them.
    """
    K = len(alphas)
    # every booster gets an init score, zeros for none: without one, LightGBM would fill a first-round tree that
    # finds no split with the level's quantile of y (its own start) instead of starting from 0
    init = np.zeros(K) if init_score is None else np.asarray(init_score, dtype=np.float64).reshape(K)
    base = {k: v for k, v in params.items() if k not in ("objective", "num_class", "metric", "alpha")}
    # the boosters are independent: with several threads, each grows on one thread and up to that many grow at
    # once (the fit times at 2 threads are in BENCHMARKS.md, section multi_quantile); a booster's
    # trees then do not depend on the thread count
    threads = int(base.get("num_threads") or 0) or (os.cpu_count() or 1)
    workers = max(1, min(threads, len(alphas)))
    if workers > 1:
        base["num_threads"] = 1
    train_set.construct()
    n = train_set.num_data()
    for ds in valid_sets:
        ds.construct()
    shared = threading.Lock()  # the Dataset's init score is set for the booster created next

    def create(k):
        with shared:
            train_set.set_init_score(np.full(n, init[k]))  # the booster copies it when it is created
            booster = lgb.Booster({**base, "objective": "quantile", "alpha": float(alphas[k]), "metric": "None",
                                   "boost_from_average": False}, train_set)
            for ds, name in zip(valid_sets, valid_names):
                ds.set_init_score(np.full(ds.num_data(), init[k]))
                booster.add_valid(ds, name)
        return booster

    before_cbs, after_cbs = _ordered(callbacks)
    evaluated = metrics is not None and len(valid_names) > 0
    # When no round is reported (no evaluation, no callback), each booster grows all its rounds in a row, created
    # just before and freed after (one booster alive per worker: its memory is used warm, as in one built-in fit).
    # Otherwise all K live together: without evaluation sets or before-round callbacks each grows a block of
    # rounds in a row (its histograms stay in cache between rounds) and the after-round callbacks (progress) run
    # for the block's rounds once it is done; else all grow one round at a time.
    one_by_one = num_boost_round > 0 and not (evaluated or before_cbs or after_cbs)
    boosters = [None] * K if one_by_one else [create(k) for k in range(K)]
    texts = [None] * K  # the model text of each booster freed once grown
    model = Lockstep(boosters)
    if one_by_one:
        block = num_boost_round
    else:
        block = 1 if evaluated or before_cbs else max(1, -(-num_boost_round // _BLOCKS))
    trees = [[] for _ in range(K)]  # per output, per kept round: the booster's tree index, or None (no split)
    count = [0] * K  # the trees each booster holds
    kept = []  # after each round, the number of rounds the model keeps (a round without any split is dropped)
    best_iteration, results = 0, []
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    try:
        for start in range(0, num_boost_round, block):
            stop = min(start + block, num_boost_round)
            for cb in before_cbs:  # (block == 1)
                cb(lgb.callback.CallbackEnv(model=model, params=params, iteration=start, begin_iteration=0,
                                            end_iteration=num_boost_round, evaluation_result_list=None))
            grown = [[None] * K for _ in range(start, stop)]

            def grow(k):
                booster = boosters[k] if boosters[k] is not None else create(k)
                for i in range(stop - start):
                    # True: no split; LightGBM then drops the tree, except the first round's (kept as a constant)
                    if not booster.update() or booster.current_iteration() > count[k]:
                        grown[i][k] = count[k]
                        count[k] += 1
                if one_by_one:
                    texts[k] = booster.model_to_string()
                    booster.free_dataset()

            if pool is None:
                for k in range(K):
                    grow(k)
            else:  # each output's booster in one thread at a time (the C calls release the GIL)
                list(pool.map(grow, range(K)))
            try:
                for i in range(start, stop):
                    if any(t is not None for t in grown[i - start]):  # a round in which no output splits is dropped,
                        for k in range(K):  # as LightGBM drops it
                            trees[k].append(grown[i - start][k])
                    kept.append(len(trees[0]))
                    results = []
                    if evaluated:
                        scores = [_valid_scores(b) for b in boosters]
                        for j, name in enumerate(valid_names):
                            raw = np.column_stack([s[j] for s in scores])
                            results.extend(_EVAL_RESULT(name, metric, value, higher)
                                           for metric, value, higher in metrics(name, raw))
                    for cb in after_cbs:
                        cb(lgb.callback.CallbackEnv(model=model, params=params, iteration=i, begin_iteration=0,
                                                    end_iteration=num_boost_round, evaluation_result_list=results))
            except lgb.callback.EarlyStopException as early:  # the model ends at the best round, as lgb.train's
                best_iteration, results = early.best_iteration + 1, early.best_score
                trees = [t[:kept[early.best_iteration]] for t in trees]
                break
    finally:
        if pool is not None:  # (a failing output does not wait for the others' boosters to be grown)
            pool.shutdown(cancel_futures=True)
    if not one_by_one:
        for k, booster in enumerate(boosters):
            texts[k] = booster.model_to_string()
            booster.free_dataset()
    merged = lgb.Booster(model_str=merge_models(texts, trees, n))
    merged.best_iteration = best_iteration
    merged.best_score = collections.defaultdict(collections.OrderedDict)
    for name, metric, value, *_ in results:
        merged.best_score[name][metric] = value
    return merged


def _valid_scores(booster):
    """The booster's own current raw scores of each of its validation sets (init score included), in order, read
    through ``eval_valid`` (LightGBM's public way to them)."""
    out = []

    def grab(preds, data):
        out.append(np.asarray(preds, dtype=np.float64))
        return []

    booster.eval_valid(grab)
    return out


_TREE = re.compile(r"Tree=\d+\n")


def _split_model(text):
    """``(header, bodies, tail)`` of a ``model_to_string`` text: the lines above ``tree_sizes=``, where each tree's
    text after its ``Tree=i`` line starts and ends (``(start, end)``, cut by the sizes LightGBM writes; no copies)
    and what follows ``end of trees``."""
    start = text.index("\ntree_sizes=") + 1
    line_end = text.index("\n", start)
    pos = line_end + 2  # the blank line after tree_sizes
    bodies = []
    for size in text[start + len("tree_sizes="):line_end].split():
        end = pos + int(size)
        if not _TREE.match(text, pos):
            raise ValueError("unexpected LightGBM model text: the trees are not where tree_sizes puts them")
        bodies.append((text.index("\n", pos) + 1, end))
        pos = end
    if not text.startswith("end of trees\n", pos):
        raise ValueError("unexpected LightGBM model text: the trees are not where tree_sizes puts them")
    return text[:start], bodies, text[pos + len("end of trees\n"):]


def _constant_tree(n_rows):
    """A single leaf of value 0, as LightGBM writes one (after the ``Tree=i`` line)."""
    return (f"num_leaves=1\nnum_cat=0\nsplit_feature=\nsplit_gain=\nthreshold=\ndecision_type=\nleft_child=\n"
            f"right_child=\nleaf_value=0\nleaf_weight=0\nleaf_count={n_rows}\ninternal_value=\ninternal_weight=\n"
            f"internal_count=\nis_linear=0\nshrinkage=1\n\n\n")


def merge_models(texts, trees, n_rows):
    """One model text in LightGBM's multiclass layout from the texts of ``K`` single-output boosters.

    ``trees[k][r]``: the index of output ``k``'s tree of round ``r`` in ``texts[k]``, or None for a single leaf of
    value 0 (a round in which that booster found no split). The header is ``texts[0]``'s (the same Dataset: the
    same features) with ``num_class`` and ``num_tree_per_iteration`` set to ``K`` and no objective line; tree ``K
    r + k`` is ``trees[k][r]``, renumbered; ``tree_sizes`` and the split-count feature importances are those of
    the merged forest; the parameters section is the first booster's, with ``objective`` and ``metric`` set to
    ``custom`` and ``num_class`` to ``K`` (as the model of a custom ``K``-output objective reads).
    """
    K = len(texts)
    parts = [_split_model(t) for t in texts]
    pieces, sizes, split_features = [], [], []
    constant = None
    for r in range(len(trees[0])):
        for k in range(K):
            t = trees[k][r]
            if t is None:
                body = constant = constant or _constant_tree(n_rows)
            else:
                start, end = parts[k][1][t]
                body = texts[k][start:end]
            line = f"Tree={len(sizes)}\n"
            pieces += (line, body)
            sizes.append(len(line) + len(body))
            at = body.index("\nsplit_feature=") + len("\nsplit_feature=")
            split_features.append(body[at:body.index("\n", at)])
    header = re.sub(r"^objective=.*\n", "", parts[0][0], count=1, flags=re.M)
    for key in ("num_class", "num_tree_per_iteration"):
        header = re.sub(rf"^{key}=.*$", f"{key}={K}", header, count=1, flags=re.M)
    tail = parts[0][2]
    names = re.search(r"^feature_names=(.*)$", header, re.M).group(1).split(" ")
    used = " ".join(f for f in split_features if f)
    counts = np.bincount(np.fromstring(used, dtype=np.int64, sep=" ") if used else np.empty(0, dtype=np.int64),
                         minlength=len(names))
    ranked = sorted(np.flatnonzero(counts).tolist(), key=lambda c: -counts[c])  # stable, as LightGBM sorts
    importances = "".join(f"{names[c]}={counts[c]}\n" for c in ranked)
    params_at = tail.index("\nparameters:\n")
    params = tail[params_at:]
    params = re.sub(r"^\[objective: .*\]$", "[objective: custom]", params, count=1, flags=re.M)
    params = re.sub(r"^\[metric: .*\]$", "[metric: custom]", params, count=1, flags=re.M)
    params = re.sub(r"^\[num_class: .*\]$", f"[num_class: {K}]", params, count=1, flags=re.M)
    params = re.sub(r"^\[alpha: .*\]\n", "", params, count=1, flags=re.M)
    return "".join([f"{header}tree_sizes={' '.join(map(str, sizes))}\n\n", *pieces,
                    f"end of trees\n\nfeature_importances:\n{importances}{params}"])
