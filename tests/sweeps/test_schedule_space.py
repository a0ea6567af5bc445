"""Schedules as searchable knobs: the space's ``schedules`` section, its targets and the checks
that searched values keep each schedule valid; the trial config and the exported config get
the schedules as ``AQRScheduleHook``, the base config's own hooks kept."""

from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml
from mmengine.config import Config

from sweeps.config.base import load_base_config
from sweeps.config.overrides import flat_overrides
from sweeps.config.writer import config_text
from sweeps.errors import SpaceError
from sweeps.space import load_space

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "search_spaces" / "guide_schedules.yaml"
RESIDUAL = "pts_bbox_head.feature_modulator.residual_weight"
CLAMP = "pts_bbox_head.weight_renderer.max_weight_clamp"


def enqueued(space, name: str) -> dict:
    return next(p.params for p in space.search.enqueue if p.name == name)


def hook_of(overrides: dict) -> dict:
    return next(h for h in overrides["custom_hooks"] if h["type"] == "AQRScheduleHook")


def test_each_enqueued_plan_becomes_the_hook_the_base_hooks_kept():
    space = load_space(GUIDE)
    base = load_base_config(space, GUIDE)
    scheme_c = hook_of(flat_overrides(space, enqueued(space, "scheme_c"), base))
    assert scheme_c["attributes"][RESIDUAL] == {"type": "cosine", "start": 0.7, "end": 0.4,
                                                "warmup_epochs": 1.5, "total_epochs": 6.0}
    assert scheme_c["attributes"][CLAMP] == {"type": "constant", "value": 1.5}
    assert scheme_c["lr_mult"] == {"aqr_weight_generator": {"type": "constant", "value": 0.5}}
    assert scheme_c["interval"] == 10 and CLAMP in scheme_c["watch"]   # the base's hook, kept
    assert "aqr_weight_generator" in scheme_c["custom_keys"]
    staged = hook_of(flat_overrides(space, enqueued(space, "three_stage"), base))
    assert staged["attributes"][CLAMP] == {"type": "staged", "values": [3.0, 2.0, 1.5],
                                           "boundaries": [3.0, 5.0]}
    assert staged["lr_mult"]["aqr_weight_generator"]["values"] == [0.5, 0.3, 0.1]
    # an inactive parameter (when) leaves its schedule alone: the cosine's numbers stay the space's
    constants = flat_overrides(space, enqueued(space, "constants"), base)
    assert hook_of(constants)["attributes"][RESIDUAL] == {"type": "constant", "value": 0.7}
    assert "aqr.runtime.hook" in constants["custom_imports"]["imports"]
    assert not any(k.startswith("schedules") for k in constants)


def test_the_trial_config_loads_and_builds_the_hook(tmp_path):
    from mmengine.registry import HOOKS

    import aqr.runtime.hook  # noqa: F401  (registers the hook, as custom_imports does)

    space = load_space(GUIDE)
    base = load_base_config(space, GUIDE)
    out = tmp_path / "trial_config.py"
    out.write_text(config_text(base, flat_overrides(space, enqueued(space, "scheme_c"), base),
                               out, ""))
    cfg = Config.fromfile(str(out))
    assert [h["type"] for h in cfg.custom_hooks] == ["AQRScheduleHook"]
    hook = HOOKS.build(cfg.custom_hooks[0])
    assert hook.driver is not None


def test_export_best_writes_the_winning_schedule(tmp_path):
    from reports.export import export_best
    from reports.sweep_data import SweepData
    from sweeps.run.samplers import distributions
    from sweeps.store.sweep_dir import SweepDir, SweepRecord

    space = load_space(GUIDE)
    params = enqueued(space, "three_stage")
    study = optuna.create_study(direction="maximize")
    dists = distributions(space)
    study.add_trial(optuna.trial.create_trial(params=params, value=0.3, distributions={
        k: dists[k] for k in params}))
    trials = pd.DataFrame([{"trial": 0, "label": "three_stage", "state": "completed",
                            "value": 0.3, "work_dir": str(tmp_path)}])
    data = SweepData("g", space, SweepRecord("g", str(GUIDE), "sqlite:///x.db", "1", "p"),
                     SweepDir("g", tmp_path), study, trials, pd.DataFrame())
    out = tmp_path / "best.py"
    export_best(data, out)
    hook = Config.fromfile(str(out)).custom_hooks[0]
    assert hook["attributes"][RESIDUAL] == {"type": "staged", "values": [0.7, 0.5, 0.4],
                                            "boundaries": [3.0, 5.0]}


def space_with(tmp_path, schedules: dict, parameters: dict) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({
        "name": "s", "base_config": str(REPO / "aqr/configs/mini_cmt_aqr.py"),
        "max_epochs": 6, "schedules": schedules, "parameters": parameters}))
    return path


RES = {"attribute": RESIDUAL, "kind": "cosine",
       "cosine": {"start": 0.7, "end": 0.4, "warmup_epochs": 1, "total_epochs": 6},
       "staged": {"values": [0.7, 0.5], "boundaries": [3]}}


@pytest.mark.parametrize(("schedules", "parameters", "message"), [
    ({"r": RES}, {"k": {"type": "categorical", "choices": ["cosine", "linear"],
                        "targets": ["schedules.r.kind"]}},
     "parameters.k.choices: 'linear' is not a schedule kind; kinds: constant, cosine, staged"),
    ({"r": RES}, {"k": {"type": "categorical", "choices": ["cosine", "constant"],
                        "targets": ["schedules.r.kind"]}},
     "schedule 'r' as constant: needs value; give schedules.r.constant in full"),
    ({"r": RES}, {"w": {"type": "float", "low": 0.0, "high": 6.0,
                        "targets": ["schedules.r.cosine.warmup_epochs"]}},
     "parameters.w: schedule 'r' as cosine: needs 0 <= warmup_epochs < total_epochs, but got "
     "warmup_epochs=6.0, total_epochs=6.0 (at w=6.0); narrow the ranges"),
    ({"r": {**RES, "kind": "staged"}}, {"b": {"type": "float", "low": 1.0, "high": 8.0,
                                              "targets": ["schedules.r.staged.boundaries.0"]}},
     None),
    ({"r": RES}, {"v": {"type": "float", "low": 0.1, "high": 0.9,
                        "targets": ["schedules.r.staged.values.2"]}},
     "staged.values of schedule 'r' has 2 numbers; give them all in the schedules section"),
    ({"r": RES}, {"v": {"type": "float", "low": 0.1, "high": 0.9,
                        "targets": ["schedules.q.kind"]}},
     "no schedule named 'q'; schedules: ['r']"),
    ({"r": {**RES, "lr_mult": "aqr_weight_generator"}}, {},
     "give exactly one of attribute"),
])
def test_a_schedule_that_searched_values_could_break_is_refused(tmp_path, schedules, parameters,
                                                                 message):
    path = space_with(tmp_path, schedules, parameters or {
        "g": {"type": "float", "low": 0.5, "high": 2.0,
              "targets": ["model.pts_bbox_head.renderer_config.gaussian_sigma"]}})
    if message is None:  # boundaries beyond the run are fine: the last stage never comes
        load_space(path)
        return
    with pytest.raises(SpaceError) as err:
        load_space(path)
    assert message in str(err.value), str(err.value)
