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


def make_runner(work_dir: Path, max_epochs: int = 3, resume: bool = False,
                train_cfg: dict | None = None, **options) -> Runner:
    return Runner(**options,
        model=TinyAQR(), work_dir=str(work_dir), resume=resume,
        # mmengine names its global visualizer/logger by experiment: keep runners apart
        experiment_name=f"{work_dir.name}-{max_epochs}-{resume}",
        train_dataloader=dict(dataset=data(), sampler=dict(type="DefaultSampler", shuffle=False),
                              batch_size=1, collate_fn=collate),
        train_cfg=train_cfg or dict(by_epoch=True, max_epochs=max_epochs),
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

    with pytest.raises(ValueError, match="interval must be an int >= 1, but got interval=0"):
        ScheduleDriver(interval=0)
    model = TinyAQR()
    with pytest.raises(AttributeError, match="has no 'feature_modulatr'.*children: "
                                             "data_preprocessor, aqr_weight_generator"):
        ScheduleDriver(attributes={"feature_modulatr.residual_weight": 0.5}).start(model, None)
    optimizer = torch.optim.SGD([{"params": [p]} for p in model.parameters()], lr=0.1)
    with pytest.raises(ValueError, match=r"lr_mult keys \['decoder'\] win no parameter"):
        ScheduleDriver(lr_mult={"decoder": 0.5}).start(model, optimizer)


class Knobs(nn.Module):
    """Things a hook's path can name: a number, a method, a parameter, a module, a matrix."""

    def __init__(self):
        super().__init__()
        self.weight_scale = 0.5
        self.gate = nn.Parameter(torch.ones(1))
        self.proj = nn.Linear(2, 2)
        self.register_buffer("table", torch.zeros(3, 3))
        self.missing = None


@pytest.mark.parametrize("kwargs, error", [
    (dict(attributes={"forward": 0.5}), "'forward' is a method; schedule a plain number"),
    (dict(attributes={"gate": 0.5}), r"'gate' is an nn.Parameter \(trained, not set\)"),
    (dict(attributes={"proj": 0.5}), "'proj' is Linear; schedule a plain number"),
    (dict(watch=["table"]), "'table' is a tensor of 9 elements; watch a plain number"),
    (dict(watch=["missing"]), "'missing' is NoneType; watch a plain number"),
    (dict(watch="weight_scale"), "watch must be a list of paths, but got the string"),
    (dict(attention_bias="weight_scale"), "attention_bias='weight_scale' is a float; name the"),
    (dict(attributes={"weight_scale": float("nan")}),
     r"attributes\['weight_scale'\]: value must be a finite number, but got value=nan"),
    (dict(attributes={"weight_scale": {"type": "cosine", "start": 0.7, "end": 0.4,
                                       "warmup_epochs": float("nan")}}),
     r"attributes\['weight_scale'\]: warmup_epochs must be a finite number"),
    (dict(attributes={"weight_scale": {"type": "staged", "values": [0.5, None],
                                       "boundaries": [2]}}),
     r"attributes\['weight_scale'\]: a stage's value must be a number, but got"),
    (dict(attributes={"weight_scale": {"type": "staged", "stages": [[0, 1.0]],
                                       "values": [0.5]}}),
     "give stages, or values and boundaries, not both"),
    (dict(attributes={"weight_scale": {"type": "cosine", "start": "0.7x", "end": 0.4}}),
     r"attributes\['weight_scale'\]: start must be a number, but got start='0.7x'"),
    (dict(attributes={"weight_scale": [0.7, 0.4]}),
     r"attributes\['weight_scale'\]: a schedule is a number or a dict with a type"),
    (dict(attributes=["weight_scale"]), "attributes must be a dict of schedules by path or key"),
    (dict(lr_mult={"proj": -0.5}), r"lr_mult\['proj'\]: a multiplier must be >= 0, but the "
                                   "schedule reaches -0.5"),
    (dict(interval="50"), "interval must be an int >= 1, but got interval='50'"),
    (dict(by_epoch="False"), "by_epoch must be true or false, but got by_epoch='False'"),
], ids=["method", "parameter", "module", "matrix", "none", "watch-string", "bias-not-module",
        "nan", "nan-warmup", "none-stage", "stages-and-values", "not-a-number", "list-spec",
        "list-attributes", "negative-lr-mult", "string-interval", "string-by-epoch"])
def test_a_hook_setting_that_cannot_work_is_refused_before_training_naming_it(kwargs, error):
    from aqr.runtime.hook import ScheduleDriver

    model = Knobs()
    optimizer = torch.optim.SGD([{"params": list(model.proj.parameters()), "initial_lr": 0.1},
                                 {"params": [model.gate], "initial_lr": 0.1}], lr=0.1)
    with pytest.raises((ValueError, TypeError), match=error):
        ScheduleDriver(custom_keys=["proj"], **kwargs).start(model, optimizer)


def test_a_multiplier_thawed_from_0_takes_the_lr_schedule_s_factor_from_another_key():
    from aqr.runtime.hook import ScheduleDriver

    model = Knobs()
    optimizer = torch.optim.SGD([{"params": list(model.proj.parameters()), "initial_lr": 0.0},
                                 {"params": [model.gate], "initial_lr": 0.1}], lr=0.1)
    driver = ScheduleDriver(lr_mult={"proj": {"type": "staged", "values": [0.0, 0.5],
                                              "boundaries": [1]}}, custom_keys=["proj", "gate"])
    driver.start(model, optimizer)
    for group in optimizer.param_groups:   # the lr schedule decayed by 10 meanwhile
        group["lr"] = group["initial_lr"] * 0.1
    assert driver.apply(model, optimizer, 1)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 * 0.1)


def test_a_schedule_by_epoch_on_an_iteration_loop_is_refused(tmp_path):
    runner = make_runner(tmp_path, train_cfg=dict(by_epoch=False, max_iters=4))
    with pytest.raises(ValueError, match="by_epoch=True, and the IterBasedTrainLoop counts "
                                         "iterations only"):
        runner.train()


def test_an_lr_mult_key_whose_parameters_share_a_group_with_others_is_refused():
    from aqr.runtime.hook import ScheduleDriver

    model = Knobs()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)   # one group: no paramwise_cfg
    with pytest.raises(ValueError, match=r"lr_mult keys \['proj'\] share a param group with "
                                         "parameters of other keys or of none"):
        ScheduleDriver(lr_mult={"proj": 0.5}).start(model, optimizer)


def test_the_scheduled_lr_mult_keeps_mmengine_s_auto_scaled_lr(tmp_path):
    """auto_scale_lr halves every group's lr (batch 1 of a base 2) and leaves the optimizer's
    default lr at 0.1: the multiplier 0.5 -> 0.25 at epoch 1 keeps the halving."""
    runner = make_runner(tmp_path, max_epochs=2,
                         auto_scale_lr=dict(enable=True, base_batch_size=2))
    runner.train()
    assert generator_lr(runner) == pytest.approx(0.1 * 0.5 * 0.25)
