"""The embedded mini AQR-CMT task: synthetic scenes, a mini CMT-AQR model, nuScenes metrics.

Importing this package registers the dataset, collate function, model, metric and the AQR hook in
mmengine's registries, which ``aqr/configs/mini_cmt_aqr.py`` uses through ``custom_imports``.
"""

from aqr.mini.dataset import MiniNuScenesDataset, mini_collate
from aqr.mini.metric import MiniNuScenesMetric
from aqr.mini.model import MiniCMTAQR
from aqr.runtime import hook as _hook  # noqa: F401  (registers AQRScheduleHook)

__all__ = ["MiniCMTAQR", "MiniNuScenesDataset", "MiniNuScenesMetric", "mini_collate"]
