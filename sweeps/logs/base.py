"""What a training log gives the sweep: one record per validation."""

from __future__ import annotations

import abc
import json
import math
import re
from dataclasses import dataclass, field

from sweeps.constants import NON_METRIC_KEYS

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan|NaN"
#: ``key: number``; a key starts a token (the lookbehind keeps a long line linear: without it every
#: character of a long word would start a match that scans to the word's end)
KEY_VALUE = re.compile(rf"(?<![\w./\-])([A-Za-z_][\w./\-]*): ({_NUMBER})(?=[,\s]|$)")
#: epochs beyond this are not epochs (MLflow steps and Ray's counters are 32/64-bit)
MAX_EPOCH = 2**31 - 1


@dataclass
class ValidationRecord:
    """The metrics of one validation, at its (1-based) epoch, and the AQR diagnostics last logged
    before it (``aqr/...`` keys)."""

    epoch: int
    metrics: dict[str, float]
    diagnostics: dict[str, float] = field(default_factory=dict)
    #: the metrics whose logged value was not a number (``null``, a word), as the log shows
    #: them; ``metrics`` holds NaN for them
    unreadable: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"epoch": self.epoch, "metrics": self.metrics, "diagnostics": self.diagnostics}


def to_float(value) -> float:
    """A log value as a float; ``nan``/``NaN``/``inf`` as the IEEE values."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def not_numbers(values: dict) -> dict[str, str]:
    """The entries of a JSON row whose value is not a number (``null``, a word, a list), as JSON
    shows them (a string that holds a number, ``"nan"`` included, is one)."""
    out = {}
    for key, value in values.items():
        try:
            float(value)
        except (TypeError, ValueError):
            out[key] = json.dumps(value)[:80]
    return out


def as_epoch(value: object) -> int | None:
    """``value`` as a validation's epoch: a whole number (an int, an integral float, ASCII
    digits) in ``[0, MAX_EPOCH]``, else None, and the line is skipped: one odd value in a log
    must not end the trial."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= MAX_EPOCH else None


def json_row(line: str) -> dict | None:
    """One JSON-lines log line as a dict, or None if it is not one (half written, nested too
    deep, a number Python will not read)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return None
    return row if isinstance(row, dict) else None


class LogParser(abc.ABC):
    """Turns the lines of one log, fed in order as they are written, into validation records."""

    #: file names this parser reads, as ``Path.glob`` patterns relative to a work dir
    patterns: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.diagnostics: dict[str, float] = {}
        #: the ``loss`` of every training line so far (what a smoke run watches for)
        self.losses: list[float] = []

    def note_training(self, values: dict) -> None:
        """Keep what a training line logged: its ``aqr/...`` diagnostics and its loss."""
        self.diagnostics.update({k: to_float(v) for k, v in values.items()
                                 if k.startswith("aqr/")})
        if "loss" in values:
            self.losses.append(to_float(values["loss"]))

    def record(self, epoch: int, values: dict) -> ValidationRecord:
        """The validation at ``epoch`` that logged ``values`` (keys that are no metric left out),
        with the diagnostics last logged before it."""
        metrics = {k: v for k, v in values.items() if k not in NON_METRIC_KEYS}
        return ValidationRecord(epoch, {k: to_float(v) for k, v in metrics.items()},
                                dict(self.diagnostics), not_numbers(metrics))

    @abc.abstractmethod
    def feed(self, line: str) -> ValidationRecord | None:
        """Parse one complete line; return a record if it ends a validation."""

    def parse(self, text: str) -> list[ValidationRecord]:
        """Every validation in a whole log, its complete lines only: a last line without its
        newline was cut while it was written (a killed training; ``NDS: 0.6`` of ``0.6825``), as
        the follower keeps it for later."""
        complete = text if text.endswith("\n") else text[:text.rfind("\n") + 1]
        return [r for line in complete.splitlines() if (r := self.feed(line)) is not None]
