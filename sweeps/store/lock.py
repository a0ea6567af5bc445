"""One driver per sweep: ``<sweep>/driver.lock`` names the driver that runs it (host, pid, since
when). A second driver is refused at once; a lock whose driver is gone is stale and taken over:
on the same host when its process no longer exists, on another host when its heartbeat (the
file's mtime, refreshed by the running driver) is older than :data:`STALE_AFTER` seconds."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil

from sweeps.errors import SweepBusyError

STALE_AFTER = 600.0
HEARTBEAT = 60.0


def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None


class DriverLock:
    """The lock of the sweep in ``sweep_path``; a context manager that holds it and keeps its
    heartbeat while the driver runs."""

    #: the lock's file name in the sweep's folder
    FILE = "driver.lock"

    def __init__(self, sweep_path: Path, name: str) -> None:
        self.path = sweep_path / self.FILE
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _mine(self) -> dict:
        return {"host": socket.gethostname(), "pid": os.getpid(),
                "started": _process_started(os.getpid()),
                "since": datetime.now().isoformat(timespec="seconds")}

    def _stale(self, held: dict) -> bool:
        if held.get("host") == socket.gethostname():
            started = _process_started(int(held.get("pid", -1)))
            return started is None or abs(started - float(held.get("started") or 0)) > 1.0
        try:
            return time.time() - self.path.stat().st_mtime > STALE_AFTER
        except FileNotFoundError:
            return True

    def holder(self) -> dict | None:
        """The live driver that holds the lock (host, pid, since), or None."""
        try:
            held = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return None if self._stale(held) else held

    def acquire(self) -> None:
        """Take the lock, or refuse naming the driver that holds it.

        Raises:
            SweepBusyError: a live driver runs the sweep.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    held = json.loads(self.path.read_text() or "{}")
                except (OSError, ValueError):
                    held = {}  # half written or damaged: judged by its age
                if held and not self._stale(held):
                    raise SweepBusyError(
                        f"sweep {self.name!r} is being run by pid {held.get('pid')} on "
                        f"{held.get('host')} since {held.get('since')}; watch it with "
                        f"`aqr-sweep status {self.name}`, or stop that driver first") from None
                if not held and time.time() - self.path.stat().st_mtime < 5:
                    time.sleep(0.5)  # another driver may be writing it right now
                    continue
                self.path.unlink(missing_ok=True)  # stale: its driver is gone
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(self._mine(), f)
            return
        raise SweepBusyError(f"sweep {self.name!r}: could not take {self.path}; another driver "
                             "keeps taking it")

    def release(self) -> None:
        """Give the lock up (only if it is still this driver's)."""
        try:
            held = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        if held.get("pid") == os.getpid() and held.get("host") == socket.gethostname():
            self.path.unlink(missing_ok=True)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            try:
                os.utime(self.path)
            except OSError:
                pass

    def __enter__(self) -> DriverLock:
        self.acquire()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.release()
