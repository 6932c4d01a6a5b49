r"""Click simulation: turn graded relevance labels into position-biased clicks (``go.datasets.simulate_clicks``).

Two user models, each the standard one of its kind:

* ``"pbm"``, the position-based model (Richardson et al. 2007; Joachims et al. 2017): a document at 0-based
  position ``p`` is examined with probability ``theta_p = (1 / (p + 1)) ** eta`` (or a given table) and, if
  examined, clicked with probability ``click_prob[label]``, independently of the other documents::

      P(click) = theta_p * click_prob[label]

* ``"cascade"``, LightGBM's test protocol (``simulate_position_bias`` in its ``test_engine.py``): the user scans
  down the list; at every examined position she clicks with ``click_prob[label]`` and then stops with
  ``stop_prob``, whether she clicked or not (LightGBM's code; the issue text said "after a click", the protocol
  it names stops after every examined document, and the protocol is what we reproduce).

With ``sessions=`` every query is shown that many times, each session's ranking drawn by a logging ``policy``
(deterministic, Plackett-Luce, RandPair, RandTop-k, uniform), and two more user models are available, ``"dcm"``
(dependent click model) and ``"ubm"`` (user browsing model); the result is a :class:`ClickLog` with one row per
(session, document), which :func:`aggregate_clicks` (``ClickLog.aggregate``) turns into impressions and clicks per
(query, document, position).

Rows are displayed per query in ``ranking_score`` order (descending, ties in row order), or in row order without
one; ``position`` is each row's 0-based displayed rank.

>>> import numpy as np
>>> from gbm_objectives.datasets import simulate_clicks
>>> y = np.array([2, 0, 1, 0, 1])
>>> clicks, position = simulate_clicks(y, group=[3, 2], ranking_score=[0.1, 0.9, 0.5, 0.0, 1.0], seed=0)
>>> position.tolist()
[2, 0, 1, 1, 0]
>>> sorted(set(clicks.tolist())) <= [0.0, 1.0]
True
"""

from __future__ import annotations

import numbers

import numpy as np

from .._core.segments import resolve_boundaries
from .._core.validation import check_1d, check_interval, check_position, check_positive_int

__all__ = ["write_click_file", "click_outputs", "simulate_clicks", "CLICK_MODELS", "LIGHTGBM_CLICK_PROB",
           "pbm_click_prob", "display_positions", "LOGGING_POLICIES", "ClickLog", "aggregate_clicks"]

CLICK_MODELS = ("pbm", "cascade", "dcm", "ubm")
#: how each session's ranking is drawn from the logger's scores (:func:`simulate_clicks`, ``policy=``)
LOGGING_POLICIES = ("deterministic", "plackett_luce", "randpair", "randtopk", "uniform")
#: P(click | label) of LightGBM's position-bias test, labels 0..4 (higher labels take the last value)
LIGHTGBM_CLICK_PROB = (0.4, 0.6, 0.7, 0.8, 0.9)


def pbm_click_prob(max_label, noise=0.1):
    r"""The default P(click | examined, label) of the PBM: :math:`\epsilon + (1 - \epsilon) (2^l - 1) / (2^L - 1)`.

    ``L = max_label`` (at least 1), :math:`\epsilon` = ``noise`` (clicks on irrelevant documents); the graded
    version of Chapelle et al.'s click model used by Joachims et al. 2017 / Agarwal et al. 2019.
    """
    top = max(int(max_label), 1)
    labels = np.arange(top + 1, dtype=np.float64)
    return noise + (1.0 - noise) * (2.0**labels - 1.0) / (2.0**top - 1.0)


def display_positions(boundaries, ranking_score=None):
    """0-based displayed rank of every row: per query, ``ranking_score`` descending (stable), or row order."""
    n = int(boundaries[-1])
    position = np.empty(n, dtype=np.int64)
    for q in range(len(boundaries) - 1):
        a, b = boundaries[q], boundaries[q + 1]
        if ranking_score is None:
            position[a:b] = np.arange(b - a)
        else:
            order = np.argsort(-ranking_score[a:b], kind="stable")
            position[a + order] = np.arange(b - a)
    return position


