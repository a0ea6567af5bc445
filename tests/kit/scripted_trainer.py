"""A stand-in training command that writes mmcv-1.x ``.log.json`` validations like the real CMT.

Run as ``python scripted_trainer.py WORK_DIR [--resume] key=value ...`` (the spaces built by
:mod:`tests.kit.spaces` do). Options: ``x`` (NDS = x * epoch), ``mode``, ``epochs`` (default 3);
``SCRIPTED_EPOCH_SECONDS`` sets the time an epoch takes. Modes:

- ``normal``: trains ``epochs`` epochs, a checkpoint each; ``--resume`` goes on after the last one.
- ``crash_once``: validates epoch 1, leaves ``epoch_1.pth``, dies; resumed, runs epochs 2 and 3.
- ``wrong_metric``: logs ``mAP`` only.
- ``diverge``: logs a NaN NDS, then keeps "training".
"""

import json
import os
import sys
import time
from pathlib import Path

work = Path(sys.argv[1])
args = sys.argv[2:]
opts = dict(a.split("=", 1) for a in args if "=" in a)
x, mode, epochs = float(opts.get("x", 0.5)), opts.get("mode", "normal"), int(opts.get("epochs", 3))
resume = "--resume" in args
pause = float(os.environ.get("SCRIPTED_EPOCH_SECONDS", "0"))
work.mkdir(parents=True, exist_ok=True)
log = work / f"{time.time_ns()}.log.json"
log.write_text(json.dumps({"env_info": "scripted"}) + "\n")


def validate(epoch: int, **metrics: float) -> None:
    with open(log, "a") as f:
        f.write(json.dumps({"mode": "val", "epoch": epoch, "iter": 10, **metrics}) + "\n")


def train(first: int, last: int) -> None:
    for epoch in range(first, last + 1):
        time.sleep(pause)
        validate(epoch, NDS=x * epoch)
        (work / f"epoch_{epoch}.pth").write_bytes(b"ckpt")
        (work / "last_epoch").write_text(str(epoch))


if mode == "normal":
    last = work / "last_epoch"
    train(int(last.read_text()) + 1 if resume and last.exists() else 1, epochs)
elif mode == "crash_once":
    if not resume:
        validate(1, NDS=x)
        (work / "epoch_1.pth").write_bytes(b"ckpt")
        print("CUDA error: an illegal memory access was encountered", flush=True)
        sys.exit(1)
    train(2, epochs)
elif mode == "wrong_metric":
    validate(1, mAP=0.5)
elif mode == "diverge":
    validate(1, NDS=float("nan"))
    time.sleep(30)  # still "training" when the trial gives up on it
else:
    sys.exit(f"unknown mode {mode!r}")
