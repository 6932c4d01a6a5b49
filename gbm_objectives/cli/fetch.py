"""The command line of ``datasets/fetch.py``: list, download or install the catalogue's public data sets.

The catalogue (pinned URLs and SHA-256s) is :data:`gbm_objectives.datasets.DATASETS`; the bytes are moved and
verified by :mod:`gbm_objectives.datasets._download` (through :func:`gbm_objectives.datasets.fetch` and ``install_archive``).
Exit status: 0 ok, 2 for usage errors, checksum mismatches and manual data sets, 1 for other failures (network).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import datasets
from ..datasets._download import FetchError, download
from ._common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

__all__ = ["main"]


def main(argv=None):
    """``datasets/fetch.py``: list, download or install the catalogue's data sets.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 ok, 2 for usage errors, checksum mismatches and manual data sets, 1 for other failures.
    """
    parser = argparse.ArgumentParser(prog="fetch.py", description="Download a public data set into the cache, "
                                     "verifying each file's SHA-256.")
    parser.add_argument("name", nargs="?", help="data set name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the data sets")
    parser.add_argument("--cache-dir", help="default: $GBM_OBJECTIVES_CACHE or ~/.cache/gbm_objectives")
    parser.add_argument("--force", action="store_true", help="download again even when the checksum matches")
    parser.add_argument("--archive", help="a file you downloaded yourself: verify and unpack it")
    parser.add_argument("--url", help="download this URL instead (needs --sha256)")
    parser.add_argument("--sha256", help="expected SHA-256 of --archive or --url")
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)
    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        if args.list or not args.name:
            for info in datasets.list_datasets():
                kind = "manual" if info.manual else f"{len(info.downloads)} file(s)" if info.downloads else info.source
                print(f"{info.name:22s} {kind:12s} {info.description}")
            return EXIT_OK
        if args.url:
            if not args.sha256:
                raise FetchError("--url: needs --sha256 (files are only kept after verification)")
            cache = Path(args.cache_dir) if args.cache_dir else datasets.cache_dir()
            dest = download(args.url, cache / "downloads" / Path(args.url).name, sha256=args.sha256,
                            progress=not args.quiet)
            datasets.install_archive(args.name, dest, args.cache_dir, sha256=args.sha256, log=log)
        elif args.archive:
            datasets.install_archive(args.name, args.archive, args.cache_dir, sha256=args.sha256, log=log)
        else:
            datasets.fetch(args.name, args.cache_dir, force=args.force, progress=not args.quiet, log=log)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
