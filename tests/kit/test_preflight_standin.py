"""Preflight on the CMT stand-in, which reproduces the fork's failures: each is caught, named with
the line that shows it, before any trial; the sound space passes. (``run`` launching nothing after
a failed preflight: tests/aqr/test_runtime_py38.py, where the fork's need for torch 2 is met for
real.)

The stand-in is launched as the fork is (``torch.distributed.launch``, 2 CPU ranks, mmcv-1.x logs);
its knob probe uses the stand-in's own builder (it has no real network to build) and mmcv 1.x's
real ``build_optimizer`` for the lr_mult keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.kit.standin import run_cli, standin_space

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CURRENT = [{"name": "current", "params": "base_config"}]


def space(tmp_path: Path, name: str, edit) -> Path:
    path = standin_space(tmp_path, name, launcher_restarts=0, max_failures=0, enqueue=CURRENT)
    data = yaml.safe_load(path.read_text())
    data["env"].pop("CMT_STANDIN_CRASH_AT_EPOCH")
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def preflight(tmp_path: Path, path: Path):
    proc = run_cli(tmp_path, "preflight", str(path))
    result = tmp_path / "runs" / yaml.safe_load(path.read_text())["name"] / "preflight"
    return proc, json.loads((result / "result.json").read_text())


def test_the_sound_space_passes_with_every_knob_live(tmp_path):
    proc, result = preflight(tmp_path, space(tmp_path, "sound", lambda d: None))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    effects = {t["parameter"]: t["effect"] for t in result["targets"]}
    assert effects == {"bias_scale": "live", "window_size": "live", "use_gaussian_window": "live",
                       "bias_sigma": "live", "aqr_lr_mult": "live", "bias_scale_lr_mult": "live"}
    sigma = next(t for t in result["targets"] if t["parameter"] == "bias_sigma")
    assert sigma["with"] == [[["model", "pts_bbox_head", "attention_bias_config",
                               "use_gaussian_window"], True]]   # probed where it applies
    assert "preflight passed" in proc.stdout


def test_optimizer_and_schedule_knobs_are_judged_by_what_they_drive(tmp_path):
    """The optimizer's lr and weight decay change no loss or gradient of one pass: they are judged
    by the optimizer mmcv 1.x builds (live); a schedule or a gradient clip, which act over steps,
    are not probed; none fails the preflight (an lr sweep was refused as "dead")."""
    def edit(data):
        data["parameters"].update({
            "lr": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True,
                   "targets": ["optimizer.lr"]},
            "weight_decay": {"type": "float", "low": 0.001, "high": 0.1,
                             "targets": ["optimizer.weight_decay"]},
            "warmup": {"type": "float", "low": 0.2, "high": 0.6,
                       "targets": ["lr_config.step_ratio_up"]},
            "clip": {"type": "float", "low": 10.0, "high": 50.0,
                     "targets": ["optimizer_config.grad_clip.max_norm"]}})
    proc, result = preflight(tmp_path, space(tmp_path, "optim", edit))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    effects = {t["parameter"]: t["effect"] for t in result["targets"]}
    assert {k: effects[k] for k in ("lr", "weight_decay", "warmup", "clip")} == {
        "lr": "live", "weight_decay": "live", "warmup": "unprobed", "clip": "unprobed"}
    lr = next(t for t in result["targets"] if t["parameter"] == "lr")
    assert lr["matched"] > 0 and "preflight passed" in proc.stdout


def fixed(**values):
    def edit(data):
        data["fixed"].update(values)
    return edit


# the third, torch 1.x's missing scaled_dot_product_attention, is met for real (and run's launching
# nothing after it) in tests/aqr/test_runtime_py38.py
@pytest.mark.parametrize("name, edit, line", [
    ("aqr_head", fixed(**{"model.pts_bbox_head.type": "CmtAQRHead"}),
     "TypeError: CmtDetector: CmtAQRHead: AQRWeightGenerator.__init__() got an unexpected "
     "keyword argument 'type'"),
    ("swallowed", fixed(**{"model.pts_bbox_head.attention_bias_config.learnable_scale": False,
                           "model.pts_bbox_head.attention_bias_config.debug_print": True}),
     "\\[AQR ERROR\\] matched: ❌ [AQR ERROR] Attention Bias Generation Failed!"),
], ids=["head-fails-to-build", "swallowed-aqr-error"])
def test_a_failing_first_trial_is_one_line_plus_its_traceback(tmp_path, name, edit, line):
    proc, result = preflight(tmp_path, space(tmp_path, name, edit))
    assert proc.returncode == 2
    first, *rest = proc.stderr.strip().splitlines()
    assert first.startswith("error: preflight failed: smoke run: ")
    assert line in proc.stderr, proc.stderr[-3000:]
    assert "nothing was launched" in rest[-1]


@pytest.mark.parametrize("name, parameter, message", [
    ("dead_key", {"type": "float", "low": 1.5, "high": 3.0, "create": True,
                  "targets": ["model.pts_bbox_head.renderer_config.max_weight_clamp"]},
     "parameters.extra.targets.0: model.pts_bbox_head.renderer_config.max_weight_clamp changes "
     "nothing the training computes"),
    ("no_param", {"type": "float", "low": 0.1, "high": 1.0,
                  "targets": ["optimizer.paramwise_cfg.custom_keys.query_embed.lr_mult"]},
     "the lr_mult of custom key 'query_embed' reaches no parameter (no parameter name holds it)"),
    ("decay_nothing", {"type": "float", "low": 0.1, "high": 1.0, "create": True,
                       "targets": ["optimizer.paramwise_cfg.custom_keys.query_embed.decay_mult"]},
     "parameters.extra.targets.0: optimizer.paramwise_cfg.custom_keys.query_embed.decay_mult "
     "changes no parameter's optimizer settings: the optimizer the training builds is the same "
     "at 0.1 and 1.0"),
    ("shadowed", {"type": "float", "low": 0.1, "high": 1.0,
                  "targets": ["optimizer.paramwise_cfg.custom_keys.attention_bias_generator.lr_mult"]},
     "the lr_mult of custom key 'attention_bias_generator' reaches no parameter (a longer key "
     "wins the parameters it matches: 'attention_bias_generator.bias_scale')"),
], ids=["config-key-not-in-forward", "custom-key-matches-nothing", "optimizer-key-reaches-nothing",
        "custom-key-shadowed"])
def test_a_knob_that_changes_nothing_is_refused_with_its_target(tmp_path, name, parameter,
                                                                message):
    def edit(data):
        data["parameters"]["extra"] = parameter
        data["search"]["enqueue"] = []   # the first trial: the sampler's (the base lacks a value)
    proc, result = preflight(tmp_path, space(tmp_path, name, edit))
    assert proc.returncode == 2
    assert message in proc.stderr.splitlines()[0], proc.stderr[-3000:]
    assert [t["effect"] for t in result["targets"] if t["parameter"] == "extra"] == ["dead"]
