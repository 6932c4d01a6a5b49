"""The package's layout rules, read from its imports with ``ast`` (no module is imported here).

1. A folder is a kind: no prefix-named siblings (``ranking_*``, ``metrics_*``) beside each other.
2. Imports point down the floors ``_core`` -> ``objectives``, ``datasets`` -> ``metrics`` -> ``adapters``,
   ``experiment`` -> ``training`` -> ``estimators``, ``lambdamart``, ``model_io``, ``calibration``, ``clicks``,
   ``selection`` -> ``serving``, ``dask`` -> ``cli``, and the module graph has no circle.
3. Only ``adapters/`` imports ``lightgbm``, ``xgboost`` or ``distributed``.
4. No module imports another module's underscore name (underscore *modules* of the package are fine: a
   package-internal engine offers plain names).
5. One catalogue per concept: each registry name is defined in one module.
6. Classes are defined at module level.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gbm_objectives"

#: floor of each top-level unit (a sub-package or a root module); imports between units go to a lower floor
FLOORS = {
    "_core": 0,
    "objectives": 1,
    "datasets": 1,
    "metrics": 2,
    "experiment": 3,
    "adapters": 3,
    "training": 4,
    "estimators": 5,
    "lambdamart": 5,
    "model_io": 5,
    "calibration": 5,
    "clicks": 5,
    "selection": 5,
    "_warmup": 5,
    "serving": 6,
    "dask": 6,
    "cli": 7,
    "__main__": 8,
}
#: old module names kept for one release: re-exports that warn; nothing in the package may import them
DEPRECATED = {"losses", "ranking", "runs", "scoring"}
#: the façade: it loads every public name lazily (``import_module`` by string), so it is above every floor
FACADE = "gbm_objectives"
ENGINES = ("lightgbm", "xgboost", "distributed")
#: the catalogue names: each defined (as itself or with a leading underscore) in exactly one module
CATALOGUES = ("OBJECTIVES", "get_objective", "METRICS", "get_metric", "TASK_METRICS", "get_task_metric",
              "BACKENDS", "DASK_BACKENDS", "get_backend", "DATASETS", "CONVENTIONS", "TREC_NAMES",
              "LABEL_CANDIDATES", "PARALLEL_MIN", "NATIVE")
#: engine-named adapter modules (one per engine and front end) are the one prefix family allowed
PREFIX_FAMILIES_ALLOWED = {("adapters", "lightgbm"), ("adapters", "xgboost")}


def _modules():
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module, path, node):
    """The absolute module names an import statement of ``module`` refers to (submodules resolved)."""
    is_package = path.name == "__init__.py"
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = []
    for alias in node.names:
        full = f"{target}.{alias.name}"
        out.append((full, None) if full in MODULES else (target, alias.name))
    return out


def _imports():
    """``{module: [(target module, imported name or None, line)]}`` over every import, lazy ones included."""
    found = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges += [(t, n, node.lineno) for t, n in _resolve(module, path, node)]
        found[module] = edges
    return found


IMPORTS = _imports()


def _unit(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else FACADE


def test_every_unit_has_a_floor():
    units = {_unit(m) for m in MODULES} - {FACADE} - DEPRECATED
    assert units <= set(FLOORS), f"modules without a floor: {sorted(units - set(FLOORS))}"


def test_no_prefix_named_siblings():
    by_folder = defaultdict(list)
    for module in MODULES:
        parts = module.split(".")
        if not parts[-1].startswith("_"):  # a private companion (``_letor_scanner`` of ``letor``) is no sibling
            by_folder[tuple(parts[:-1])].append(parts[-1])
    bad = []
    for folder, names in by_folder.items():
        prefixes = defaultdict(list)
        for name in names:
            if "_" in name:
                prefixes[name.split("_")[0]].append(name)
        for prefix, members in prefixes.items():
            siblings = [n for n in names if n == prefix] + members
            if len(siblings) > 1 and (folder[-1], prefix) not in PREFIX_FAMILIES_ALLOWED:
                bad.append(f"{'.'.join(folder)}: {sorted(siblings)}")
    assert not bad, "prefix-named siblings (make them a folder): " + "; ".join(bad)


def test_imports_point_down():
    bad = []
    for module, edges in IMPORTS.items():
        src = _unit(module)
        if src == FACADE or src in DEPRECATED:
            continue
        for target, _, line in edges:
            if not target.startswith("gbm_objectives"):
                continue
            dst = _unit(target)
            if dst == src:
                continue
            if dst in DEPRECATED or dst == FACADE or FLOORS[dst] >= FLOORS[src]:
                bad.append(f"{module}:{line} imports {target} ({src} floor {FLOORS[src]} -> {dst} floor "
                           f"{FLOORS.get(dst, 'none')})")
    assert not bad, "imports that do not point down:\n" + "\n".join(bad)


def test_no_import_circles():
    graph = {m: {t for t, _, _ in edges if t in MODULES and t != m} for m, edges in IMPORTS.items()
             if m != FACADE and _unit(m) not in DEPRECATED}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t in graph and t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_only_adapters_import_the_engines():
    bad = [f"{module}:{line} imports {target}" for module, edges in IMPORTS.items() for target, _, line in edges
           if target.split(".")[0] in ENGINES and _unit(module) != "adapters"]
    assert not bad, "engine imports outside adapters/:\n" + "\n".join(bad)


def _module_aliases(tree, module, path):
    """Names bound to a package module in ``tree`` (``from . import x``, ``import gbm_objectives.x as y``)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for (target, name, ), alias in zip(_resolve(module, path, node), node.names):
                if name is None and target.startswith("gbm_objectives"):
                    aliases[alias.asname or alias.name] = target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gbm_objectives") and alias.asname:
                    aliases[alias.asname] = alias.name
    return aliases


