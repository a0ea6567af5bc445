"""The variables a Python config file reads while it is parsed (``point_cloud_range``,
``out_size_factor``, ``data_root``): a value made from one is fixed by then, so a trial config
that sets the variable again changes none of them, only the top-level name that nobody reads."""

from __future__ import annotations

import ast
from pathlib import Path


def _bases(tree: ast.Module, folder: Path) -> list[Path]:
    """The files of a ``_base_ = '...'`` or ``[...]`` assignment, relative to ``folder``."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_"
                                                for t in node.targets):
            items = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) \
                else [node.value]
            return [folder / item.value for item in items
                    if isinstance(item, ast.Constant) and isinstance(item.value, str)]
    return []


def variables_read(path: Path, seen: set[Path] | None = None) -> dict[str, str]:
    """``{name: "file:line"}``: every top-level variable that ``path`` or a file of its
    ``_base_`` chain assigns and reads (in its own file, where Python looks it up), with the
    first place it is read. Files that cannot be read or parsed are skipped (loading the
    config reports them)."""
    seen = set() if seen is None else seen
    if path in seen:
        return {}
    seen.add(path)
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return {}
    assigned = {t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Name)}
    out: dict[str, str] = {}
    for base in _bases(tree, path.parent):
        out.update(variables_read(base, seen))
    lines: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in assigned:
            lines[node.id] = min(lines.get(node.id, node.lineno), node.lineno)
    out.update((name, f"{path.name}:{line}") for name, line in lines.items() if name not in out)
    return out
