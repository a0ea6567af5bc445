"""Follow a training run's log as it grows, and hand over each new validation once."""

from __future__ import annotations

from pathlib import Path

from sweeps.logs.base import LogParser, ValidationRecord
from sweeps.logs.formats import LOG_FORMATS

#: bytes before the read offset that must be as they were read
CHECKED_BYTES = 64


class LogFollower:
    """Tail the newest log of a work dir that appeared after the run started.

    With ``log_format='auto'`` the most preferred format present wins, in the order of
    ``LOG_FORMATS`` (mmengine ``scalars.json`` before mmcv ``.log.json`` before text logs); until
    a record was read, a preferred file that appears later (they are created in turn) takes over.
    Only complete lines are parsed; a line being written is kept for the next poll. A log of the
    same format that appears later (the run restarted into a new timestamped log) is followed
    from then on, after the rest of the current one is read; one rewritten in place (shorter than
    what was read) is read again from its start (a record comes again: the caller skips epochs it
    has); rewritten is told by the bytes just before where reading stopped.

    Args:
        work_dir: The run's work dir.
        log_format: ``'auto'`` or a name in :data:`sweeps.logs.formats.LOG_FORMATS`.
        since: Ignore files last modified before this time (``time.time()``), e.g. the logs of an
            earlier attempt that this run resumes.
    """

    def __init__(self, work_dir: str | Path, log_format: str = "auto", since: float = 0.0) -> None:
        self.work_dir = Path(work_dir)
        self.since = since
        self._formats = list(LOG_FORMATS) if log_format == "auto" else [log_format]
        self._parsers: dict[str, type[LogParser]] = LOG_FORMATS
        self.path: Path | None = None
        self._parser: LogParser | None = None
        self._offset = 0
        self._partial = ""
        self._last = b""  # the last bytes read: a log rewritten in place no longer has them
        self._format: str | None = None
        self._emitted = 0
        self._seen: set[Path] = set()

    def poll(self) -> list[ValidationRecord]:
        """New validation records since the last poll."""
        if not self._emitted and self._format != self._formats[0]:
            self._find()  # a preferred format may have appeared since (files appear in turn)
        if self.path is None:
            return []
        records = self._read()
        newer = self._newer()
        if newer is not None:  # the run restarted into a new log (a launcher's own restart)
            self._follow(newer, self._format)
            records += self._read()
        return records

    @property
    def losses(self) -> list[float]:
        """The ``loss`` of every training line read so far from the followed log."""
        return self._parser.losses if self._parser is not None else []

    @property
    def offset(self) -> int:
        """Bytes read so far from the followed log (grows as the log does)."""
        return self._offset

    def _read(self) -> list[ValidationRecord]:
        with open(self.path, "rb") as f:
            f.seek(self._offset - len(self._last))
            if f.read(len(self._last)) != self._last:  # rewritten in place: read it again
                self._follow(self.path, self._format)
                f.seek(0)
            chunk = f.read()
        self._offset += len(chunk)
        self._last = (self._last + chunk)[-CHECKED_BYTES:]
        text = self._partial + chunk.decode("utf-8", errors="replace")
        lines = text.split("\n")
        self._partial = lines.pop()
        records = [r for line in lines if (r := self._parser.feed(line)) is not None]
        self._emitted += len(records)
        return records

    def _find(self) -> bool:
        for fmt in self._formats:
            candidates = self._candidates(fmt)
            if candidates:
                path = max(candidates, key=lambda p: p.stat().st_mtime)
                if path != self.path:
                    self._seen = set(candidates)
                    self._follow(path, fmt)
                return True
            if fmt == self._format:
                return True  # nothing better than what we follow
        return False

    def _candidates(self, fmt: str) -> list[Path]:
        return [p for pattern in self._parsers[fmt].patterns for p in self.work_dir.glob(pattern)
                if p.is_file() and p.stat().st_mtime >= self.since]

    def _newer(self) -> Path | None:
        """A log of the followed format that appeared after the one followed was chosen."""
        fresh = [p for p in self._candidates(self._format) if p not in self._seen]
        if not fresh:
            return None
        self._seen.update(fresh)
        return max(fresh, key=lambda p: p.stat().st_mtime)

    def _follow(self, path: Path, fmt: str) -> None:
        self.path, self._format, self._parser = path, fmt, self._parsers[fmt]()
        self._offset, self._partial, self._last = 0, "", b""
