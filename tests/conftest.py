"""Shared fixtures: seeded RNG and the real public data in ../shared/datasets (tests skip if it is absent)."""

from pathlib import Path

import numpy as np
import pytest

SHARED_DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


def shared_dataset(*parts):
    """Path to a file or folder under ../shared/datasets, or skip the test with the reason."""
    path = SHARED_DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/datasets/PROVENANCE.md)")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)
