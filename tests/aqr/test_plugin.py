import importlib.util
import sys
import types

import pytest
from mmengine.registry import Registry

from aqr.plugin import find_mmdet3d_registry, register_aqr_modules

HAS_MMDET3D = importlib.util.find_spec("mmdet3d") is not None


@pytest.mark.skipif(HAS_MMDET3D, reason="mmdet3d is installed: the error path does not apply")
def test_clear_error_without_mmdet3d():
    with pytest.raises(ImportError, match="needs mmdet3d"):
        find_mmdet3d_registry()


def test_registers_in_a_1x_style_registry(monkeypatch):
    """mmdet3d cannot be installed here: a stand-in module carries an mmengine Registry."""
    registry = Registry("models")
    fake = types.ModuleType("mmdet3d.registry")
    fake.MODELS = registry
    monkeypatch.setitem(sys.modules, "mmdet3d", types.ModuleType("mmdet3d"))
    monkeypatch.setitem(sys.modules, "mmdet3d.registry", fake)
    register_aqr_modules()
    register_aqr_modules()  # idempotent
    renderer = registry.build(dict(type="WeightRenderer", max_weight_clamp=2.0))
    assert renderer.max_weight_clamp == 2.0
    assert registry.get("FeatureModulator") is not None
    assert registry.get("AQRWeightGenerator") is not None


@pytest.mark.skipif(not HAS_MMDET3D, reason="mmdet3d (optional tier) is not installed")
def test_registers_in_real_mmdet3d():
    registry = register_aqr_modules()
    assert registry.get("WeightRenderer") is not None
