"""mmcv 1.x text logs (``tools/train.py`` of mmdet3d 1.0.x), as in ``shared/data/cmt_logs``.

Validation: ``... - INFO - Epoch(val) [1][753]\\tpts_bbox_NuScenes/NDS: 0.6908, ...``. mmengine's
own text log (``Epoch(val) [1][6/6]  key: value  key: value``) reads the same way. The original
CMT-AQR code printed multi-line ``AQR Debug Info`` blocks; their weight-map statistics are read as
diagnostics (``aqr/bev_post_max``, ``aqr/pers_relative_change``, ...).
"""

from __future__ import annotations

import re

from sweeps.constants import NON_METRIC_KEYS
from sweeps.logs.base import KEY_VALUE, LogParser, ValidationRecord, as_epoch, to_float

_VAL = re.compile(r"Epoch\(val\)\s*\[(\d+)\]")
_TRAIN = re.compile(r"Epoch(?:\(train\))?\s*\[(\d+)\]\[")
_SECTION = re.compile(r"^\s+(\w+):\s*$")
_STAT = re.compile(r"^\s+(\w+):\s*(\S+)\s*$")
_DEBUG_KEYS = {
    ("weight_map_bev_stats", "max"): "aqr/bev_post_max",
    ("weight_map_bev_stats", "mean"): "aqr/bev_post_mean",
    ("weight_map_bev_stats", "std"): "aqr/bev_post_std",
    ("weight_map_pers_stats", "max"): "aqr/pers_post_max",
    ("weight_map_pers_stats", "mean"): "aqr/pers_post_mean",
    ("weight_map_pers_stats", "std"): "aqr/pers_post_std",
    ("modulation_effect_bev", "relative_change"): "aqr/bev_relative_change",
    ("modulation_effect_pers", "relative_change"): "aqr/pers_relative_change",
    ("lidar_weights_stats", "mean"): "aqr/lidar_weight_mean",
    ("camera_weights_stats", "mean"): "aqr/camera_weight_mean",
}


class MMCVTextParser(LogParser):
    patterns = ("*.log", "*/*.log")

    def __init__(self) -> None:
        super().__init__()
        self._section: str | None = None

    def feed(self, line: str) -> ValidationRecord | None:
        match = _VAL.search(line)
        if match:
            metrics = {k: to_float(v) for k, v in KEY_VALUE.findall(line[match.end():])
                       if k not in NON_METRIC_KEYS}
            epoch = as_epoch(match.group(1))
            if not metrics or epoch is None:
                return None  # a validation progress line (mmengine: "eta: ... time: ..."), or
                # an epoch that is no number of epochs
            return ValidationRecord(epoch, metrics, dict(self.diagnostics))
        if _TRAIN.search(line):
            self.note_training(dict(KEY_VALUE.findall(line)))
            return None
        section = _SECTION.match(line)
        if section:
            self._section = section.group(1)
            return None
        stat = _STAT.match(line)
        if stat and self._section:
            key = _DEBUG_KEYS.get((self._section, stat.group(1)))
            if key:
                self.diagnostics[key] = to_float(stat.group(2))
        return None
