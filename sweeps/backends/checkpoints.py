"""A trial's checkpoints as mmengine and mmcv 1.x leave them in its work dir: ``epoch_N.pth``,
mmengine's ``last_checkpoint`` (the path of the newest) and mmcv's ``latest.pth`` (a link to it),
which ``--resume`` / ``--auto-resume`` go on from.

Both save an epoch's checkpoint before they validate it, so a training stopped during a
validation (Ctrl-C, a Slurm time limit, a crash) leaves a checkpoint no validation was logged for;
resumed from it, the training never validates that epoch (at ``max_epochs`` it has nothing left to
train). :func:`rewind_to_validated` sets such checkpoints aside so that the resume starts from the
last validated one and trains the lost epoch again; that one must still be there, so a training
keeps two checkpoints (mmcv's ``checkpoint_config.max_keep_ckpts``, mmengine's
``default_hooks.checkpoint.max_keep_ckpts``: 2, as the shipped spaces and the mini task do).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: mmengine's pointer file: the path of the checkpoint ``--resume`` goes on from
LAST_CHECKPOINT = "last_checkpoint"
#: mmcv 1.x's link to the newest checkpoint, what ``--auto-resume`` goes on from
LATEST = "latest.pth"
#: the suffix a checkpoint set aside gets (``*.pth`` globs no longer see it)
SET_ASIDE = ".unvalidated"

_EPOCH = re.compile(r"epoch_(\d+)\.pth")


def has_checkpoint(work_dir: Path) -> bool:
    """Whether a previous attempt left a checkpoint to resume from."""
    return (work_dir / LAST_CHECKPOINT).is_file() or any(work_dir.glob("*.pth"))


def epoch_checkpoints(work_dir: Path) -> dict[int, Path]:
    """The ``epoch_N.pth`` files of ``work_dir`` by epoch."""
    found = {}
    for path in work_dir.glob("epoch_*.pth"):
        if match := _EPOCH.fullmatch(path.name):
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def rewind_to_validated(work_dir: Path, validated: int) -> str | None:
    """Set aside the checkpoints of epochs after ``validated`` (renamed ``epoch_N.pth.unvalidated``)
    and point ``last_checkpoint`` and ``latest.pth`` at the newest validated one. Returns what it
    did, in one line; None when every checkpoint was validated, or when no validated one is left
    to go on from (``max_keep_ckpts: 1``): the resume then goes on from the unvalidated one, never
    from the start."""
    checkpoints = epoch_checkpoints(work_dir)
    later = [path for epoch, path in checkpoints.items() if epoch > validated]
    kept = [path for epoch, path in checkpoints.items() if epoch <= validated]
    if not later or not kept:
        return None
    for path in later:
        path.replace(path.with_name(path.name + SET_ASIDE))
    for pointer in (work_dir / LAST_CHECKPOINT, work_dir / LATEST):
        if pointer.is_symlink() or pointer.exists():
            pointer.unlink()
            if pointer.name == LAST_CHECKPOINT:
                pointer.write_text(str(kept[-1].absolute()))
            else:
                os.symlink(kept[-1].name, pointer)
    return (f"aqr-sweep: {', '.join(path.name for path in later)} saved but never validated (the "
            f"training stopped during its validation): set aside as *{SET_ASIDE}; the resumed "
            f"training goes on from {kept[-1].name}")