def _check_prob_table(values, name):
    table = check_1d(values, name)
    if len(table) == 0:
        raise ValueError(f"{name} must have at least one entry")
    bad = (table < 0) | (table > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must hold probabilities in [0, 1]; got {table[i]:g} at index {i}")
    return table


def simulate_clicks(y_true, *, group=None, qid=None, ranking_score=None, model="pbm", eta=1.0, click_prob=None,
                    stop_prob=0.2, seed=0, examination=None, sessions=None, policy="deterministic", temperature=1.0,
                    top_k=10, click_noise=0.0):
    r"""Simulate a click log: which rows are clicked when each query's rows are shown in ``ranking_score`` order.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True relevance labels, non-negative integers.
    group, qid : array-like, optional
        Query sizes or per-row query ids (exactly one).
    ranking_score : array-like of shape (n_samples,), optional
        Scores of the ranker that produced the displayed lists (descending; ties in row order). Default: row order.
    model : {"pbm", "cascade", "dcm", "ubm"}, default "pbm"
        The user model (module docstring). ``"dcm"`` (dependent click model, Guo et al. 2009): the user scans
        down, clicks an examined document with ``click_prob[label]`` and stops after a click with ``stop_prob``
        (never after a skip). ``"ubm"`` (user browsing model, Dupret & Piwowarski 2008): a document is examined
        with :math:`(1/d)^\eta`, ``d`` = its distance to the last clicked position above it (``p + 1`` before the
        first click), independently given that distance. ``sessions`` only.
    eta : float >= 0, default 1.0
        PBM severity of the position bias: examination :math:`\theta_p = (1/(p+1))^\eta`.
    click_prob : array-like of float in [0, 1], optional
        ``click_prob[l]`` = P(click | examined, label ``l``); labels beyond the table take its last entry.
        Default: :func:`pbm_click_prob` of the largest label (``"pbm"``, ``"ubm"``), :data:`LIGHTGBM_CLICK_PROB`
        (``"cascade"``, ``"dcm"``).
    stop_prob : float in [0, 1], default 0.2
        ``"cascade"``: probability of stopping after each examined document; ``"dcm"``: after each click.
    seed : int or numpy.random.Generator, default 0
    examination : array-like of float in [0, 1], optional
        ``"pbm"``: the examination probability of each position, instead of ``eta``; positions beyond the table
        are never examined.
    sessions : int >= 0 or array-like of int, optional
        Sessions (impressions of the whole list) per query, one number or one per query. Given, the result is a
        :class:`ClickLog` with one row per (session, document); None (default) is one session per query with the
        ``(clicks, position)`` result of earlier versions (same random stream).
    policy : {"deterministic", "plackett_luce", "randpair", "randtopk", "uniform"}, default "deterministic"
        How each session's ranking is drawn (``sessions`` only): the logger's order every time; a Plackett-Luce
        sample from ``ranking_score / temperature`` (Gumbel keys); the logger's order with its top document
        swapped with a uniformly chosen position (Joachims et al. 2017, RandPair); the logger's top ``top_k``
        shuffled (Wang et al. 2018, RandTop-k); a uniform permutation.
    temperature : float > 0, default 1.0
        ``"plackett_luce"``: larger is closer to uniform.
    top_k : int >= 1, default 10
        ``"randtopk"``: how many of the logger's top documents are shuffled.
    click_noise : float in [0, 1], default 0.0
        ``sessions`` only: P(click | examined) becomes ``click_noise + (1 - click_noise) click_prob[label]``.

    Returns
    -------
    (clicks, position) or ClickLog
        Without ``sessions``: ``clicks`` (float64 in {0, 1}) and ``position`` (0-based displayed rank, int64),
        one per input row. With ``sessions``: a :class:`ClickLog`.

    Examples
    --------
    >>> import numpy as np
    >>> log = simulate_clicks(np.array([2, 0, 1, 0]), group=[2, 2], sessions=[3, 1], policy="uniform", seed=0)
    >>> log.group.tolist(), log.row.tolist()[:4], sorted(set(log.position.tolist()))
    ([2, 2, 2, 2], [0, 1, 0, 1], [0, 1])
    """
    y = check_1d(y_true, "y_true")
    bad = (y < 0) | (y != np.floor(y))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"y_true must contain non-negative integer relevance labels; got {y[i]:g} at index {i}")
    boundaries = resolve_boundaries(len(y), group=group, qid=qid)
    if model not in CLICK_MODELS:
        raise ValueError(f"model must be one of {list(CLICK_MODELS)}; got {model!r}")
    if sessions is None and model in ("dcm", "ubm"):
        raise ValueError(f"model={model!r} is simulated per session: pass sessions= (e.g. sessions=1)")
    if policy not in LOGGING_POLICIES:
        raise ValueError(f"policy must be one of {list(LOGGING_POLICIES)}; got {policy!r}")
    if sessions is None and policy != "deterministic":
        raise ValueError(f"policy={policy!r} draws a ranking per session: pass sessions= (e.g. sessions=1)")
    score = None
    if ranking_score is not None:
        score = check_1d(ranking_score, "ranking_score")
        if len(score) != len(y):
            raise ValueError(f"ranking_score has {len(score)} rows but y_true has {len(y)}")
    if click_prob is None:
        table = pbm_click_prob(y.max() if len(y) else 1) if model in ("pbm", "ubm") else np.asarray(LIGHTGBM_CLICK_PROB)
    else:
        table = _check_prob_table(click_prob, "click_prob")
    stop_prob = check_interval(stop_prob, "stop_prob", 0, 1, closed="both")
    if isinstance(seed, np.random.Generator):
        rng = seed
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        rng = np.random.default_rng(int(seed))
    else:
        raise TypeError(f"seed must be an int or a numpy Generator; got {seed!r}")
    theta = None
    if model in ("pbm", "ubm"):
        if examination is None:
            eta = check_interval(eta, "eta", 0, None, closed="left")
        elif model == "pbm":
            theta = _check_prob_table(examination, "examination")
        else:
            raise ValueError("examination= is a table of the PBM; model='ubm' takes eta")
    if sessions is not None:
        noise = check_interval(click_noise, "click_noise", 0, 1, closed="both")
        temperature = check_interval(temperature, "temperature", 0, None, closed="neither")
        top_k = check_positive_int(top_k, "top_k")
        per_query = _check_sessions(sessions, len(boundaries) - 1)
        p_click = noise + (1.0 - noise) * table[np.minimum(y.astype(np.int64), len(table) - 1)]
        return _simulate_sessions(boundaries, score, p_click, per_query, model, eta, theta, stop_prob, policy,
                                  temperature, top_k, rng)
    position = display_positions(boundaries, score)
    p_click = table[np.minimum(y.astype(np.int64), len(table) - 1)]
    if model == "pbm":
        if theta is None:
            exam = (1.0 / (position + 1.0)) ** eta
        else:
            exam = np.where(position < len(theta), theta[np.minimum(position, len(theta) - 1)], 0.0)
        clicks = (rng.random(len(y)) < exam * p_click).astype(np.float64)
        return clicks, position
    # cascade: per query, walk the displayed list; one click draw and one stop draw per examined document
    clicks = np.zeros(len(y))
    for q in range(len(boundaries) - 1):
        a, b = boundaries[q], boundaries[q + 1]
        shown = a + np.argsort(position[a:b], kind="stable")
        for row in shown:
            clicks[row] = float(rng.random() < p_click[row])
            if rng.random() < stop_prob:
                break
    return clicks, position


