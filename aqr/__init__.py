"""AQR: per-query modality weights rendered into feature maps to modulate them.

Importable with torch alone; mmengine hooks live in :mod:`aqr.hooks`, the mmdet3d registration in
:mod:`aqr.plugin`, and the embedded mini AQR-CMT task in :mod:`aqr.mini`.
"""

from aqr.generator import AQRWeightGenerator
from aqr.modulator import FeatureModulator
from aqr.renderer import WeightRenderer
from aqr.schedules import build_schedule

__all__ = ["AQRWeightGenerator", "FeatureModulator", "WeightRenderer", "build_schedule"]
