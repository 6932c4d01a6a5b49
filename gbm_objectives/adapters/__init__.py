"""Engine adapters: the only modules that import ``lightgbm`` or ``xgboost``. They contain no math.

Each adapter reads labels, weights and query groups from the engine's data object, validates them once per
training set, calls the objective's ``grad_hess`` and hands back what the engine expects. The two backend modules
are interchangeable: the same function names with the same keywords (``engine_params``, ``train``,
``best_iteration``, ``predict_raw``, ``staged_predict_raw``, ``save_booster``, ``load_booster``, ``model_bytes``,
``booster_from_bytes``, ``check_model_bytes``, ``num_rounds``, ``progress_callback``, ``quantile_renewal``). ``BACKENDS`` maps a backend name to its module; modules are imported
on first use, so ``import gbm_objectives`` imports neither engine.

The same catalogue knows each engine's Dask adapter (``lightgbm_dask``, ``xgboost_dask``: ``DASK_BACKENDS``,
``get_backend(name, dask=True)``), used by :mod:`gbm_objectives.dask`; the two take the same keywords too.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module


#: The one catalogue of engine adapters: backend name -> {variant: module}, "local" for one process (the CLI,
#: gbm_objectives.train, the estimators), "dask" for a Dask cluster (gbm_objectives.dask).
_ADAPTERS = {
    "lightgbm": {"local": "gbm_objectives.adapters.lightgbm", "dask": "gbm_objectives.adapters.lightgbm_dask"},
    "xgboost": {"local": "gbm_objectives.adapters.xgboost", "dask": "gbm_objectives.adapters.xgboost_dask"},
}


class _Backends(Mapping):
    """``{"lightgbm": module, "xgboost": module}`` of one variant, each engine's adapter imported when first looked
    up."""

    def __init__(self, variant):
        self._modules = {name: modules[variant] for name, modules in _ADAPTERS.items()}

    def __getitem__(self, name):
        if not isinstance(name, str) or name not in self._modules:
            raise ValueError(f"backend must be one of {sorted(self._modules)}; got {name!r}")
        return import_module(self._modules[name])

    def __iter__(self):
        return iter(self._modules)

    def __len__(self):
        return len(self._modules)

    def __contains__(self, name):
        return isinstance(name, str) and name in self._modules


#: backend name -> adapter module (the engine is imported on first lookup).
BACKENDS = _Backends("local")

#: backend name -> Dask adapter module (``lightgbm.dask`` / ``xgboost.dask``, imported on first lookup).
DASK_BACKENDS = _Backends("dask")


def get_backend(name, dask=False):
    """The adapter module for ``name`` ("lightgbm" or "xgboost"): ``BACKENDS[name]``, or with ``dask=True`` its
    Dask adapter, ``DASK_BACKENDS[name]``."""
    return (DASK_BACKENDS if dask else BACKENDS)[name]


class ParameterError(ValueError):
    """An engine parameter the engine does not know or rejects (raised before any training)."""


#: Engine parameter names (both engines' aliases) of the options every front end sets itself: giving one of them
#: in ``params``/``backend_params``/``--param`` as well would silently contradict the front end's own option.
OWNED_PARAMETERS = {
    "objective": ("objective", "objective_type", "app", "application", "loss"),
    "learning_rate": ("learning_rate", "shrinkage_rate", "eta"),
    "num_boost_round": ("num_iterations", "num_iteration", "n_iter", "num_tree", "num_trees", "num_round",
                        "num_rounds", "nrounds", "num_boost_round", "n_estimators", "max_iter"),
    "seed": ("seed", "random_seed", "random_state"),
    "n_jobs": ("num_threads", "num_thread", "nthread", "nthreads", "n_jobs"),
    "metric": ("metric", "metrics", "metric_types", "eval_metric"),
    "early_stopping_rounds": ("early_stopping_round", "early_stopping_rounds", "early_stopping", "n_iter_no_change"),
}


def owned_parameter(key):
    """The front-end option that engine parameter ``key`` would contradict, or None."""
    for option, aliases in OWNED_PARAMETERS.items():
        if key in aliases:
            return option
    return None
