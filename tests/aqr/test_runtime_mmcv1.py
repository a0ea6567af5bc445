"""The training-environment runtime on real mmcv 1.x (1.7.2, built pure Python: the README's test
command installs it): the schedule hook inside ``EpochBasedRunner`` on a tiny model, an lr_mult
schedule on param groups built by mmcv's ``DefaultOptimizerConstructor`` (resumed too), the
scheduled values and the AQR diagnostics in mmcv's ``.log.json`` and text log, read back by the
sweep's log follower, and the trial config file the sweep writes loaded by mmcv's ``Config``.
The training is tests/kit/mmcv1_training.py (test_runtime_py38.py runs it in Python 3.8 too).
``mmcv.runner`` imports torchvision, which no build imports beside torch 2.13.0+cpu: an empty one
stands in while it imports (tests/kit/mmcv1.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mmcv
import pytest

from tests.kit.mmcv1_training import HOOK, LrRecorder, group_lr, train


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


BIAS = "pts_bbox_head.attention_bias_generator.bias_scale"


@pytest.mark.parametrize("schedule, lr_config, priority, expected", [
    # the config says 0.1, the schedule 0.3 then 0.05: in force from the warm-up's first iteration
    (dict(type="staged", values=[0.3, 0.05], boundaries=[1]),
     dict(policy="step", step=[2], warmup="linear", warmup_iters=2, warmup_ratio=0.5), "NORMAL",
     [0.0015, 0.00225, 0.003, 0.0005, 0.0005, 0.0005, 0.00005, 0.00005, 0.00005]),
    # the hook before mmcv's lr hook (which makes its base list in its own before_run)
    (dict(type="staged", values=[0.3, 0.05], boundaries=[1]), None, "HIGHEST",
     [0.003] * 3 + [0.0005] * 3 + [0.00005] * 3),
    # frozen, then thawed after the step decay: the decay is kept
    (dict(type="staged", values=[0.0, 0.1], boundaries=[2]), dict(policy="step", step=[1]),
     "NORMAL", [0.0] * 6 + [0.0001] * 3),
    # a warm-up counted in epochs, the hook before the lr hook
    (dict(type="staged", values=[0.3, 0.05], boundaries=[1]),
     dict(policy="step", step=[2], warmup="linear", warmup_iters=1, warmup_by_epoch=True,
          warmup_ratio=0.5), "HIGHEST",
     [0.0015, 0.002, 0.0025, 0.0005, 0.0005, 0.0005, 0.00005, 0.00005, 0.00005]),
], ids=["under-a-warm-up", "hook-before-the-lr-hook", "thawed-after-a-decay",
        "before-a-warm-up-in-epochs"])
def test_the_scheduled_lr_mult_is_in_force_at_every_iteration(tmp_path, schedule, lr_config,
                                                                priority, expected):
    recorder = LrRecorder(BIAS)
    train(tmp_path / "w", epochs=3, hook_cfg={**HOOK, "lr_mult": {
        "attention_bias_generator.bias_scale": schedule}}, lr_config=lr_config,
        priority=priority, recorder=recorder)
    assert recorder.lrs == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_a_schedule_by_epoch_on_an_iteration_runner_is_refused(tmp_path):
    from mmcv.runner import IterBasedRunner
    from mmcv.utils import get_logger

    from tests.kit.mmcv1_training import TinyDetector

    runner = IterBasedRunner(TinyDetector(), optimizer=None, work_dir=str(tmp_path),
                             logger=get_logger("iterations"), max_iters=4)
    hook = mmcv.build_from_cfg(dict(HOOK), mmcv.runner.HOOKS)
    with pytest.raises(ValueError, match="by_epoch=True, and the IterBasedRunner counts "
                                         "iterations only"):
        hook.before_run(runner)


def test_an_lr_mult_key_longer_config_keys_partly_win_is_refused_without_custom_keys(tmp_path):
    """Without the optimizer's custom keys the hook cannot see that longer keys win some of
    'pts_bbox_head''s parameters ('attention_bias_generator.bias_scale' x0.1, others x1): their
    groups' learning rates differ, and it refuses rather than set them all alike."""
    hook = {k: v for k, v in HOOK.items() if k != "custom_keys"}
    hook["lr_mult"] = {"pts_bbox_head": 0.5}
    with pytest.raises(ValueError, match=r"lr_mult key 'pts_bbox_head': the optimizer "
                                         r"gave its parameters different learning rates \(x0.1 to "
                                         r"x1 the base\)"):
        train(tmp_path / "w", epochs=1, hook_cfg=hook)


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
