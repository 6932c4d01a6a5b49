"""The one training loop: :func:`train`, behind every estimator, ``LambdaMART``, the CLI and the scripts.

As LightGBM's front ends all call ``engine.train``, every front end here translates its own arguments and calls
:func:`train`, which does once what each used to do on its own:

* resolves the objective: an :class:`~gbm_objectives.Objective`, a registry name, or ``"NAME:native"`` /
  :class:`NativeObjective` for the engine's built-in configured from the same options
  (:mod:`gbm_objectives.adapters.native`);
* validates labels, weights and query groups of the training and every evaluation set *before* training;
* starts custom objectives from their best constant (``init_score="auto"``: the argmin of the loss, since custom
  objectives get no ``boost_from_average``) and adds it back in :meth:`TrainResult.predict_raw`;
* evaluates engine-neutral metrics (:mod:`gbm_objectives.metrics.by_task`) on the raw scores of every evaluation set, in
  one ``evals_result`` layout on both engines, and early-stops on the first metric of the first evaluation set, in
  that metric's direction;
* reports the best iteration 1-based on both engines;
* applies one default tree shape per engine, documented below, whichever front end trains.

Default engine parameters (``params`` overrides any of them, in the engine's own names or any alias the engine
knows, renamed to the canonical name first: ``eta`` overrides ``learning_rate``, LightGBM's ``max_leaves``
overrides ``num_leaves``):

==========  ============================================================================================
LightGBM    ``learning_rate=0.1``, ``num_leaves=31`` (leaf-wise), ``seed=0``, ``deterministic=True``,
            ``feature_pre_filter=False``, ``verbosity=-1``
XGBoost     ``learning_rate=0.1``, ``max_depth=6`` (depth-wise), ``tree_method="hist"``, ``seed=0``,
            ``verbosity=0``; ``num_leaves=N`` in ``params`` means leaf-wise growth to N leaves
==========  ============================================================================================

>>> import numpy as np
>>> import gbm_objectives as go
>>> from gbm_objectives.datasets import make_imbalanced
>>> X, y = make_imbalanced(n_samples=2000, positive_rate=0.1, seed=0)
>>> res = go.train("focal", X[:1500], y[:1500], num_boost_round=50, eval_set=[(X[1500:], y[1500:])],
...                metric=["logloss", "auc"], early_stopping_rounds=5, n_jobs=1)
>>> res.backend, list(res.evals_result["valid_0"])
('lightgbm', ['logloss', 'auc'])
>>> 1 <= res.best_iteration <= 50 and res.predict_raw(X[1500:]).shape == (500,)
True
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np

from .adapters import ParameterError, get_backend, owned_parameter
from .adapters._common import numba_threads
from .adapters.native import native_params
from ._core.segments import resolve_boundaries
from .metrics.by_task import default_metrics, get_task_metric
from .objectives import OBJECTIVES, MultiQuantileLoss, Objective, QuantileLoss, get_objective

__all__ = ["plan", "Plan", "train", "TrainResult", "NativeObjective", "resolve_objective", "early_stop_point"]


class NativeObjective:
    """The engine's built-in twin of ``reference`` (an objective of this package), e.g. LightGBM ``huber``.

    ``go.train(NativeObjective(HuberLoss(delta=2.0)), ...)`` equals ``go.train("huber:native", ...)`` with
    ``delta=2``; the reference gives the task, the link (``transform``) and the parameters, mapped to the engine's
    names by :func:`gbm_objectives.adapters.native.native_params`.
    """

    native = True

    def __init__(self, reference):
        if isinstance(reference, str):
            reference = get_objective(reference)
        if not isinstance(reference, Objective):
            raise TypeError(f"reference must be an Objective or a registry name; got {type(reference).__name__}")
        self.reference = reference

    @property
    def name(self):
        return f"{self.reference.name}:native"

    @property
    def task(self):
        return self.reference.task

    @property
    def n_classes(self):
        return self.reference.n_classes

    def transform(self, raw_score):
        return self.reference.transform(raw_score)

    def engine_params(self, backend):
        """The engine parameters (``objective`` included) of this built-in on ``backend``."""
        return native_params(self.reference, backend)

    def __repr__(self):
        return f"NativeObjective({self.reference!r})"

    def __eq__(self, other):
        return isinstance(other, NativeObjective) and other.reference == self.reference

    __hash__ = None


def resolve_objective(objective, y=None, **params):
    """An :class:`Objective` or :class:`NativeObjective` from an instance, ``"name"`` or ``"name:native"``.

    A multiclass objective named without ``n_classes`` takes ``max(y) + 1`` classes; a
    :class:`~gbm_objectives.MultiQuantileLoss` with ``scale="auto"`` takes its scale from ``y``
    (:meth:`~gbm_objectives.MultiQuantileLoss.fitted_scale`).
    """
    if isinstance(objective, (Objective, NativeObjective)):
        if params:
            raise TypeError("objective parameters cannot be given together with an objective instance")
        return _fitted(objective, y)
    if not isinstance(objective, str):
        raise TypeError(
            f"objective must be an Objective, a registry name or 'NAME:native'; got {type(objective).__name__}"
        )
    name, sep, mode = objective.partition(":")
    if sep and mode != "native":
        raise ValueError(f"objective {objective!r}: the only suffix is ':native' (the engine's built-in)")
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; choose one of {sorted(OBJECTIVES)} (or 'NAME:native')")
    if OBJECTIVES[name].task == "multiclass" and "n_classes" not in params and y is not None:
        labels = np.asarray(y, dtype=np.float64)
        if len(labels) and np.isfinite(labels).all() and labels.min() >= 0:
            params["n_classes"] = max(2, int(labels.max()) + 1)
    reference = _fitted(get_objective(name, **params), y)
    return NativeObjective(reference) if sep else reference


def _fitted(objective, y):
    if isinstance(objective, MultiQuantileLoss) and objective.scale == "auto" and y is not None:
        return objective.fitted_scale(y)
    return objective


class TrainResult:
    """What :func:`train` returns (and :func:`gbm_objectives.load_model` reads back).

    Attributes
    ----------
    booster : lightgbm.Booster or xgboost.Booster
        The engine's own model.
    backend : {"lightgbm", "xgboost"}
    objective : Objective or NativeObjective
    init_score : float, ndarray of shape (n_classes,) or None
        The constant raw score training started from; :meth:`predict_raw` adds it back. ``None`` for built-ins.
    best_iteration : int or None
        1-based round kept by early stopping, on both engines; ``None`` without early stopping.
    evals_result : dict
        ``{eval name: {metric name: [value per round]}}``, eval sets named ``valid_0``, ``valid_1``, ...
    params : dict
        The engine parameters training used.
    metrics : list of str
        Names of the metrics in ``evals_result``, the first one drove early stopping.
    num_rounds : int
        Rounds held by the booster.
    position_bias : ndarray, dict or None
        What position debiasing learned (``position=``): the bias per position (``"additive"``) or the
        propensities ``{"t_plus", "t_minus"}`` (``"ipw"``); None without debiasing and for LightGBM's built-in,
        which does not expose its biases.
    """

    position_bias = None

    def __init__(self, booster, backend, objective, init_score, best_iteration, evals_result, params, metrics=()):
        self.booster = booster
        self.backend = backend
        self.objective = objective
        self.init_score = init_score
        self.best_iteration = best_iteration
        self.evals_result = evals_result
        self.params = params
        self.metrics = [getattr(m, "name", m) for m in metrics]  # names (picklable)

    @property
    def num_rounds(self):
        return get_backend(self.backend).num_rounds(self.booster)

    @property
    def task(self):
        return self.objective.task

    def predict_raw(self, X):
        """Raw scores (margin) of ``X`` including the init score, at ``best_iteration`` (or the last round).

        Shape (n_samples,), or (n_samples, n_classes) for multiclass objectives. ``X`` must have the columns the
        model was trained on: another number of columns is a ValueError naming both widths (XGBoost would read
        missing columns as missing values and predict anyway).
        """
        backend = get_backend(self.backend)
        raw = backend.predict_raw(self.booster, X, self.init_score, self.best_iteration)
        return np.asarray(raw, dtype=np.float64)

    def predict(self, X):
        """Predictions in the task's units: probabilities, values or ranking scores (``transform`` of the raw score)."""
        return np.asarray(self.objective.transform(self.predict_raw(X)), dtype=np.float64)

    def __repr__(self):
        return (f"TrainResult(backend={self.backend!r}, objective={self.objective!r}, rounds={self.num_rounds}, "
                f"best_iteration={self.best_iteration})")


