"""The log formats by name, in the order ``auto`` prefers them, and format detection."""

from __future__ import annotations

from pathlib import Path

from sweeps.logs.base import LogParser
from sweeps.logs.mmcv_json import MMCVJsonParser
from sweeps.logs.mmcv_text import MMCVTextParser
from sweeps.logs.mmengine_json import MMEngineJsonParser

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
