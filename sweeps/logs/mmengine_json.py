"""mmengine's ``vis_data/scalars.json`` (mmdet3d 1.x): one JSON object per line.

Training lines carry ``epoch``, ``iter`` and ``step`` (the iteration); validation lines carry the
metrics and ``step`` = the epoch, with keys such as ``pts_bbox_NuScenes/NDS`` or
``NuScenes metric/pred_instances_3d_NuScenes/NDS``.
"""

from __future__ import annotations

from sweeps.logs.base import LogParser, ValidationRecord, as_epoch, json_row


class MMEngineJsonParser(LogParser):
    patterns = ("*/vis_data/scalars.json",)

    def feed(self, line: str) -> ValidationRecord | None:
        row = json_row(line)
        if row is None:
            return None
        if "iter" in row:
            self.note_training(row)
            return None
        epoch = as_epoch(row.get("step"))
        record = self.record(epoch, row) if epoch is not None else None
        if record is None or not record.metrics:
            return None  # not a validation (mmengine also logs val iteration timings), or a
            # damaged line: a record needs a whole-number epoch
        return record