def _check_sessions(sessions, n_queries):
    """Sessions per query as int64 (one number broadcast to every query, or one per query)."""
    if isinstance(sessions, numbers.Integral) and not isinstance(sessions, bool):
        if sessions < 0:
            raise ValueError(f"sessions must be >= 0; got {sessions}")
        return np.full(n_queries, int(sessions), dtype=np.int64)
    if isinstance(sessions, (str, bytes, bool, float)):
        raise TypeError(f"sessions must be an int or one int per query; got {sessions!r}")
    arr = check_1d(sessions, "sessions")
    if len(arr) != n_queries:
        raise ValueError(f"sessions has {len(arr)} entries but there are {n_queries} queries")
    bad = (arr < 0) | (arr != np.floor(arr))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"sessions must hold non-negative integers; got {arr[i]:g} at index {i}")
    return arr.astype(np.int64)


class ClickLog:
    """A simulated click log: one row per (session, displayed document), sessions of a query contiguous.

    Attributes
    ----------
    row : ndarray of int64
        Index of the input row (the document) shown.
    query : ndarray of int64
        0-based index of the row's query.
    session : ndarray of int64
        0-based session id (numbered across queries); a session's rows are contiguous, in input row order.
    position : ndarray of int64
        0-based displayed rank of the row in its session.
    clicks : ndarray of float64 in {0, 1}
    examination : ndarray of float64
        The probability that the user examined the row given the session so far (PBM: ``theta[position]``; the
        sequential models: 1 where the scan reached the row, else 0): the simulator's truth, for checks.

    ``log.group`` are the session sizes, for training with one session per query group (``X[log.row]``).
    """

    __slots__ = ("row", "query", "session", "position", "clicks", "examination")

    def __init__(self, row, query, session, position, clicks, examination):
        self.row, self.query, self.session = row, query, session
        self.position, self.clicks, self.examination = position, clicks, examination

    def __len__(self):
        return len(self.row)

    @property
    def group(self):
        """Rows per session (the query groups of training on sessions)."""
        return np.bincount(self.session, minlength=int(self.session.max()) + 1 if len(self.session) else 0)

    def aggregate(self):
        """Per (query, document, position): impressions and clicks (:func:`aggregate_clicks`)."""
        return aggregate_clicks(self.clicks, self.position, self.query, self.row)

    def __repr__(self):
        n_sessions = len(np.unique(self.session))
        return f"ClickLog({len(self)} rows, {n_sessions} sessions, {int(self.clicks.sum())} clicks)"


