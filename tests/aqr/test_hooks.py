"""The schedule hook on a real mmengine Runner with a tiny AQR model: attributes by their dotted
path, an lr_mult by its custom key (surviving a resume), the diagnostics in scalars.json."""

import json
from pathlib import Path

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

import aqr.runtime.hook  # noqa: F401  (registers AQRScheduleHook)
from aqr.modulator import FeatureModulator
from aqr.renderer import WeightRenderer


class TinyAQR(BaseModel):
    def __init__(self):
        super().__init__()
        self.aqr_weight_generator = nn.Linear(2, 1)
        self.weight_renderer = WeightRenderer(bev_feature_shape=(6, 6), max_weight_clamp=1.5)
        self.feature_modulator = FeatureModulator(residual_weight=0.7)
        self.task_heads = nn.Conv2d(2, 1, 1)

    def forward(self, inputs, targets=None, mode="loss"):
        weights = self.aqr_weight_generator(inputs["q"]).squeeze(-1).sigmoid() * 4
        wmap = self.weight_renderer.render_bev_weights(weights, inputs["pos"])
        out = self.task_heads(self.feature_modulator(inputs["f"], wmap))
        return {"loss": (out - 1).pow(2).mean()}


def data():
    g = torch.Generator().manual_seed(0)
    return [{"inputs": {"q": torch.randn(2, 5, 2, generator=g), "pos": torch.full((2, 5, 2), 3.0),
                        "f": torch.randn(2, 2, 6, 6, generator=g)}} for _ in range(4)]


def collate(batch):
    return batch[0]


def make_runner(work_dir: Path, max_epochs: int = 3, resume: bool = False) -> Runner:
    return Runner(
        model=TinyAQR(), work_dir=str(work_dir), resume=resume,
        # mmengine names its global visualizer/logger by experiment: keep runners apart
        experiment_name=f"{work_dir.name}-{max_epochs}-{resume}",
        train_dataloader=dict(dataset=data(), sampler=dict(type="DefaultSampler", shuffle=False),
                              batch_size=1, collate_fn=collate),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1),
                           paramwise_cfg=dict(custom_keys={
                               "aqr_weight_generator": dict(lr_mult=0.5)})),
        custom_hooks=[dict(type="AQRScheduleHook", interval=2, attributes={
                               "feature_modulator.residual_weight":
                                   {"type": "staged", "stages": [[0, 0.7], [2, 0.4]]},
                               "weight_renderer.max_weight_clamp":
                                   {"type": "staged", "values": [2.5, 1.5], "boundaries": [1]}},
                           lr_mult={"aqr_weight_generator": {"type": "staged",
                                                             "stages": [[0, 0.5], [1, 0.25]]}})],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2)),
        log_processor=dict(by_epoch=True),
    )


@pytest.fixture
def runner(tmp_path: Path):
    return make_runner(tmp_path)


def generator_lr(runner: Runner) -> float:
    named = dict(runner.model.named_parameters())
    group = next(g for g in runner.optim_wrapper.optimizer.param_groups
                 if g["params"][0] is named["aqr_weight_generator.weight"])
    return group["lr"]


def test_resumed_run_keeps_the_scheduled_lr_mult(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    make_runner(tmp_path, max_epochs=2).train()   # epoch 1 switched lr_mult 0.5 -> 0.25
    resumed = make_runner(tmp_path, max_epochs=3, resume=True)
    resumed.train()
    assert generator_lr(resumed) == pytest.approx(0.025)  # not 0.0125 (applied twice)


def test_schedules_applied_and_diagnostics_logged(runner):
    lrs = []


    orig = runner.train_loop.run_epoch

    def run_epoch():
        orig()
        groups = runner.optim_wrapper.optimizer.param_groups
        named = dict(runner.model.named_parameters())
        gen = [g["lr"] for g in groups if g["params"][0] is named["aqr_weight_generator.weight"]]
        head = [g["lr"] for g in groups if g["params"][0] is named["task_heads.weight"]]
        lrs.append((gen[0], head[0], runner.model.feature_modulator.residual_weight,
                    runner.model.weight_renderer.max_weight_clamp))

    runner.train_loop.run_epoch = run_epoch
    runner.train()
    assert lrs == [(pytest.approx(0.05), 0.1, 0.7, 2.5), (pytest.approx(0.025), 0.1, 0.7, 1.5),
                   (pytest.approx(0.025), 0.1, 0.4, 1.5)]
    scalars = Path(runner.log_dir, "vis_data", "scalars.json").read_text().splitlines()
    records = [json.loads(line) for line in scalars]
    last = records[-1]
    assert last["aqr/residual_weight"] == 0.7 or last["aqr/residual_weight"] == 0.4
    assert last["aqr/bev_post_max"] <= 1.5 + 1e-6
    assert "aqr/bev_pre_max" in last and "aqr/bev_relative_change" in last
    assert "aqr/bev_frac_clamped" in last and "aqr/lr_mult/aqr_weight_generator" in last


def test_bad_interval_path_and_key_are_refused_naming_them():
    from aqr.runtime.hook import ScheduleDriver

    with pytest.raises(ValueError, match="interval must be >= 1"):
        ScheduleDriver(interval=0)
    model = TinyAQR()
    with pytest.raises(AttributeError, match="has no 'feature_modulatr'.*children: "
                                             "data_preprocessor, aqr_weight_generator"):
        ScheduleDriver(attributes={"feature_modulatr.residual_weight": 0.5}).start(model, None, [])
    optimizer = torch.optim.SGD([{"params": [p]} for p in model.parameters()], lr=0.1)
    with pytest.raises(ValueError, match=r"lr_mult keys \['decoder'\] win no parameter"):
        ScheduleDriver(lr_mult={"decoder": 0.5}).start(model, optimizer, [])
