r"""A pointwise unbiased estimator for clicks: inverse-propensity-scored regression/classification
(:class:`IPSPointwiseLoss`).

Under the position-based model a click needs an examination (probability :math:`\theta_p` at the displayed
position ``p``) and then happens with the document's relevance probability :math:`r`, so the clipped IPS target
:math:`t = c / \max(\theta_p, \tau)` has expectation :math:`r` wherever :math:`\theta_p \ge \tau` (Joachims et al.
2017; Saito et al. 2020 for the pointwise form). Regressing on :math:`t` learns relevance, not examination.

>>> import numpy as np
>>> import gbm_objectives as go
>>> obj = go.IPSPointwiseLoss(propensity=[1.0, 0.5, 0.25], clip=0.3)
>>> g, h = obj.grad_hess([1.0, 1.0, 1.0], np.zeros(3), group=[3], position=[0, 1, 2])
>>> (0.5 - g).round(4).tolist()      # the targets 1/1, 1/0.5, 1/max(0.25, 0.3)
[1.0, 2.0, 3.3333]
"""

from __future__ import annotations

import numpy as np

from .._core.validation import check_1d, check_interval, check_position, check_propensity
from ._ranking_base import RankingObjective, ranking_boundaries, ranking_weights
from .base import Prepared

__all__ = ["IPSPointwiseLoss", "IPS_LOSSES"]

IPS_LOSSES = ("logistic", "squared")
_HESS_FLOOR = 1e-16


class IPSPointwiseLoss(RankingObjective):
    r"""Inverse-propensity-scored pointwise loss on clicks: an unbiased relevance model from a biased click log.

    Parameters
    ----------
    propensity : array-like of float > 0
        Examination probability of each displayed position, ``propensity[p]`` (e.g. from
        :func:`gbm_objectives.estimate_propensity`); it must cover every position of the training rows. Required for
        training; None (the default, so that the registry name ``"ips_pointwise"`` builds the objective) is refused
        by :meth:`prepare`: the propensities are never assumed.
    clip : float in (0, 1], default 0.05
        Propensities below ``clip`` count as ``clip``: the weights :math:`1/\theta` are capped at ``1/clip``,
        trading a bias at the deep positions for variance.
    loss : {"logistic", "squared"}, default "logistic"

    Notes
    -----
    With click :math:`c \in \{0, 1\}`, position ``p``, raw score :math:`z` and :math:`t = c / \max(\theta_p,
    \tau)`::

        logistic:  loss = log(1 + exp(z)) - t z,   grad = sigmoid(z) - t,   hess = sigmoid(z) (1 - sigmoid(z))
        squared:   loss = (z - t)^2 / 2,           grad = z - t,            hess = 1

    both convex in :math:`z` for any :math:`t \ge 0` (the logistic one is the cross-entropy with the soft label
    :math:`t`, which may exceed 1). The expectation over clicks of either loss equals, up to a constant, the loss
    with :math:`t` replaced by the relevance probability :math:`r` at every row with :math:`\theta_p \ge \tau`:
    the estimator is unbiased there. Training needs ``position=`` (like ``position_debias``) and query groups (the
    sessions; only for the ranking metrics of validation sets, the loss is per row). Scores are logits
    (logistic) or relevance estimates (squared); the init score is 0.

    References
    ----------
    T. Joachims, A. Swaminathan, T. Schnabel, "Unbiased Learning-to-Rank with Biased Feedback", WSDM 2017.
    Y. Saito, S. Yaginuma, Y. Nishino, H. Sakata, K. Nakata, "Unbiased Recommender Learning from Missing-Not-At-Random
    Implicit Feedback", WSDM 2020.
    """

    name = "ips_pointwise"
    position_debias = "ips"

    def __init__(self, propensity=None, clip=0.05, loss="logistic"):
        self.propensity = None if propensity is None else check_propensity(propensity)
        self.clip = check_interval(clip, "clip", 0, 1, closed="right")
        if loss not in IPS_LOSSES:
            raise ValueError(f"loss must be one of {list(IPS_LOSSES)}; got {loss!r}")
        self.loss_name = loss

    def get_params(self):
        return {"propensity": self.propensity, "clip": self.clip, "loss": self.loss_name}

    def evaluation_twin(self):
        """Validation sets carry true labels and no positions: their metrics are the ranking metrics."""
        from .lambdarank import LambdaRankObjective

        return LambdaRankObjective()

    def _check_y(self, y_true):
        y = check_1d(y_true, "y_true")
        bad = (y != 0) & (y != 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"y_true must be clicks, 0 or 1; got {y[i]:g} at index {i}")
        return y

    def prepare(self, y_true, *, sample_weight=None, group=None, qid=None, position=None, bias_learning_rate=None):
        """Validate clicks, weights, groups and positions once; caches the IPS target of every row."""
        y = self._check_y(y_true)
        self.check_position_pairing(position is not None)
        if self.propensity is None:
            raise ValueError("IPSPointwiseLoss needs propensity= (the examination probability of every position, "
                             "e.g. go.estimate_propensity(...).propensity); none was given")
        boundaries = ranking_boundaries(len(y), group, qid)
        w = ranking_weights(sample_weight, len(y), boundaries)
        pos = check_position(position, len(y))
        if len(pos) and pos.max() >= len(self.propensity):
            i = int(np.argmax(pos))
            raise ValueError(f"propensity has {len(self.propensity)} entries but row {i} was shown at position "
                             f"{int(pos[i])}")
        target = y / np.maximum(self.propensity[pos], self.clip)
        return Prepared(y, w, boundaries, {"target": target}, position=pos)

    def position_bias(self, prepared):
        """The (fixed) propensities used, as given."""
        return self.propensity.copy()

    def _kernel(self, prepared, raw, w, grad_out, hess_out):
        t = prepared.cache["target"]
        if self.loss_name == "logistic":
            p = 0.5 * (1.0 + np.tanh(0.5 * raw))  # the sigmoid, without overflow at extreme scores
            g = p - t
            h = np.maximum(p * (1.0 - p), _HESS_FLOOR)
        else:
            g = raw - t
            h = np.ones(len(raw))
        if w.shape[0]:
            g = g * w
            h = h * w
        grad_out[:] = g
        hess_out[:] = h

    def loss(self, y_true, raw_score, *, sample_weight=None, group=None, qid=None, position=None):
        """Weighted mean of the per-row IPS loss (Notes) at ``raw_score``."""
        prepared = self.prepare(y_true, sample_weight=sample_weight, group=group, qid=qid, position=position)
        z = np.asarray(raw_score, dtype=np.float64)
        t = prepared.cache["target"]
        per_row = np.logaddexp(0.0, z) - t * z if self.loss_name == "logistic" else 0.5 * (z - t) ** 2
        return float(np.average(per_row, weights=prepared.w))