def aggregate_clicks(clicks, position, qid, docno):
    """Impressions and clicks per (query, document, position), from one row per shown document.

    Parameters
    ----------
    clicks : array-like of {0, 1}, shape (n,)
    position : array-like of int >= 0, shape (n,)
    qid, docno : array-like, shape (n,)
        Query id and document id of every row (any hashable values numpy can sort).

    Returns
    -------
    dict of ndarray
        ``qid``, ``docno``, ``position``, ``impressions`` (int64) and ``clicks`` (float64), one entry per distinct
        triple, sorted by (qid, docno, position).

    >>> agg = aggregate_clicks([1, 0, 1, 0], [0, 1, 0, 1], ["a", "a", "a", "a"], [7, 8, 7, 7])
    >>> agg["docno"].tolist(), agg["position"].tolist(), agg["impressions"].tolist(), agg["clicks"].tolist()
    ([7, 7, 8], [0, 1, 1], [2, 1, 1], [2.0, 0.0, 0.0])
    """
    c = check_1d(clicks, "clicks")
    n = len(c)
    pos = check_position(position, n)
    q = np.asarray(qid)
    d = np.asarray(docno)
    for name, arr in (("qid", q), ("docno", d)):
        if arr.ndim != 1 or len(arr) != n:
            raise ValueError(f"{name} must be 1-D with one entry per click ({n}); got shape {arr.shape}")
    _, qi = np.unique(q, return_inverse=True)
    _, di = np.unique(d, return_inverse=True)
    key = np.stack([qi.ravel(), di.ravel(), pos])
    uniq, inv = np.unique(key, axis=1, return_inverse=True)
    inv = inv.ravel()
    first = np.full(uniq.shape[1], -1, dtype=np.int64)
    first[inv[::-1]] = np.arange(n)[::-1]
    return {"qid": q[first], "docno": d[first], "position": uniq[2].astype(np.int64),
            "impressions": np.bincount(inv, minlength=uniq.shape[1]).astype(np.int64),
            "clicks": np.bincount(inv, weights=c, minlength=uniq.shape[1])}


