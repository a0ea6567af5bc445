"""The training-environment runtime (``aqr/runtime`` and the ``aqr`` package's ``__init__``:
Python 3.8 code that imports nothing of the sweep side) as files that a training's own python
imports: copied into a folder the training sees (the sweep's, on the shared filesystem), to be
put on its ``PYTHONPATH`` (``{aqr_runtime}`` in a space's ``env``; the preflight's probe).
Nothing of it runs here, so it is found, not imported."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

#: the placeholder of a space's env values that becomes the shipped runtime's folder
RUNTIME_PLACEHOLDER = "{aqr_runtime}"


def ship_runtime(folder: Path) -> Path:
    """Copy the runtime into ``folder/aqr`` (afresh); ``folder``, for ``PYTHONPATH``."""
    spec = importlib.util.find_spec("aqr")
    if spec is None or spec.origin is None:
        raise RuntimeError("the aqr package is not installed beside the sweep side")
    source = Path(spec.origin).parent
    target = folder / "aqr"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source / "runtime", target / "runtime",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(source / "__init__.py", target / "__init__.py")
    return folder


def uses_runtime(env: dict[str, str]) -> bool:
    """Whether a space's env puts the shipped runtime on a path."""
    return any(RUNTIME_PLACEHOLDER in value for value in env.values())
