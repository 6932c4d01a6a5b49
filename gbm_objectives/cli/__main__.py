"""``python -m gbm_objectives.cli``: the same command line as ``gbm-objectives`` (and ``python -m gbm_objectives``)."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