def _simulate_sessions(boundaries, score, p_click, per_query, model, eta, theta, stop_prob, policy, temperature,
                       top_k, rng):
    """The :class:`ClickLog` of ``per_query[q]`` sessions of every query (vectorised over sessions)."""
    sizes = np.diff(boundaries)
    n_sessions = int(per_query.sum())
    query_of_session = np.repeat(np.arange(len(sizes)), per_query)
    rows_per_session = sizes[query_of_session]
    session = np.repeat(np.arange(n_sessions), rows_per_session)
    query = query_of_session[session]
    start = np.concatenate(([0], np.cumsum(rows_per_session)))[:-1]
    local = np.arange(len(session)) - start[session]
    row = boundaries[query] + local
    base = display_positions(boundaries, score)[row]  # the logger's rank of every shown row
    if policy == "deterministic":
        key = -base.astype(np.float64)
    elif policy == "plackett_luce":
        s = np.zeros(len(row)) if score is None else score[row]
        key = s / temperature + rng.gumbel(size=len(row))
    elif policy == "uniform":
        key = rng.random(len(row))
    elif policy == "randtopk":
        key = np.where(base < top_k, -rng.random(len(row)) * top_k, -base.astype(np.float64))
    else:  # randpair: the top document swaps with a uniformly chosen position
        target = np.floor(rng.random(n_sessions) * rows_per_session).astype(np.int64)[session]
        swapped = np.where(base == 0, target, np.where(base == target, 0, base))
        key = -swapped.astype(np.float64)
    order = np.lexsort((local, -key, session))  # display order: by session, key descending, ties in row order
    position = np.empty(len(row), dtype=np.int64)
    position[order] = np.arange(len(row)) - start[session[order]]
    width = int(sizes.max()) if len(sizes) and n_sessions else 0
    grid = np.full((n_sessions, width), -1, dtype=np.int64)  # grid[s, p] = log row shown at p in session s
    grid[session, position] = np.arange(len(row))
    filled = grid >= 0
    pc = np.where(filled, p_click[row[np.maximum(grid, 0)]], 0.0)
    u = rng.random(grid.shape)
    if model == "pbm":
        p = np.arange(width)
        exam = (1.0 / (p + 1.0)) ** eta if theta is None else np.where(p < len(theta), theta[np.minimum(p, len(theta) - 1)], 0.0)
        exam = np.broadcast_to(exam, grid.shape)
        clicked = u < exam * pc
    elif model in ("cascade", "dcm"):
        raw = u < pc
        stop = rng.random(grid.shape) < stop_prob
        if model == "dcm":
            stop = stop & raw
        exam = ((np.cumsum(stop, axis=1) - stop) == 0).astype(np.float64)  # no stop above
        clicked = raw & (exam > 0)
    else:  # ubm: examination (1 / distance to the last click above) ** eta, scanned position by position
        exam = np.zeros(grid.shape)
        clicked = np.zeros(grid.shape, dtype=bool)
        last = np.full(n_sessions, -1, dtype=np.int64)
        for p in range(width):
            exam[:, p] = (1.0 / (p - last)) ** eta
            clicked[:, p] = u[:, p] < exam[:, p] * pc[:, p]
            last = np.where(clicked[:, p], p, last)
    clicks = np.zeros(len(row))
    examination = np.zeros(len(row))
    clicks[grid[filled]] = clicked[filled]
    examination[grid[filled]] = np.asarray(exam)[filled]
    return ClickLog(row.astype(np.int64), query.astype(np.int64), session.astype(np.int64), position, clicks,
                    examination)


def _data_lines(path):
    """The data lines of a LETOR/SVMlight file (plain or gzip; blank and comment-only lines skipped)."""
    import gzip

    with open(path, "rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rt", encoding="utf-8-sig") as fin:
        for line in fin:
            if line.split("#", 1)[0].strip():
                yield line


def _same_file(a, b):
    import os

    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (or cannot be reached): not the same existing file
        return False


def _is_previous_output(out, position):
    """Whether ``position`` is the ``.position`` file of an earlier click file at ``out``: ``out`` exists and
    ``position`` holds one non-negative integer per data row of ``out``."""
    from .letor import read_position_file

    if not out.is_file():
        return False
    try:
        read_position_file(position, sum(1 for _ in _data_lines(out)))
    except (ValueError, OSError, EOFError, UnicodeDecodeError):
        return False
    return True


