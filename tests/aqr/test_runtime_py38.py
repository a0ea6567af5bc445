"""The training-environment runtime (``aqr/runtime`` and the package's ``__init__``) is Python 3.8
code that imports only the standard library, torch, and mmengine or mmcv: the real CMT trains on
Python 3.8 with mmcv 1.x."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = [REPO / "aqr" / "__init__.py", *sorted((REPO / "aqr" / "runtime").rglob("*.py"))]
#: the training environment's own libraries (mmdet and mmdet3d build the real CMT for the probe)
ALLOWED = {"torch", "mmcv", "mmengine", "mmdet", "mmdet3d", "aqr", "numpy"}


def test_vermin_finds_nothing_newer_than_python_38():
    vermin = Path(sys.executable).with_name("vermin")
    done = subprocess.run([str(vermin), "-t=3.8-", "--no-tips", "--violations",
                           "--eval-annotations", "--feature", "union-types",
                           *map(str, RUNTIME)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: str(p.relative_to(REPO)))
def test_it_parses_as_python_38_and_imports_no_sweep_side(path):
    tree = ast.parse(path.read_text(), feature_version=(3, 8))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    outside = {m for m in imported if m.split(".")[0] not in ALLOWED | set(sys.stdlib_module_names)}
    assert not outside, f"{path.name} imports {sorted(outside)}"
    ours = {m for m in imported if m.split(".")[0] == "aqr"}
    assert all(m == "aqr" or m.startswith("aqr.runtime") for m in ours), ours


def test_python_38_compiles_it():
    found = sorted(Path.home().glob(".pyenv/versions/3.8*/bin/python3.8"))
    python = str(found[-1]) if found else shutil.which("python3.8")
    if python is None:
        pytest.skip("no Python 3.8 interpreter here (vermin's check above still ran)")
    done = subprocess.run([python, "-m", "compileall", "-q", *map(str, RUNTIME)],
                          capture_output=True, text=True, env={"PYTHONPYCACHEPREFIX": "/tmp/aqr38"})
    assert done.returncode == 0, done.stdout + done.stderr
