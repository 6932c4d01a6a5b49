"""The command line's exit codes and :class:`UsageError`: a module of their own, light, so that the entry point
(:mod:`gbm_objectives.cli`) can parse a command line before it imports what the command needs."""

from __future__ import annotations

__all__ = ["EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "UsageError"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A bad command line or input file: reported in one line, exit status 2."""
