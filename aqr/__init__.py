"""AQR: per-query modality weights rendered into feature maps to modulate them.

The modules (renderer, modulator, generator) need torch alone; the embedded mini AQR-CMT task is
:mod:`aqr.mini`, the mmdet3d registration :mod:`aqr.plugin`. What runs inside a training
environment (Python 3.8 and later, mmengine or mmcv 1.x: schedules, the schedule hook, the
diagnostics, the preflight probe) is :mod:`aqr.runtime`, which imports none of the rest: this
package imports its modules only when they are asked for, so the runtime imports where they
cannot.
"""

import importlib
from typing import Any

_MODULES = {"AQRWeightGenerator": "aqr.generator", "FeatureModulator": "aqr.modulator",
            "WeightRenderer": "aqr.renderer", "build_schedule": "aqr.runtime.schedules"}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'aqr' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)
