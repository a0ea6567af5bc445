"""The CMT stand-in (tests/kit/cmt_repo) run as a user runs the real fork: the real
attention-bias space, adapted to this machine, and the CLI from the CMT root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import yaml

from sweeps.backends.processes import processes_under

CMT = Path(__file__).parent / "cmt_repo"
SPACE = Path(__file__).resolve().parents[2] / "search_spaces" / "cmt_aqr_attention_bias.yaml"


def standin_space(tmp_path: Path, name: str, launcher_restarts: int, max_failures: int,
                  enqueue: list[dict], python: str = sys.executable) -> Path:
    """The real space, run here: ``python`` (the training environment's; this one by default),
    2 ranks, 3 epochs, a pretrained checkpoint."""
    import torch

    ckpt = tmp_path / "epoch_20.pth"
    torch.save({"meta": {"epoch": 20}, "state_dict": {
        "pts_bbox_head.reference_points.weight": torch.rand(4, 3)}}, ckpt)
    space = yaml.safe_load(SPACE.read_text())
    command = space["command"]
    command[0] = python
    command[command.index("--nproc_per_node={num_gpus}")] = "--nproc_per_node=2"
    command[command.index("--max_restarts=0")] = f"--max_restarts={launcher_restarts}"
    space.update(name=name, base_config=str(CMT / space["base_config"]), max_epochs=3,
                 max_failures=max_failures, stop_grace_seconds=5,
                 resources={"cpu": 1, "gpu": 0},
                 tracking={"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": name,
                           "artifact_location": (tmp_path / "mlartifacts").as_uri()})
    space["fixed"].update({"load_from": str(ckpt), "total_epochs": 3})
    space["env"].update(CMT_STANDIN_EPOCH_SECONDS="0.3", CMT_STANDIN_CRASH_AT_EPOCH="2",
                        CMT_STANDIN_CRASH_RANK="1")
    space["search"].update(num_trials=len(enqueue), concurrency=1, enqueue=enqueue)
    # the stand-in has no real network for the probe to build: its own builder stands in
    space["preflight"]["builder"] = "projects.mmdet3d_plugin.probe:build"
    space["pruner"] = {"type": "median", "warmup_epochs": 0, "startup_trials": 1}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    return path


def cli_env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: sweeps under ``tmp_path/runs``, no PYTHONPATH of ours."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["AQR_SWEEP_ROOT"] = str(tmp_path / "runs")
    return env


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=CMT, env=cli_env(tmp_path),
                          capture_output=True, text=True, timeout=280)


def leftovers(tmp_path: Path) -> list[str]:
    """This test's trial processes still alive: any that trains under its sweep folder, or the
    stand-in's train.py launched from it."""
    out = [f"{p.pid} {p.cmdline()}" for p in processes_under(tmp_path)]
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if "tools/train.py" in (proc.info["cmdline"] or []) and \
                    str(tmp_path) in " ".join(proc.info["cmdline"] or []):
                out.append(f"{proc.pid} {proc.info['cmdline']}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out
