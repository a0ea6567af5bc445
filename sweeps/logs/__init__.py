"""Reading training logs: mmengine ``scalars.json``, mmcv-1.x ``.log.json`` and text logs."""

from __future__ import annotations

from pathlib import Path

from sweeps.logs.base import LogParser, ValidationRecord
from sweeps.logs.follower import LogFollower
from sweeps.logs.mmcv_json import MMCVJsonParser
from sweeps.logs.mmcv_text import MMCVTextParser
from sweeps.logs.mmengine_json import MMEngineJsonParser

#: formats by name, in the order ``auto`` prefers them
LOG_FORMATS: dict[str, type[LogParser]] = {
    "mmengine_json": MMEngineJsonParser,
    "mmcv_json": MMCVJsonParser,
    "mmcv_text": MMCVTextParser,
}


def detect_format(path: str | Path) -> str:
    """The format of a log file, from its name and first lines."""
    path = Path(path)
    if path.name == "scalars.json":
        return "mmengine_json"
    if path.name.endswith(".log.json"):
        return "mmcv_json"
    if path.suffix == ".json":
        head = path.read_text(errors="replace")[:2000]
        return "mmcv_json" if '"mode"' in head else "mmengine_json"
    return "mmcv_text"


def read_log(path: str | Path, log_format: str = "auto") -> list[ValidationRecord]:
    """Every validation record in a log file.

    Raises:
        FileNotFoundError: the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"log file not found: {path}")
    fmt = detect_format(path) if log_format == "auto" else log_format
    return LOG_FORMATS[fmt]().parse(path.read_text(errors="replace"))


__all__ = ["LOG_FORMATS", "LogFollower", "LogParser", "ValidationRecord", "detect_format",
           "read_log"]
