"""Write tests/metrics/data/trec_eval10/: a hostile qrels file and run file, and trec_eval 10's own ``-q`` output of
its ``unj`` measure on them under the options -M, -J, -c, -l (``unj.txt``). tests/metrics/test_trec_measures.py
checks ``evaluate_run``'s ``unj`` against that output (CI has no trec_eval 10: pytrec_eval wraps 9.0.8, which has
no ``unj``).

How the binary was built (trec_eval 10.0-rc3, https://github.com/usnistgov/trec_eval commit
f425365 "Updating CHANGELOG for version 10.0")::

    git archive f425365 | tar x && make        # gcc, no options changed

then ``python scripts/make_trec_eval10_fixture.py /path/to/trec_eval``. The data are generated here, with a fixed
seed, and written beside the output, so the test reads the very files the binary read. One difference: trec_eval
10.0-rc3 stops (exit code 4, "result qid ... not found in qrels") at a qrels query the run lacks unless ``-c`` is
given, where 9.0.8 skipped it; without ``-c`` the binary reads a copy of the qrels without those queries (which
``evaluate_run`` skips by default, as 9.0.8). And trec_eval 10 ranks by the scores as doubles where 9.0.8 (and
pytrec_eval, and ``evaluate_run``) compare them as C floats: the run has no two scores that are distinct doubles
but equal floats, the one case where the two versions rank differently.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "metrics" / "data" / "trec_eval10"
#: the measures (default cut-offs 5, 10, 20, and cut-offs around short rankings; one trec_eval call each: a
#: measure named twice keeps its last parameters) and the option sets
MEASURES = ["unj", "unj.1,3,50"]
OPTIONS = {"plain": [], "-M 7": ["-M", "7"], "-J": ["-J"], "-c": ["-c"], "-l 2": ["-l", "2"]}


def hostile(seed=11, nq=21, nd=40):
    """Queries of 7 kinds: ties (integer scores, long doubles), queries whose judgments are only
    -1 and 0, queries in the qrels only, rankings shorter than the cut-offs, unjudged and negatively judged
    documents everywhere; and a run query without qrels."""
    rng = np.random.default_rng(seed)
    qrels, run = [], []
    docs = [f"d{i}" for i in range(nd)]
    for q in range(nq):
        qid, kind = f"q{q}", q % 7
        for d in rng.choice(docs, int(rng.integers(1, 25)), replace=False):
            qrels.append(f"{qid} 0 {d} {int(rng.choice([-1, 0] if kind == 1 else [-1, 0, 0, 1, 2, 3]))}")
        if kind == 2:  # in the qrels only
            continue
        n = int(rng.integers(1, 4)) if kind == 5 else int(rng.integers(1, 60))
        ret = rng.choice(docs + [f"u{i}" for i in range(40)], n, replace=False)
        if kind == 3:
            sc = rng.integers(0, 4, size=n).astype(float)
        elif kind == 4:  # ties of 17-digit doubles (see the module docstring: no scores equal only as C floats)
            sc = 1.0 / 3.0 + rng.integers(0, 3, size=n) / 7.0
        else:
            sc = rng.normal(size=n)
        run += [f"{qid} Q0 {d} {i + 1} {float(s)!r} hostile" for i, (d, s) in enumerate(zip(ret, sc))]
    run.append("orphan Q0 d1 1 1.0 hostile")
    return "\n".join(qrels) + "\n", "\n".join(run) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.exit("usage: python scripts/make_trec_eval10_fixture.py /path/to/trec_eval  (version 10)")
    binary = argv[0]
    version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip() or \
        subprocess.run([binary, "-v"], capture_output=True, text=True).stdout.strip()
    OUT.mkdir(parents=True, exist_ok=True)
    qrels, run = hostile()
    (OUT / "qrels.txt").write_text(qrels)
    (OUT / "run.txt").write_text(run)
    in_run = {line.split()[0] for line in run.splitlines()}
    kept = "".join(ln + "\n" for ln in qrels.splitlines() if ln.split()[0] in in_run)
    parts = [f"# written by scripts/make_trec_eval10_fixture.py with {version}: trec_eval -q -m MEASURE [OPTION] "
             "QRELS run.txt (QRELS: qrels.txt with -c, else its queries that run.txt has)\n"]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "kept.txt").write_text(kept)
        for label, opts in OPTIONS.items():
            q = OUT / "qrels.txt" if "-c" in opts else Path(tmp) / "kept.txt"
            for measure in MEASURES:
                res = subprocess.run([binary, "-q", "-m", measure, *opts, str(q), str(OUT / "run.txt")],
                                     capture_output=True, text=True, check=True)
                parts.append(f"## {measure} {label}\n{res.stdout}")
    (OUT / "unj.txt").write_text("".join(parts))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
