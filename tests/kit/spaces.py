"""Build space files for tests: defaults that run the scripted trainer, overridden per test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

SCRIPTED_TRAINER = Path(__file__).with_name("scripted_trainer.py")
MINI_CONFIG = Path(__file__).resolve().parents[2] / "aqr" / "configs" / "mini_cmt_aqr.py"


#: a small valid space (its base config is not read): for schema and YAML tests
MINIMAL_SPACE = """\
name: t
base_config: aqr/configs/mini_cmt_aqr.py
max_epochs: 4
parameters:
  clamp:
    type: float
    low: 1.0
    high: 3.0
    targets: [model.pts_bbox_head.renderer_config.max_weight_clamp]
"""


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) and key != "parameters" else value
    return out


def space_dict(folder: Path, name: str = "scripted", **fields: Any) -> dict:
    """A space that runs :mod:`tests.kit.scripted_trainer` on a parameter ``x`` (NDS = x * epoch),
    its MLflow store in ``folder``; ``fields`` replace or (for mappings) update the defaults."""
    config = folder / "config.py"
    if not config.exists():
        config.write_text("x = 0.5\nmode = 'normal'\nepochs = 3\n")
    base = {
        "name": name,
        "base_config": str(config),
        "command": [sys.executable, str(SCRIPTED_TRAINER), "{config}", "{work_dir}", "{resume}"],
        "log_format": "mmcv_json",
        "metric": "NDS",
        "max_epochs": 3,
        "parameters": {"x": {"type": "float", "low": 0.1, "high": 1.0, "targets": ["x"]}},
        "search": {"sampler": "random", "num_trials": 2, "concurrency": 1},
        "pruner": {"type": "none"},
        "tracking": {"uri": f"sqlite:///{folder / 'mlflow.db'}", "experiment": name,
                     "artifact_location": (folder / "mlartifacts").as_uri()},
    }
    return _merge(base, fields)


def write_space(folder: Path, name: str = "scripted", **fields: Any) -> Path:
    """:func:`space_dict` written to ``folder/<name>.yaml``."""
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(space_dict(folder, name, **fields), sort_keys=False))
    return path
