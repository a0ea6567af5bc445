"""Why a trial failed, in one line, where the driver's side can read it: the trainable (in a Ray
worker) writes it into the trial's work dir before it raises, the searcher reads it when Ray says
the trial errored and records it in the study (``status`` shows it) and the ledger (MLflow's
``aqr.error`` tag leads with it); a failure that every trial would share halts the sweep."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

#: where a trial's failure is written, relative to its work dir
FAILURE_FILE = "aqr_sweep/failure.json"


class TrialError(RuntimeError):
    """A trial that cannot go on.

    Args:
        reason: One line: what failed and how to fix it.
        detail: More (the training's last lines).
        fatal: Every trial of the sweep would fail the same way (the metric is never logged):
            the sweep halts.
    """

    def __init__(self, reason: str, detail: str = "", fatal: bool = False) -> None:
        self.reason, self.detail, self.fatal = reason, detail, fatal
        super().__init__(f"{reason}\n{detail}" if detail else reason)


@dataclass(frozen=True)
class Failure:
    """A failure as it is kept."""

    reason: str
    detail: str = ""
    fatal: bool = False

    def text(self) -> str:
        """The reason, then the detail."""
        return f"{self.reason}\n\n{self.detail}" if self.detail else self.reason


def write_failure(work_dir: Path, err: BaseException) -> None:
    """Keep why the trial's attempt failed (a :class:`TrialError`'s reason, else the error's type
    and first line)."""
    if isinstance(err, TrialError):
        failure = Failure(err.reason, err.detail, err.fatal)
    else:
        first = (str(err).strip().splitlines() or [""])[0]
        failure = Failure(f"{type(err).__name__}: {first}".rstrip(": "))
    path = work_dir / FAILURE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(failure)))


def read_failure(work_dir: Path) -> Failure | None:
    """The failure the trial's last attempt kept, if any."""
    try:
        return Failure(**json.loads((work_dir / FAILURE_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def clear_failure(work_dir: Path) -> None:
    """Forget an earlier attempt's failure (a new attempt starts)."""
    (work_dir / FAILURE_FILE).unlink(missing_ok=True)
