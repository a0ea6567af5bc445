"""A config file that inherits a base config (``_base_``) and sets overrides as nested dicts: what
``export-best`` writes, readable by mmengine's and mmcv 1.x's ``Config.fromfile``."""

from __future__ import annotations

import os
import pprint
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sweeps.config.keys import parse_key
from sweeps.config.overrides import nested
from sweeps.errors import ConfigWriteError


def config_text(base_config: Path, overrides: Mapping[str, Any], out_file: Path,
                header: str) -> str:
    """A config file: ``_base_`` (relative to ``out_file``) plus the overrides as nested dicts.

    Raises:
        ConfigWriteError: an override indexes into a list (``a.0.b``), which ``_base_``
            inheritance cannot express; use the printed ``--cfg-options`` for it instead.
    """
    listy = [k for k in overrides if any(part.isdigit() for part in parse_key(k))]
    if listy:
        raise ConfigWriteError(f"cannot write {', '.join(listy)} as a _base_ override (it indexes "
                               "a list); pass it with --cfg-options instead")
    base = os.path.relpath(base_config.resolve(), out_file.absolute().parent)
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"_base_ = [{base!r}]", ""]
    for key, value in nested(overrides).items():
        lines.append(f"{key} = {pprint.pformat(value, sort_dicts=False, width=96)}")
    return "\n".join(lines) + "\n"
