"""Reading training logs: mmengine ``scalars.json``, mmcv-1.x ``.log.json`` and text logs."""

from __future__ import annotations

from pathlib import Path

from sweeps.errors import MissingFileError
from sweeps.logs.base import LogParser, ValidationRecord
from sweeps.logs.follower import LogFollower
from sweeps.logs.formats import LOG_FORMATS, detect_format


def read_log(path: str | Path, log_format: str = "auto") -> list[ValidationRecord]:
    """Every validation record in a log file.

    Raises:
        MissingFileError: the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"log file not found: {path}")
    fmt = detect_format(path) if log_format == "auto" else log_format
    return LOG_FORMATS[fmt]().parse(path.read_text(errors="replace"))


__all__ = ["LOG_FORMATS", "LogFollower", "LogParser", "ValidationRecord", "detect_format",
           "read_log"]
