"""Import real mmcv 1.x's ``mmcv.runner`` beside torch 2.13.0+cpu, where no torchvision imports.

``mmcv/runner/checkpoint.py`` (1.7.2, line 17) does a bare ``import torchvision`` at import time, and
``mmcv.cnn`` / ``mmcv.runner`` / everything that builds on them imports that module. Nothing else in
mmcv's Python code reads torchvision at import time: the only uses are

* ``checkpoint.get_torchvision_models()`` (``torchvision.__version__``, ``torchvision.models``), called
  only by ``load_from_torchvision`` for the ``torchvision://`` and ``modelzoo://`` checkpoint schemes
  (ImageNet weights downloaded from the internet: unreachable here anyway);
* ``mmcv.utils.env.collect_env`` (lazy ``import torchvision``, skipped on ``ModuleNotFoundError``);
* ``mmcv.ops`` (roi_align(use_torchvision=True), nms, deform conv): compiled ops, absent from a
  ``MMCV_WITH_OPS=0`` build.

So the stand-in is an empty module object that exists only while ``mmcv.runner`` is being imported:
``mmcv.runner.checkpoint`` keeps its reference, ``sys.modules`` does not, so every other library's
"is torchvision installed?" probe (``importlib.util.find_spec``, ``try: import torchvision``) still
says no. Any attribute read on it raises an AttributeError that names the stand-in, so a test that
does reach ``torchvision://`` fails loudly instead of pretending.
"""

from __future__ import annotations

import importlib.util
import sys
import types


class _TorchvisionStandIn(types.ModuleType):
    """Empty ``torchvision`` for mmcv 1.x's import-time ``import torchvision``: no attributes at all."""

    def __getattr__(self, name: str):
        raise AttributeError(
            f"torchvision.{name}: torchvision is a stand-in here (no torchvision build imports beside "
            "torch 2.13.0+cpu); mmcv 1.x only needs it for torchvision:// / modelzoo:// checkpoints")


def _real_torchvision_imports() -> bool:
    if importlib.util.find_spec("torchvision") is None:
        return False
    try:
        import torchvision  # noqa: F401
    except Exception:  # e.g. RuntimeError: operator torchvision::nms does not exist
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]  # half-imported submodules of the broken build
        return False
    return True


def import_mmcv1_runner() -> types.ModuleType:
    """``import mmcv.runner`` (mmcv 1.x), with the stand-in only if no real torchvision imports."""
    if "mmcv.runner" in sys.modules:
        return sys.modules["mmcv.runner"]
    if _real_torchvision_imports():
        import mmcv.runner
        return mmcv.runner
    stand_in = _TorchvisionStandIn("torchvision")
    sys.modules["torchvision"] = stand_in
    try:
        import mmcv.runner
    finally:
        if sys.modules.get("torchvision") is stand_in:
            del sys.modules["torchvision"]
    return mmcv.runner
