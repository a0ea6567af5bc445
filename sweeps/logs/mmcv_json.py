"""mmcv 1.x ``*.log.json``: an env-info line, then ``{"mode": "train"|"val", "epoch": ...}``."""

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


class MMCVJsonParser(LogParser):
    patterns = ("*.log.json",)

    def feed(self, line: str) -> ValidationRecord | None:
        row = json_row(line)
        if row is None:
            return None
        mode = row.get("mode")
        if mode == "train":
            self.diagnostics.update({k: to_float(v) for k, v in row.items()
                                     if k.startswith("aqr/")})
            if "loss" in row:
                self.losses.append(to_float(row["loss"]))
            return None
        epoch = as_epoch(row.get("epoch"))
        if mode != "val" or epoch is None:
            return None  # a record needs a whole-number epoch; a damaged line is skipped
        metrics = {k: to_float(v) for k, v in row.items() if k not in NON_METRIC_KEYS}
        values = {k: v for k, v in row.items() if k not in NON_METRIC_KEYS}
        return ValidationRecord(epoch, metrics, dict(self.diagnostics), not_numbers(values))
