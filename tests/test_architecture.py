"""The shape of lit_hw, checked: layers import only the layers below them, no import cycles
(function-level imports included), entry points alone at the top, no file over 300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lit_hw"
# lowest first; a layer may import the layers before it, never one after it
LAYERS = ["core", "config", "figures", "nets", "data", "callbacks", "tasks", "run", "sweeps", "stacked", "experiments"]
ENTRY_POINTS = {"train", "evaluate", "reproduce", "report"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def lit_hw_imports(path: Path) -> set[str]:
    """Every lit_hw module that ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("lit_hw")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lit_hw"):
            found.add(node.module)
            # `from lit_hw.sweeps import summary` imports the module lit_hw.sweeps.summary.tables
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def module_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in lit_hw_imports(path) if m in paths and m != name} for name, path in paths.items()}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "lit_hw"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_between_modules():
    cycle = find_cycle(module_graph())
    assert cycle is None, " -> ".join(cycle)


def test_layers_import_only_the_layers_below():
    wrong = []
    for module, imports in module_graph().items():
        mine = layer(module)
        if mine not in LAYERS:
            continue  # the entry points and the root package
        for imported in imports:
            theirs = layer(imported)
            if theirs in ENTRY_POINTS or (theirs in LAYERS and LAYERS.index(theirs) > LAYERS.index(mine)):
                wrong.append(f"{module} ({mine}) imports {imported} ({theirs})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_subpackages():
    graph: dict[str, set[str]] = {}
    for module, imports in module_graph().items():
        graph.setdefault(layer(module), set()).update(layer(m) for m in imports if layer(m) != layer(module))
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_only_entry_points_at_the_top():
    top = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert top == ENTRY_POINTS
    assert len(top) + 1 <= 5
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(LAYERS)


def third_party_imports(path: Path) -> set[str]:
    """The top-level names of every package ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_core_is_pure():
    heavy = {"torch", "lightning", "hydra", "omegaconf", "torchmetrics", "numpy"}
    wrong = {
        p.name: sorted(third_party_imports(p) & heavy)
        for p in (PACKAGE / "core").rglob("*.py")
        if third_party_imports(p) & heavy
    }
    assert not wrong, wrong


def test_at_most_8_modules_directly_in_sweeps():
    direct = sorted(p.name for p in (PACKAGE / "sweeps").glob("*.py"))
    assert len(direct) <= 8, direct


def test_no_stack_module_outside_the_stacked_package():
    stray = sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*stack*.py")
        if "stacked" not in p.relative_to(PACKAGE).parts[:1]
    )
    assert not stray, stray


def test_no_file_over_300_lines():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 300
    }
    assert not long, long


def imported_modules(path: Path) -> set[str]:
    """The full dotted names of every module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_hydra_plugin_shims_sit_above_lit_hw():
    """hydra_plugins/lit_hw_*: Hydra's side of lit_hw's plugins, a namespace folder beside the package. A shim
    imports its implementation from lit_hw (never an entry point); lit_hw never imports a shim."""
    shims = sorted((PACKAGE.parent / "hydra_plugins").glob("lit_hw_*/*.py"))
    assert shims and not (PACKAGE.parent / "hydra_plugins" / "__init__.py").exists()
    wrong = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in shims
        for name in imported_modules(path)
        if name.startswith("lit_hw.") and name.split(".")[1] in ENTRY_POINTS
    ]
    wrong += [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        for name in imported_modules(path)
        if name.startswith("hydra_plugins.lit_hw")
    ]
    assert not wrong, "\n".join(wrong)
