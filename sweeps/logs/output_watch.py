"""A training's output read for what failed: as it grows, the lines that say it failed although it
goes on (the space's ``fail_patterns``: a failure the training swallows, such as the fork's
``[AQR ERROR]``); once it ended, its first traceback (the root cause: a launcher's ranks and the
launcher itself each add their own after it)."""

from __future__ import annotations

import re
from pathlib import Path


class OutputWatch:
    """Read the training's output as it grows and find the first line that matches one of the
    space's ``fail_patterns``."""

    def __init__(self, output: Path, patterns: list[str], from_start: bool = False) -> None:
        """Watch ``output`` from its current end (what earlier attempts wrote is theirs), or
        ``from_start``."""
        self.output = output
        self.patterns = [re.compile(p) for p in patterns]
        self._offset = 0 if from_start or not output.exists() else output.stat().st_size
        self._partial = ""

    def match(self, final: bool = False) -> str | None:
        """``pattern matched: line`` of the first new line that matches, or None (``final``: the
        output is complete, its last line too)."""
        if not self.patterns:
            return None
        try:
            with open(self.output, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return None
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk.decode("utf-8", "replace")).split("\n")
        if final:
            lines, self._partial = [*lines, self._partial], ""
        for line in lines:
            for pattern in self.patterns:
                if pattern.search(line):
                    return f"{pattern.pattern} matched: {line.strip()[:300]}"
        return None


#: a rank's prefix on its lines (``[rank0]: ``, torch >= 2.4 launchers)
_RANK = re.compile(r"^\[rank\d+\]:\s?")
#: the line that ends a traceback: ``TypeError: ...``, ``module.FooError: ...``
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b.*")


def first_traceback(text: str) -> tuple[str, str] | None:
    """``(exception line, whole traceback)`` of the first traceback in an output, or None."""
    lines = [_RANK.sub("", line) for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines)
                  if line.startswith("Traceback (most recent call last)")), None)
    if start is None:
        return None
    for end in range(start + 1, len(lines)):
        if _EXCEPTION.match(lines[end]):
            return lines[end].strip(), "\n".join(lines[start:end + 1])
    return None