#: The estimator option behind each engine option the estimators own.
_ESTIMATOR_OPTION = {"objective": "objective", "learning_rate": "learning_rate", "num_boost_round": "n_estimators",
                     "seed": "random_state", "n_jobs": "n_jobs", "metric": "eval_at / the objective's loss",
                     "early_stopping_rounds": "fit(early_stopping_rounds=...)"}


def renews_leaves(objective):
    """Whether ``leaf_renewal=True`` renews the leaves of ``objective`` (quantile objectives)."""
    return isinstance(objective, QuantileLoss) or (isinstance(objective, MultiQuantileLoss) and objective.renewal)


def estimator_params(learning_rate, random_state, backend_params, n_jobs):
    """The ``params`` an estimator hands :func:`train`: its learning rate, a seed from ``random_state`` (an int,
    or one draw from a RandomState / None), and ``backend_params`` (checked by :func:`check_backend_params`)."""
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(random_state, bool):
        seed = int(random_state)
    else:
        from sklearn.utils import check_random_state

        seed = int(check_random_state(random_state).randint(2**31 - 1))
    return {"learning_rate": learning_rate, "seed": seed, **check_backend_params(backend_params, n_jobs)}


def check_backend_params(backend_params, n_jobs=None):
    """An estimator's ``backend_params`` as a dict; a key that would override one of the estimator's own options
    (``learning_rate``, ``n_estimators``, ``objective``, ...) under any engine alias is a ValueError (engine
    threads only when ``n_jobs`` is set too)."""
    if backend_params is None:
        return {}
    if not isinstance(backend_params, dict):
        raise TypeError(f"backend_params must be a dict of engine parameters; got {type(backend_params).__name__}")
    for key in backend_params:
        owned = owned_parameter(key)
        if owned is not None and not (owned == "n_jobs" and n_jobs is None):
            raise ValueError(f"backend_params[{key!r}] would override the estimator's own option; set "
                             f"{_ESTIMATOR_OPTION[owned]} instead")
    return dict(backend_params)


