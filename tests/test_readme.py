"""Every ```python block of README.md runs as written, on its own, in a fresh process.

Each block is saved as a script in a temporary folder and run there (so the files it writes, ``runs/...``, land in
that folder), with this checkout first on ``PYTHONPATH`` and ``GBM_OBJECTIVES_DATA`` as ``conftest.py`` sets it. The
README's relative paths to the shared data (``../shared/datasets/...``, right from the repository root) are the one
thing rewritten: they point at the shared data root; a block that reads such a file skips, with the reason, when the
file is absent. A block passes when its script exits with status 0.

``OMP_THREAD_LIMIT=1``: on a busy machine with few cores, the engines' OpenMP teams wait on descheduled threads and a
100-round fit on 2,000 rows takes 5-15 s instead of 0.5 s. The README's code does not depend on the thread count
(LightGBM runs with ``deterministic=True``; only the exit status is checked here).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED_DATASETS, shared_dataset

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED_PREFIX = "../shared/datasets/"
TIMEOUT_S = 300  # per block; the first block to need a numba kernel compiles it when the cache is empty


def _blocks():
    """``(id, code)`` for each ```python block; the id is its index and the ``##`` section it sits in."""
    text = README.read_text(encoding="utf-8")
    found = []
    for i, match in enumerate(re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)):
        headings = re.findall(r"^## (.+)$", text[: match.start()], re.M)
        section = re.sub(r"[^a-z0-9]+", "-", headings[-1].lower()).strip("-")[:30] if headings else "top"
        found.append((f"{i}-{section}", match.group(1)))
    return found


BLOCKS = _blocks()


def test_readme_has_python_blocks():
    assert BLOCKS, f"no ```python block found in {README}"


@pytest.mark.parametrize("code", [code for _, code in BLOCKS], ids=[name for name, _ in BLOCKS])
def test_readme_block_runs(code, tmp_path):
    for rel in sorted(set(re.findall(re.escape(SHARED_PREFIX) + r"([^\"'\s]+)", code))):
        shared_dataset(rel)  # skips with the reason when the shared data is absent
    script = tmp_path / "block.py"
    script.write_text(code.replace(SHARED_PREFIX, SHARED_DATASETS.resolve().as_posix() + "/"), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["OMP_THREAD_LIMIT"] = "1"
    env["MPLBACKEND"] = "Agg"
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    assert done.returncode == 0, f"exit status {done.returncode}\n--- stderr ---\n{done.stderr[-4000:]}"
