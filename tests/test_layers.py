"""The import graph runs one way: ``cli`` on top, then ``reports``, then ``sweeps``; ``aqr`` stands
alone; no cycle between modules (function-level imports included)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: a package may import the packages after it in this order, never those before it
LAYERS = ["cli", "reports", "sweeps"]
PACKAGES = [*LAYERS, "aqr"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Our module -> our modules it imports (``from a.b import c`` counts as ``a.b``, or
    ``a.b.c`` when that is a module)."""
    files = {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in files
                         else node.module for a in node.names]
            else:
                continue
            targets.update(t for t in found if t.split(".")[0] in PACKAGES and t in files)
        graph[name] = targets - {name}
    return graph


def test_layers_point_down_and_aqr_stands_alone():
    wrong = []
    for module, targets in import_graph().items():
        top = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other == top:
                continue
            if top == "aqr" or other == "aqr" or (
                    other in LAYERS and LAYERS.index(other) < LAYERS.index(top)):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layers: " + ", ".join(sorted(wrong))


def test_no_import_cycles():
    graph = import_graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_walker_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: a sweeps module importing reports is caught."""
    graph = import_graph()
    graph["sweeps.space"] = graph["sweeps.space"] | {"reports.report"}
    monkeypatch.setattr(sys.modules[__name__], "import_graph", lambda: graph)
    with pytest.raises(AssertionError, match="sweeps.space -> reports.report"):
        test_layers_point_down_and_aqr_stands_alone()


@pytest.mark.parametrize("args", [["--help"], ["validate", "/no/such/space.yaml"],
                                  ["status", "nosuch"], ["logs", "/no/such.log"],
                                  ["export-best", "nosuch", "-o", "x.py"], ["report", "nosuch"]])
def test_cli_help_and_errors_do_not_import_heavy_libraries(args, tmp_path):
    code = ("import sys\nfrom cli.app import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in ('ray', 'torch', 'mlflow', 'optuna', 'pandas')"
            " if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "AQR_SWEEP_ROOT": str(tmp_path)})
    assert "HEAVY []" in proc.stdout, proc.stdout[-500:] + proc.stderr[-2000:]


def test_the_house_has_rooms_a_small_space_and_one_error_path():
    """sweeps/ keeps few top-level modules, every room says what it holds, space.py stays small,
    and the CLI catches user errors once, in main(), not per command."""
    sweeps = REPO / "sweeps"
    top = sorted(p.name for p in sweeps.glob("*.py"))
    assert len(top) <= 12, f"sweeps/ has {len(top)} top-level modules: {top}"
    for room in (p for p in sweeps.iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = room / "__init__.py"
        assert init.is_file() and ast.get_docstring(ast.parse(init.read_text())), \
            f"{room.name}/ has no __init__.py docstring saying what it holds"
    assert len((sweeps / "space" / "space.py").read_text().splitlines()) < 300
    app = ast.parse((REPO / "cli" / "app.py").read_text())
    catching = {f.name for f in ast.walk(app) if isinstance(f, ast.FunctionDef)
                for n in ast.walk(f) if isinstance(n, ast.ExceptHandler)
                and any(name in ast.unparse(n.type or ast.Name("BaseException"))
                        for name in ("Exception", "UserError", "SpaceError"))}
    assert catching == {"main"}, f"user errors are caught outside main(): {catching - {'main'}}"