#: What a parameter owned by an argument of :func:`train` would do in ``params``, for the refusal's message.
_ARGUMENT_CLASH = {"num_boost_round": "set the number of boosting rounds",
                   "early_stopping_rounds": "run the engine's own early stopping",
                   "metric": "set the engine's evaluation metric",
                   "n_jobs": "set the engine threads"}


def _same_int(value, n_jobs):
    return (isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool) and n_jobs is not None
            and int(value) == int(n_jobs))


def check_train_params(params, n_jobs, reference, native_name=None):
    """Refuse an engine parameter in ``params`` (any engine's spelling:
    :func:`~gbm_objectives.adapters.owned_parameter`) that duplicates an argument of :func:`train`:
    ``num_boost_round``, ``early_stopping_rounds``, ``metric``, ``objective``, and ``n_jobs`` when given too with
    another thread count (the same count in both places is accepted).

    The engine would follow one of the two silently (LightGBM's ``num_iterations`` over ``num_boost_round``, its
    own early stopping beside ours, a metric ignored or logged beside ours), so this raises
    :class:`~gbm_objectives.adapters.ParameterError` naming both. A metric parameter is refused rather than mapped
    onto ``metric=``: an engine's metric name does not always mean this package's metric of that name (LightGBM's
    ``ndcg`` is cut at its ``eval_at`` positions with its ``label_gain``), so the message proposes ``metric=`` with
    the value only when it is one of this package's names, and leaves the choice to the caller.
    """
    for key, value in (params or {}).items():
        option = owned_parameter(key)
        argument = option in ("num_boost_round", "early_stopping_rounds", "metric")
        same_threads = option == "n_jobs" and _same_int(value, n_jobs)  # one count given twice: not ambiguous
        if argument or (option == "n_jobs" and n_jobs is not None and not same_threads):
            hint = f"pass {option}={value!r} instead"
            if option == "metric":
                try:
                    resolve_metrics(value, reference, native_name is not None)
                except (TypeError, ValueError):
                    hint = "pass metric= with this package's engine-neutral names (gbm_objectives.metrics.by_task)"
            elif option == "early_stopping_rounds":
                hint += " (with an eval_set)"
            elif option == "n_jobs":
                hint = f"give the threads once, as n_jobs={n_jobs!r} or params[{key!r}]"
            raise ParameterError(f"params[{key!r}]={value!r} would {_ARGUMENT_CLASH[option]}, which is the argument "
                                 f"{option}=; {hint}")
        if option == "objective":
            spelling = "" if key == "objective" else f" (as params[{key!r}])"
            if native_name is None:
                raise ParameterError(f"params sets objective={value!r}{spelling}, but the objective is "
                                     f"{reference.name!r}; pass the engine's built-in as objective='NAME:native'")
            raise ParameterError(f"params sets objective={value!r}{spelling}, but the objective is "
                                 f"'{reference.name}:native' (the engine's {native_name!r}); give the objective "
                                 f"once, as the argument objective=")


def _n_rows(X, name):
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D array or DataFrame of features; got {type(X).__name__}")
    return int(shape[0])