def test_no_module_imports_another_modules_underscore_name():
    bad = []
    for module, path in MODULES.items():
        if _unit(module) in DEPRECATED:
            continue
        tree = ast.parse(path.read_text())
        for target, name, line in IMPORTS[module]:
            if target.startswith("gbm_objectives") and name and name.startswith("_") and not name.startswith("__"):
                bad.append(f"{module}:{line} imports {name} from {target}")
        aliases = _module_aliases(tree, module, path)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")
                    and f"{aliases[node.value.id]}.{node.attr}" not in MODULES):
                bad.append(f"{module}:{node.lineno} reads {aliases[node.value.id]}.{node.attr}")
    assert not bad, "underscore names used across modules:\n" + "\n".join(bad)


def test_nothing_in_the_package_imports_a_deprecated_module_name():
    bad = [f"{module}:{line} imports {target}" for module, edges in IMPORTS.items() if _unit(module) not in DEPRECATED
           for target, _, line in edges if _unit(target) in DEPRECATED and target.count(".") == 1]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", CATALOGUES)
def test_one_catalogue_per_concept(name):
    defined = []
    for module, path in MODULES.items():
        if _unit(module) in DEPRECATED:
            continue
        for node in ast.parse(path.read_text()).body:
            targets = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                targets = [node.name]
            elif isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            if name in targets or f"_{name}" in targets:
                defined.append(module)
    assert len(defined) == 1, f"{name} is defined in {defined or 'no module'}"


def test_classes_are_defined_at_module_level():
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bad += [f"{module}:{inner.lineno} class {inner.name} inside {node.name}()"
                        for inner in ast.walk(node) if isinstance(inner, ast.ClassDef)]
    assert not bad, "classes built inside functions cannot be pickled:\n" + "\n".join(bad)


def test_api_docs_are_current():
    """docs/api.md is generated from the export table (scripts/make_api_docs.py): it cannot drift from the code."""
    import subprocess
    import sys

    root = PACKAGE.parent
    out = subprocess.run([sys.executable, str(root / "scripts" / "make_api_docs.py"), "--check"], capture_output=True,
                         text=True, cwd=root)
    assert out.returncode == 0, out.stderr


def test_every_public_name_and_submodule_after_a_bare_import():
    """``import gbm_objectives as go`` then ``go.NAME`` and ``go.datasets.X`` work in a fresh interpreter."""
    import subprocess
    import sys

    code = ("import gbm_objectives as go\n"
            "[getattr(go, n) for n in go.__all__]\n"
            "assert callable(go.datasets.simulate_clicks) and callable(go.metrics.ndcg_score)\n"
            "assert go.__version__ and go.dask.train and go.cli.main\n"
            "import warnings\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    assert go.scoring.get_metric is go.metrics.by_task.get_task_metric\n"
            "assert any(issubclass(x.category, DeprecationWarning) for x in w)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_version_is_the_package_metadata():
    from importlib.metadata import version

    import gbm_objectives as go

    assert go.__version__ == version("gbm_objectives")
