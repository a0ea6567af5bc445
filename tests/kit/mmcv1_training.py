"""An mmdet-2.x-style training on real mmcv 1.x: a tiny detector with the fork's AQR module names,
mmcv's ``build_optimizer`` with custom keys, ``EpochBasedRunner`` with a step lr schedule, the
text logger, the AQR schedule hook built from mmcv's ``HOOKS`` and an ``EvalHook``. Python 3.8
code: the runtime's tests run it here and in the Python 3.8 training environment
(``python -m tests.kit.mmcv1_training WORK_DIR --epochs N [--resume]``, which prints the
learning rates the hook left as JSON)."""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tests.kit.mmcv1 import import_mmcv1_runner

import_mmcv1_runner()  # before the hook registers itself: with mmcv 1.x
import mmcv  # noqa: E402
from mmcv.parallel import MMDataParallel  # noqa: E402
from mmcv.runner import HOOKS, EpochBasedRunner, EvalHook, Hook, build_optimizer  # noqa: E402
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
        return [dict(pred=p.item(), target=t.item()) for p, t in zip(self.predict(x), y)]

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


class LrRecorder(Hook):
    """Every iteration's learning rate of one parameter's group, as the optimizer stepped it."""

    def __init__(self, name: str):
        self.name, self.lrs = name, []

    def after_train_iter(self, runner):
        self.lrs.append(group_lr(runner, self.name))


def train(work_dir: Path, epochs: int, resume: bool = False, hook_cfg: dict | None = None,
          lr_config: dict | None = None, priority: str = "NORMAL", recorder: Hook | None = None):
    """An mmdet-2.x-style training: build_optimizer, EpochBasedRunner, an lr schedule (by
    default a step at epoch 2), TextLoggerHook, the custom hook from mmcv's HOOKS at
    ``priority``, EvalHook; optionally resumed, optionally recording an lr."""
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
    runner.register_training_hooks(lr_config or dict(policy="step", step=[2]),
                                   optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=1),
                                   log_config=dict(interval=1, hooks=[dict(type="TextLoggerHook")]))
    runner.register_hook(mmcv.build_from_cfg(dict(hook_cfg or HOOK), HOOKS), priority=priority)
    if recorder is not None:
        runner.register_hook(recorder, priority="LOWEST")
    runner.register_hook(EvalHook(DataLoader(Toy(8), batch_size=4), interval=1), priority="LOW")
    if resume:
        runner.resume(str(work_dir / "latest.pth"))
    runner.run([DataLoader(Toy(12), batch_size=4)], [("train", 1)])
    return runner, work_dir / f"{stamp}.log"


def group_lr(runner, name: str) -> float:
    model = runner.model.module
    param = dict(model.named_parameters())[name]
    return next(g["lr"] for g in runner.optimizer.param_groups if g["params"][0] is param)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.kit.mmcv1_training")
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    runner, log = train(args.work_dir, args.epochs, resume=args.resume)
    print("\n" + json.dumps({"log": str(log), "lr": {  # after mmcv's progress bar
        name: group_lr(runner, name) for name in (
            "pts_bbox_head.attention_bias_generator.bias_scale",
            "pts_bbox_head.aqr_weight_generator.weight")}}))


if __name__ == "__main__":
    main()
