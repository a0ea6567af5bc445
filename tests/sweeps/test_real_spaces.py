"""The real CMT spaces against the stand-in of the fork's config tree (tests/kit/cmt_repo, the
same keys and values): every key they set exists (or is created on purpose), and dead knobs are
refused before anything starts."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CMT = REPO / "tests" / "kit" / "cmt_repo"
SPACES = REPO / "search_spaces"


def validate(space: Path, cwd: Path = CMT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", "validate", str(space)], cwd=cwd,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                               "AQR_SWEEP_ROOT": str(cwd / "x")})


@pytest.mark.parametrize("name", ["cmt_aqr_r50.yaml", "cmt_aqr_attention_bias.yaml"])
def test_real_spaces_validate_from_a_cmt_checkout(name):
    proc = validate(SPACES / name)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "'debug_mode': False" in out and "'max_keep_ckpts': 2" in out
    assert "'ann_file': 'data/nuscenes/nuscenes_infos_train.pkl'" in out   # train split only
    runtime = f":{CMT / 'x' / name[:-5] / 'aqr_runtime'}" if "attention" in name else ""
    assert f"environment: PYTHONPATH={CMT}{runtime} OMP_NUM_THREADS=1" in out
    command = out.split("command: ", 1)[1]
    for part in ("-m torch.distributed.launch --nproc_per_node=8", "--max_restarts=0",
                 "tools/train.py", "trial_config.py --work-dir", "--launcher pytorch"):
        assert part in command


def test_the_attention_bias_space_reaches_a_key_with_a_dot():
    out = validate(SPACES / "cmt_aqr_attention_bias.yaml").stdout
    assert ("bias_scale_lr_mult: optimizer.paramwise_cfg.custom_keys"
            "['attention_bias_generator.bias_scale'].lr_mult = 0.5") in out
    assert "first trial (current)" in out and "'bias_scale': 2.5" in out and "'window_size': 8" in out
    # the schedule hook, logging the attention bias's statistics into the mmcv 1.x log
    assert "custom_imports = {'imports': ['aqr.runtime.hook']" in out
    assert "'attention_bias': 'pts_bbox_head.attention_bias_generator'" in out


def test_dead_knobs_are_refused_with_their_line_and_nearest_keys(tmp_path):
    space = (SPACES / "cmt_aqr_r50.yaml").read_text()
    dead = space.replace("    create: true ", "    # create: true ").replace(
        "targets: [optimizer.paramwise_cfg.custom_keys.aqr_weight_generator.lr_mult]",
        "targets: [optimizer.paramwise_cfg.custom_keys.weight_renderer.lr_mult]")
    path = tmp_path / "dead.yaml"
    path.write_text(dead.replace("base_config: projects/", f"base_config: {CMT}/projects/"))
    proc = validate(path, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    clamp, lr = lines
    line_of = {t: i + 1 for i, t in enumerate(dead.splitlines())}
    target_line = next(n for t, n in line_of.items() if "renderer_config.max_weight_clamp]" in t)
    assert clamp.startswith(f"{path}:{target_line}: parameters.max_weight_clamp.targets.0: "
                            "model.pts_bbox_head.renderer_config.max_weight_clamp is not in the "
                            "base config")
    assert "nearest keys: model.pts_bbox_head.renderer_config." in clamp
    assert "set create: true" in clamp
    assert "parameters.aqr_lr_mult.targets.0: optimizer.paramwise_cfg.custom_keys.weight_renderer" \
        ".lr_mult is not in the base config" in lr
    assert not (tmp_path / "x").exists()       # nothing written


def test_a_schedule_other_than_the_configs_is_refused(tmp_path):
    """max_epochs must be what the training runs (mmcv 1.x's total_epochs here, mmengine's
    train_cfg.max_epochs on the demo), or every trial would fail at its end."""
    space = (SPACES / "cmt_aqr_r50.yaml").read_text().replace(
        "base_config: projects/", f"base_config: {CMT}/projects/")
    path = tmp_path / "long.yaml"
    path.write_text(space.replace("\nmax_epochs: 20", "\nmax_epochs: 24"))
    proc = validate(path, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert (": max_epochs: must be the schedule the training runs, but got 24 while the base "
            "config cmt_aqr_voxel0100_r50_800x320_cbgs.py trains 20 (total_epochs)") in proc.stderr
    path.write_text(space.replace("\nmax_epochs: 20", "\nmax_epochs: 24").replace(
        "\nfixed:\n", "\nfixed:\n  total_epochs: 24\n"))
    assert validate(path, cwd=tmp_path).returncode == 0   # fixed sets the schedule
    demo = (SPACES / "demo.yaml").read_text().replace("../aqr/", f"{REPO}/aqr/")
    path.write_text(demo.replace("max_epochs: 6 ", "max_epochs: 12 "))
    assert "(train_cfg.max_epochs)" in validate(path, cwd=tmp_path).stderr


def test_a_number_knob_over_a_section_or_a_word_is_refused(tmp_path):
    """A float knob on a dict would replace the dict whole; on a string or a boolean it would
    change its kind."""
    demo = (SPACES / "demo.yaml").read_text().replace("../aqr/", f"{REPO}/aqr/")
    path = tmp_path / "typed.yaml"
    path.write_text(demo.replace(
        "targets: [model.pts_bbox_head.renderer_config.gaussian_sigma]", "targets: [train_cfg]"
    ).replace("targets: [model.pts_bbox_head.modulator_config.residual_weight]",
              "targets: [model.pts_bbox_head.renderer_config.render_method]"))
    proc = validate(path, cwd=tmp_path)
    assert proc.returncode == 2
    residual, sigma = proc.stderr.strip().splitlines()
    assert ("parameters.residual_weight.targets.0: model.pts_bbox_head.renderer_config."
            "render_method is str in the base config ('") in residual
    assert ("parameters.gaussian_sigma.targets.0: train_cfg is a section in the base config "
            "({") in sigma and "target a number inside it" in sigma
