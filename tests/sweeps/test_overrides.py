import subprocess
import sys

import pytest
from mmengine.config import Config, DictAction  # noqa: F401

from sweeps.backends.command import render_argv
from sweeps.config.overrides import cfg_options, flat_overrides, format_value, nested
from sweeps.space import SweepSpace

SPACE = SweepSpace.model_validate({
    "name": "t", "base_config": "c.py", "max_epochs": 2,
    "fixed": {"train_cfg.max_epochs": 2},
    "parameters": {
        "lr_mult": {"type": "float", "low": 0.1, "high": 1.0,
                    "targets": ["a.custom_keys.x.lr_mult", "a.custom_keys.y.lr_mult"]},
        "mode": {"type": "categorical", "choices": ["convex", "additive"], "targets": ["m.mode"]},
    },
})


def test_one_parameter_sets_several_keys():
    flat = flat_overrides(SPACE, {"lr_mult": 0.3, "mode": "additive"})
    assert flat == {"train_cfg.max_epochs": 2, "a.custom_keys.x.lr_mult": 0.3,
                    "a.custom_keys.y.lr_mult": 0.3, "m.mode": "additive"}
    assert nested(flat)["a"]["custom_keys"]["y"] == {"lr_mult": 0.3}


def test_values_round_trip_through_mmengine_dict_action():
    values = {"f": 0.1 + 0.2, "i": 3, "s": "additive", "b": True, "l": [1, 2], "t": (0.5, 1.0)}
    argv = cfg_options(values)
    code = ("import sys, argparse, json; from mmengine.config import DictAction;"
            "p = argparse.ArgumentParser(); p.add_argument('--o', nargs='+', action=DictAction);"
            "print(repr(p.parse_args(sys.argv[1:]).o))")
    out = subprocess.run([sys.executable, "-c", code, "--o", *argv], capture_output=True,
                         text=True, check=True).stdout
    parsed = eval(out)  # noqa: S307 - our own subprocess's repr
    assert parsed == values
    assert format_value(None) == "None"


def test_argv_template_expansion_without_shell():
    argv = render_argv(["{python}", "train.py", "{config}", "--work-dir", "{work_dir}",
                        "{resume}", "--launcher", "pytorch", "--port={port}"],
                       config="c.py", work_dir="/w d", resume_args=["--auto-resume"],
                       resume=True, port=29501, num_gpus=8, python="py")
    assert argv == ["py", "train.py", "c.py", "--work-dir", "/w d", "--auto-resume",
                    "--launcher", "pytorch", "--port=29501"]
    plain = render_argv(["t", "{config}", "{resume}"], config="c", work_dir="w",
                        resume_args=["--resume"], resume=False, port=1, num_gpus=0)
    assert plain == ["t", "c"]


def test_resume_inside_a_shell_argument_expands_quoted_or_to_nothing():
    template = ["bash", "-c", "cd x && python train.py {config} {resume}"]
    kw = dict(config="c.py", work_dir="w", resume_args=["--auto-resume", "--from", "a b"],
              port=1, num_gpus=0)
    assert render_argv(template, resume=True, **kw)[2] == \
        "cd x && python train.py c.py --auto-resume --from 'a b'"
    assert render_argv(template, resume=False, **kw)[2] == "cd x && python train.py c.py "


def test_keys_with_dots_reach_the_config_through_the_trial_config_file(tmp_path):
    """``custom_keys['a.b'].lr_mult`` cannot be a --cfg-options key; the trial's config file
    (the export-best writer) sets it, as mmengine's Config reads it back."""

    from sweeps.config.base import BaseConfig, read_config
    from sweeps.config.writer import config_text

    base = tmp_path / "base.py"
    base.write_text("optimizer = dict(paramwise_cfg=dict(custom_keys={\n"
                    "    'attention_bias_generator': dict(lr_mult=1.0),\n"
                    "    'attention_bias_generator.bias_scale': dict(lr_mult=0.1)}))\n"
                    "model = dict(head=dict(x=1, y=2))\n")
    overrides = {"optimizer.paramwise_cfg.custom_keys['attention_bias_generator.bias_scale']"
                 ".lr_mult": 0.5, "model.head.x": 3}
    assert cfg_options(overrides) is None   # not expressible as --cfg-options
    trial = tmp_path / "trial" / "trial_config.py"
    trial.parent.mkdir()
    trial.write_text(config_text(BaseConfig(base, read_config(base)), overrides, trial, "trial"))
    cfg = Config.fromfile(str(trial))
    keys = cfg.optimizer.paramwise_cfg.custom_keys
    assert keys["attention_bias_generator.bias_scale"] == {"lr_mult": 0.5}
    assert keys["attention_bias_generator"] == {"lr_mult": 1.0}
    assert cfg.model.head == {"x": 3, "y": 2}


BASE_WITH_LISTS_AND_NONE = """import math
model = dict(
    head=dict(type='Head', tasks=[dict(num_class=1, names=['car']), dict(num_class=2)],
              window_sizes=(15, 5), renderer_config=None, scale=math.sqrt(4)),
    train_cfg=dict(out_size_factor=8))
custom_hooks = [dict(type='EMAHook', momentum=0.0002)]
"""


