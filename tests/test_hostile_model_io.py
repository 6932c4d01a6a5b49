"""The model folder (go.save_model / go.load_model) under hostile conditions: a folder or file of the user's as the
target, truncated and altered model files, mutated meta.json entries, readers and writers at the same time, and a
position-bias table of millions of entries."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gbm_objectives as go
from gbm_objectives import model_io

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ["lightgbm", "xgboost"]
MODEL_FILE = {"lightgbm": "model.txt", "xgboost": "model.json"}


def _data(n=200, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(float)


@pytest.fixture(scope="module")
def results():
    """A small model per engine (200 rows, 5 rounds) and a 3-class one (its init score has 3 entries)."""
    X, y = _data()
    out = {b: go.train("logloss", X, y, backend=b, num_boost_round=5, n_jobs=1) for b in BACKENDS}
    out["softmax"] = go.train("softmax", X, (X[:, 0] > 0).astype(float) + (X[:, 1] > 0), num_boost_round=5, n_jobs=1)
    return out


def _listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*"))


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


def _versions(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("v-"))


def _python(code, *args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def _as_format_2(folder):
    """Rewrite a format-3 folder the way format 2 laid it out: meta.json and the model file at the top, no
    checksum, no save folders."""
    meta = json.loads((folder / "meta.json").read_text())
    for version in _versions(folder):
        for f in (folder / version).iterdir():
            f.unlink()
        (folder / version).rmdir()
    for key in ("model_size", "model_sha256", "version"):
        del meta[key]
    meta.update(format_version=2)
    (folder / "meta.json").write_text(json.dumps(meta))
    return meta


def _top_level(folder):
    return sorted(p.name for p in Path(folder).iterdir() if not p.name.startswith("v-"))


# ---- 1. the target folder -------------------------------------------------------------------------------------
def test_a_folder_of_the_users_is_refused_and_left_as_it_was(results, tmp_path):
    """save_model used to replace a folder of the user's whole (their data gone): now a non-empty folder without
    our meta.json is refused, before anything is written in it."""
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("my notes")
    (target / "data").mkdir()
    (target / "data" / "rows.csv").write_text("a,b\n1,2\n")
    before = _snapshot(target), _listing(target)
    with pytest.raises(ValueError, match=r"directory: .*mine.* is not empty and is not a model folder .*notes\.txt"):
        go.save_model(target, results["lightgbm"])
    assert (_snapshot(target), _listing(target)) == before
    assert _listing(tmp_path) == ["mine", "mine/data", "mine/data/rows.csv", "mine/notes.txt"]


def test_a_foreign_meta_json_does_not_make_a_model_folder(results, tmp_path):
    target = tmp_path / "other"
    target.mkdir()
    (target / "meta.json").write_text('{"format_version": 2, "backend": "lightgbm"}')  # no package marker
    with pytest.raises(ValueError, match="is not empty and is not a model folder"):
        go.save_model(target, results["lightgbm"])
    assert _listing(target) == ["meta.json"]


def test_a_file_is_refused_not_replaced_by_a_folder(results, tmp_path):
    target = tmp_path / "model"
    target.write_text("a file of mine")
    with pytest.raises(ValueError, match=r"directory: .*model.* exists and is not a folder"):
        go.save_model(target, results["xgboost"])
    assert target.read_text() == "a file of mine" and _listing(tmp_path) == ["model"]


def test_saving_into_the_current_folder(results, tmp_path, monkeypatch):
    """save_model(".") used to fail half-way and leave ``..*.tmp`` litter beside it: now an empty current folder
    takes the model, a non-empty one is refused untouched, and nothing appears outside it."""
    X, _ = _data()
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    go.save_model(".", results["lightgbm"])
    assert np.array_equal(go.load_model(".").predict_raw(X), results["lightgbm"].predict_raw(X))
    assert _listing(tmp_path)[0] == "here" and all(p.startswith("here/") for p in _listing(tmp_path)[1:])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    monkeypatch.chdir(busy)
    with pytest.raises(ValueError, match="is not empty and is not a model folder"):
        go.save_model(".", results["lightgbm"])
    assert _listing(busy) == ["keep.txt"]


def test_overwriting_a_model_folder_keeps_the_users_files_and_two_saves(results, tmp_path):
    """A model folder is replaced by the next save; a file of the user's inside it stays; of the saves, the current
    and the previous one stay (a reader may still read the previous one), older ones go."""
    X, _ = _data()
    target = tmp_path / "m"
    go.save_model(target, results["lightgbm"])
    first = _versions(target)
    (target / "README.txt").write_text("trained on Monday")
    go.save_model(target, results["xgboost"])
    second = _versions(target)
    assert len(first) == 1 and len(second) == 2 and first[0] in second
    go.save_model(target, results["lightgbm"])
    third = _versions(target)
    assert len(third) == 2 and first[0] not in third and set(second) & set(third)
    assert (target / "README.txt").read_text() == "trained on Monday"
    assert _top_level(target) == [".lock", "README.txt", "meta.json", "model.txt"]  # the xgboost model.json went
    assert np.array_equal(go.load_model(target).predict_raw(X), results["lightgbm"].predict_raw(X))


def test_an_empty_folder_and_one_left_by_an_interrupted_save_are_accepted(results, tmp_path):
    X, _ = _data()
    empty = tmp_path / "empty"
    empty.mkdir()
    go.save_model(empty, results["lightgbm"])
    interrupted = tmp_path / "interrupted"  # a save killed before meta.json: only our own entries
    (interrupted / "v-0123456789abcdef0123456789abcdef").mkdir(parents=True)
    (interrupted / ".lock").touch()
    go.save_model(interrupted, results["lightgbm"])
    assert len(_versions(interrupted)) == 1  # the abandoned save is removed
    for folder in (empty, interrupted):
        assert np.array_equal(go.load_model(folder).predict_raw(X), results["lightgbm"].predict_raw(X))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_format_2_folder_loads_and_is_replaced_cleanly(results, tmp_path, backend):
    X, _ = _data()
    target = tmp_path / "m"
    go.save_model(target, results[backend])
    _as_format_2(target)
    (target / "notes.txt").write_text("mine")
    assert _listing(target) == [".lock", "meta.json", MODEL_FILE[backend], "notes.txt"]
    assert np.array_equal(go.load_model(target).predict_raw(X), results[backend].predict_raw(X))
    meta = go.save_model(target, results[backend])
    assert meta["format_version"] == 3 and len(_versions(target)) == 1
    assert _top_level(target) == [".lock", "meta.json", MODEL_FILE[backend], "notes.txt"]
    assert np.array_equal(go.load_model(target).predict_raw(X), results[backend].predict_raw(X))


def test_a_save_killed_between_its_two_replacements_leaves_the_previous_model(results, tmp_path):
    """A save killed after it replaced the top-level model file but before meta.json: the folder then holds the
    new save's model file beside the previous meta.json. load_model recognises the file as another save's and
    reads its own save's copy: the previous model, whole. The next save cleans up."""
    X, _ = _data()
    target, scratch = tmp_path / "m", tmp_path / "scratch"
    go.save_model(target, results["lightgbm"])
    newer = go.train("logloss", *_data(seed=1), num_boost_round=3, n_jobs=1)
    meta_b = go.save_model(scratch, newer)
    (target / meta_b["version"]).mkdir()
    os.link(scratch / "model.txt", target / meta_b["version"] / "model.txt")
    os.replace(scratch / meta_b["version"] / "model.txt", target / "model.txt")  # ... and killed here
    assert go.load_model(target).num_rounds == 5
    assert np.array_equal(go.load_model(target).predict_raw(X), results["lightgbm"].predict_raw(X))
    go.save_model(target, newer)
    assert meta_b["version"] not in _versions(target) and len(_versions(target)) == 2
    assert np.array_equal(go.load_model(target).predict_raw(X), newer.predict_raw(X))


