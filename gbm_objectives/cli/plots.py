"""The CLI's pictures: learning curves of ``train`` and the bar chart and curves of ``compare`` (matplotlib, optional).

Every function returns False and logs a line when matplotlib is missing (``pip install "gbm_objectives[plot]"``);
PNG files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

from .._core.files import atomic_write_bytes

__all__ = ["plot_learning_curve", "plot_compare", "plot_fan_chart", "plot_cv_curve", "plot_tuning"]

#: at most this many rows are drawn in a fan chart (evenly spaced after sorting by the middle quantile)
FAN_CHART_ROWS = 400


def _save_png(fig, path):
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def _pyplot(reporter, what):
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        reporter.log(f"matplotlib is not installed: skipping {what} (pip install 'gbm_objectives[plot]')")
        return None
    return plt


def plot_learning_curve(result, path, reporter):
    plt = _pyplot(reporter, Path(path).name)
    if plt is None:
        return False
    per_round = result["per_round"]
    names = result["metrics"]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], names):
        for split in ("train", "valid", "test"):
            if split in per_round:
                ax.plot(per_round["iterations"], per_round[split][metric], label=split)
        if result.get("best_iteration"):
            ax.axvline(result["best_iteration"], color="grey", linestyle=":", label="best")
        ax.set_xlabel("round")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    if axes[0][0].get_legend_handles_labels()[0]:  # a --dask run without --valid/--test has no curve
        axes[0][0].legend()
    fig.suptitle(f"{result['label']} ({result['backend']})")
    _save_png(fig, path)
    plt.close(fig)
    return True


def plot_fan_chart(y_true, quantiles, alphas, path, reporter, title):
    """Predicted quantiles of the rows of a split, sorted by the middle level: shaded bands between the levels
    ``alphas[i]`` and ``alphas[K - 1 - i]`` (darker inside), the middle level as a line, the labels as dots."""
    plt = _pyplot(reporter, Path(path).name)
    if plt is None:
        return False
    import numpy as np

    q = np.asarray(quantiles, dtype=float)
    y = np.asarray(y_true, dtype=float)
    K = q.shape[1]
    order = np.argsort(q[:, K // 2], kind="stable")
    if len(order) > FAN_CHART_ROWS:
        order = order[np.linspace(0, len(order) - 1, FAN_CHART_ROWS).round().astype(int)]
    x = np.arange(len(order))
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    pairs = K // 2
    for i in range(pairs):
        ax.fill_between(x, q[order, i], q[order, K - 1 - i], color="C0", alpha=0.15 + 0.5 * (i + 1) / (pairs + 1),
                        linewidth=0, label=f"{alphas[i]:g} - {alphas[K - 1 - i]:g}")
    ax.plot(x, q[order, K // 2], color="C1", linewidth=1.2, label=f"q {alphas[K // 2]:g}")
    ax.scatter(x, y[order], s=4, color="black", alpha=0.6, label="label")
    ax.set_xlabel(f"rows sorted by the {alphas[K // 2]:g} quantile")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    _save_png(fig, path)
    plt.close(fig)
    return True


def plot_compare(results, metric_names, eval_split, path, reporter):
    plt = _pyplot(reporter, Path(path).name)
    if plt is None:
        return False
    first = metric_names[0]
    fig, (bar_ax, curve_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    labels = [r["label"] for r in results]
    values = [r["final"][eval_split][first] for r in results]
    bars = bar_ax.bar(range(len(labels)), values, color=[f"C{i}" for i in range(len(labels))])
    bar_ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    bar_ax.set_title(f"{first} on {eval_split}")
    for b, v in zip(bars, values):
        bar_ax.annotate(f"{v:.4f}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom",
                        fontsize=8)
    low = min(values)
    bar_ax.set_ylim(bottom=max(0.0, low - 0.1 * (abs(low) + 1e-12)) if low > 0 else None)
    curve_split = "valid" if all("valid" in r["per_round"] for r in results) else eval_split
    styles = ("-", "--", ":", "-.")
    for i, r in enumerate(results):
        curve_ax.plot(r["per_round"]["iterations"], r["per_round"][curve_split][first], label=r["label"],
                      color=f"C{i}", linestyle=styles[i % len(styles)])
    curve_ax.set_xlabel("round")
    curve_ax.set_title(f"{first} on {curve_split} per round")
    curve_ax.grid(alpha=0.3)
    curve_ax.legend(fontsize=8)
    _save_png(fig, path)
    plt.close(fig)
    return True


def plot_cv_curve(cv_dict, path, reporter):
    """The mean ± std learning curve of ``gbm-objectives cv`` (one panel per metric, the best round marked), from
    the ``cv.json`` layout (:meth:`gbm_objectives.CVResult.to_dict`)."""
    plt = _pyplot(reporter, Path(path).name)
    if plt is None:
        return False
    import numpy as np

    names = cv_dict["metrics"]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], names):
        mean = np.asarray(cv_dict["evals_result"][metric]["mean"])
        std = np.asarray(cv_dict["evals_result"][metric]["std"])
        rounds = np.arange(1, len(mean) + 1)
        ax.plot(rounds, mean, label=f"mean of {len(cv_dict['folds'])} folds")
        ax.fill_between(rounds, mean - std, mean + std, alpha=0.25, label="± std")
        ax.axvline(cv_dict["best_iteration"], color="grey", linestyle=":", label="best")
        ax.set_xlabel("round")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.suptitle(f"{cv_dict['objective']} ({cv_dict['backend']}), validation folds")
    _save_png(fig, path)
    plt.close(fig)
    return True


def plot_tuning(study, history_path, importance_path, reporter):
    """Optuna's optimisation history and parameter importances (``optuna.visualization.matplotlib``); returns the
    paths written (importances need two complete trials or more)."""
    plt = _pyplot(reporter, Path(history_path).name)
    if plt is None:
        return []
    import warnings

    from optuna.visualization import matplotlib as ovm

    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib backend experimental
        for fn, path in ((ovm.plot_optimization_history, history_path),
                         (ovm.plot_param_importances, importance_path)):
            try:
                ax = fn(study)
            except (ValueError, RuntimeError) as exc:  # too few trials for importances
                reporter.log(f"skipping {Path(path).name}: {exc}")
                continue
            fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            _save_png(fig, path)
            plt.close(fig)
            written.append(path)
    return written