def check_int(value, name, minimum, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {int(value)}")
    return int(value)


def _eval_sets(eval_set):
    """``eval_set`` as a list; a bare ``(X, y)`` pair (not a list of pairs) is a TypeError saying so."""
    if eval_set is None:
        return []
    if isinstance(eval_set, tuple) and len(eval_set) == 2 and len(getattr(eval_set[0], "shape", ())) == 2:
        raise TypeError("eval_set must be a list of (X, y) pairs; got one (X, y) pair itself: pass [(X, y)]")
    if hasattr(eval_set, "shape") or isinstance(eval_set, (str, bytes, dict)) or not _iterable(eval_set):
        raise TypeError(f"eval_set must be a list of (X, y) pairs; got {type(eval_set).__name__}")
    return list(eval_set)


def _iterable(obj):
    try:
        iter(obj)
    except TypeError:
        return False
    return True


def check_callbacks(callbacks, engine):
    """``callbacks`` as a list, each one checked for the engine (``engine.is_callback``): a TypeError names the
    index of the first one the engine cannot call (LightGBM would fail inside training with an AttributeError,
    XGBoost without saying which)."""
    if callbacks is None:
        return []
    if callable(callbacks) or isinstance(callbacks, (str, bytes, dict)) or not _iterable(callbacks):
        raise TypeError(f"callbacks must be a list of engine callbacks, each {engine.CALLBACK_KIND}; got "
                        f"{type(callbacks).__name__}")
    for i, cb in enumerate(callbacks):
        if not engine.is_callback(cb):
            raise TypeError(f"callbacks[{i}] must be {engine.CALLBACK_KIND}; got {cb!r:.80}")
    return list(callbacks)


def _eval_list(values, n, name):
    values = list(values) if values is not None else []
    if values and len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries but eval_set has {n}")
    return values + [None] * (n - len(values))


def _n_cols(X):
    return int(X.shape[1])


def feature_names(X):
    """The column names of ``X`` as the engines name its features (``str`` of each column of a DataFrame), or None
    for data without column names (an array)."""
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def _check_data(reference, y, sample_weight, group, qid, n, where, position=None, query_names=None,
                bias_learning_rate=None):
    """Validate labels, weights, groups (and positions) with the objective itself; returns (y, weight, group sizes,
    prepared training set). ``query_names``: the arguments ``group`` and ``qid`` came from (an evaluation set's
    ``eval_group[i]``, ``eval_qid[i]``), named in their errors."""
    task = reference.task
    try:
        boundaries = resolve_boundaries(n, group=group, qid=qid, required=task == "ranking")
    except (TypeError, ValueError) as exc:
        if query_names is None:
            raise
        given = [name for name, value in zip(query_names, (group, qid)) if value is not None]
        raise type(exc)(f"{where}: {' and '.join(given) or ' or '.join(query_names)}: {exc}") from None
    sizes = None if boundaries is None else np.diff(boundaries)
    if sample_weight is not None and sizes is not None and task == "ranking":
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim == 1 and len(w) == len(sizes) != n:  # one weight per query: per row for both engines
            sample_weight = np.repeat(w, sizes)
    extra = {} if position is None else {"position": position, "bias_learning_rate": bias_learning_rate}
    try:
        prepared = reference.prepare(y, sample_weight=sample_weight, group=sizes, **extra)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None
    y_checked = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(y_checked) != n:
        raise ValueError(f"{where}: y has {len(y_checked)} rows but X has {n}")
    return y_checked, prepared.w, sizes, prepared


def resolve_metrics(metric, reference, native, default=None):
    """The :class:`~gbm_objectives.metrics.by_task.Metric` list of ``metric`` (a name or names) for ``reference``.

    ``None``: ``default`` when given, else the task's first default metric for built-ins and the objective's own
    loss for custom objectives.
    """
    if metric is None:
        names = [default] if default else [default_metrics(reference)[0]] if native else ["loss"]
    else:
        names = [metric] if isinstance(metric, str) else list(metric)
        if not names:
            raise ValueError("metric must name at least one metric")
    return [get_task_metric(m, reference) for m in names]


def resolve_init_score(init_score, reference, native, auto):
    """The constant start from the ``init_score`` argument: ``"auto"`` calls ``auto()`` (None for built-ins),
    None stays None, a number or per-class array is checked."""
    if isinstance(init_score, str):
        if init_score != "auto":
            raise ValueError(f"init_score must be 'auto', a number, an array of per-class numbers or None; got "
                             f"{init_score!r}")
        return None if native else auto()
    if init_score is None:
        return None
    init = np.asarray(init_score, dtype=np.float64)
    expected = () if not reference.n_classes else (reference.n_classes,)
    if init.shape not in (expected, ()) or not np.isfinite(init).all():
        raise ValueError(f"init_score must be a finite number{' or an array of shape ' + str(expected) if expected else ''}; "
                         f"got {init_score!r}")
    if init.ndim == 0 and expected:  # one number for every output: the engines take one start per output
        return np.full(expected, float(init))
    return float(init) if init.ndim == 0 else init


def early_stop_point(values, rounds, higher_is_better):
    """The early-stopping rule on a finished metric curve: ``(best round, last round kept)``, both 1-based.

    Training stops once the metric has not improved on its best for ``rounds`` rounds (strictly better only, in
    its direction); the rounds after the stop are not kept. The engine callbacks apply the same rule round by round.
    """
    sign = 1.0 if higher_is_better else -1.0
    best, best_i = None, 0
    for i, v in enumerate(values):
        v = sign * v
        if best is None or v > best:
            best, best_i = v, i
        elif i - best_i >= rounds:
            return best_i + 1, i + 1
    return best_i + 1, len(values)


class Plan:
    """Every decision of a training run that needs no rows, made once by :func:`plan` for every executor.

    Attributes
    ----------
    backend : str
    engine : module
        The adapter that trains (:mod:`gbm_objectives.adapters.lightgbm`, ... or its Dask variant); ``local`` is
        the engine's local adapter, which knows its parameters and limits.
    objective : Objective or NativeObjective
        As resolved; ``reference`` is the objective of this package behind it (its own self for custom ones).
    native : bool
    debias : str or None
        The reference's ``position_debias``.
    train_objective : Objective or str
        What the engine trains: the objective, or the built-in's engine name.
    engine_params : dict
        Validated engine parameters: the adapter's defaults, ``params``, the threads and the built-in's mapping.
    metrics : list of :class:`~gbm_objectives.metrics.by_task.Metric`
        The first one drives early stopping, in its direction.
    num_boost_round, early_stopping_rounds, n_jobs : int or None
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @property
    def evaluation_reference(self):
        """The objective the evaluation sets are checked and scored with (a debiasing objective's plain twin)."""
        return self.reference.evaluation_twin() if self.debias else self.reference

    def init_score(self, init_score, auto):
        """The constant start: see :func:`resolve_init_score` (``auto()`` computes the objective's own)."""
        return resolve_init_score(init_score, self.reference, self.native, auto)

    def check_groups(self, sizes):
        """The engine's limits on query sizes (LightGBM's built-in rankers: 10,000 rows), before training."""
        self.local.check_groups(self.train_objective, sizes)

    def check_features(self, X):
        """The engine parameters that name features (one value per feature, column indices, column names) against
        the training data ``X`` (its columns, and their names if it is a DataFrame), before training: a
        :class:`~gbm_objectives.adapters.ParameterError` naming the parameter (``check_feature_params`` of the
        engine's adapter; the engines would fail only once training starts, or silently pad or ignore them).
        Nothing for ``X`` that is not 2-D (the data checks say so)."""
        shape = getattr(X, "shape", ())
        if len(shape) == 2:
            self.local.check_feature_params(self.engine_params, int(shape[1]), feature_names(X))

    def early_stopping(self, set_name):
        """``(rounds, set name, metric name, higher_is_better)`` for the adapters, or None."""
        if not self.early_stopping_rounds:
            return None
        first = self.metrics[0]
        return self.early_stopping_rounds, set_name, first.name, first.higher_is_better

    def __repr__(self):
        return (f"Plan(backend={self.backend!r}, objective={self.objective!r}, metrics={[m.name for m in self.metrics]}, "
                f"num_boost_round={self.num_boost_round}, early_stopping_rounds={self.early_stopping_rounds})")


def plan(objective, *, backend="lightgbm", params=None, metric=None, num_boost_round=100,
         early_stopping_rounds=None, n_jobs=None, y=None, position=False, default_metric=None, dask=False):
    """Make every decision of a training run that needs no rows: what :func:`train` and
    :func:`gbm_objectives.dask.train` both start from.

    Resolves the objective (``"NAME:native"`` included), checks the round counts and threads, validates the engine
    parameters, maps a built-in's options to the engine, resolves the metrics and their direction, and checks the
    position-debiasing pairing (``position``: whether positions are given).

    Engine parameters are renamed to the engine's canonical names first (its own alias table: ``eta`` is
    ``learning_rate``, LightGBM's ``max_leaves`` is ``num_leaves``), so an alias overrides the default instead of
    being ignored. Each of these raises :class:`~gbm_objectives.adapters.ParameterError` (a ValueError) before any
    data is read: a name the engine does not know; two spellings of one parameter; a learning rate that is not a
    finite number > 0; a parameter that duplicates an argument (``num_iterations``/``n_estimators``/... for
    ``num_boost_round``, ``early_stopping_round(s)`` for ``early_stopping_rounds``, ``metric``/``eval_metric`` for
    ``metric``, ``objective`` and its aliases, threads when ``n_jobs`` is given: :func:`check_train_params`); a
    parameter a ``"NAME:native"`` objective sets from its own options (``alpha`` of ``huber:native`` on LightGBM).

    Parameters
    ----------
    objective, backend, params, metric, num_boost_round, early_stopping_rounds, n_jobs
        As in :func:`train`.
    y : array-like, optional
        The labels, only to size a multiclass objective named without ``n_classes``.
    position : bool, default False
        Whether the training rows come with displayed positions.
    default_metric : str or dict, optional
        The metric when ``metric`` is None, or a ``{task: name}`` mapping (else the task's default for built-ins,
        the objective's loss for custom objectives).
    dask : bool, default False
        Train with the engine's Dask adapter (same parameters, same checks).

    Returns
    -------
    Plan

    Examples
    --------
    >>> import gbm_objectives as go
    >>> p = go.training.plan("lambdarank", metric="ndcg@10", early_stopping_rounds=5)
    >>> p.train_objective.name, [m.name for m in p.metrics], p.early_stopping("valid_0")
    ('lambdarank', ['ndcg@10'], (5, 'valid_0', 'ndcg@10', True))
    """
    local = get_backend(backend)
    engine = get_backend(backend, dask=True) if dask else local
    obj = resolve_objective(objective, y)
    native = isinstance(obj, NativeObjective)
    reference = obj.reference if native else obj
    num_boost_round = check_int(num_boost_round, "num_boost_round", 1)
    early_stopping_rounds = check_int(early_stopping_rounds, "early_stopping_rounds", 1, allow_none=True)
    if n_jobs is not None:
        n_jobs = check_int(n_jobs, "n_jobs", 1)
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"params must be a dict of engine parameters; got {type(params).__name__}")
    debias = getattr(reference, "position_debias", None)
    reference.check_position_pairing(bool(position))
    if isinstance(default_metric, dict):
        default_metric = default_metric.get(reference.task)
    metrics = resolve_metrics(metric, reference.evaluation_twin() if debias else reference, native,
                              default=default_metric)
    native_engine = obj.engine_params(backend) if native else None
    check_train_params(params, n_jobs, reference, native_engine["objective"] if native else None)
    engine_params = local.engine_params(params, n_jobs=n_jobs)
    if native:
        spelled = {local.canonical_name(key) or key: key for key in params or {}}
        for key, value in native_engine.items():
            canonical = local.canonical_name(key) or key
            if key != "objective" and canonical in spelled:
                raise ParameterError(
                    f"params[{spelled[canonical]!r}] is what {obj.name} sets from {reference.name}'s own options "
                    f"({canonical}={value!r}); set it on the objective ({type(reference).__name__}) instead")
        engine_params.update({k: v for k, v in native_engine.items() if k != "objective"})
        train_objective = native_engine["objective"]
        local.validate_params({**engine_params, "objective": train_objective})
    else:
        train_objective = reference
        local.validate_params(engine_params)
    return Plan(backend=backend, engine=engine, local=local, objective=obj, native=native, reference=reference, debias=debias,
                train_objective=train_objective, engine_params=engine_params, metrics=metrics,
                num_boost_round=num_boost_round, early_stopping_rounds=early_stopping_rounds, n_jobs=n_jobs)


def train(
    objective,
    X,
    y,
    *,
    backend="lightgbm",
    params=None,
    num_boost_round=100,
    sample_weight=None,
    group=None,
    qid=None,
    init_score="auto",
    eval_set=(),
    eval_group=(),
    eval_qid=(),
    eval_sample_weight=(),
    metric=None,
    early_stopping_rounds=None,
    callbacks=(),
    n_jobs=None,
    progress=False,
    leaf_renewal=True,
    position=None,
    on_round=None,
):
    """Train LightGBM or XGBoost with an objective of this package or an engine built-in.

    Parameters
    ----------
    objective : Objective, str or NativeObjective
        An objective instance, a registry name (``"focal"``; multiclass objectives take ``max(y) + 1`` classes),
        or ``"NAME:native"`` for the engine's built-in configured from the same options.
    X : array-like or DataFrame of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    backend : {"lightgbm", "xgboost"}, default "lightgbm"
    params : dict, optional
        Engine parameters in the engine's names, over the defaults of the module docstring. An alias is renamed to
        the engine's canonical name (LightGBM's own alias table; XGBoost's ``DMLC_DECLARE_ALIAS`` pairs); two
        spellings of one parameter, a learning rate that is not a finite number > 0, and a parameter that
        duplicates an argument of this function (rounds, early stopping, metric, objective, threads beside
        ``n_jobs``) raise :class:`~gbm_objectives.adapters.ParameterError` naming both (see :func:`plan`). So does,
        before training, a parameter naming features that does not fit ``X``: a per-feature list
        (``monotone_constraints``...) of another length than ``X`` has columns, a feature index
        (``interaction_constraints``...) outside them, a name that is not a column of a DataFrame ``X``
        (:meth:`Plan.check_features`).
    num_boost_round : int, default 100
    sample_weight : array-like of shape (n_samples,), optional
        For ranking objectives also one weight per query.
    group, qid : array-like, optional
        Query groups (sizes of contiguous queries, or one id per row), required for ranking objectives.
    init_score : "auto", float, array of shape (n_classes,) or None, default "auto"
        The constant raw score training starts from: "auto" is the objective's :meth:`~Objective.init_score`
        (built-ins use the engine's own start), None starts from 0.
    eval_set : sequence of (X, y)
        Evaluation sets, named ``valid_0``, ``valid_1``... in ``evals_result``; each with the training set's number
        of columns (another width is a ValueError naming ``eval_set[i]`` and both widths: the engines would score
        the wrong columns). Their errors name the set: ``eval_set[1]: eval_group[1]: ...``.
    eval_group, eval_qid, eval_sample_weight : sequences, optional
        Per evaluation set, as ``group``, ``qid`` and ``sample_weight``.
    metric : str or list of str, optional
        Engine-neutral names from :mod:`gbm_objectives.metrics.by_task` (``"ndcg@10"``, ``"auc"``, ``"logloss"``,
        ``"loss"``...). Default: the objective's own loss for custom objectives, the task's first default metric
        for built-ins. Early stopping watches the first, on the first evaluation set, in its own direction.
    early_stopping_rounds : int, optional
        Stop when that metric has not improved for this many rounds; needs an ``eval_set``.
    callbacks : sequence
        Engine callbacks, passed through: callables for LightGBM, ``xgboost.callback.TrainingCallback`` instances
        for XGBoost; anything else is a TypeError naming ``callbacks[i]`` before training.
    n_jobs : int, optional
        Engine threads, and this package's kernel (numba) threads during training.
    progress : bool or callable, default False
        True: a progress bar on stderr; a callable is called with the number of rounds done after every round.
    leaf_renewal : bool, default True
        For :class:`~gbm_objectives.QuantileLoss`: re-fit every new leaf to the residual alpha-quantile, as the
        engines' built-in quantile objectives do (:func:`gbm_objectives.quantile_leaf_renewal`); for
        :class:`~gbm_objectives.MultiQuantileLoss` with ``renewal=True``, every output's leaves in output order
        (:meth:`~gbm_objectives.MultiQuantileLoss.renewed_leaf_values`; on LightGBM, ``K > 1`` levels train as
        ``K`` built-in ``quantile`` boosters merged into one model, :mod:`gbm_objectives.adapters.lightgbm_quantiles`). Every metric of the evaluation log is then
        computed on the renewed model.
    position : array-like of int, shape (n_samples,), optional
        Displayed 0-based rank of every training row (clicks logged under position bias), for
        ``LambdaRankObjective(position_debias="additive" | "ipw")``, required there and refused elsewhere (a
        ValueError rather than a silently biased model). The scratch objective learns the biases itself, on either
        engine, with the engine's learning rate as LightGBM does; ``"lambdarank:native"`` maps ``"additive"`` to
        LightGBM's ``Dataset(position=...)`` and ``"ipw"`` to XGBoost's ``lambdarank_unbiased`` (rows reordered by
        position inside each query, as XGBoost reads them); the other combinations raise. What was learned is
        :attr:`TrainResult.position_bias`.
    on_round : callable, optional
        ``on_round(round, scores)``, called after every boosting round with the 1-based round and that round's
        metrics, ``{eval set name: {metric name: value}}`` (empty without an ``eval_set``): the same on both
        engines, unlike ``callbacks``. An exception raised there stops training and propagates to the caller
        (:func:`gbm_objectives.tune` prunes a trial this way, with Optuna's ``TrialPruned``).

    Returns
    -------
    TrainResult
    """
    p = plan(objective, backend=backend, params=params, metric=metric, num_boost_round=num_boost_round,
             early_stopping_rounds=early_stopping_rounds, n_jobs=n_jobs, y=y, position=position is not None)
    engine, obj, native, reference, debias = p.engine, p.objective, p.native, p.reference, p.debias
    num_boost_round, early_stopping_rounds, n_jobs = p.num_boost_round, p.early_stopping_rounds, p.n_jobs
    metrics, engine_params, train_objective = p.metrics, p.engine_params, p.train_objective

    n = _n_rows(X, "X")
    # position debiasing: LightGBM scales its position-bias step by the boosting learning rate; so do we, on both
    # engines (the rate as the adapter reads it from the engine parameters)
    y, sample_weight, sizes, prepared = _check_data(reference, y, sample_weight, group, qid, n, "training set",
                                                    position=position,
                                                    bias_learning_rate=engine.learning_rate(engine_params))
    eval_set = _eval_sets(eval_set)
    eval_group = _eval_list(eval_group, len(eval_set), "eval_group")
    eval_qid = _eval_list(eval_qid, len(eval_set), "eval_qid")
    eval_weight = _eval_list(eval_sample_weight, len(eval_set), "eval_sample_weight")
    n_features = _n_cols(X)
    p.check_features(X)
    valid_sets = []
    for i, entry in enumerate(eval_set):
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise TypeError(f"eval_set[{i}] must be an (X, y) pair; got {type(entry).__name__}"
                            f"{'' if not isinstance(entry, (tuple, list)) else f' of {len(entry)}'}")
        Xv, yv = entry
        nv = _n_rows(Xv, f"eval_set[{i}] X")
        if _n_cols(Xv) != n_features:
            raise ValueError(f"eval_set[{i}] X has {_n_cols(Xv)} features (columns) but the training X has "
                             f"{n_features}")
        yv, wv, gv, _ = _check_data(p.evaluation_reference, yv, eval_weight[i], eval_group[i], eval_qid[i], nv,
                                    f"eval_set[{i}]", query_names=(f"eval_group[{i}]", f"eval_qid[{i}]"))
        valid_sets.append((f"valid_{i}", Xv, yv, wv, gv))
    if early_stopping_rounds and not valid_sets:
        raise ValueError("early_stopping_rounds needs an eval_set")

    init = p.init_score(init_score, lambda: reference.init_score(y, sample_weight=sample_weight))
    p.check_groups(sizes)
    for name, _, _, _, gv in valid_sets:
        p.check_groups(gv)
    cbs = check_callbacks(callbacks, engine)
    groups = {name: (yv, wv, gv) for name, _, yv, wv, gv in valid_sets}
    latest = {}  # this round's metrics per evaluation set, for on_round

    def evaluate(set_name, preds):
        yv, wv, gv = groups[set_name]
        raw = np.asarray(preds, dtype=np.float64)
        if native:
            raw = reference.inverse_transform(raw)
        values = [(m.name, m(yv, raw, group=gv, sample_weight=wv), m.higher_is_better) for m in metrics]
        latest[set_name] = {name: value for name, value, _ in values}
        return values

    if leaf_renewal and not native and renews_leaves(reference):
        valid = {name: (Xv, yv, wv) for name, Xv, yv, wv, _ in valid_sets}
        train_objective, renewal = engine.quantile_renewal(reference, X, valid, init,
                                                           evaluate=evaluate if valid_sets else None,
                                                           params=engine_params)
        if renewal is not None:  # first: it renews the new tree before anything reads the model or its log
            cbs.insert(0, renewal)

    early = p.early_stopping(valid_sets[0][0]) if valid_sets else None

    bar = None
    if progress is True:
        from ._core.progress import Progress

        bar = Progress(num_boost_round, f"{obj.name} rounds")
        cbs.append(engine.progress_callback(bar.set_to))
    elif callable(progress):
        cbs.append(engine.progress_callback(progress))
    if on_round is not None:
        if not callable(on_round):
            raise TypeError(f"on_round must be a callable f(round, scores); got {on_round!r:.80}")
        # both engines evaluate the sets before calling the after-round callbacks: ``latest`` is this round's
        cbs.append(engine.progress_callback(lambda done: on_round(done, {k: dict(v) for k, v in latest.items()})))
    with contextlib.ExitStack() as stack:
        if bar is not None:
            stack.enter_context(bar)
        stack.enter_context(numba_threads(n_jobs))
        booster, evals_result = engine.train(
            train_objective, X, y, params=engine_params, num_boost_round=num_boost_round,
            sample_weight=sample_weight, group=sizes, init_score=init, valid_sets=valid_sets,
            metrics=evaluate if valid_sets else None, early_stopping=early, callbacks=cbs,
            **({} if debias is None else {"position": prepared.position,
                                          "prepared": None if native else prepared}),
        )
    best = engine.best_iteration(booster) if early_stopping_rounds else None
    if best is not None:  # both engines may record one round past the best before stopping: keep the log whole
        best = min(best, engine.num_rounds(booster))
    evals_result = {name: {m: [float(v) for v in values] for m, values in log.items()}
                    for name, log in evals_result.items()}
    result = TrainResult(booster, backend, obj, init, best, evals_result, engine_params, metrics)
    if debias is not None:
        result.position_bias = engine.native_position_bias(booster) if native else reference.position_bias(prepared)
    return result
