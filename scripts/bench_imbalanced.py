"""The imbalanced-data report: what LogLoss, WeightedCrossEntropy and FocalLoss buy, before and after calibration.

For each data set (oil_spill, phoneme, german_credit, adult from ../shared/datasets, and a synthetic 1 %-positive
set from ``make_imbalanced``), 5-fold stratified cross-validation; in every fold the training part is split 75/25
(stratified) into a model-fitting part and a calibration part. Each objective is trained with both engines on the
same rows and settings; the test fold gets PR-AUC, ROC-AUC, log loss, Brier score and ECE (15 uniform bins), the
last three before and after Platt scaling fitted on the calibration part. Writes the ``imbalanced`` section of
BENCHMARKS.md.

    .venv/bin/python scripts/bench_imbalanced.py            # full run (a few minutes on 2 cores)
    .venv/bin/python scripts/bench_imbalanced.py --quick    # 2 folds, fewer rounds, smaller data: smoke test
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402

import gbm_objectives as go  # noqa: E402

DATA = _bench.SHARED_DATASETS


# ---------------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------------
def _codes(frame):
    """Object columns to integer category codes (NaN stays NaN); LightGBM and XGBoost both take the float matrix."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype).startswith(("string", "category", "str")):
            codes = out[col].astype("category").cat.codes.astype(np.float32)
            out[col] = codes.where(codes >= 0, np.nan)
    return out.to_numpy(dtype=np.float32)


def load_oil_spill():
    frame = pd.read_csv(DATA / "oil_spill" / "oil-spill.csv", header=None)
    y = frame.pop(frame.columns[-1]).to_numpy(dtype=np.float64)
    frame = frame.drop(columns=[frame.columns[0]])  # patch index
    return frame.to_numpy(dtype=np.float32), y


def load_phoneme():
    frame = pd.read_csv(DATA / "phoneme" / "phoneme.csv", header=None)
    y = frame.pop(frame.columns[-1]).to_numpy(dtype=np.float64)
    return frame.to_numpy(dtype=np.float32), y


def load_german_credit():
    frame = pd.read_csv(DATA / "german_credit" / "german.csv", header=None)
    label = frame.pop(frame.columns[-1])
    y = (label == 2).to_numpy(dtype=np.float64)  # positive = "bad" credit (30 %)
    return _codes(frame), y


def load_adult(max_rows=None, seed=0):
    with gzip.open(DATA / "adult" / "adult-train.csv.gz", "rt") as fh:
        frame = pd.read_csv(fh, header=None, skipinitialspace=True, na_values="?")
    label = frame.pop(frame.columns[-1]).astype(str).str.strip().str.rstrip(".")
    y = (label == ">50K").to_numpy(dtype=np.float64)
    X = _codes(frame)
    if max_rows is not None and max_rows < len(y):
        rows, _ = train_test_split(np.arange(len(y)), train_size=max_rows, stratify=y, random_state=seed)
        X, y = X[np.sort(rows)], y[np.sort(rows)]
    return X, y


def load_synthetic(n_samples):
    from gbm_objectives.datasets import make_imbalanced

    X, y = make_imbalanced(n_samples=n_samples, positive_rate=0.01, seed=0)
    return X, y


# ---------------------------------------------------------------------------------------------------------
# one fold
# ---------------------------------------------------------------------------------------------------------
FOCAL_GRID = [(1.0, 0.25), (1.0, 0.75), (2.0, 0.25), (2.0, 0.75)]  # (gamma, alpha)


def objectives(y_fit):
    n_pos = float(y_fit.sum())
    n_neg = float(len(y_fit) - n_pos)
    objs = [("LogLoss", go.LogLoss()), (f"WeightedCE(pos_weight={n_neg / n_pos:.3g})", go.WeightedCrossEntropy(n_neg / n_pos))]
    objs += [(f"Focal(gamma={g:g}, alpha={a:g})", go.FocalLoss(alpha=a, gamma=g)) for g, a in FOCAL_GRID]
    return objs


def scores(y, p):
    return {
        "PR-AUC": average_precision_score(y, p),
        "ROC-AUC": roc_auc_score(y, p),
        "log loss": go.log_loss_score(y, p),
        "Brier": go.brier_score(y, p),
        "ECE": go.expected_calibration_error(y, p, n_bins=15),
    }


