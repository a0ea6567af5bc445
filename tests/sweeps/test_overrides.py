import subprocess
import sys

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
    trial.write_text(config_text(base, overrides, trial, "trial"))
    cfg = Config.fromfile(str(trial))
    keys = cfg.optimizer.paramwise_cfg.custom_keys
    assert keys["attention_bias_generator.bias_scale"] == {"lr_mult": 0.5}
    assert keys["attention_bias_generator"] == {"lr_mult": 1.0}
    assert cfg.model.head == {"x": 3, "y": 2}
