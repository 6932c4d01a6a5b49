"""scikit-learn scorers for ranking metrics; query ids reach them through scikit-learn's metadata routing.

A ranking metric needs to know which rows form a query. In ``GridSearchCV`` / ``cross_validate`` the only way to
hand a per-row array to a scorer, sliced like ``X`` for every fold, is metadata routing::

    import sklearn
    sklearn.set_config(enable_metadata_routing=True)
    ranker = go.LambdaMART().set_fit_request(qid=True)   # the estimator asks for qid too
    search = GridSearchCV(ranker, grid, cv=GroupKFold(3), scoring=go.ranking_scorer("ndcg@10"))
    search.fit(X, y, groups=qid, qid=qid)   # groups -> GroupKFold, qid -> the ranker's fit and the scorer

The scorer requests ``qid`` (per-row query ids; the rows of a query need not be contiguous, and a fold keeps the
rows of a query together when split with ``GroupKFold(groups=qid)``). ``sample_weight`` is not requested unless you
call ``scorer.set_score_request(sample_weight=True)``. Without ``qid`` the scorer raises ``ValueError``: scoring a
whole fold as one query would be silently wrong.

>>> import gbm_objectives as go
>>> scorer = go.ranking_scorer("ndcg@10")
>>> scorer.metric, scorer.kwargs
('ndcg@10', {})
"""

from __future__ import annotations

import sklearn
from sklearn.metrics import make_scorer

from .names import get_metric, parse_metric

__all__ = ["ranking_scorer"]


class _RankingScore:
    """The score function behind the scorer: ``f(y_true, y_pred, *, qid=None, group=None, sample_weight=None)``."""

    def __init__(self, metric, kwargs):
        self.metric = metric
        self.kwargs = kwargs
        self._fn = get_metric(metric, **kwargs)
        self.__name__ = metric

    def __call__(self, y_true, y_pred, *, qid=None, group=None, sample_weight=None):
        if qid is None and group is None and parse_metric(self.metric)[0] != "auc":
            raise ValueError(
                f"ranking_scorer({self.metric!r}) got no qid: enable metadata routing "
                "(sklearn.set_config(enable_metadata_routing=True)) and pass qid=... to fit / cross_validate"
            )
        return self._fn(y_true, y_pred, qid=qid, group=group, sample_weight=sample_weight)


def ranking_scorer(metric, **kwargs):
    """A scikit-learn scorer for a ranking metric name (``"ndcg@10"``, ``"map@5"``, ``"mrr"``, ``"p@10"``, ``"auc"``).

    Parameters
    ----------
    metric : str
        Metric name, see :func:`gbm_objectives.metrics.get_metric`.
    **kwargs
        Passed to the metric (``convention``, ``empty``, ``relevance_threshold``, ...).

    Returns
    -------
    scorer
        A scorer made by :func:`sklearn.metrics.make_scorer` (higher is better) that uses ``estimator.predict`` as
        the ranking score. When metadata routing is enabled it requests ``qid``; otherwise call
        ``scorer.set_score_request(qid=True)`` after enabling it. ``scorer.metric`` and ``scorer.kwargs`` name the
        metric.
    """
    parse_metric(metric)
    score_func = _RankingScore(metric, dict(kwargs))
    scorer = make_scorer(score_func, greater_is_better=True)
    if sklearn.get_config().get("enable_metadata_routing", False):
        scorer = scorer.set_score_request(qid=True)
    scorer.metric = metric
    scorer.kwargs = dict(kwargs)
    return scorer
