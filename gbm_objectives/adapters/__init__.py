"""Engine adapters: the only modules that import ``lightgbm`` or ``xgboost``. They contain no math.

Each adapter reads labels, weights and query groups from the engine's data object, validates them once per
training set, calls the objective's ``grad_hess`` and hands back what the engine expects. ``BACKENDS`` maps a
backend name to the module that trains and predicts with that engine (used by the estimators and the CLI).
"""

from __future__ import annotations

import importlib

BACKENDS = {"lightgbm": "gbm_objectives.adapters.lightgbm", "xgboost": "gbm_objectives.adapters.xgboost"}


def get_backend(name):
    """The adapter module for ``name`` ("lightgbm" or "xgboost")."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {sorted(BACKENDS)}; got {name!r}")
    return importlib.import_module(BACKENDS[name])
