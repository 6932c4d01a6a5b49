"""The package version, read once from the installed metadata (``pyproject.toml`` is the one source)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gbm_objectives")
except PackageNotFoundError:  # pragma: no cover (a source tree that was never installed)
    __version__ = "0+unknown"

__all__ = ["__version__"]
