"""Register the AQR modules in mmdet3d's model registry, for configs with ``type='WeightRenderer'``.

Works with mmdet3d 1.x (``mmdet3d.registry.MODELS``, mmengine) and with mmdet3d 1.0.x on mmcv 1.x
(``mmdet3d.models.builder.MODELS``). Importing :mod:`aqr` never needs mmdet3d; calling
:func:`register_aqr_modules` does. A config can do it with
``custom_imports = dict(imports=['aqr.plugin'], allow_failed_imports=False)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from aqr.generator import AQRWeightGenerator
from aqr.modulator import FeatureModulator
from aqr.renderer import WeightRenderer

AQR_MODULES = (WeightRenderer, FeatureModulator, AQRWeightGenerator)
_REGISTRY_LOCATIONS = (
    ("mmdet3d.registry", "MODELS"),          # mmdet3d >= 1.1 (mmengine)
    ("mmdet3d.models.builder", "MODELS"),    # mmdet3d 1.0.x (mmcv 1.x)
)


def find_mmdet3d_registry() -> Any:
    """Return mmdet3d's model registry.

    Raises:
        ImportError: mmdet3d is not importable here, with what to install.
    """
    errors = []
    for module_name, attr in _REGISTRY_LOCATIONS:
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            errors.append(f"{module_name}.{attr}: {err}")
    raise ImportError(
        "aqr.plugin needs mmdet3d (1.x with mmcv 2.0-2.1, or 1.0.x with mmcv-full 1.x) in the "
        "training environment; it is not needed to import aqr or to run the embedded task. "
        "Tried " + "; ".join(errors)
    )


def register_aqr_modules(registry: Any | None = None) -> Any:
    """Register the AQR modules in ``registry`` (default: mmdet3d's) and return it.

    Modules already registered under the same name are replaced, so calling it twice is safe.
    """
    registry = registry if registry is not None else find_mmdet3d_registry()
    for module in AQR_MODULES:
        registry.register_module(name=module.__name__, module=module, force=True)
    return registry


def _register_on_import() -> None:
    import warnings

    try:
        register_aqr_modules()
    except ImportError as err:
        warnings.warn(f"AQR modules not registered in mmdet3d: {err}", stacklevel=3)


_register_on_import()