def test_a_failed_save_puts_the_previous_model_file_back(results, tmp_path, monkeypatch):
    """A save that fails after it replaced the model file (here: writing meta.json) restores it: the previous
    model loads as before, and no save folder or temporary file of the failed save is left."""
    X, _ = _data()
    target = tmp_path / "m"
    go.save_model(target, results["lightgbm"])
    before = _snapshot(target)

    def full_disk(path, obj):
        raise OSError("disk full")

    monkeypatch.setattr(model_io, "atomic_write_json", full_disk)
    newer = go.train("logloss", *_data(seed=1), num_boost_round=3, n_jobs=1)
    with pytest.raises(OSError, match="disk full"):
        go.save_model(target, newer)
    assert _snapshot(target) == before
    assert np.array_equal(go.load_model(target).predict_raw(X), results["lightgbm"].predict_raw(X))


def test_feature_names_of_the_wrong_length_are_refused_at_save(results, tmp_path):
    with pytest.raises(ValueError, match="feature_names has 2 names but the model has 3 features"):
        go.save_model(tmp_path / "m", results["lightgbm"], feature_names=["a", "b"])
    assert not (tmp_path / "m").exists()


def test_the_cli_output_folder_reruns_without_carrying_old_saves(tmp_path):
    """`gbm-objectives train --out` writes the model folder with save_model; a rerun into the same --out keeps the
    user's files (also inside model/) but not the previous run's saves."""
    import pandas as pd

    from gbm_objectives.cli import main

    X, y = _data()
    path = tmp_path / "train.csv"
    pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y).to_csv(path, index=False)
    out = tmp_path / "run"
    args = ["train", "--train", str(path), "--label", "target", "--objective", "logloss", "--rounds", "5",
            "--threads", "1", "--out", str(out), "-q"]
    assert main(args) == 0
    (out / "model" / "notes.txt").write_text("mine")
    first = _versions(out / "model")
    assert main(args) == 0
    second = _versions(out / "model")
    assert len(first) == len(second) == 1 and first != second
    assert (out / "model" / "notes.txt").read_text() == "mine"
    meta = json.loads((out / "model" / "meta.json").read_text())
    assert meta["format_version"] == 3 and meta["model_file"] == "model.txt" and meta["version"] == second[0]
    assert (out / "model" / "model.txt").read_bytes() == (out / "model" / second[0] / "model.txt").read_bytes()
    Xf = X.astype(np.float32)
    assert np.array_equal(go.load_model(out).predict_raw(Xf),
                          go.train("logloss", Xf, y, num_boost_round=5, n_jobs=1).predict_raw(Xf))


