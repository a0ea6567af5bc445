"""The CMT stand-in repo (tests/kit/cmt_repo) behaves as the real fork does on the launch path the
sweeper uses: ``python -m torch.distributed.launch ... tools/train.py CONFIG --launcher pytorch``
with ``PYTHONPATH`` at the repo root, mmcv-1.x logs and checkpoints, ``--auto-resume``."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweeps.logs import LogFollower, read_log

REPO = Path(__file__).parent / "cmt_repo"
TRAIN = REPO / "tools" / "train.py"
AQR_CONFIG = REPO / "projects" / "configs" / "fusion" / "cmt_aqr_voxel0100_r50_800x320_cbgs.py"
NDS = "pts_bbox_NuScenes/NDS"
MAP = "pts_bbox_NuScenes/mAP"

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(pythonpath: bool = True, **extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if k != "PYTHONPATH" and not k.startswith("CMT_STANDIN_")}
    e.update(PYTHONDONTWRITEBYTECODE="1", CMT_STANDIN_EPOCH_SECONDS="0.3", **extra)
    if pythonpath:
        e["PYTHONPATH"] = str(REPO)  # what tools/dist_train.sh sets
    return e


def launch(work_dir: Path, cwd: Path, *args: str, nproc: int = 2, pythonpath: bool = True,
           **extra: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "torch.distributed.launch", f"--nproc_per_node={nproc}",
            f"--master_port={free_port()}", str(TRAIN), str(AQR_CONFIG), "--launcher", "pytorch",
            "--work-dir", str(work_dir), *args]
    return subprocess.run(argv, cwd=cwd, env=env(pythonpath, **extra), capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    """A ``load_from`` checkpoint without AQR weights, as the pretrained CMT R50 one."""
    import torch

    path = tmp_path_factory.mktemp("ckpts") / "cmt_voxel0100_r50_800x320_epoch20.pth"
    torch.save({"meta": {"epoch": 20}, "state_dict": {
        "pts_bbox_head.reference_points.weight": torch.rand(4, 3)}}, path)
    return path


def options(pretrained: Path) -> list[str]:
    return ["--cfg-options", f"load_from={pretrained}", "total_epochs=3", "evaluation.interval=1"]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, pretrained):
    """One uninterrupted 3-epoch run on 2 CPU ranks."""
    cwd = tmp_path_factory.mktemp("cwd")
    work_dir = cwd / "work_dir"
    proc = launch(work_dir, cwd, *options(pretrained))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work_dir, cwd, proc


def test_plugin_import_needs_pythonpath(tmp_path):
    # from the repo root, as users run it: tools/ is sys.path[0], the root is not
    proc = launch(tmp_path / "w", REPO, nproc=1, pythonpath=False)
    assert proc.returncode != 0
    assert "ModuleNotFoundError: No module named 'projects'" in proc.stderr
    assert not (tmp_path / "w").exists()  # fails before the work dir is made


def test_three_epochs_on_two_ranks_log_and_checkpoint_like_mmcv(full_run):
    import torch

    work_dir, cwd, proc = full_run
    logs, json_logs = sorted(work_dir.glob("*.log")), sorted(work_dir.glob("*.log.json"))
    assert len(logs) == 1 and len(json_logs) == 1
    assert json_logs[0].name == logs[0].name + ".json"  # {YYYYMMDD_HHMMSS}.log(.json)
    assert {p.name for p in work_dir.glob("*.pth")} == {"epoch_1.pth", "epoch_2.pth", "epoch_3.pth",
                                                         "latest.pth"}
    assert os.readlink(work_dir / "latest.pth") == "epoch_3.pth"
    ckpt = torch.load(work_dir / "latest.pth", weights_only=False)
    assert (ckpt["meta"]["epoch"], ckpt["meta"]["iter"]) == (3, 600)
    assert "pts_bbox_head.attention_bias_generator.bias_scale" in ckpt["state_dict"]
    assert (work_dir / AQR_CONFIG.name).is_file()  # the dumped config

    text = logs[0].read_text()
    assert "Epoch [1][50/200]\tlr: " in text and "Saving checkpoint at 3 epochs" in text
    assert "load checkpoint from local path: " in text
    assert text.count("Epoch(val) [") == 3 and "Epoch(val) [2][3010]\t" in text  # 6019 / 2 ranks
    rows = [json.loads(line) for line in json_logs[0].read_text().splitlines()]
    assert {"env_info", "config", "seed", "exp_name"} <= rows[0].keys()
    assert rows[1]["mode"] == "train" and {"epoch", "iter", "lr", "loss", "time"} <= rows[1].keys()
    assert [r["epoch"] for r in rows if r.get("mode") == "val"] == [1, 2, 3]
    assert math.isnan(next(r for r in rows if r.get("mode") == "val")[
        "pts_bbox_NuScenes/barrier_vel_err"])  # bare NaN, as the real logs have

    # the sweep's parsers read both logs the same way
    from_text, from_json = read_log(logs[0]), read_log(json_logs[0])
    assert [r.epoch for r in from_text] == [r.epoch for r in from_json] == [1, 2, 3]
    for t, j in zip(from_text, from_json, strict=True):
        assert t.metrics[NDS] == pytest.approx(j.metrics[NDS], abs=1e-4)
        assert 0.6 < j.metrics[NDS] < 0.75 and 0.55 < j.metrics[MAP] < 0.72
    follower = LogFollower(work_dir)
    assert [r.epoch for r in follower.poll()] == [1, 2, 3]

    # the fork's debug side effects: prints from every rank, PNGs in the launch CWD
    assert proc.stdout.count("projects.mmdet3d_plugin") == 2
    assert any((cwd / "aqr_bias_visualization").glob("bias_visualization_iter_*_batch_0.png"))


def test_rank_crash_then_auto_resume_continues_into_a_new_log(tmp_path, pretrained, full_run):
    work_dir = tmp_path / "work_dir"
    crash = dict(CMT_STANDIN_CRASH_AT_EPOCH="2", CMT_STANDIN_CRASH_RANK="1")
    proc = launch(work_dir, tmp_path, *options(pretrained), **crash)
    assert proc.returncode != 0
    assert "exitcode  : -9" in proc.stderr  # rank 1 SIGKILLed; the launcher stops rank 0
    assert {p.name for p in work_dir.glob("*.pth")} == {"epoch_1.pth", "latest.pth"}
    (first_log,) = work_dir.glob("*.log")
    assert [r.epoch for r in read_log(first_log)] == [1]

    since = time.time()
    proc = launch(work_dir, tmp_path, *options(pretrained), "--auto-resume", **crash)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    logs = sorted(work_dir.glob("*.log"))
    assert len(logs) == 2 and logs[0] == first_log
    new_text = logs[1].read_text()
    assert "resumed epoch 1, iter 200" in new_text
    assert [r.epoch for r in read_log(logs[1])] == [2, 3]
    assert [r.epoch for r in read_log(first_log)] == [1]  # the old log is left as it was
    assert os.readlink(work_dir / "latest.pth") == "epoch_3.pth"
    resumed = LogFollower(work_dir, since=since).poll()
    assert [r.epoch for r in resumed] == [2, 3]

    # deterministic: the resumed run reports what the uninterrupted one did
    full = {r.epoch: r.metrics[NDS] for r in read_log(next(full_run[0].glob("*.log.json")))}
    assert {r.epoch: r.metrics[NDS] for r in resumed} == {2: full[2], 3: full[3]}


def test_missing_load_from_fails_like_mmcv(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(TRAIN), str(AQR_CONFIG), "--work-dir", str(tmp_path / "w")],
        cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "FileNotFoundError: ckpts/nuim_r50.pth can not be found." in proc.stderr
