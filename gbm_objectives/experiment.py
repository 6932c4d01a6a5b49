"""The experiment report: :func:`report` writes ONE self-contained HTML file (or a LaTeX table) from evaluated
systems (:func:`gbm_objectives.evaluate_run` results or per-query DataFrames), a cross-validation ``cv.json`` and a
``compare`` folder (``gbm-objectives compare --out DIR``'s ``compare.json``).

The HTML file opens offline: no network request, no external script, style sheet or font; the plots are inline SVG
drawn here (no plotting library), the few lines of script (sortable table columns) inline too. Its sections, as
the inputs allow:

* the metric table: one row per system, one column per metric: the mean, a mark against the baseline (``▲``
  significantly better, ``▼`` significantly worse at ``alpha`` after the correction), the corrected p-value and
  the win/tie/loss counts (:func:`gbm_objectives.compare_runs`); URisk/TRisk below it;
* per-query differences against the baseline, per system and metric: the differences sorted, as bars (drawn as
  one outline: at most one point per pixel column, so 10,000 queries cost what 600 do);
* win/tie/loss bars per system and metric;
* score distributions: a histogram per metric, one line per system;
* learning curves: ``cv.json``'s mean (and ± one standard deviation) per round, and each ``compare`` objective's
  curve;
* the worst queries of each system against the baseline, with the relevance labels of its ranking when runs and
  qrels are given (:func:`gbm_objectives.worst_queries`).

``cv.json`` shape (what :func:`report` reads; extra keys are ignored)::

    {"metrics": ["ndcg@10", ...],                       # optional: default the keys of the first fold's values
     "folds": [{"fold": 0, "metrics": {"ndcg@10": 0.51, ...}}, ...],     # per-fold final values ("final", "scores")
     "curves": {"iterations": [1, 2, ...],               # optional learning curves, per split and metric:
                "valid": {"ndcg@10": {"mean": [...], "std": [...]}}}}   # mean and std over the folds per round

The ``cv.json`` that :func:`gbm_objectives.cv` and ``gbm-objectives cv`` write (``CVResult.to_dict``: per-fold
``scores`` and the mean curves in ``evals_result``) is read as it is.

A ``compare`` folder's ``compare.json`` gives its final table (``table``), the p-values (``significance``) and
the per-round curves of each objective (``results[i].per_round``).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from ._core.files import atomic_write_bytes
from .metrics.significance import compare_runs, worst_queries

__all__ = ["report", "load_results", "REPORT_FORMATS"]

REPORT_FORMATS = ("html", "latex")
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf")
_GOOD, _BAD, _TIE = "#2a9d4b", "#d1495b", "#b8b8b8"
_HTML_MARK = "<!DOCTYPE html>\n<!-- gbm-objectives report -->\n"
_LATEX_MARK = "% gbm-objectives report\n"


# ----------------------------------------------------------------------------------------------------------------
# inputs


def _per_query(value):
    return getattr(value, "per_query", value)


def _read_json(path, what):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{what}: cannot read {str(path)!r} as JSON: {exc}") from None


def _cv_input(cv):
    if cv is None:
        return None
    data = _read_json(cv, "cv") if isinstance(cv, (str, Path)) else cv
    if not isinstance(data, dict) or not isinstance(data.get("folds"), list) or not data["folds"]:
        raise ValueError("cv must be a cv.json path or dict with a non-empty 'folds' list (see "
                         "gbm_objectives.experiment's documentation for the shape)")
    folds = []
    for i, f in enumerate(data["folds"]):
        values = f.get("scores", f.get("metrics", f.get("final"))) if isinstance(f, dict) else None
        if isinstance(values, dict) and values and all(isinstance(v, dict) for v in values.values()):
            values = values.get("valid", values.get("test", next(iter(values.values()))))
        if not isinstance(values, dict) or not values:
            raise ValueError(f"cv: folds[{i}] has no 'metrics' (or 'final') dict of metric -> value")
        folds.append({"fold": f.get("fold", i), "values": values})
    metrics = data.get("metrics") or list(folds[0]["values"])
    curves = data.get("curves")
    evals = data.get("evals_result")  # go.cv's cv.json (CVResult.to_dict): {metric: {"mean": [...], "std": [...]}}
    if curves is None and isinstance(evals, dict) and evals:
        rounds = max(len(c.get("mean", [])) for c in evals.values() if isinstance(c, dict))
        curves = {"iterations": list(range(1, rounds + 1)), "valid": evals}
    return {"metrics": list(metrics), "folds": folds, "curves": curves}


def _compare_input(compare):
    if compare is None:
        return None
    path = Path(compare)
    if path.is_dir():
        path = path / "compare.json"
    if not path.is_file():
        raise ValueError(f"compare: no compare.json at {str(path)!r} (the --out folder of gbm-objectives compare)")
    data = _read_json(path, "compare")
    if not isinstance(data, dict) or "results" not in data or "metrics" not in data:
        raise ValueError(f"compare: {str(path)!r} is not a compare.json (it lacks 'results' or 'metrics')")
    return data


def load_results(paths, qrels=None, metrics=None):
    """What ``gbm-objectives report RESULTS...`` reads: ``(systems, extras)`` for :func:`report`.

    Each path is a ``compare`` folder or its ``compare.json``, a ``cv.json`` (a JSON object with ``folds``), a
    per-query CSV (a ``qid`` column and one column per metric; the system is named by the file's stem), or, with
    ``qrels``, a TREC run (evaluated with :func:`gbm_objectives.evaluate_run`; the runs also give the worst
    queries' labels).

    Raises
    ------
    ValueError
        A path that does not exist or is none of these.
    """
    import pandas as pd

    systems, extras, ranked = {}, {}, {}
    qrels_frame = None
    for p in map(Path, paths):
        if not p.exists():
            raise ValueError(f"RESULTS: no such file or folder {str(p)!r}")
        if p.is_dir() or p.name == "compare.json":
            extras["compare"] = p
            continue
        if p.suffix == ".json":
            data = _read_json(p, "RESULTS")
            if isinstance(data, dict) and "folds" in data:
                extras["cv"] = data
            elif isinstance(data, dict) and "results" in data:
                extras["compare"] = p
            else:
                raise ValueError(f"RESULTS: {str(p)!r} is neither a cv.json (with 'folds') nor a compare.json")
            continue
        name = p.stem if p.stem not in systems else str(p)
        if qrels is not None:
            from .datasets.trec import read_qrels, read_run
            from .metrics.runs import evaluate_run

            if qrels_frame is None:
                qrels_frame = read_qrels(qrels)
            run = read_run(p)
            systems[name] = evaluate_run(qrels_frame, run, metrics=metrics or ("ndcg@10", "map", "recall@100", "mrr"),
                                         missing_queries="zero")
            ranked[name] = run
        elif p.suffix in (".csv", ".tsv"):
            frame = pd.read_csv(p, sep="\t" if p.suffix == ".tsv" else ",", dtype={"qid": str})
            if "qid" not in frame.columns:
                raise ValueError(f"RESULTS: {str(p)!r} has no 'qid' column (a per-query CSV: qid, metric...)")
            frame = frame.set_index("qid")
            systems[name] = frame[metrics] if metrics else frame
        else:
            raise ValueError(f"RESULTS: {str(p)!r} is not a compare folder, cv.json or per-query CSV (a TREC run "
                             "needs --qrels)")
    if ranked:
        extras["ranked"], extras["qrels"] = ranked, qrels_frame
    return systems, extras


# ----------------------------------------------------------------------------------------------------------------
# SVG


def _num(x):
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _esc(text):
    return html.escape(str(text), quote=True)


class _Axes:
    """A plot frame: maps data to pixels and draws the axes, ticks and labels."""

    def __init__(self, width, height, xlim, ylim, title, left=48, bottom=26, top=22, right=10):
        self.w, self.h = width, height
        self.x0, self.x1, self.y0, self.y1 = left, width - right, height - bottom, top
        self.xlim = xlim if xlim[1] > xlim[0] else (xlim[0] - 0.5, xlim[0] + 0.5)
        self.ylim = ylim if ylim[1] > ylim[0] else (ylim[0] - 0.5, ylim[0] + 0.5)
        self.parts = [f'<text x="{width / 2:.0f}" y="14" class="t">{_esc(title)}</text>']

    def px(self, x):
        return self.x0 + (np.asarray(x, dtype=np.float64) - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * (
            self.x1 - self.x0)

    def py(self, y):
        return self.y0 - (np.asarray(y, dtype=np.float64) - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * (
            self.y0 - self.y1)

    def frame(self, xlabel="", yticks=4, xticks=None):
        p = self.parts
        p.append(f'<rect x="{self.x0}" y="{self.y1}" width="{self.x1 - self.x0}" height="{self.y0 - self.y1}" '
                 'class="f"/>')
        for v in np.linspace(*self.ylim, yticks + 1):
            y = float(self.py(v))
            p.append(f'<line x1="{self.x0}" x2="{self.x1}" y1="{y:.1f}" y2="{y:.1f}" class="g"/>'
                     f'<text x="{self.x0 - 4}" y="{y + 3:.1f}" class="yl">{v:.3g}</text>')
        if xticks is not None:
            for v in xticks:
                x = float(self.px(v))
                p.append(f'<text x="{x:.1f}" y="{self.y0 + 12}" class="xl">{v:.4g}</text>')
        if xlabel:
            p.append(f'<text x="{(self.x0 + self.x1) / 2:.0f}" y="{self.h - 2}" class="xl">{_esc(xlabel)}</text>')

    def polyline(self, x, y, color, width=1.5, extra=""):
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(self.px(x).tolist(), self.py(y).tolist()))
        self.parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}"{extra}/>')

    def polygon(self, x, y, color, opacity=1.0):
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(self.px(x).tolist(), self.py(y).tolist()))
        self.parts.append(f'<polygon points="{pts}" fill="{color}" fill-opacity="{opacity}" stroke="none"/>')

    def svg(self, label):
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                f'viewBox="0 0 {self.w} {self.h}" role="img" aria-label="{_esc(label)}" class="plot">'
                + "".join(self.parts) + "</svg>")


def _sorted_difference_plot(d, title, width=360, height=170):
    """The per-query differences sorted descending, as bars: one outline of at most one point per pixel column."""
    d = np.sort(np.asarray(d, dtype=np.float64))[::-1]
    n = len(d)
    lim = float(max(np.abs(d).max(), 1e-12)) if n else 1.0
    ax = _Axes(width, height, (0.0, float(max(n, 1))), (-lim, lim), title)
    ax.frame(xlabel=f"{n} queries, sorted", yticks=4)
    cols = int(ax.x1 - ax.x0)
    if n:
        edges = np.linspace(0, n, min(n, cols) + 1)
        idx = np.minimum(edges[:-1].astype(np.int64), n - 1)
        ends = np.maximum(np.minimum(np.ceil(edges[1:]).astype(np.int64), n) - 1, idx)
        # a sorted column is drawn from its largest to its smallest value: the bars' outline at that column
        for sign, color in ((1, _GOOD), (-1, _BAD)):
            v = d[idx] if sign > 0 else d[ends]
            part = np.where(sign * v > 0, v, 0.0)
            xs = np.repeat(edges, 2)[1:-1]
            ys = np.repeat(part, 2)
            ax.polygon(np.r_[0.0, xs, n], np.r_[0.0, ys, 0.0], color, opacity=0.85)
        ax.parts.append(f'<line x1="{ax.x0}" x2="{ax.x1}" y1="{float(ax.py(0)):.1f}" y2="{float(ax.py(0)):.1f}" '
                        'stroke="#333" stroke-width="0.8"/>')
    return ax.svg(title)


def _win_tie_loss_plot(rows, title, width=360):
    """Horizontal stacked bars: one per system, wins (green), ties (grey), losses (red)."""
    bar, gap, left = 16, 8, 110
    height = 30 + len(rows) * (bar + gap) + 16
    parts = [f'<text x="{width / 2:.0f}" y="14" class="t">{_esc(title)}</text>']
    span = width - left - 10
    for i, (name, w, t, l) in enumerate(rows):
        total = max(w + t + l, 1)
        y = 26 + i * (bar + gap)
        x = left
        parts.append(f'<text x="{left - 4}" y="{y + bar - 4}" class="yl">{_esc(name)}</text>')
        for count, color in ((w, _GOOD), (t, _TIE), (l, _BAD)):
            wpx = span * count / total
            if wpx > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{wpx:.1f}" height="{bar}" fill="{color}"/>')
                if wpx > 22:
                    parts.append(f'<text x="{x + wpx / 2:.1f}" y="{y + bar - 4}" class="bl">{count}</text>')
            x += wpx
    parts.append(f'<text x="{left}" y="{height - 4}" class="xl" text-anchor="start">'
                 f'<tspan fill="{_GOOD}">■ wins</tspan> <tspan fill="#888">■ ties</tspan> '
                 f'<tspan fill="{_BAD}">■ losses</tspan></text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} '
            f'{height}" role="img" aria-label="{_esc(title)}" class="plot">' + "".join(parts) + "</svg>")


def _distribution_plot(values_by_system, title, colors, bins=20, width=360, height=170):
    lo = min(float(np.min(v)) for v in values_by_system.values())
    hi = max(float(np.max(v)) for v in values_by_system.values())
    hi = hi if hi > lo else lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    hists = {k: np.histogram(v, bins=edges)[0] / max(len(v), 1) for k, v in values_by_system.items()}
    top = max(float(h.max()) for h in hists.values()) or 1.0
    ax = _Axes(width, height, (lo, hi), (0.0, top), title)
    ax.frame(xlabel="value (share of queries per bin)", xticks=np.linspace(lo, hi, 5))
    for k, h in hists.items():
        ax.polyline(np.repeat(edges, 2)[1:-1], np.repeat(h, 2), colors[k])
    return ax.svg(title)


def _curve_plot(curves, title, width=360, height=190):
    """``curves``: list of (label, color, x, mean, std or None)."""
    xs = np.concatenate([np.asarray(c[2], dtype=np.float64) for c in curves])
    lows = [np.asarray(c[3], dtype=np.float64) - (0 if c[4] is None else np.asarray(c[4])) for c in curves]
    highs = [np.asarray(c[3], dtype=np.float64) + (0 if c[4] is None else np.asarray(c[4])) for c in curves]
    ylim = (float(min(np.min(v) for v in lows)), float(max(np.max(v) for v in highs)))
    ax = _Axes(width, height, (float(xs.min()), float(xs.max())), ylim, title)
    ax.frame(xlabel="round", xticks=np.linspace(xs.min(), xs.max(), 5))
    for (label, color, x, mean, std), low, high in zip(curves, lows, highs):
        x = np.asarray(x, dtype=np.float64)
        if std is not None:
            ax.polygon(np.r_[x, x[::-1]], np.r_[low, high[::-1]], color, opacity=0.18)
        ax.polyline(x, mean, color)
    legend = " ".join(f'<tspan fill="{c[1]}">— {_esc(c[0])}</tspan>' for c in curves)
    ax.parts.append(f'<text x="{ax.x0 + 4}" y="{ax.y1 + 12}" class="xl" text-anchor="start">{legend}</text>')
    return ax.svg(title)


# ----------------------------------------------------------------------------------------------------------------
# the report


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd}
.note{color:#666;font-size:12px}table{border-collapse:collapse;margin:6px 0}
th,td{padding:4px 9px;border-bottom:1px solid #e4e4e4;text-align:right;vertical-align:top}
th{background:#f4f4f4;cursor:pointer;user-select:none}td:first-child,th:first-child{text-align:left}
td small{color:#666;display:block;font-size:11px}.up{color:#2a9d4b;font-weight:700}.down{color:#d1495b;font-weight:700}
.best{font-weight:700}.grid{display:flex;flex-wrap:wrap;gap:10px}.plot{background:#fff;border:1px solid #eee}
.plot .t{font-size:12px;text-anchor:middle;font-weight:600}.plot .yl{font-size:10px;text-anchor:end;fill:#555}
.plot .xl{font-size:10px;text-anchor:middle;fill:#555}.plot .bl{font-size:10px;text-anchor:middle;fill:#fff}
.plot .f{fill:none;stroke:#ccc}.plot .g{stroke:#eee}code{font-size:12px}
"""

_JS = """
(function(){
  document.querySelectorAll('table.sortable').forEach(function(t){
    t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
      var rows=Array.prototype.slice.call(t.tBodies[0].rows),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
      rows.sort(function(a,b){var x=a.cells[i].dataset.v||a.cells[i].textContent,y=b.cells[i].dataset.v||b.cells[i].textContent;
        var fx=parseFloat(x),fy=parseFloat(y);if(!isNaN(fx)&&!isNaN(fy)){return asc?fx-fy:fy-fx;}
        return asc?(x<y?-1:x>y?1:0):(x<y?1:x>y?-1:0);});
      rows.forEach(function(r){t.tBodies[0].appendChild(r);});});});});
  document.body.setAttribute('data-rendered','tables:'+document.querySelectorAll('table').length+
    ';plots:'+document.querySelectorAll('svg.plot').length);
})();
"""


def _fmt_p(p):
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


def _rows(table):
    """``{(system, metric): row}`` of a :func:`~gbm_objectives.compare_runs` table (rows as named tuples)."""
    return {(r.system, r.metric): r for r in table.drop(columns=["win_queries", "loss_queries", "tie_queries"])
            .itertuples(index=False)}


def _metric_table(table, systems, metrics, baseline, alpha, correction, test):
    best = table.groupby("metric")["mean"].max().to_dict()
    lookup = _rows(table)
    head = "".join(f"<th>{_esc(m)}</th>" for m in metrics)
    body = []
    for s in systems:
        cells = []
        for m in metrics:
            r = lookup[s, m]
            mark, cls = "", ""
            p = r.p_value_corrected
            if s != baseline and not math.isnan(p) and p < alpha:
                mark, cls = ("▲", "up") if r.diff > 0 else ("▼", "down")
            small = "baseline" if s == baseline else (f"p={_fmt_p(p)} · W/T/L {r.wins}/{r.ties}/{r.losses}")
            strong = ' class="best"' if r.mean == best[m] else ""
            cells.append(f'<td data-v="{r.mean:.6f}"><span{strong}>{r.mean:.4f}</span>'
                         f'<span class="{cls}">{mark}</span><small>{small}</small></td>')
        body.append(f"<tr><td>{_esc(s)}{' (baseline)' if s == baseline else ''}</td>{''.join(cells)}</tr>")
    corr = {"holm": "Holm", "bonferroni": "Bonferroni", "bh": "Benjamini–Hochberg", None: "no"}[correction]
    note = (f'<p class="note">▲/▼: significantly better/worse than {_esc(baseline)} at α={alpha} ({_esc(test)} '
            f"over queries, {corr} correction over the systems per metric); p: corrected p-value; W/T/L: queries "
            "won/tied/lost against the baseline. Bold: the best mean. Click a header to sort.</p>")
    return (f'<table class="sortable" id="metrics"><thead><tr><th>system</th>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table>" + note)


def _risk_table(table, systems, metrics, baseline, risk_alpha):
    head = "".join(f"<th>{_esc(m)} URisk</th><th>TRisk</th>" for m in metrics)
    lookup = _rows(table)
    rows = []
    for s in systems:
        if s == baseline:
            continue
        cells = []
        for m in metrics:
            r = lookup[s, m]
            cls = ' class="down"' if r.trisk < -2 else (' class="up"' if r.trisk > 2 else "")
            cells.append(f"<td>{r.urisk:+.4f}</td><td{cls}>{r.trisk:+.2f}</td>")
        rows.append(f"<tr><td>{_esc(s)}</td>{''.join(cells)}</tr>")
    return (f'<table class="sortable" id="risk"><thead><tr><th>system</th>{head}</tr></thead><tbody>'
            + "".join(rows) + f'</tbody></table><p class="note">URisk/TRisk against {_esc(baseline)} with '
            f"α={risk_alpha} (losses weigh 1+α); |TRisk| &gt; 2: a significant gain (green) or loss (red).</p>")


def _worst_table(worst):
    rows = []
    for r in worst.itertuples():
        labels = "" if r.labels is None else " ".join("·" if v is None else str(v) for v in r.labels)
        diff = "" if math.isnan(r.diff) else f"{r.diff:+.4f}"
        base = "" if math.isnan(r.baseline_value) else f"{r.baseline_value:.4f}"
        rows.append(f"<tr><td>{_esc(r.system)}</td><td>{_esc(r.qid)}</td><td>{r.value:.4f}</td><td>{base}</td>"
                    f"<td>{diff}</td><td><code>{_esc(labels)}</code></td></tr>")
    return ('<table class="sortable" id="worst"><thead><tr><th>system</th><th>query</th><th>value</th>'
            "<th>baseline</th><th>difference</th><th>ranked labels (· unjudged)</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _cv_section(cv):
    metrics = cv["metrics"]
    head = "".join(f"<th>{_esc(m)}</th>" for m in metrics)
    rows = []
    for f in cv["folds"]:
        rows.append(f"<tr><td>fold {_esc(f['fold'])}</td>"
                    + "".join(f"<td>{float(f['values'].get(m, float('nan'))):.4f}</td>" for m in metrics) + "</tr>")
    vals = {m: np.array([float(f["values"].get(m, np.nan)) for f in cv["folds"]]) for m in metrics}
    rows.append("<tr><td><b>mean ± std</b></td>" + "".join(
        f"<td><b>{np.nanmean(v):.4f}</b> ± {np.nanstd(v, ddof=1) if len(v) > 1 else 0.0:.4f}</td>"
        for v in vals.values()) + "</tr>")
    out = [f'<table id="cv"><thead><tr><th>fold</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>']
    curves = cv.get("curves") or {}
    its = curves.get("iterations")
    plots = []
    if its:
        for m in metrics:
            lines = []
            for i, (split, by_metric) in enumerate((k, v) for k, v in curves.items() if k != "iterations"):
                c = by_metric.get(m) if isinstance(by_metric, dict) else None
                if isinstance(c, dict) and "mean" in c:
                    lines.append((split, _PALETTE[i % len(_PALETTE)], its, c["mean"], c.get("std")))
            if lines:
                plots.append(_curve_plot(lines, f"{m}: mean ± std over {len(cv['folds'])} folds"))
    if plots:
        out.append('<div class="grid">' + "".join(plots) + "</div>")
    return "".join(out)


def _compare_section(data):
    metrics = data["metrics"]
    split = data.get("split", "test")
    sig = data.get("significance") or {}
    pvals = sig.get("p_values", {})
    rows = []
    for r in data.get("table", []):
        label = r.get("objective", "")
        cells = []
        for m in metrics:
            v = r.get(m)
            p = pvals.get(label, {}).get(m)
            cells.append(f"<td>{'' if v is None else f'{float(v):.4f}'}<small>{'' if p is None else 'p=' + _fmt_p(p)}"
                         "</small></td>")
        rows.append(f"<tr><td>{_esc(label)}</td>{''.join(cells)}</tr>")
    head = "".join(f"<th>{_esc(m)}</th>" for m in metrics)
    out = [f'<p class="note">metrics on {_esc(split)}; p-values: {_esc(sig.get("test", "-"))} test against '
           f'{_esc(sig.get("baseline", "-"))}, {_esc(sig.get("correction", "-"))} correction</p>'
           f'<table class="sortable" id="compare"><thead><tr><th>objective</th>{head}</tr></thead>'
           f'<tbody>{"".join(rows)}</tbody></table>']
    plots = []
    results = data.get("results", [])
    for m in metrics:
        lines = []
        for i, r in enumerate(results):
            pr = r.get("per_round") or {}
            curve_split = "valid" if "valid" in pr else split
            ys = (pr.get(curve_split) or {}).get(m)
            if ys:
                lines.append((f"{r.get('label', i)} ({curve_split})", _PALETTE[i % len(_PALETTE)], pr["iterations"],
                              ys, None))
        if lines:
            plots.append(_curve_plot(lines, f"{m} per round"))
    if plots:
        out.append('<div class="grid">' + "".join(plots) + "</div>")
    return "".join(out)


def _latex(table, systems, metrics, baseline, alpha, title, cv, compare):
    def tex(s):
        return str(s).replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")

    lines = [_LATEX_MARK.rstrip("\n"), r"% needs \usepackage{booktabs}", r"\begin{table}[t]", r"\centering",
             rf"\caption{{{tex(title)}}}"]
    if table is not None:
        lookup, best = _rows(table), table.groupby("metric")["mean"].max().to_dict()
        lines += [r"\begin{tabular}{l" + "r" * len(metrics) + "}", r"\toprule",
                  "System & " + " & ".join(tex(m) for m in metrics) + r" \\", r"\midrule"]
        for s in systems:
            cells = []
            for m in metrics:
                r = lookup[s, m]
                v = f"{r.mean:.4f}"
                if r.mean == best[m]:
                    v = rf"\textbf{{{v}}}"
                p = r.p_value_corrected
                if s != baseline and not math.isnan(p) and p < alpha:
                    v += r"$^{\blacktriangle}$" if r.diff > 0 else r"$^{\blacktriangledown}$"
                cells.append(v)
            lines.append(tex(s) + " & " + " & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}",
                  rf"\\[2pt]{{\footnotesize $\blacktriangle$/$\blacktriangledown$: significantly better/worse than "
                  rf"{tex(baseline)} ($p<{alpha}$, corrected).}}"]
    if cv is not None:
        ms = cv["metrics"]
        lines += [r"\begin{tabular}{l" + "r" * len(ms) + "}", r"\toprule",
                  "Fold & " + " & ".join(tex(m) for m in ms) + r" \\", r"\midrule"]
        for f in cv["folds"]:
            lines.append(f"{tex(f['fold'])} & " + " & ".join(f"{float(f['values'].get(m, np.nan)):.4f}" for m in ms)
                         + r" \\")
        vals = [np.array([float(f["values"].get(m, np.nan)) for f in cv["folds"]]) for m in ms]
        lines += [r"\midrule", "Mean & " + " & ".join(
            f"{np.nanmean(v):.4f} $\\pm$ {np.nanstd(v, ddof=1) if len(v) > 1 else 0.0:.4f}" for v in vals) + r" \\",
            r"\bottomrule", r"\end{tabular}"]
    if compare is not None:
        ms = compare["metrics"]
        lines += [r"\begin{tabular}{l" + "r" * len(ms) + "}", r"\toprule",
                  "Objective & " + " & ".join(tex(m) for m in ms) + r" \\", r"\midrule"]
        for r in compare.get("table", []):
            lines.append(tex(r.get("objective", "")) + " & " + " & ".join(
                f"{float(r[m]):.4f}" if r.get(m) is not None else "" for m in ms) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [r"\end{table}", ""]
    return "\n".join(lines)


def report(systems=None, out="report.html", *, baseline=None, metrics=None, test="t-test", correction="holm",
           alpha=0.05, n_resamples=10000, seed=0, risk_alpha=1.0, cv=None, compare=None, qrels=None, ranked=None,
           worst_k=10, fmt="html", title="Experiment report"):
    """Write the experiment report (module docstring): one self-contained HTML file, or a LaTeX table.

    Parameters
    ----------
    systems : dict, optional
        System name -> :func:`gbm_objectives.evaluate_run` result or per-query DataFrame (as
        :func:`gbm_objectives.compare_runs` takes; at least 2 for the comparison sections).
    out : path, default "report.html"
    baseline : str, optional
        Default the first system.
    metrics : sequence of str, optional
        Default every metric the systems share.
    test, correction, alpha, n_resamples, seed, risk_alpha
        :func:`gbm_objectives.compare_runs`' test and correction; ``alpha`` the level of the table's marks.
    cv : path or dict, optional
        ``cv.json`` (the documented shape above).
    compare : path, optional
        A ``gbm-objectives compare --out`` folder or its ``compare.json``.
    qrels, ranked : optional
        Qrels and a dict system -> run (DataFrame or path): the worst queries then show their ranked labels.
    worst_k : int, default 10
    fmt : {"html", "latex"}, default "html"
    title : str

    Returns
    -------
    pathlib.Path
        ``out``, written atomically.

    Raises
    ------
    ValueError
        Nothing to report, an unknown format, or inputs :func:`~gbm_objectives.compare_runs` refuses.

    >>> import pandas as pd, tempfile, os
    >>> a = pd.DataFrame({"map": [0.1, 0.2, 0.3, 0.4]}, index=pd.Index(list("abcd"), name="qid"))
    >>> path = report({"A": a, "B": a + 0.1}, os.path.join(tempfile.mkdtemp(), "r.html"))
    >>> text = path.read_text(); "<svg" in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    True
    """
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"fmt must be one of {list(REPORT_FORMATS)}; got {fmt!r}")
    cv = _cv_input(cv)
    compare = _compare_input(compare)
    systems = dict(systems or {})
    if not systems and cv is None and compare is None:
        raise ValueError("nothing to report: give systems (at least 2), cv or compare")
    if len(systems) == 1:
        raise ValueError("systems: a comparison needs at least 2 systems; got 1")
    table = None
    names = list(systems)
    if systems:
        baseline = names[0] if baseline is None else baseline
        table = compare_runs(systems, baseline=baseline, metrics=metrics, test=test, n_resamples=n_resamples,
                             correction=correction, seed=seed, risk_alpha=risk_alpha)
        metrics = list(dict.fromkeys(table.metric))
        names = [baseline, *[n for n in names if n != baseline]]
    if fmt == "latex":
        text = _latex(table, names, metrics, baseline, alpha, title, cv, compare)
        path = Path(out)
        atomic_write_bytes(path, text.encode())
        return path

    colors = {k: _PALETTE[i % len(_PALETTE)] for i, k in enumerate(names)}
    body = [f"<h1>{_esc(title)}</h1>"]
    if table is not None:
        per = {k: _per_query(v) for k, v in systems.items()}
        index = per[baseline].index
        n_q = len(index)
        body.append(f'<p class="note">{len(names)} systems · {n_q} queries · {len(metrics)} metrics · baseline '
                    f"{_esc(baseline)}</p>")
        body.append("<h2>Metrics</h2>" + _metric_table(table, names, metrics, baseline, alpha, correction, test))
        body.append("<h2>Risk against the baseline</h2>" + _risk_table(table, names, metrics, baseline, risk_alpha))
        body.append("<h2>Per-query differences against the baseline</h2><div class=\"grid\">")
        for m in metrics:
            b = per[baseline][m].to_numpy(dtype=np.float64)
            for s in names[1:]:
                d = per[s][m].reindex(index).to_numpy(dtype=np.float64) - b
                body.append(_sorted_difference_plot(d, f"{s} − {baseline}: {m}"))
        body.append("</div><h2>Wins, ties and losses against the baseline</h2><div class=\"grid\">")
        for m in metrics:
            rows = [(r.system, r.wins, r.ties, r.losses)
                    for r in table[(table.metric == m) & (table.system != baseline)].itertuples()]
            body.append(_win_tie_loss_plot(rows, m))
        body.append("</div><h2>Score distributions</h2><div class=\"grid\">")
        for m in metrics:
            body.append(_distribution_plot({s: per[s][m].to_numpy(dtype=np.float64) for s in names}, m, colors))
        legend = " ".join(f'<span style="color:{colors[s]}">■ {_esc(s)}</span>' for s in names)
        body.append(f'</div><p class="note">{legend}</p>')
        worst = worst_queries(systems, metrics[0], k=worst_k, baseline=baseline, qrels=qrels, ranked=ranked)
        body.append(f"<h2>Worst queries against the baseline ({_esc(metrics[0])})</h2>" + _worst_table(worst))
    if cv is not None:
        body.append("<h2>Cross-validation</h2>" + _cv_section(cv))
    if compare is not None:
        body.append("<h2>Trained objectives (compare)</h2>" + _compare_section(compare))
    page = (f'{_HTML_MARK}<html lang="en"><head><meta charset="utf-8"><meta name="generator" '
            f'content="gbm-objectives"><title>{_esc(title)}</title><style>{_CSS}</style></head><body>'
            + "".join(body) + f"<script>{_JS}</script></body></html>\n")
    path = Path(out)
    atomic_write_bytes(path, page.encode())
    return path
