#!/usr/bin/env python
"""Download a public learning-to-rank or imbalanced data set into the cache, with checksum verification.

    python datasets/fetch.py --list
    python datasets/fetch.py mq2008                       # into $GBM_OBJECTIVES_CACHE or ~/.cache/gbm_objectives
    python datasets/fetch.py mq2008 --cache-dir DIR
    python datasets/fetch.py mslr-web10k --archive ~/Downloads/MSLR-WEB10K.zip --sha256 HEX
    python datasets/fetch.py mslr-web10k --url URL --sha256 HEX

A thin wrapper: the catalogue (pinned URLs and SHA-256s) is ``gbm_objectives.datasets.DATASETS`` and the work is
done by ``gbm_objectives.datasets.fetch`` / ``install_archive``, which an installed package has too. See
``datasets/README.md``. Exit status: 0 ok, 2 for usage errors, checksum mismatches and manual data sets, 1 for other
failures (network).
"""

import sys

from gbm_objectives.cli.fetch import main

if __name__ == "__main__":
    sys.exit(main())
