"""mmengine's ``vis_data/scalars.json`` (mmdet3d 1.x): one JSON object per line.

Training lines carry ``epoch``, ``iter`` and ``step`` (the iteration); validation lines carry the
metrics and ``step`` = the epoch, with keys such as ``pts_bbox_NuScenes/NDS`` or
``NuScenes metric/pred_instances_3d_NuScenes/NDS``.
"""

from __future__ import annotations

from sweeps.constants import NON_METRIC_KEYS
from sweeps.logs.base import (
    LogParser,
    ValidationRecord,
    as_epoch,
    json_row,
    not_numbers,
    to_float,
)


class MMEngineJsonParser(LogParser):
    patterns = ("*/vis_data/scalars.json",)

    def feed(self, line: str) -> ValidationRecord | None:
        row = json_row(line)
        if row is None:
            return None
        if "iter" in row:
            self.diagnostics.update({k: to_float(v) for k, v in row.items()
                                     if k.startswith("aqr/")})
            if "loss" in row:
                self.losses.append(to_float(row["loss"]))
            return None
        metrics = {k: to_float(v) for k, v in row.items() if k not in NON_METRIC_KEYS}
        epoch = as_epoch(row.get("step"))
        if epoch is None or not metrics:
            return None  # not a validation (mmengine also logs val iteration timings), or a
            # damaged line: a record needs a whole-number epoch
        values = {k: v for k, v in row.items() if k not in NON_METRIC_KEYS}
        return ValidationRecord(epoch, metrics, dict(self.diagnostics), not_numbers(values))
