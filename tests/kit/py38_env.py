"""A training environment of the real CMT's kind, for the tests: Python 3.8, torch 1.9.0 and
mmcv 1.6.0 as in the fork's logs (shared/DESIGN.md: "Python 3.8.19, torch 1.9.0+cu111, mmcv
1.6.0"), here PyPI's torch build (CUDA 10.2, which runs on the CPU), its torchvision, and mmcv
built pure Python; no mmengine, nothing of the sweep side. Built once into ``.venv-py38`` at the
repository's root (about 30 s and 900 MB of downloads) and rebuilt when its requirements change.
Like the fork's, its torch has no ``scaled_dot_product_attention``."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-py38"
#: mmcv 1.6.0 formats configs with yapf's ``verify``, which yapf 0.40.2 dropped
REQUIREMENTS = ["torch==1.9.0", "torchvision==0.10.0", "numpy==1.23.5", "mmcv==1.6.0",
                "yapf==0.40.1"]
#: what torch and mmcv say they are there
VERSIONS = ("1.9.0+cu102", "1.6.0")
#: mmcv 1.x's setup.py imports pkg_resources, which new setuptools dropped
BUILD_CONSTRAINTS = REPO / ".ci" / "mmcv1-build.txt"


def python38() -> str | None:
    """A Python 3.8 interpreter that runs: pyenv's newest 3.8, else ``python3.8`` on the PATH
    (a pyenv shim there fails when 3.8 is not among its selected versions)."""
    candidates = [str(p) for p in sorted(Path.home().glob(".pyenv/versions/3.8*/bin/python3.8"))]
    candidates = candidates[::-1] + [shutil.which("python3.8") or ""]
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == "(3, 8)":
            return candidate
    return None


def _pip(python: Path, *args: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", *args], env=env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(args)} in {VENV} failed:\n"
                           f"{done.stdout[-3000:]}{done.stderr[-3000:]}")


def training_python() -> str:
    """The environment's python, building the environment first when it is missing or stale.
    Skips the test when this machine has no Python 3.8 (saying how to get one)."""
    base = python38()
    if base is None:
        pytest.skip("no Python 3.8 interpreter here (pyenv install 3.8, or Debian/Ubuntu's "
                    "python3.8): the training environment's tests need one")
    stamp = VENV / "requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    python = VENV / "bin" / "python"
    with open(VENV.with_name(".venv-py38.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run building it meanwhile
        if python.exists() and stamp.exists() and stamp.read_text() == wanted:
            return str(python)
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)
        env = {**os.environ, "MMCV_WITH_OPS": "0", "PIP_CONSTRAINT": str(BUILD_CONSTRAINTS),
               "PIP_BUILD_CONSTRAINT": str(BUILD_CONSTRAINTS)}
        _pip(python, *REQUIREMENTS, env=env)
        stamp.write_text(wanted)  # last: a build cut short is built again
    return str(python)
