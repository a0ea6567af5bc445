"""Where a sweep lives on disk: ``<root>/<name>/`` with the space, the Optuna study, the trials'
work dirs, Ray's results and ``sweep.json`` (MLflow ids), so ``resume``/``status`` find it."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from sweeps.errors import BadNameError, DamagedStoreError, SweepNotFoundError

DEFAULT_ROOT = "sweep_runs"
#: the preflight's folder in a sweep's folder (it may exist before the sweep does)
PREFLIGHT_DIR = "preflight"
#: a sweep name is one folder under the root: never ``.``, ``..``, a path or an absolute path
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_NAME_LENGTH = 100


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a sweep's folder name (one safe path component), or None."""
    if isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and SAFE_NAME.fullmatch(name):
        return None
    shown = repr(name) if not isinstance(name, str) or len(name) <= 60 else repr(name[:60] + "...")
    return (f"must be one folder name: a letter or digit, then letters, digits, '_', '.' or '-' "
            f"(at most {MAX_NAME_LENGTH} characters; no '/', not '.' or '..'), but got {shown}; "
            "pick a name like my_sweep")


def default_tracking_uri() -> str:
    """``sqlite:///<cwd>/mlflow.db`` (MLflow 3's file store needs an opt-in; sqlite does not)."""
    return f"sqlite:///{Path('mlflow.db').absolute()}"


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
    """Paths of one sweep: ``<root>/<name>``, ``name`` one folder name (:data:`SAFE_NAME`).

    Raises:
        BadNameError: ``name`` is ``.``, ``..``, holds a ``/`` or is an absolute path, which
            would put the sweep (and everything it writes) outside the root.
    """

    def __init__(self, name: str, root: Path | None = None) -> None:
        problem = name_problem(name)
        if problem is not None:
            raise BadNameError(f"sweep name {problem} (--name, or the space's name)")
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
    def preflight_dir(self) -> Path:
        return self.path / PREFLIGHT_DIR

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
        try:
            return SweepRecord(**json.loads(self.record_file.read_text()))
        except (ValueError, TypeError) as err:
            raise DamagedStoreError(f"sweep {self.name!r}: {self.record_file} is damaged "
                                    f"({err}); nothing was changed") from None

    def write(self, record: SweepRecord) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.record_file.write_text(json.dumps(asdict(record), indent=2) + "\n")
