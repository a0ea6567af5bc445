"""mmcv 1.x ``*.log.json``: an env-info line, then ``{"mode": "train"|"val", "epoch": ...}``."""

from __future__ import annotations

from sweeps.logs.base import LogParser, ValidationRecord, as_epoch, json_row


class MMCVJsonParser(LogParser):
    patterns = ("*.log.json",)

    def feed(self, line: str) -> ValidationRecord | None:
        row = json_row(line)
        if row is None:
            return None
        mode = row.get("mode")
        if mode == "train":
            self.note_training(row)
            return None
        epoch = as_epoch(row.get("epoch"))
        if mode != "val" or epoch is None:
            return None  # a record needs a whole-number epoch; a damaged line is skipped
        return self.record(epoch, row)
