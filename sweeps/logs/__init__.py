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


def log_files(work_dir: str | Path, fmt: str) -> list[Path]:
    """The logs of format ``fmt`` in a work dir, oldest first."""
    return sorted({p for pattern in LOG_FORMATS[fmt].patterns for p in Path(work_dir).glob(pattern)
                   if p.is_file()}, key=lambda p: p.stat().st_mtime)


def logged_records(work_dir: str | Path, log_format: str = "auto") -> list[ValidationRecord]:
    """Every validation that earlier attempts of a run logged in its work dir, oldest log first
    (with ``auto``, the logs of the most preferred format present)."""
    for fmt in LOG_FORMATS if log_format == "auto" else [log_format]:
        if paths := log_files(work_dir, fmt):
            return [r for p in paths for r in read_log(p, fmt)]
    return []


__all__ = ["LOG_FORMATS", "LogFollower", "LogParser", "ValidationRecord", "detect_format",
           "log_files", "logged_records", "read_log"]
