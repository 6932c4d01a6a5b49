"""Progress reporting for the CLI and scripts: a tqdm bar on a terminal, plain log lines otherwise.

>>> import io
>>> out = io.StringIO()
>>> with Progress(total=4, desc="rounds", stream=out, tty=False, every=2) as bar:
...     for _ in range(4):
...         bar.update(1)
>>> print(out.getvalue().strip())
rounds: 2/4
rounds: 4/4
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "Reporter"]


class Progress:
    """A context manager counting work units.

    Parameters
    ----------
    total : int or None
        Units expected (bytes, rounds...). ``None``: unknown.
    desc : str
        Label shown in front.
    stream : file, default sys.stderr
    tty : bool, optional
        Draw a tqdm bar (default: when ``stream`` is a terminal). Otherwise print ``desc: done/total`` lines, at
        most one per ``every`` units and never more often than every ``min_interval`` seconds (the last is always
        printed).
    enabled : bool
        False prints nothing (``--quiet``).
    unit_scale : bool
        Show units with SI prefixes (for bytes).
    """

    def __init__(self, total=None, desc="", *, stream=None, tty=None, enabled=True, every=None, min_interval=0.0,
                 unit="it", unit_scale=False):
        self.total = total
        self.desc = desc
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        if tty is None:
            tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.tty = tty
        self.every = every if every is not None else (max(1, total // 10) if total else 1)
        self.min_interval = min_interval
        self.unit = unit
        self.unit_scale = unit_scale
        self.n = 0
        self._last_print_n = 0
        self._last_print_t = 0.0
        self._bar = None

    def __enter__(self):
        if self.enabled and self.tty:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=self.desc, file=self.stream, unit=self.unit,
                             unit_scale=self.unit_scale, leave=False, dynamic_ncols=True)
        return self

    def update(self, n=1):
        self.n += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        due = self.n - self._last_print_n >= self.every and now - self._last_print_t >= self.min_interval
        if due or (self.total is not None and self.n >= self.total and self._last_print_n < self.total):
            self._print()
            self._last_print_n, self._last_print_t = self.n, now

    def set_to(self, n):
        """Move to an absolute position (e.g. bytes read so far)."""
        self.update(n - self.n)

    def _fmt(self, x):
        if not self.unit_scale:
            return str(x)
        for suffix in ("", "k", "M", "G", "T"):
            if abs(x) < 1000:
                return f"{x:.0f}{suffix}" if suffix == "" else f"{x:.1f}{suffix}"
            x /= 1000
        return f"{x:.1f}P"

    def _print(self):
        total = "" if self.total is None else f"/{self._fmt(self.total)}"
        print(f"{self.desc}: {self._fmt(self.n)}{total}", file=self.stream, flush=True)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()
        return False


class Reporter:
    """Log lines (``log``) and progress bars (``progress``) honouring ``--quiet``; both go to ``stream`` (stderr)."""

    def __init__(self, quiet=False, stream=None, tty=None):
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.tty = tty

    def log(self, message):
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def progress(self, total=None, desc="", **kwargs):
        kwargs.setdefault("min_interval", 2.0)
        return Progress(total, desc, stream=self.stream, tty=self.tty, enabled=not self.quiet, **kwargs)
