"""The training-environment runtime on real mmcv 1.x (1.7.2, built pure Python: the README's test
command installs it): the schedule hook inside ``EpochBasedRunner`` on a tiny model, an lr_mult
schedule on param groups built by mmcv's ``DefaultOptimizerConstructor`` (resumed too), the
scheduled values and the AQR diagnostics in mmcv's ``.log.json`` and text log, read back by the
sweep's log follower, and the trial config file the sweep writes loaded by mmcv's ``Config``.
``mmcv.runner`` imports torchvision, which no build imports beside torch 2.13.0+cpu: an empty one
stands in while it imports (tests/kit/mmcv1.py)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tests.kit.mmcv1 import import_mmcv1_runner

runner_module = import_mmcv1_runner()  # before the hook registers itself: with mmcv 1.x
import mmcv  # noqa: E402
from mmcv.parallel import MMDataParallel  # noqa: E402
from mmcv.runner import HOOKS, EpochBasedRunner, EvalHook, build_optimizer  # noqa: E402
from mmcv.utils import get_logger  # noqa: E402

from aqr.runtime.hook import register_with_mmcv  # noqa: E402

register_with_mmcv()  # whatever imported the hook first in this process

CUSTOM_KEYS = {"aqr_weight_generator": dict(lr_mult=1.0),
               "attention_bias_generator": dict(lr_mult=1.0),
               "attention_bias_generator.bias_scale": dict(lr_mult=0.1)}


class BiasGenerator(nn.Module):
    """Like the fork's AttentionBiasGenerator: a learned scale, clamped, and a bias out."""

    def __init__(self):
        super().__init__()
        self.bias_scale = nn.Parameter(torch.tensor([2.5]))
        self.min_scale, self.max_scale = 0.5, 5.0

    def forward(self, w):
        return w * self.bias_scale.clamp(self.min_scale, self.max_scale)


class Modulator(nn.Module):
    def __init__(self):
        super().__init__()
        self.residual_weight = 0.7


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.aqr_weight_generator = nn.Linear(8, 2)
        self.attention_bias_generator = BiasGenerator()
        self.feature_modulator = Modulator()
        self.cls = nn.Linear(8, 1)


class TinyDetector(nn.Module):
    """mmdet 2.x style: ``train_step`` returns loss, log_vars and num_samples."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(4, 8)
        self.pts_bbox_head = Head()

    def predict(self, x):
        head = self.pts_bbox_head
        feat = torch.relu(self.backbone(x))
        bias = head.attention_bias_generator(torch.sigmoid(head.aqr_weight_generator(feat)))
        r = head.feature_modulator.residual_weight
        return head.cls(feat * (r + (1 - r) * bias[:, :1])).squeeze(-1)

    def forward(self, x, y, return_loss=True):
        return [dict(pred=p.item(), target=t.item()) for p, t in zip(self.predict(x), y,
                                                                      strict=True)]

    def train_step(self, data, optimizer):
        loss = nn.functional.mse_loss(self.predict(data["x"]), data["y"])
        return dict(loss=loss, log_vars=OrderedDict(loss=loss.item()), num_samples=len(data["x"]))


class Toy(Dataset):
    def __init__(self, n):
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x.sum(1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(x=self.x[i], y=self.y[i])

    def evaluate(self, results, logger=None):
        err = sum(abs(r["pred"] - r["target"]) for r in results) / len(results)
        return {"pts_bbox_NuScenes/NDS": 1.0 / (1.0 + err)}


HOOK = dict(type="AQRScheduleHook", interval=1,
            attributes={"pts_bbox_head.feature_modulator.residual_weight":
                        dict(type="cosine", start=0.7, end=0.4, warmup_epochs=1, total_epochs=3)},
            lr_mult={"attention_bias_generator.bias_scale":
                     dict(type="staged", values=[0.1, 0.05], boundaries=[1])},
            attention_bias="pts_bbox_head.attention_bias_generator",
            custom_keys=list(CUSTOM_KEYS))


def train(work_dir: Path, epochs: int, resume: bool = False, hook_cfg: dict | None = None):
    """An mmdet-2.x-style training: build_optimizer, EpochBasedRunner, a step lr schedule,
    TextLoggerHook, the custom hook from mmcv's HOOKS, EvalHook; optionally resumed."""
    torch.manual_seed(0)
    model = TinyDetector()
    optimizer = build_optimizer(model, dict(type="SGD", lr=0.01,
                                            paramwise_cfg=dict(custom_keys=CUSTOM_KEYS)))
    work_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d_%H%M%S") + f"{time.time_ns() % 1000:03d}"
    logger = get_logger(f"mmcv1_{stamp}", log_file=str(work_dir / f"{stamp}.log"),
                        log_level=logging.INFO)
    runner = EpochBasedRunner(MMDataParallel(model), optimizer=optimizer, work_dir=str(work_dir),
                              logger=logger, meta=dict(seed=0), max_epochs=epochs)
    runner.timestamp = stamp
    runner.register_training_hooks(dict(policy="step", step=[2]),
                                   optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=1),
                                   log_config=dict(interval=1, hooks=[dict(type="TextLoggerHook")]))
    runner.register_hook(mmcv.build_from_cfg(dict(hook_cfg or HOOK), HOOKS), priority="NORMAL")
    runner.register_hook(EvalHook(DataLoader(Toy(8), batch_size=4), interval=1), priority="LOW")
    if resume:
        runner.resume(str(work_dir / "latest.pth"))
    runner.run([DataLoader(Toy(12), batch_size=4)], [("train", 1)])
    return runner, work_dir / f"{stamp}.log"