def written_config(tmp_path, overrides, base_text=BASE_WITH_LISTS_AND_NONE):
    """The config a trial with ``overrides`` trains, as mmengine reads it back."""
    from sweeps.config.base import BaseConfig, read_config
    from sweeps.config.writer import config_text

    base = tmp_path / "base.py"
    base.write_text(base_text)
    trial = tmp_path / "trial" / "trial_config.py"
    trial.parent.mkdir(exist_ok=True)
    trial.write_text(config_text(BaseConfig(base, read_config(base)), overrides, trial, ""))
    return Config.fromfile(str(trial), lazy_import=False)


def test_a_key_into_a_list_writes_the_base_s_list_with_its_element_replaced(tmp_path):
    """_base_ inheritance replaces a list whole: the trial config writes the whole list (a
    tuple stays a tuple), each key into it replacing its element."""
    cfg = written_config(tmp_path, {"model.head.tasks.1.num_class": 5,
                                    "model.head.tasks.0.names.0": "truck",
                                    "model.head.window_sizes.0": 8})
    assert cfg.model.head.tasks == [{"num_class": 1, "names": ["truck"]}, {"num_class": 5}]
    assert tuple(cfg.model.head.window_sizes) == (8, 5)
    assert cfg.custom_hooks == [{"type": "EMAHook", "momentum": 0.0002}]


def test_an_index_past_a_list_s_end_is_one_line(tmp_path):
    from sweeps.errors import ConfigWriteError

    with pytest.raises(ConfigWriteError, match=r"^model.head.tasks.2.num_class: "
                                               r"model.head.tasks holds 2 item\(s\) in the base config; "
                                               r"index 2 is past its end$"):
        written_config(tmp_path, {"model.head.tasks.2.num_class": 5})


def test_a_section_written_where_the_base_holds_none_replaces_it(tmp_path):
    """Turning AQR on over a config whose AQR sections are None: a key created under one, or a
    fixed section, loads (mmengine and mmcv refused to merge a dict into None)."""
    cfg = written_config(tmp_path, {"model.head.renderer_config.max_weight_clamp": 2.0})
    assert cfg.model.head.renderer_config == {"max_weight_clamp": 2.0}
    cfg = written_config(tmp_path, {"model.head.renderer_config": {"type": "R", "sigma": 1.0}})
    assert cfg.model.head.renderer_config == {"type": "R", "sigma": 1.0}
    assert cfg.model.head.scale == 2.0 and cfg.model.head.type == "Head"   # merged as before


def test_a_symlinked_base_config_inherits_what_its_link_s_folder_holds(tmp_path):
    """As `tools/train.py LINK` reads it: mmcv and mmengine look for `_base_` beside the path
    they are given, so the sweep reads and writes the link, not its target."""
    from sweeps.config.base import load_base_config
    from sweeps.config.writer import write_trial_config

    for folder, max_num in (("real", 200), ("mine", 123)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "common.py").write_text(f"model = dict(max_num={max_num}, x=1)\n")
    (tmp_path / "real" / "aqr.py").write_text("_base_ = ['./common.py']\n")
    (tmp_path / "mine" / "aqr.py").symlink_to(tmp_path / "real" / "aqr.py")
    space = SweepSpace.model_validate({
        "name": "s", "base_config": str(tmp_path / "mine" / "aqr.py"), "max_epochs": 3,
        "parameters": {"x": {"type": "int", "low": 1, "high": 3, "targets": ["model.x"]}}})
    base = load_base_config(space, tmp_path / "s.yaml")
    assert base.path == tmp_path / "mine" / "aqr.py" and base.values["model"]["max_num"] == 123
    trial = write_trial_config(space, base, {"x": 2}, tmp_path / "trial")
    assert Config.fromfile(str(trial)).model == {"max_num": 123, "x": 2}


def test_fixed_hooks_and_imports_are_added_to_the_base_s(tmp_path):
    """A space that fixes the AQR hook and its import (as the attention-bias space does) over a
    base with hooks and plugin imports of its own keeps them (a list override dropped them); a
    schedule's hook then builds on the fixed one (it replaced it, losing its settings)."""
    from sweeps.config.base import BaseConfig, read_config

    base = tmp_path / "base.py"
    base.write_text("custom_imports = dict(imports=['projects.plugin'], allow_failed_imports="
                    "False)\ncustom_hooks = [dict(type='EMAHook', momentum=0.0002), "
                    "dict(type='AQRScheduleHook', interval=5)]\nmodel = dict(head=dict(r=0.5))\n")
    fixed = {"custom_imports.imports": ["aqr.runtime.hook"],
             "custom_hooks": [{"type": "AQRScheduleHook", "interval": 50, "watch": ["a"]}]}
    space = SweepSpace.model_validate({
        "name": "s", "base_config": str(base), "max_epochs": 3, "fixed": fixed,
        "schedules": {"r": {"attribute": "head.r", "kind": "constant",
                            "constant": {"value": 0.5}}},
        "parameters": {"r": {"type": "float", "low": 0.1, "high": 0.9,
                             "targets": ["schedules.r.constant.value"]}}})
    out = flat_overrides(space, {"r": 0.3}, BaseConfig(base, read_config(base)))
    assert out["custom_imports"]["imports"] == ["projects.plugin", "aqr.runtime.hook"]
    ema, ours = out["custom_hooks"]
    assert ema == {"type": "EMAHook", "momentum": 0.0002}
    assert ours["interval"] == 50 and ours["watch"] == ["a"]          # the fixed hook's settings
    assert ours["attributes"] == {"head.r": {"type": "constant", "value": 0.3}}
