"""A stand-in training command that writes mmcv-1.x ``.log.json`` validations like the real CMT.

Run as ``python scripted_trainer.py CONFIG WORK_DIR [--resume]`` (the spaces built by
:mod:`tests.kit.spaces` do). Config keys: ``x`` (NDS = x * epoch), ``mode``, ``epochs`` (default 3).
Environment: ``SCRIPTED_EPOCH_SECONDS`` sets the time an epoch takes (``a,b``: epoch 1 takes
``a``, later ones ``b``); with ``SCRIPTED_RECORD_ENV`` set, each start writes ``env_<ns>.json``
(pid, ``CUDA_VISIBLE_DEVICES``, ``PORT``, first epoch); a config key ``slow`` makes epochs after
the first take that many seconds; ``SCRIPTED_STUBBORN`` ignores SIGTERM (only
SIGKILL ends it); ``SCRIPTED_CHILD`` starts a "rank" in a session of its own that outlives the
trainer; ``SCRIPTED_HOLD`` names a file that every epoch but the first waits for before it
validates (a training held until the test lets it go, a resumed one too). Each start notes in
``overlaps.txt`` any earlier trainer of the work dir still alive.
Modes:

- ``normal``: trains ``epochs`` epochs, a checkpoint each; ``--resume`` goes on after the last one.
- ``crash_once``: validates epoch 1, leaves ``epoch_1.pth``, dies; resumed, runs epochs 2 and 3.
- ``wrong_metric``: logs ``mAP`` only.
- ``diverge``: logs a NaN NDS, then keeps "training".
- ``infinite``: logs an infinite NDS, then keeps "training".
- ``overrun``: validates one epoch more than ``epochs`` (a schedule longer than the space's).
- ``hang_after_last``: validates every epoch, then never exits (a teardown that deadlocks).
- ``delete_log``: validates epoch 1, deletes its log 2 s later, exits 0 2 s after that.
- ``rewrite_log``: validates epochs 1 and 2 (and a long training line), 2 s later rewrites its
  log in place from its start (a logger reopened with ``"w"``) with epochs 1 to 3, shorter than
  before, and exits 0.
- ``log_elsewhere``: trains every epoch, its log in the work dir's parent (not under it).
- ``hang``: validates epoch 1, then stops writing anything (a deadlocked rank).
- ``crash_after_last_checkpoint``: saves each epoch's checkpoint before validating it, as mmcv
  does (``epoch_N.pth``, ``latest.pth`` linked to it); its first start dies while validating the
  last epoch; resumed, it goes on after the epoch ``latest.pth`` links to (``--auto-resume``).
- ``never_validates_last``: the same, but every start exits 0 without validating the last epoch.
- ``fill_disk``: validates epoch 1, then fills its work dir's disk and goes on training.

Each start appends a line to ``starts.txt`` in the work dir.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mmengine.config import Config

cfg = Config.fromfile(sys.argv[1])
work = Path(sys.argv[2])
args = sys.argv[3:]
x, mode, epochs = float(cfg.get("x", 0.5)), cfg.get("mode", "normal"), int(cfg.get("epochs", 3))
resume = "--resume" in args
pauses = [float(s) for s in os.environ.get("SCRIPTED_EPOCH_SECONDS", "0").split(",")]
hold = os.environ.get("SCRIPTED_HOLD")
work.mkdir(parents=True, exist_ok=True)
for earlier in work.glob("pid_*"):
    try:
        os.kill(int(earlier.name[4:]), 0)
        if "zombie" not in Path(f"/proc/{earlier.name[4:]}/status").read_text().lower():
            with open(work / "overlaps.txt", "a") as overlaps:
                overlaps.write(f"{os.getpid()} started while {earlier.name[4:]} trains\n")
    except (OSError, ValueError):
        pass
(work / f"pid_{os.getpid()}").write_text("")
if os.environ.get("SCRIPTED_STUBBORN"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.environ.get("SCRIPTED_CHILD"):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                             start_new_session=True)
    (work / f"child_{child.pid}").write_text("")
with open(work / "starts.txt", "a") as starts:
    starts.write(" ".join(args) + "\n")
log = work / f"{time.time_ns()}.log.json"
log.write_text(json.dumps({"env_info": "scripted"}) + "\n")


def validate(epoch: int, **metrics: float) -> None:
    with open(log, "a") as f:
        f.write(json.dumps({"mode": "val", "epoch": epoch, "iter": 10, **metrics}) + "\n")


def train(first: int, last: int) -> None:
    if os.environ.get("SCRIPTED_RECORD_ENV"):
        (work / f"env_{time.time_ns()}.json").write_text(json.dumps({
            "pid": os.getpid(), "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "PORT": os.environ.get("PORT"), "start_epoch": first}))
    for epoch in range(first, last + 1):
        slow = float(cfg.get("slow", 0))
        time.sleep(slow if slow and epoch > 1 else pauses[min(epoch, len(pauses)) - 1])
        while epoch > 1 and hold and not Path(hold).exists():
            time.sleep(0.1)
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
elif mode in ("crash_after_last_checkpoint", "never_validates_last"):
    latest = work / "latest.pth"
    done = int(os.readlink(latest)[len("epoch_"):-len(".pth")]) if resume and latest.is_symlink() \
        else 0
    first_start = len((work / "starts.txt").read_text().splitlines()) == 1
    for epoch in range(done + 1, epochs + 1):
        (work / f"epoch_{epoch}.pth").write_bytes(b"ckpt")
        latest.unlink(missing_ok=True)
        latest.symlink_to(f"epoch_{epoch}.pth")
        if epoch == epochs and mode == "never_validates_last":
            sys.exit(0)
        if epoch == epochs and first_start:
            sys.exit("killed while validating the last epoch")
        validate(epoch, NDS=x * epoch)
elif mode == "infinite":
    validate(1, NDS=float("inf"))
    time.sleep(3600)
elif mode == "overrun":
    train(1, epochs + 1)
elif mode == "delete_log":
    train(1, 1)
    time.sleep(2)
    log.unlink()
    time.sleep(2)
elif mode == "rewrite_log":
    train(1, 2)
    with open(log, "a") as f:
        f.write(json.dumps({"mode": "train", "epoch": 3, "iter": 1, "loss": 1.0, "msg": "x" * 500})
                + "\n")
    time.sleep(2)
    rows = [json.dumps({"mode": "val", "epoch": e, "NDS": x * e}) for e in range(1, epochs + 1)]
    log.write_text("\n".join(rows) + "\n")
    time.sleep(2)
elif mode == "log_elsewhere":
    log.rename(work.parent / f"{work.name}_{log.name}")
    log = work.parent / f"{work.name}_{log.name}"
    train(1, epochs)
elif mode == "hang_after_last":
    train(1, epochs)
    time.sleep(3600)
elif mode == "hang":
    validate(1, NDS=x)
    time.sleep(3600)
elif mode == "fill_disk":
    train(1, 1)
    try:
        with open(work / "filler", "wb") as filler:
            while True:
                filler.write(b"0" * 65536)
                filler.flush()
    except OSError:
        pass
    time.sleep(60)
elif mode == "wrong_metric":
    validate(1, mAP=0.5)
elif mode == "diverge":
    validate(1, NDS=float("nan"))
    time.sleep(30)  # still "training" when the trial gives up on it
else:
    sys.exit(f"unknown mode {mode!r}")