def click_outputs(source, out):
    """The two files :func:`write_click_file` writes, ``(out, position)`` with ``position = out + ".position"``,
    after checking that writing them loses nothing.

    Refused (ValueError naming the paths): ``out`` or ``position`` being the input ``source`` (compared with
    :func:`os.path.samefile`, so through a symlink, a hard link or another spelling of the path too: the labelled
    source would be replaced by its click copy); either being a folder; and an existing ``position`` that is not
    the ``.position`` file of an earlier click file at ``out`` (``out`` exists and ``position`` holds one
    position per row of ``out``): the user named ``out`` as an output, not ``position``, so a file of theirs
    there is kept. An existing ``out`` is replaced (it was named as the output)."""
    from pathlib import Path

    source, out = Path(source), Path(out)
    position = Path(str(out) + ".position")
    for path, what in ((out, "the output"), (position, "the position file")):
        if _same_file(path, source):
            raise ValueError(f"{what} {str(path)!r} is the input file {str(source)!r}; writing it would replace "
                             "the labelled data with its click copy: choose another output path")
        if path.is_dir():
            raise ValueError(f"{what} {str(path)!r} is a folder; name a file")
    if (position.exists() or position.is_symlink()) and not _is_previous_output(out, position):
        raise ValueError(f"{str(position)!r} exists and is not the .position file of a click file at {str(out)!r}; "
                         "it would be replaced: move it away or choose another output path")
    return out, position


def write_click_file(source, out, clicks, position, *, rows=None, qid=None):
    """Write ``out``: the LETOR/SVMlight file ``source`` (plain or gzip) with each row's label replaced by its click,
    and ``out.position`` beside it (one 0-based displayed position per row, LightGBM's convention). Both files are
    written atomically; ``out`` is gzip-compressed when its name ends with ``.gz`` (``out.position`` stays plain
    text, where the training command looks for it).

    Parameters
    ----------
    source, out : path
    clicks : array-like of {0, 1}, shape (n,)
    position : array-like of int >= 0, shape (n,)
    rows : array-like of int, shape (n,), optional
        A session log (:class:`ClickLog`): output line ``i`` is the source's data row ``rows[i]`` (``ClickLog.row``),
        so a document shown in several sessions is written once per session. Default: the source's rows in order.
    qid : array-like of int, shape (n,), optional
        With ``rows``: the query id written on every output line (``qid:`` replaced, or added after the label), e.g.
        one per session so that every session is a query group of its own.

    Raises
    ------
    ValueError
        What :func:`click_outputs` refuses (an output that is the input, a folder, an existing ``.position`` file
        that is not from an earlier click file at ``out``); a row count of ``source`` other than ``len(clicks)``
        (without ``rows``) or a ``rows`` entry that is not a row of ``source``.
    """
    import gzip

    from .._core.files import atomic_write_bytes

    out, position_path = click_outputs(source, out)
    n = len(clicks)
    if (rows is None) != (qid is None):
        raise ValueError("rows= and qid= go together (a session log)")
    if rows is None:
        lines, row = [], 0
        for line in _data_lines(source):
            if row >= n:
                raise ValueError(f"{source} has more rows than clicks ({n})")
            rest = line.strip().split(None, 1)
            lines.append(f"{int(clicks[row])} {rest[1] if len(rest) > 1 else ''}".rstrip() + "\n")
            row += 1
        if row != n:
            raise ValueError(f"{source} has {row} rows but there are {n} clicks")
    else:
        rows = np.asarray(rows, dtype=np.int64)
        qid = np.asarray(qid)
        if len(rows) != n or len(qid) != n or len(position) != n:
            raise ValueError(f"rows, qid and position must have one entry per click ({n}); got {len(rows)}, "
                             f"{len(qid)} and {len(position)}")
        bodies = []
        for line in _data_lines(source):
            rest = line.strip().split(None, 1)
            body = rest[1] if len(rest) > 1 else ""
            if body.startswith("qid:"):
                body = body.split(None, 1)[1] if len(body.split(None, 1)) > 1 else ""
            bodies.append(body)
        bad = (rows < 0) | (rows >= len(bodies))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"rows[{i}] = {int(rows[i])} is not a row of {source} ({len(bodies)} rows)")
        lines = [f"{int(c)} qid:{q} {bodies[r]}".rstrip() + "\n" for c, q, r in zip(clicks, qid, rows)]
    data = "".join(lines).encode()
    if out.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    atomic_write_bytes(out, data)
    atomic_write_bytes(position_path, "".join(f"{int(p)}\n" for p in position).encode())