# ---- 2. truncated and altered model files --------------------------------------------------------------------
CUTS = [0.10, 0.30, 0.50, 0.70, 0.90, 0.97]
DAMAGE = [f"cut at {int(c * 100)} %" for c in CUTS] + ["one flipped byte"]

#: loads each folder given on the command line in this order; prints one JSON line per folder as it goes, so a
#: crash of the interpreter shows which folder it died on
_LOADER = r"""
import json, sys
import gbm_objectives as go
for folder in sys.argv[1:]:
    try:
        go.load_model(folder)
        outcome = {"type": "loaded", "message": ""}
    except Exception as exc:
        outcome = {"type": type(exc).__name__, "message": str(exc)}
    print(json.dumps(outcome), flush=True)
"""


def _damage(data, how):
    if how == "one flipped byte":
        i = len(data) // 2
        return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
    return data[: int(len(data) * CUTS[DAMAGE.index(how)])]


@pytest.fixture(scope="module")
def damaged_outcomes(results, tmp_path_factory):
    """{(backend, format, damage): (outcome of load_model in a separate interpreter, the model file's path)}."""
    root = tmp_path_factory.mktemp("damaged")
    out = {}
    for backend in BACKENDS:
        cases = []
        for version in (3, 2):
            for how in DAMAGE:
                folder = root / f"{backend}-{version}-{DAMAGE.index(how)}"
                meta = go.save_model(folder, results[backend])
                if version == 2:
                    meta = _as_format_2(folder)
                model_file = folder / meta["model_file"]
                model_file.write_bytes(_damage(model_file.read_bytes(), how))
                cases.append(((backend, version, how), folder, model_file))
        proc = _python(_LOADER, *[folder for _, folder, _ in cases])
        stdout, stderr = proc.communicate(timeout=300)
        lines = stdout.decode().splitlines()
        for k, (key, _, model_file) in enumerate(cases):
            outcome = (json.loads(lines[k]) if k < len(lines) else
                       {"type": f"interpreter died (exit status {proc.returncode})" if k == len(lines) else
                        "not reached", "message": stderr.decode()[-500:]})
            out[key] = outcome, model_file
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_model_file_is_a_clean_value_error_naming_it(damaged_outcomes, backend, how):
    """Format 3 records the model file's size and SHA-256: any truncation and a single flipped byte are found
    before the engine reads the file (LightGBM used to die with SIGABRT/SIGSEGV on a file cut at 10-97 %)."""
    outcome, model_file = damaged_outcomes[(backend, 3, how)]
    assert outcome["type"] == "ValueError", outcome
    assert str(model_file) in outcome["message"] and "damaged" in outcome["message"], outcome


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", DAMAGE[:-1])
def test_a_truncated_format_2_model_file_is_a_clean_value_error(damaged_outcomes, backend, how):
    """Format 2 has no checksum: the engine's own header and tree count find every truncation (a flipped byte
    inside a number can pass: that needs format 3)."""
    outcome, model_file = damaged_outcomes[(backend, 2, how)]
    assert outcome["type"] == "ValueError", outcome
    assert str(model_file) in outcome["message"] and "not a whole" in outcome["message"], outcome


