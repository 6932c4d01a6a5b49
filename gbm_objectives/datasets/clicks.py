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
from .._core.validation import check_1d, check_interval

__all__ = ["write_click_file", "click_outputs", "simulate_clicks", "CLICK_MODELS", "LIGHTGBM_CLICK_PROB",
           "pbm_click_prob", "display_positions"]

CLICK_MODELS = ("pbm", "cascade")
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
                    stop_prob=0.2, seed=0, examination=None):
    r"""Simulate one click log: which rows are clicked when each query's rows are shown in ``ranking_score`` order.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True relevance labels, non-negative integers.
    group, qid : array-like, optional
        Query sizes or per-row query ids (exactly one).
    ranking_score : array-like of shape (n_samples,), optional
        Scores of the ranker that produced the displayed lists (descending; ties in row order). Default: row order.
    model : {"pbm", "cascade"}, default "pbm"
        The user model (module docstring).
    eta : float >= 0, default 1.0
        PBM severity of the position bias: examination :math:`\theta_p = (1/(p+1))^\eta`.
    click_prob : array-like of float in [0, 1], optional
        ``click_prob[l]`` = P(click | examined, label ``l``); labels beyond the table take its last entry.
        Default: :func:`pbm_click_prob` of the largest label (``"pbm"``), :data:`LIGHTGBM_CLICK_PROB`
        (``"cascade"``).
    stop_prob : float in [0, 1], default 0.2
        ``"cascade"``: probability of stopping after each examined document.
    seed : int or numpy.random.Generator, default 0
    examination : array-like of float in [0, 1], optional
        ``"pbm"``: the examination probability of each position, instead of ``eta``; positions beyond the table
        are never examined.

    Returns
    -------
    clicks : ndarray of float64 in {0, 1}, shape (n_samples,)
    position : ndarray of int64, shape (n_samples,)
        0-based displayed rank of every row.
    """
    y = check_1d(y_true, "y_true")
    bad = (y < 0) | (y != np.floor(y))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"y_true must contain non-negative integer relevance labels; got {y[i]:g} at index {i}")
    boundaries = resolve_boundaries(len(y), group=group, qid=qid)
    if model not in CLICK_MODELS:
        raise ValueError(f"model must be one of {list(CLICK_MODELS)}; got {model!r}")
    score = None
    if ranking_score is not None:
        score = check_1d(ranking_score, "ranking_score")
        if len(score) != len(y):
            raise ValueError(f"ranking_score has {len(score)} rows but y_true has {len(y)}")
    if click_prob is None:
        table = pbm_click_prob(y.max() if len(y) else 1) if model == "pbm" else np.asarray(LIGHTGBM_CLICK_PROB)
    else:
        table = _check_prob_table(click_prob, "click_prob")
    stop_prob = check_interval(stop_prob, "stop_prob", 0, 1, closed="both")
    if isinstance(seed, np.random.Generator):
        rng = seed
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        rng = np.random.default_rng(int(seed))
    else:
        raise TypeError(f"seed must be an int or a numpy Generator; got {seed!r}")
    position = display_positions(boundaries, score)
    p_click = table[np.minimum(y.astype(np.int64), len(table) - 1)]
    if model == "pbm":
        if examination is None:
            eta = check_interval(eta, "eta", 0, None, closed="left")
            theta = (1.0 / (position + 1.0)) ** eta
        else:
            exam = _check_prob_table(examination, "examination")
            theta = np.where(position < len(exam), exam[np.minimum(position, len(exam) - 1)], 0.0)
        clicks = (rng.random(len(y)) < theta * p_click).astype(np.float64)
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


def write_click_file(source, out, clicks, position):
    """Write ``out``: the LETOR/SVMlight file ``source`` (plain or gzip) with each row's label replaced by its click,
    and ``out.position`` beside it (one 0-based displayed position per row, LightGBM's convention). Both files are
    written atomically; ``out`` is gzip-compressed when its name ends with ``.gz`` (``out.position`` stays plain
    text, where the training command looks for it).

    Raises
    ------
    ValueError
        What :func:`click_outputs` refuses (an output that is the input, a folder, an existing ``.position`` file
        that is not from an earlier click file at ``out``); a row count of ``source`` other than ``len(clicks)``.
    """
    import gzip

    from .._core.files import atomic_write_bytes

    out, position_path = click_outputs(source, out)
    lines, row = [], 0
    for line in _data_lines(source):
        if row >= len(clicks):
            raise ValueError(f"{source} has more rows than clicks ({len(clicks)})")
        rest = line.strip().split(None, 1)
        lines.append(f"{int(clicks[row])} {rest[1] if len(rest) > 1 else ''}".rstrip() + "\n")
        row += 1
    if row != len(clicks):
        raise ValueError(f"{source} has {row} rows but there are {len(clicks)} clicks")
    data = "".join(lines).encode()
    if out.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    atomic_write_bytes(out, data)
    atomic_write_bytes(position_path, "".join(f"{int(p)}\n" for p in position).encode())
