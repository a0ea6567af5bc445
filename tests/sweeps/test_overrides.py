import subprocess
import sys

from mmengine.config import Config, DictAction  # noqa: F401

from sweeps.backends.command import render_argv
from sweeps.overrides import cfg_options, flat_overrides, format_value, nested
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
                        "{resume}", "--launcher", "pytorch", "--port={port}", "--cfg-options",
                        "{cfg_options}"],
                       config="c.py", work_dir="/w d", cfg_options=["a=1", "b=x y"],
                       resume_args=["--auto-resume"], resume=True, port=29501, num_gpus=8,
                       python="py")
    assert argv == ["py", "train.py", "c.py", "--work-dir", "/w d", "--auto-resume",
                    "--launcher", "pytorch", "--port=29501", "--cfg-options", "a=1", "b=x y"]
    plain = render_argv(["t", "{resume}", "--cfg-options", "{cfg_options}"], config="c",
                        work_dir="w", cfg_options=[], resume_args=["--resume"], resume=False,
                        port=1, num_gpus=0)
    assert plain == ["t"]