def run_dataset(X, y, *, n_splits, n_estimators, learning_rate, threads, seed=0):
    """Returns {(objective label, engine): {metric: [per-fold values]}}; objective labels use the first fold."""
    results = {}
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for fold, (train_idx, test_idx) in enumerate(skf.split(X, y)):
        fit_idx, cal_idx = train_test_split(train_idx, test_size=0.25, stratify=y[train_idx], random_state=seed + fold)
        X_fit, y_fit, X_cal, y_cal = X[fit_idx], y[fit_idx], X[cal_idx], y[cal_idx]
        X_te, y_te = X[test_idx], y[test_idx]
        for k, (label, obj) in enumerate(objectives(y_fit)):
            key_label = label if not label.startswith("WeightedCE") else "WeightedCE(pos_weight=neg/pos)"
            for backend in ("lightgbm", "xgboost"):
                backend_params = {"num_leaves": 31} if backend == "lightgbm" else {"max_depth": 6}
                clf = go.GBMClassifier(
                    objective=obj, backend=backend, n_estimators=n_estimators, learning_rate=learning_rate,
                    backend_params=backend_params, n_jobs=threads, random_state=seed,
                ).fit(X_fit, y_fit)
                p = clf.predict_proba(X_te)[:, 1]
                p_cal = go.calibrate(clf, X_cal, y_cal, method="platt").predict_proba(X_te)[:, 1]
                row = results.setdefault((key_label, backend), {})
                for name, value in scores(y_te, p).items():
                    row.setdefault(name, []).append(value)
                for name in ("log loss", "Brier", "ECE"):
                    row.setdefault(f"{name} (Platt)", []).append(scores(y_te, p_cal)[name])
    return results


# ---------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------
COLUMNS = ["PR-AUC", "ROC-AUC", "log loss", "log loss (Platt)", "Brier", "Brier (Platt)", "ECE", "ECE (Platt)"]


def _fmt(values):
    v = np.asarray(values)
    return f"{v.mean():.4f} ± {v.std():.4f}"


