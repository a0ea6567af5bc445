"""Follow a training run's log as it grows, and hand over each new validation once."""

from __future__ import annotations

from pathlib import Path

from sweeps.logs.base import LogParser, ValidationRecord


class LogFollower:
    """Tail the newest log of a work dir that appeared after the run started.

    With ``log_format='auto'`` the first format whose file appears wins, in the order of
    ``LOG_FORMATS`` (mmengine ``scalars.json`` before mmcv ``.log.json`` before text logs).
    Only complete lines are parsed; a line being written is kept for the next poll.

    Args:
        work_dir: The run's work dir.
        log_format: ``'auto'`` or a name in :data:`sweeps.logs.LOG_FORMATS`.
        since: Ignore files last modified before this time (``time.time()``), e.g. the logs of an
            earlier attempt that this run resumes.
    """

    def __init__(self, work_dir: str | Path, log_format: str = "auto", since: float = 0.0) -> None:
        from sweeps.logs import LOG_FORMATS

        self.work_dir = Path(work_dir)
        self.since = since
        self._formats = list(LOG_FORMATS) if log_format == "auto" else [log_format]
        self._parsers: dict[str, type[LogParser]] = LOG_FORMATS
        self.path: Path | None = None
        self._parser: LogParser | None = None
        self._offset = 0
        self._partial = ""

    def poll(self) -> list[ValidationRecord]:
        """New validation records since the last poll."""
        if self.path is None and not self._find():
            return []
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        text = self._partial + chunk.decode("utf-8", errors="replace")
        lines = text.split("\n")
        self._partial = lines.pop()
        return [r for line in lines if (r := self._parser.feed(line)) is not None]

    def _find(self) -> bool:
        for fmt in self._formats:
            candidates = [p for pattern in self._parsers[fmt].patterns
                          for p in self.work_dir.glob(pattern)
                          if p.is_file() and p.stat().st_mtime >= self.since]
            if candidates:
                self.path = max(candidates, key=lambda p: p.stat().st_mtime)
                self._parser = self._parsers[fmt]()
                return True
        return False
