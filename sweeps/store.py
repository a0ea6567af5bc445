"""Where a sweep lives on disk: ``<root>/<name>/`` with the space, the Optuna study, the trials'
work dirs, Ray's results and ``sweep.json`` (MLflow ids), so ``resume``/``status`` find it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sweeps.errors import SweepNotFoundError

DEFAULT_ROOT = "sweep_runs"


def sweeps_root() -> Path:
    """``$AQR_SWEEP_ROOT`` or ``./sweep_runs``."""
    return Path(os.environ.get("AQR_SWEEP_ROOT", DEFAULT_ROOT)).absolute()


@dataclass
class SweepRecord:
    """What is kept in ``sweep.json``."""

    name: str
    space_file: str
    tracking_uri: str
    experiment_id: str
    parent_run_id: str


class SweepDir:
    """Paths of one sweep."""

    def __init__(self, name: str, root: Path | None = None) -> None:
        self.name = name
        self.path = (root or sweeps_root()) / name

    @property
    def space_file(self) -> Path:
        return self.path / "space.yaml"

    @property
    def trials_dir(self) -> Path:
        return self.path / "trials"

    @property
    def ray_dir(self) -> Path:
        return self.path / "ray"

    @property
    def study_file(self) -> Path:
        return self.path / "optuna.db"

    @property
    def study_storage(self) -> str:
        return f"sqlite:///{self.study_file}"

    @property
    def record_file(self) -> Path:
        return self.path / "sweep.json"

    def exists(self) -> bool:
        return self.record_file.is_file()

    def read(self) -> SweepRecord:
        """The sweep's record.

        Raises:
            SweepNotFoundError: there is no sweep of that name under the root.
        """
        if not self.exists():
            raise SweepNotFoundError(
                f"no sweep named {self.name!r} under {self.path.parent} (no {self.record_file}); "
                "run `aqr-sweep run SPACE` first, or set AQR_SWEEP_ROOT")
        return SweepRecord(**json.loads(self.record_file.read_text()))

    def write(self, record: SweepRecord) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.record_file.write_text(json.dumps(asdict(record), indent=2) + "\n")
