"""Engine adapters: the only modules that import ``lightgbm`` or ``xgboost``. They contain no math.

Each adapter reads labels, weights and query groups from the engine's data object, validates them once per
training set, calls the objective's ``grad_hess`` and hands back what the engine expects. The two backend modules
are interchangeable: the same function names with the same keywords (``engine_params``, ``train``,
``best_iteration``, ``predict_raw``, ``staged_predict_raw``, ``save_booster``, ``load_booster``, ``model_bytes``,
``booster_from_bytes``, ``check_model_bytes``, ``num_rounds``, ``num_features``, ``progress_callback``,
``is_callback``, ``quantile_renewal``, ``validate_params``, ``check_feature_params``) and the same parameter tables
(``DEFAULT_PARAMS``; ``PARAMETER_ALIASES``, the engine's own alias table, with ``canonical_name``, ``aliases_of``,
``canonical_params``; ``OPTION_PARAMETERS``).
``BACKENDS`` maps a backend name to its module; modules are imported
on first use, so ``import gbm_objectives`` imports neither engine.

The same catalogue knows each engine's Dask adapter (``lightgbm_dask``, ``xgboost_dask``: ``DASK_BACKENDS``,
``get_backend(name, dask=True)``), used by :mod:`gbm_objectives.dask`; the two take the same keywords too.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module


#: The one catalogue of engine adapters: backend name -> {variant: module}, "local" for one process (the CLI,
#: gbm_objectives.train, the estimators), "dask" for a Dask cluster (gbm_objectives.dask), "export" for the model
#: files and converters of gbm_objectives.serving.
_ADAPTERS = {
    "lightgbm": {"local": "gbm_objectives.adapters.lightgbm", "dask": "gbm_objectives.adapters.lightgbm_dask",
                 "export": "gbm_objectives.adapters.lightgbm_export"},
    "xgboost": {"local": "gbm_objectives.adapters.xgboost", "dask": "gbm_objectives.adapters.xgboost_dask",
                "export": "gbm_objectives.adapters.xgboost_export"},
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


#: backend name -> export adapter module (engine-file surgery, converters; :mod:`gbm_objectives.serving`).
EXPORT_BACKENDS = _Backends("export")


def get_backend(name, dask=False):
    """The adapter module for ``name`` ("lightgbm" or "xgboost"): ``BACKENDS[name]``, or with ``dask=True`` its
    Dask adapter, ``DASK_BACKENDS[name]``."""
    return (DASK_BACKENDS if dask else BACKENDS)[name]


class ParameterError(ValueError):
    """An engine parameter the engine does not know or rejects (raised before any training)."""


class _OwnedParameters(Mapping):
    """``{option: every engine parameter name that sets it}``, from each adapter's ``OPTION_PARAMETERS`` and its
    engine's alias table (``aliases_of``), both engines together; built on first use (it imports the engines)."""

    def __init__(self):
        self._table = None

    def _names(self):
        if self._table is None:
            table = {}
            for backend in BACKENDS.values():
                for option, canonical in backend.OPTION_PARAMETERS.items():
                    table.setdefault(option, {}).update(dict.fromkeys(backend.aliases_of(canonical)))
            self._table = {option: tuple(names) for option, names in table.items()}
        return self._table

    def __getitem__(self, option):
        return self._names()[option]

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())


#: Engine parameter names of the options every front end sets itself (``objective``, ``learning_rate``,
#: ``num_boost_round``, ``seed``, ``n_jobs``, ``metric``, ``early_stopping_rounds``), every alias of both engines
#: included, read from the engines' alias tables (``PARAMETER_ALIASES`` of :mod:`.lightgbm` and :mod:`.xgboost`):
#: giving one of them in ``params``/``backend_params``/``--param`` as well would silently contradict the front
#: end's own option.
OWNED_PARAMETERS = _OwnedParameters()


def owned_parameter(key):
    """The front-end option that engine parameter ``key`` (any engine's spelling) would contradict, or None."""
    for option, aliases in OWNED_PARAMETERS.items():
        if key in aliases:
            return option
    return None
