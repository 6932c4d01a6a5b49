"""The experiment report (go.report, gbm-objectives report) and gbm-objectives fuse: a self-contained HTML file
whose table and plots render in headless Chromium with the network off; the LaTeX table; cv.json and compare
inputs; the fuse command writes go.fuse's run."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gbm_objectives as go
from gbm_objectives.cli import main

METRICS = ["ndcg@10", "map"]
CV = {"metrics": ["ndcg@10"],
      "folds": [{"fold": i, "metrics": {"ndcg@10": 0.5 + 0.01 * i}} for i in range(3)],
      "curves": {"iterations": [1, 2, 3, 4],
                 "valid": {"ndcg@10": {"mean": [0.30, 0.40, 0.45, 0.47], "std": [0.05, 0.04, 0.03, 0.03]}}}}


def _systems(n_systems=5, n_queries=200, seed=0):
    rng = np.random.default_rng(seed)
    index = pd.Index([f"q{i}" for i in range(n_queries)], name="qid")
    base = rng.uniform(size=(n_queries, len(METRICS)))
    return {f"sys{s}": pd.DataFrame(np.clip(base + rng.normal(0.02 * s, 0.1, size=base.shape), 0, 1), index=index,
                                    columns=METRICS) for s in range(n_systems)}


def _external_references(text):
    """Every way an HTML file could ask the network for something, except the SVG namespace name (an identifier,
    never fetched)."""
    text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    return re.findall(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|\bsrc=|\bhref=|@import|url\(", text, flags=re.I)


def test_report_html_is_self_contained_and_complete(tmp_path):
    systems = _systems()
    path = go.report(systems, tmp_path / "r.html", cv=CV)
    text = path.read_text()
    assert _external_references(text) == []
    n_plots = text.count('class="plot"')
    # per-query differences (4 systems x 2 metrics) + win/tie/loss (2) + distributions (2) + cv curve (1)
    assert n_plots == 4 * 2 + 2 + 2 + 1
    table = go.compare_runs(systems, baseline="sys0", test="t-test")
    for r in table[table.system != "sys0"].itertuples():  # every cell shows the mean, the corrected p and W/T/L
        assert f"{r.mean:.4f}" in text and f"W/T/L {r.wins}/{r.ties}/{r.losses}" in text
    assert text.count("▲") + text.count("▼") == int((table.p_value_corrected < 0.05).sum()) + 2  # + the legend


def test_report_latex(tmp_path):
    systems = _systems(3, 50)
    text = go.report(systems, tmp_path / "r.tex", fmt="latex", cv=CV).read_text()
    assert text.startswith("% gbm-objectives report")
    assert r"\begin{tabular}{lrr}" in text and text.count(r"\toprule") == 2
    table = go.compare_runs(systems, test="t-test")
    best = table[table.metric == "map"]["mean"].max()
    assert rf"\textbf{{{best:.4f}}}" in text


def test_report_cli_from_runs_csv_cv_and_compare(tmp_path):
    """RESULTS as TREC runs with --qrels (worst queries with ranked labels), as per-query CSVs, cv.json and a
    compare.json; refusals on stderr with exit 2."""
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("".join(f"{q} 0 d{d} {(q + d) % 3}\n" for q in range(6) for d in range(5)))
    for s in range(2):
        (tmp_path / f"run{s}.txt").write_text("".join(f"{q} Q0 d{d} {d} {((d * (s + 2) + q) % 7) / 7} t\n"
                                                      for q in range(6) for d in range(5)))
    out = tmp_path / "rep.html"
    assert main(["report", str(tmp_path / "run0.txt"), str(tmp_path / "run1.txt"), "--qrels", str(qrels),
                 "--metric", "ndcg@10", "-o", str(out), "-q"]) == 0
    text = out.read_text()
    assert "ranked labels" in text and "<code>" in text
    systems = _systems(2, 30)
    for k, v in systems.items():
        v.to_csv(tmp_path / f"{k}.csv")
    (tmp_path / "cv.json").write_text(json.dumps(CV))
    compare = tmp_path / "cmp"
    compare.mkdir()
    (compare / "compare.json").write_text(json.dumps({
        "split": "test", "metrics": ["ndcg@10"], "table": [{"objective": "a", "ndcg@10": 0.5},
                                                          {"objective": "b", "ndcg@10": 0.6}],
        "significance": {"test": "t-test", "correction": "holm", "baseline": "a", "p_values": {"b": {"ndcg@10": 0.01}}},
        "results": [{"label": "a", "per_round": {"iterations": [1, 2], "valid": {"ndcg@10": [0.4, 0.5]}}},
                    {"label": "b", "per_round": {"iterations": [1, 2], "valid": {"ndcg@10": [0.45, 0.6]}}}]}))
    assert main(["report", str(tmp_path / "sys0.csv"), str(tmp_path / "sys1.csv"), str(tmp_path / "cv.json"),
                 str(compare), "-o", str(out), "-q"]) == 0  # replaces its own earlier report
    text = out.read_text()
    assert "Cross-validation" in text and "Trained objectives" in text and "p=0.010" in text
    assert main(["report", str(tmp_path / "cv.json"), "-o", str(tmp_path / "t.tex"), "--format", "latex", "-q"]) == 0
    assert (tmp_path / "t.tex").read_text().startswith("% gbm-objectives report")
    mine = tmp_path / "mine.html"
    mine.write_text("<html>my own</html>")
    assert main(["report", str(tmp_path / "cv.json"), "-o", str(mine), "-q"]) == 2  # not ours: left alone
    assert mine.read_text() == "<html>my own</html>"
    assert main(["report", str(tmp_path / "nope.csv"), "-o", str(out), "-q"]) == 2


def test_fuse_cli_writes_go_fuse_run(tmp_path, capsys):
    for s in range(3):
        (tmp_path / f"r{s}.txt").write_text("".join(f"{q} Q0 d{d} {d} {((d * (s + 2) + q) % 11) / 3} t\n"
                                                    for q in range(4) for d in range(6)))
    runs = [str(tmp_path / f"r{s}.txt") for s in range(3)]
    out = tmp_path / "fused.txt"
    assert main(["fuse", *runs, "--method", "wsum", "--weight", "0.2", "--weight", "0.5", "--weight", "0.3",
                 "--norm", "zmuv", "-o", str(out), "-q"]) == 0
    got = go.read_run(out)
    expected = go.fuse(runs, method="wsum", norm="zmuv", weights=[0.2, 0.5, 0.3])
    assert got.astype({"qid": str, "docno": str}).values.tolist() == expected.astype(
        {"qid": str, "docno": str}).values.tolist()
    assert main(["fuse", *runs, "--method", "wsum", "--weight", "1", "-o", str(out), "-q"]) == 2
    assert "one weight per run" in capsys.readouterr().err
    assert main(["fuse", *runs, "--method", "nope", "-o", str(out), "-q"]) == 2
    (tmp_path / "keep.txt").write_text("my notes\n")
    assert main(["fuse", *runs, "-o", str(tmp_path / "keep.txt"), "-q"]) == 2


def _chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'; .ci/run installs it)")
    return exe


def _headless(exe, tmp_path, *args):
    """Run headless Chromium with the network off (every request goes to a closed local port, every host name
    fails to resolve) and its log on stderr."""
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_report_renders_in_headless_chromium_offline(tmp_path):
    exe = _chromium()
    systems = _systems()
    page = go.report(systems, tmp_path / "report.html", cv=CV)
    url = page.resolve().as_uri()
    dom = _headless(exe, tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the inline script ran and counted what the browser built
    assert 'data-rendered="tables:4;plots:13"' in dom.stdout
    assert dom.stdout.count("<tr>") >= 5 + 4 + 3
    failed = [line for line in dom.stderr.splitlines()
              if re.search(r"net::ERR_|Failed to load resource|ERR_PROXY|ERR_NAME_NOT_RESOLVED", line)]
    assert failed == []
    shot = tmp_path / "shot.png"
    res = _headless(exe, tmp_path, "--hide-scrollbars", "--window-size=1200,1600", f"--screenshot={shot}", url)
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    import matplotlib.image

    img = matplotlib.image.imread(shot)[..., :3]
    assert img.shape[:2] == (1600, 1200)
    assert img.std() > 0.05  # not blank
    green = (img[..., 1] > 0.5) & (img[..., 0] < 0.3) & (img[..., 2] < 0.45)  # the plots' win/gain colour
    red = (img[..., 0] > 0.7) & (img[..., 1] < 0.4) & (img[..., 2] < 0.5)
    assert green.sum() > 2000 and red.sum() > 2000


def test_evaluate_correction_bh(tmp_path, capsys):
    """evaluate --test t-test --correction bh prints compare_runs' Benjamini-Hochberg p-values."""
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("".join(f"{q} 0 d{d} {(q * d) % 3}\n" for q in range(8) for d in range(5)))
    paths = []
    for s in range(3):
        paths.append(tmp_path / f"run{s}.txt")
        paths[-1].write_text("".join(f"{q} Q0 d{d} {d} {((d * (s + 3) + q) % 7) / 7} t\n"
                                     for q in range(8) for d in range(5)))
    args = ["evaluate", "--qrels", str(qrels), "--metric", "ndcg@10", "--test", "t-test", "--correction", "bh"]
    assert main([*args, *[x for p in paths for x in ("--run", str(p))]]) == 0
    shown = capsys.readouterr().out
    res = {str(p): go.evaluate_run(str(qrels), str(p), metrics=["ndcg@10"]) for p in paths}
    table = go.compare_runs(res, test="t-test", correction="bh")
    for p in table.p_value_corrected.dropna():
        assert f"(p={p:.3g})" in shown
