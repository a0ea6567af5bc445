"""``python -m aqr.train`` end to end: real subprocesses, real mmengine Runner, the mini task."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.runner import Runner

from aqr.train import build_config, parse_args

CONFIG = str(Path(__file__).resolve().parents[2] / "aqr" / "configs" / "mini_cmt_aqr.py")
SMALL = ["train_dataloader.dataset.num_scenes=24", "val_dataloader.dataset.num_scenes=16",
         "model.pts_bbox_head.num_queries=64", "default_hooks.logger.interval=1",
         "custom_hooks.0.interval=1"]


def train(work_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "aqr.train", CONFIG, "--work-dir", str(work_dir), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def records(work_dir: Path) -> list[list[dict]]:
    runs = sorted(work_dir.glob("*/vis_data/scalars.json"))
    return [[json.loads(line) for line in p.read_text().splitlines()] for p in runs]


@pytest.mark.slow
@pytest.mark.integration
def test_two_epochs_write_nds_map_and_diagnostics_then_resume(tmp_path):
    proc = train(tmp_path, "--cfg-options", "train_cfg.max_epochs=2", *SMALL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (first,) = records(tmp_path)
    val = [r for r in first if "pts_bbox_NuScenes/NDS" in r]
    assert [r["step"] for r in val] == [1, 2]
    for r in val:
        assert 0.0 <= r["pts_bbox_NuScenes/NDS"] <= 1.0
        assert "pts_bbox_NuScenes/mAP" in r and "pts_bbox_NuScenes/mATE" in r
    train_rec = [r for r in first if "loss" in r]
    assert {"aqr/bev_post_max", "aqr/pers_pre_max", "aqr/pers_frac_clamped",
            "aqr/pers_relative_change"} <= set(train_rec[-1])
    assert max(r["aqr/pers_post_max"] for r in train_rec) <= 1.5 + 1e-6

    # --resume continues from epoch 2 instead of starting over
    proc = train(tmp_path, "--resume", "--cfg-options", "train_cfg.max_epochs=3", *SMALL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    second = records(tmp_path)[-1]
    assert [r["step"] for r in second if "pts_bbox_NuScenes/NDS" in r] == [3]
    assert min(r["epoch"] for r in second if "loss" in r) == 3


@pytest.mark.slow
def test_failure_exits_non_zero_with_one_line_reason(tmp_path):
    proc = train(tmp_path, "--cfg-options", "model.pts_bbox_head.num_queries=10")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("aqr.train: error: ValueError: "
                                                           "num_queries must be a square")
    missing = subprocess.run([sys.executable, "-m", "aqr.train", str(tmp_path / "nope.py")],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "config file not found" in missing.stderr


def test_cfg_options_reach_modules_and_param_group_lrs(tmp_path):
    head = "model.pts_bbox_head"
    args = parse_args([CONFIG, "--work-dir", str(tmp_path), "--seed", "3", "--cfg-options",
                       f"{head}.renderer_config.max_weight_clamp=2.5",
                       f"{head}.renderer_config.gaussian_sigma=0.8",
                       f"{head}.modulator_config.residual_weight=0.5",
                       "optim_wrapper.paramwise_cfg.custom_keys.aqr_weight_generator.lr_mult=0.8",
                       *SMALL])
    cfg = build_config(args)
    assert cfg.randomness.seed == 3
    runner = Runner.from_cfg(cfg)
    head_module = runner.model.pts_bbox_head
    assert head_module.weight_renderer.max_weight_clamp == 2.5
    assert head_module.weight_renderer.gaussian_sigma == 0.8
    assert head_module.feature_modulator.residual_weight == 0.5
    optim = runner.build_optim_wrapper(runner.optim_wrapper)
    base = cfg.optim_wrapper.optimizer.lr
    names = {id(p): n for n, p in runner.model.named_parameters()}
    for group in optim.optimizer.param_groups:
        name = names[id(group["params"][0])]
        if "aqr_weight_generator" in name:
            assert group["lr"] == pytest.approx(base * 0.8)
        elif "transformer" in name:
            assert group["lr"] == pytest.approx(base * 0.8)
        elif "reference_points" in name:
            assert group["lr"] == pytest.approx(base * 0.5)