def table(results):
    lines = ["| objective | engine | " + " | ".join(COLUMNS) + " |", "|---|---|" + "---|" * len(COLUMNS)]
    for (label, backend), row in results.items():
        lines.append(f"| {label} | {backend} | " + " | ".join(_fmt(row[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def findings(name, results):
    """Plain statements derived from the numbers (means over folds; 'beats' needs the gap to exceed one std)."""
    out = []
    for backend in ("lightgbm", "xgboost"):
        rows = {label: row for (label, b), row in results.items() if b == backend}
        mean = {label: np.mean(row["PR-AUC"]) for label, row in rows.items()}
        best = max(mean, key=mean.get)
        wce = next(label for label in rows if label.startswith("WeightedCE"))
        focal = [label for label in rows if label.startswith("Focal")]
        best_focal = max(focal, key=mean.get)
        gap = mean[best_focal] - mean[wce]
        spread = max(np.std(rows[best_focal]["PR-AUC"]), np.std(rows[wce]["PR-AUC"]))
        verdict = "beats" if gap > spread else ("loses to" if -gap > spread else "ties with (within one std)")
        ece_gain = [np.mean(row["ECE"]) - np.mean(row["ECE (Platt)"]) for row in rows.values()]
        out.append(
            f"- {name}, {backend}: best PR-AUC {best} ({mean[best]:.4f}); best focal {best_focal} "
            f"({mean[best_focal]:.4f}) {verdict} WeightedCE ({mean[wce]:.4f}) on PR-AUC; Platt lowers mean ECE for "
            f"{sum(g > 0 for g in ece_gain)}/{len(ece_gain)} objectives (ECE of WeightedCE "
            f"{np.mean(rows[wce]['ECE']):.4f} -> {np.mean(rows[wce]['ECE (Platt)']):.4f}, of {best_focal} "
            f"{np.mean(rows[best_focal]['ECE']):.4f} -> {np.mean(rows[best_focal]['ECE (Platt)']):.4f})."
        )
    return out


def overall(all_results):
    """Counts over every (data set, engine) cell: focal vs WeightedCE vs LogLoss on PR-AUC, and ECE before/after."""
    verdicts = {"beats": 0, "ties": 0, "loses": 0}
    over_logloss = 0
    cells = 0
    ece = {"LogLoss": [], "WeightedCE": [], "Focal": []}
    for results in all_results:
        for backend in ("lightgbm", "xgboost"):
            rows = {label: row for (label, b), row in results.items() if b == backend}
            if not rows:
                continue
            cells += 1
            mean = {label: np.mean(row["PR-AUC"]) for label, row in rows.items()}
            wce = next(label for label in rows if label.startswith("WeightedCE"))
            best_focal = max((label for label in rows if label.startswith("Focal")), key=mean.get)
            gap = mean[best_focal] - mean[wce]
            spread = max(np.std(rows[best_focal]["PR-AUC"]), np.std(rows[wce]["PR-AUC"]))
            verdicts["beats" if gap > spread else "loses" if -gap > spread else "ties"] += 1
            best_other = max(mean[best_focal], mean[wce])
            if best_other - mean["LogLoss"] > np.std(rows["LogLoss"]["PR-AUC"]):
                over_logloss += 1
            for label, row in rows.items():
                family = label.split("(")[0]
                ece[family].append((np.mean(row["ECE"]), np.mean(row["ECE (Platt)"])))
    lines = [
        f"- Over all {cells} (data set, engine) cells, the best focal setting of the grid beats WeightedCE on PR-AUC "
        f"by more than one fold std in {verdicts['beats']}, ties in {verdicts['ties']}, loses in {verdicts['loses']}; "
        f"the better of focal/WeightedCE beats plain LogLoss by more than one std in {over_logloss} of {cells}. "
        "(The focal grid picks its best setting per cell on the test folds, which flatters focal.)",
    ]
    for family, pairs in ece.items():
        before, after = np.array(pairs).T
        lines.append(f"- Mean ECE over cells, {family}: {before.mean():.4f} before Platt, {after.mean():.4f} after.")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 folds, 20 rounds, subsampled adult and synthetic")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing BENCHMARKS.md")
    args = parser.parse_args(argv)
    n_splits = 2 if args.quick else 5
    n_estimators = 20 if args.quick else 100
    learning_rate = 0.1
    adult_rows = 4000 if args.quick else 16000
    synthetic_rows = 5000 if args.quick else 20000
    datasets = [
        ("oil_spill", load_oil_spill),
        ("phoneme", load_phoneme),
        ("german_credit", load_german_credit),
        (f"adult (stratified subsample of {adult_rows} of the 32,561 training rows)", lambda: load_adult(adult_rows)),
        (f"synthetic make_imbalanced(n_samples={synthetic_rows}, positive_rate=0.01, seed=0)",
         lambda: load_synthetic(synthetic_rows)),
    ]
    sections, notes, all_results = [], [], []
    t_start = time.perf_counter()
    for name, loader in datasets:
        try:
            X, y = loader()
        except FileNotFoundError as exc:
            notes.append(f"- {name}: skipped, {exc}")
            continue
        t0 = time.perf_counter()
        results = run_dataset(X, y, n_splits=n_splits, n_estimators=n_estimators, learning_rate=learning_rate,
                              threads=args.threads)
        elapsed = time.perf_counter() - t0
        print(f"{name}: {elapsed:.0f} s", flush=True)
        sections.append(
            f"### {name}\n\n{X.shape[0]:,} rows, {X.shape[1]} features, {int(y.sum()):,} positives "
            f"({100 * y.mean():.1f} %); {elapsed:.0f} s.\n\n{table(results)}\n"
        )
        notes += findings(name.split(" (")[0], results)
        all_results.append(results)
    total = time.perf_counter() - t_start
    md = "\n".join(
        [
            "## Imbalanced binary classification: objectives and calibration (`scripts/bench_imbalanced.py`)",
            "",
            f"Machine: {_bench.machine_info(args.threads)}. Total {total:.0f} s"
            + (" (**--quick** run: not the reported configuration)" if args.quick else "") + ".",
            "",
            f"Protocol: {n_splits}-fold stratified CV (shuffled, seed 0); in each fold the training part is split 75/25 "
            "(stratified) into fitting and calibration rows. `GBMClassifier` with each objective, "
            f"{n_estimators} rounds, learning rate {learning_rate}, LightGBM `num_leaves=31` / XGBoost `max_depth=6` "
            "(hist), everything else default and identical across objectives. WeightedCE uses "
            "`pos_weight = negatives / positives` of the fitting rows. Platt scaling is fitted on the raw score of the "
            "calibration rows (`go.calibrate(..., method='platt')`); being monotone it leaves PR-AUC and ROC-AUC "
            "unchanged, so only log loss, Brier and ECE (15 uniform bins) are shown after it. Mean ± std over folds; "
            "no tuning of rounds or learning rate per objective (early stopping would change the picture for the "
            "weighted objectives, whose scale differs).",
            "",
            "### Findings (generated from the numbers below)",
            "",
            *overall(all_results),
            *notes,
            "",
            *sections,
        ]
    )
    _bench.publish("imbalanced", md, write=not args.no_write, detail=f" ({total:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
