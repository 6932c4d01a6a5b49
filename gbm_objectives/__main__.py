"""``python -m gbm_objectives``: the same command line as ``gbm-objectives``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