def group_lr(runner, name: str) -> float:
    model = runner.model.module
    param = dict(model.named_parameters())[name]
    return next(g["lr"] for g in runner.optimizer.param_groups if g["params"][0] is param)


def test_the_hook_registers_with_mmcv1_s_hooks_once_mmcv_runner_is_imported():
    code = ("from tests.kit.mmcv1 import import_mmcv1_runner; import_mmcv1_runner(); "
            "import aqr.runtime.hook as h; from mmcv.runner import HOOKS; "
            "print(h.REGISTERED_WITH, HOOKS.get('AQRScheduleHook').__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert "['mmengine', 'mmcv'] aqr.runtime.hook" in done.stdout, done.stderr[-2000:]


def test_schedules_and_diagnostics_reach_mmcv1_logs_and_the_follower(tmp_path):
    from sweeps.logs import read_log

    runner, text_log = train(tmp_path / "w", epochs=3)
    json_log = Path(f"{text_log}.json")
    rows = [json.loads(line) for line in json_log.read_text().splitlines()]
    train_rows = [r for r in rows if r.get("mode") == "train"]
    by_epoch = {r["epoch"]: r for r in train_rows}
    assert [round(by_epoch[e]["aqr/residual_weight"], 4) for e in (1, 2, 3)] == [0.7, 0.7, 0.55]
    assert [by_epoch[e]["aqr/lr_mult/attention_bias_generator.bias_scale"] for e in (1, 2)] == [
        0.1, 0.05]
    assert {"aqr/bias_scale", "aqr/attn_bias_abs_mean", "aqr/attn_bias_frac_clamped",
            "aqr/bias_scale_at_limit"} <= set(by_epoch[1])
    assert "aqr/residual_weight: 0.5500" in text_log.read_text()
    records = read_log(json_log)                       # what the sweep's follower hands on
    assert [r.epoch for r in records] == [1, 2, 3]
    assert [round(r.diagnostics["aqr/residual_weight"], 4) for r in records] == [0.7, 0.7, 0.55]
    # the lr_mult moved the learning rate of the group mmcv's constructor gave that key, only
    bias = group_lr(runner, "pts_bbox_head.attention_bias_generator.bias_scale")
    assert bias == pytest.approx(0.01 * 0.05 * 0.1)   # base lr, its mult, the step schedule
    assert group_lr(runner, "pts_bbox_head.aqr_weight_generator.weight") == pytest.approx(0.001)


def test_a_resumed_run_keeps_the_scheduled_lr_mult(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # mmcv 1.7's torch.load
    train(tmp_path / "w", epochs=2)                              # epoch 1 switched 0.1 -> 0.05
    resumed, _ = train(tmp_path / "w", epochs=3, resume=True)
    assert group_lr(resumed, "pts_bbox_head.attention_bias_generator.bias_scale") == \
        pytest.approx(0.01 * 0.05 * 0.1)                         # not 0.025: applied once


def test_a_key_mmcv1_s_constructor_shadows_is_refused(tmp_path):
    shadowed = {**HOOK, "lr_mult": {"attention_bias_generator": 0.5}}
    with pytest.raises(ValueError, match=r"lr_mult keys \['attention_bias_generator'\] win no "):
        train(tmp_path / "w", epochs=1, hook_cfg=shadowed)


def test_the_trial_config_the_sweep_writes_loads_in_mmcv1_config(tmp_path):
    from sweeps.config.base import load_base_config
    from sweeps.config.writer import write_trial_config
    from sweeps.space import SweepSpace

    base = tmp_path / "base.py"
    base.write_text("optimizer = dict(type='AdamW', lr=2e-4, paramwise_cfg=dict(custom_keys={\n"
                    "    'attention_bias_generator.bias_scale': dict(lr_mult=0.1),\n"
                    "    'transformer': dict(lr_mult=0.5)}))\n"
                    "model = dict(pts_bbox_head=dict(attention_bias_config=dict(window_size=8)))\n")
    space = SweepSpace.model_validate({
        "name": "m", "base_config": str(base), "max_epochs": 2, "parameters": {
            "scale_lr": {"type": "float", "low": 0.01, "high": 1.0, "targets": [
                "optimizer.paramwise_cfg.custom_keys['attention_bias_generator.bias_scale']"
                ".lr_mult"]},
            "window": {"type": "int", "low": 3, "high": 15, "targets": [
                "model.pts_bbox_head.attention_bias_config.window_size"]}}})
    path = write_trial_config(space, load_base_config(space, base), {"scale_lr": 0.3, "window": 5},
                              tmp_path / "trial")
    cfg = mmcv.Config.fromfile(str(path))
    keys = cfg.optimizer.paramwise_cfg.custom_keys
    assert keys["attention_bias_generator.bias_scale"].lr_mult == 0.3
    assert keys["transformer"].lr_mult == 0.5 and cfg.optimizer.lr == 2e-4
    assert cfg.model.pts_bbox_head.attention_bias_config.window_size == 5


def test_list_elements_and_sections_over_none_load_in_mmcv1_config(tmp_path):
    """What mmcv 1.x's own Config reads from the trial config: a key into a list (the whole list
    written), a key created under a section the base sets to None (``_delete_``), over a base
    that imports a module at its top (which mmengine alone took for its lazy format)."""
    from sweeps.config.base import load_base_config
    from sweeps.config.writer import write_trial_config
    from sweeps.space import SweepSpace

    base = tmp_path / "base.py"
    base.write_text("import math\nmodel = dict(pts_bbox_head=dict(renderer_config=None, "
                    "tasks=[dict(num_class=1), dict(num_class=2)], scale=math.sqrt(4)))\n")
    space = SweepSpace.model_validate({
        "name": "m", "base_config": str(base), "max_epochs": 2, "parameters": {
            "clamp": {"type": "float", "low": 1.5, "high": 3.0, "create": True, "targets": [
                "model.pts_bbox_head.renderer_config.max_weight_clamp"]},
            "classes": {"type": "int", "low": 1, "high": 4, "targets": [
                "model.pts_bbox_head.tasks.1.num_class"]}}})
    path = write_trial_config(space, load_base_config(space, base), {"clamp": 2.5, "classes": 3},
                              tmp_path / "trial")
    head = mmcv.Config.fromfile(str(path)).model.pts_bbox_head
    assert head.renderer_config == {"max_weight_clamp": 2.5} and head.scale == 2.0
    assert head.tasks == [{"num_class": 1}, {"num_class": 3}]