# ---- 3. mutated meta.json -------------------------------------------------------------------------------------
def _set(key, value):
    def mutate(meta, folder):
        meta[key] = value
    return mutate


def _del_objective_params(meta, folder):
    del meta["objective"]["params"]


def _two_feature_names(meta, folder):
    meta["feature_names"], meta["n_features"] = ["a", "b"], 2


def _model_file_through_symlink(meta, folder):
    outside = folder.parent / f"{folder.name}-outside"
    outside.mkdir()
    (outside / "model.txt").write_bytes((folder / meta["model_file"]).read_bytes())
    (folder / "v-link").symlink_to(outside)
    meta["model_file"] = "v-link/model.txt"


def _absolute_model_file(meta, folder):
    meta["model_file"] = str((folder / meta["model_file"]).resolve())


def _bias_outside(meta, folder):
    meta["position_bias"] = {"npy_file": "../bias.npy", "size": 10, "sha256": "0" * 64}


MUTATIONS = {  # name: (model, mutation, field named in the error)
    "objective is a string": ("lightgbm", _set("objective", "logloss"), "objective"),
    "objective params missing": ("lightgbm", _del_objective_params, "objective.params"),
    "objective unknown": ("lightgbm", _set("objective", {"name": "nope", "params": {}}), "objective"),
    "init_score 2 entries for a binary task": ("lightgbm", _set("init_score", [0.1, 0.2]), "init_score"),
    "init_score 2 entries for 3 classes": ("softmax", _set("init_score", [0.1, 0.2]), "init_score"),
    "init_score a string": ("lightgbm", _set("init_score", "0.5"), "init_score"),
    "best_iteration negative": ("lightgbm", _set("best_iteration", -1), "best_iteration"),
    "best_iteration a string": ("lightgbm", _set("best_iteration", "3"), "best_iteration"),
    "best_iteration true": ("lightgbm", _set("best_iteration", True), "best_iteration"),
    "best_iteration past the model's rounds": ("lightgbm", _set("best_iteration", 6), "best_iteration"),
    "feature_names 2 for 3 features": ("xgboost", _two_feature_names, "feature_names"),
    "feature_names not strings": ("lightgbm", _set("feature_names", [1, 2, 3]), "feature_names"),
    "n_features disagrees": ("lightgbm", _set("n_features", 4), "n_features"),
    "task ranking for logloss": ("lightgbm", _set("task", "ranking"), "task"),
    "task regression for softmax": ("softmax", _set("task", "regression"), "task"),
    "model_file ../x": ("lightgbm", _set("model_file", "../x"), "model_file"),
    "model_file inside then out": ("lightgbm", _set("model_file", "v-x/../../x"), "model_file"),
    "model_file absolute": ("lightgbm", _absolute_model_file, "model_file"),
    "model_file /etc/passwd": ("lightgbm", _set("model_file", "/etc/passwd"), "model_file"),
    "model_file through a symlink out": ("lightgbm", _model_file_through_symlink, "model_file"),
    "model_file not a string": ("lightgbm", _set("model_file", 3), "model_file"),
    "model_sha256 not hex": ("lightgbm", _set("model_sha256", "abc"), "model_sha256"),
    "version ../x": ("lightgbm", _set("version", "../x"), "version"),
    "model_size a string": ("lightgbm", _set("model_size", "5162"), "model_size"),
    "backend unknown": ("lightgbm", _set("backend", "catboost"), "backend"),
    "engine_params a list": ("lightgbm", _set("engine_params", [1]), "engine_params"),
    "position_bias a string": ("lightgbm", _set("position_bias", "abc"), "position_bias"),
    "position_bias npy outside": ("lightgbm", _bias_outside, "position_bias.npy_file"),
    "package another": ("lightgbm", _set("package", "other"), "package"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_a_mutated_meta_json_entry_is_a_value_error_naming_the_field(results, tmp_path, case):
    model, mutate, field = MUTATIONS[case]
    folder = tmp_path / "m"
    go.save_model(folder, results[model])
    meta = json.loads((folder / "meta.json").read_text())
    mutate(meta, folder)
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError) as info:
        go.load_model(folder)
    message = str(info.value)
    assert str(folder / "meta.json") in message and f"field {field!r}" in message, message


# ---- 4. readers and writers at the same time ----------------------------------------------------------------
#: argv: target, model A's folder, model B's folder, number of saves, ready file (wait for it), done file
_WRITER = r"""
import sys, time
from pathlib import Path
import gbm_objectives as go
target, a, b, n, ready, done = sys.argv[1:]
models = [go.load_model(a), go.load_model(b)]
while not Path(ready).exists():
    time.sleep(0.005)
failures = []
for i in range(int(n)):
    model = models[i % 2]
    try:
        go.save_model(target, model, metadata={"save": i, "rounds": model.num_rounds})
    except Exception as exc:
        failures.append(f"save {i}: {type(exc).__name__}: {exc}")
Path(done).touch()
print(len(failures), *failures[:5], sep="\n")
"""

#: argv: target, ready file (created after the first load), done file (stop after the load that follows it)
_READER = r"""
import sys
from pathlib import Path
import gbm_objectives as go
target, ready, done = sys.argv[1:]
loads, failures, last = 0, [], False
while not last:
    last = Path(done).exists()
    try:
        model = go.load_model(target)
        if model.num_rounds != model.meta["rounds"]:  # meta.json and the model file of different saves
            failures.append(f"load {loads}: {model.num_rounds} rounds, meta.json of a {model.meta['rounds']}-round save")
    except Exception as exc:
        failures.append(f"load {loads}: {type(exc).__name__}: {exc}")
    loads += 1
    Path(ready).touch()
print(loads, len(failures), *failures[:5], sep="\n")
"""


@pytest.fixture
def two_models(tmp_path):
    """Folders of two small LightGBM models that differ in their rounds (5 and 4), to tell the saves apart."""
    X, y = _data()
    a, b = tmp_path / "a", tmp_path / "b"
    go.save_model(a, go.train("logloss", X, y, num_boost_round=5, n_jobs=1))
    go.save_model(b, go.train("logloss", X, y, num_boost_round=4, n_jobs=1))
    return a, b


def test_a_reader_never_fails_while_a_writer_resaves(two_models, tmp_path):
    """A reader loops load_model while another process saves the same folder 300 times: every load succeeds and
    returns meta.json and the model file of the same save (the old format failed about 1 load in 300, meta.json
    missing between two renames)."""
    a, b = two_models
    target = tmp_path / "m"
    go.save_model(target, go.load_model(a), metadata={"save": -1, "rounds": 5})
    ready, done = tmp_path / "ready", tmp_path / "done"
    writer = _python(_WRITER, target, a, b, 300, ready, done)
    reader = _python(_READER, target, ready, done)
    w_out, w_err = writer.communicate(timeout=300)
    r_out, r_err = reader.communicate(timeout=300)
    assert writer.returncode == 0 and reader.returncode == 0, (w_err.decode()[-2000:], r_err.decode()[-2000:])
    assert w_out.decode().split("\n")[0] == "0", w_out.decode()
    loads, failures, *messages = r_out.decode().split("\n")
    assert failures == "0", messages
    assert int(loads) >= 20, f"only {loads} loads overlapped the 300 saves"
    meta = go.load_model(target).meta
    assert meta["save"] == 299 and len(_versions(target)) == 2


def test_four_writers_at_once_all_succeed(two_models, tmp_path):
    """Four processes save into the same (new) folder at the same time, 25 saves each: every save succeeds (the
    lock file makes them take turns) and the folder ends valid, holding the current and the previous save."""
    a, b = two_models
    target = tmp_path / "m"
    go_file = tmp_path / "go"
    writers = [_python(_WRITER, target, a, b, 25, go_file, tmp_path / f"done{k}") for k in range(4)]
    time.sleep(0.5)  # let them start; the go file releases all four together
    go_file.touch()
    outputs = [w.communicate(timeout=300) for w in writers]
    for w, (out, err) in zip(writers, outputs):
        assert w.returncode == 0, err.decode()[-2000:]
        assert out.decode().split("\n")[0] == "0", out.decode()
    back = go.load_model(target)
    assert back.num_rounds == back.meta["rounds"] and back.meta["save"] == 24
    assert len(_versions(target)) == 2
    assert _top_level(target) == [".lock", "meta.json", "model.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "done0", "done1", "done2", "done3", "go", "m"]


# ---- 5. large arrays -----------------------------------------------------------------------------------------
def _with_bias(result, bias):
    clone = go.TrainResult(result.booster, result.backend, result.objective, result.init_score,
                           result.best_iteration, {}, result.params)
    clone.position_bias = bias
    return clone


def test_a_five_million_entry_position_bias_is_stored_as_npy(results, tmp_path):
    """A position-bias table of 5 million entries went into meta.json as 45 MB of JSON (14 s): arrays of more than
    ARRAY_INLINE_MAX entries are written as .npy files beside it, checksummed, and read back identical."""
    bias = np.random.default_rng(1).normal(size=5_000_000)
    folder = tmp_path / "m"
    t0 = time.perf_counter()
    meta = go.save_model(folder, _with_bias(results["lightgbm"], bias))
    back = go.load_model(folder)
    seconds = time.perf_counter() - t0
    assert np.array_equal(back.position_bias, bias) and back.position_bias.dtype == np.float64
    ref = meta["position_bias"]
    assert set(ref) == {"npy_file", "size", "sha256"} and ref["npy_file"].endswith("/position_bias.npy")
    assert (folder / ref["npy_file"]).stat().st_size == ref["size"]
    assert (folder / "meta.json").stat().st_size < 10_000  # the table is not in it
    print(f"5e6-entry position bias: save + load {seconds:.2f} s")


def test_small_arrays_stay_in_meta_json_and_propensity_tables_split(results, tmp_path):
    X, _ = _data()
    small = np.arange(model_io.ARRAY_INLINE_MAX, dtype=np.float64)
    meta = go.save_model(tmp_path / "a", _with_bias(results["lightgbm"], small))
    assert meta["position_bias"] == small.tolist()
    assert np.array_equal(go.load_model(tmp_path / "a").position_bias, small)
    table = {"t_plus": np.linspace(1, 0.1, 10_000), "t_minus": np.linspace(0.9, 0.2, 20)}
    meta = go.save_model(tmp_path / "b", _with_bias(results["lightgbm"], table))
    assert "npy_file" in meta["position_bias"]["t_plus"] and isinstance(meta["position_bias"]["t_minus"], list)
    back = go.load_model(tmp_path / "b")
    assert set(back.position_bias) == {"t_plus", "t_minus"}
    assert all(np.array_equal(back.position_bias[k], table[k]) for k in table)
    assert np.array_equal(back.predict_raw(X), results["lightgbm"].predict_raw(X))


@pytest.mark.parametrize("how", ["cut", "flipped"])
def test_a_damaged_npy_file_is_a_value_error_naming_it(results, tmp_path, how):
    folder = tmp_path / "m"
    meta = go.save_model(folder, _with_bias(results["lightgbm"], np.ones(10_000)))
    path = folder / meta["position_bias"]["npy_file"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if how == "cut" else data[:-1] + b"\x01")
    with pytest.raises(ValueError, match=f"{path}: the array file of 'position_bias' is damaged"):
        go.load_model(folder)
