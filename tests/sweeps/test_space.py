from pathlib import Path

import pytest

from sweeps.errors import SpaceError
from sweeps.space import load_space
from tests.kit.spaces import MINIMAL_SPACE as BASE


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def problems(tmp_path, text) -> list[str]:
    with pytest.raises(SpaceError) as err:
        load_space(write(tmp_path, text))
    return [str(p) for p in err.value.problems]


def test_defaults(tmp_path):
    space = load_space(write(tmp_path, BASE))
    assert space.metric == "pts_bbox_NuScenes/NDS" and space.mode == "max"
    assert space.search.sampler == "tpe" and space.pruner.type == "median"
    assert space.num_trials() == 10
    assert "{config}" in space.command and "{work_dir}" in space.command


def test_every_shipped_space_validates():
    root = Path(__file__).resolve().parents[2] / "search_spaces"
    files = sorted(root.glob("*.yaml"))
    assert {f.name for f in files} >= {"demo.yaml", "seed_presets.yaml", "cmt_aqr_r50.yaml"}
    for f in files:
        load_space(f)


def test_range_that_cannot_hold_names_file_line_field(tmp_path):
    (msg,) = problems(tmp_path, BASE.replace("low: 1.0", "low: 4.0"))
    assert msg.startswith(f"{tmp_path / 'space.yaml'}:5: parameters.clamp: ")
    assert "low must be < high, but got low=4.0, high=3.0" in msg


def test_unknown_key_and_missing_field(tmp_path):
    text = BASE.replace("max_epochs: 4\n", "").replace("    low: 1.0\n", "    lo: 1.0\n")
    msgs = problems(tmp_path, text)
    assert any(":3: max_epochs: required field is missing" in m or "max_epochs: required" in m
               for m in msgs)
    assert any(":6: parameters.clamp.lo: unknown field" in m for m in msgs)


def test_log_needs_positive_low_and_step_not_with_log(tmp_path):
    (msg,) = problems(tmp_path, BASE.replace("low: 1.0", "low: 0.0\n    log: true"))
    assert "log=true needs low > 0" in msg
    (msg,) = problems(tmp_path, BASE.replace("low: 1.0", "low: 1.0\n    log: true\n    step: 0.5"))
    assert "cannot be combined" in msg


def test_duplicate_target_and_bad_key(tmp_path):
    text = BASE + """\
  other:
    type: categorical
    choices: [1, 2]
    targets: [model.pts_bbox_head.renderer_config.max_weight_clamp]
"""
    (msg,) = problems(tmp_path, text)
    assert "parameters.other.targets" in msg and "already set by parameter 'clamp'" in msg
    (msg,) = problems(tmp_path, BASE.replace("targets: [model", "targets: [bad key, model"))
    assert "parameters.clamp.targets.0: 'bad key' is not a config key" in msg and ":9:" in msg


def test_keys_that_nest_are_refused(tmp_path):
    """A knob on a section and one on a key inside it: the outer would replace the inner's."""
    text = BASE + """\
  other:
    type: categorical
    choices: [1, 2]
    targets: [model.pts_bbox_head.renderer_config]
"""
    (msg,) = problems(tmp_path, text)
    assert ("parameters.other.targets.0: 'model.pts_bbox_head.renderer_config' and "
            "'model.pts_bbox_head.renderer_config.max_weight_clamp' (parameter 'clamp') are one "
            "inside the other") in msg
    (msg,) = problems(tmp_path, BASE + "fixed: {model.pts_bbox_head: {_delete_: true, type: X}}\n")
    assert "parameters.clamp.targets.0: " in msg and "'model.pts_bbox_head' (fixed) are one " \
        "inside the other: the outer one would replace the inner one's section" in msg
    # a section merged into the base's (no _delete_): fixed's keys are to be written dotted
    (msg,) = problems(tmp_path, BASE + "fixed: {model: {pts_bbox_head: {x: 1}}}\n")
    assert "parameters.clamp.targets.0: 'model.pts_bbox_head.renderer_config.max_weight_clamp' " \
           "lies inside 'model', a section fixed sets; write fixed's keys dotted" in msg


def test_enqueued_points_that_could_not_all_run_or_share_a_name(tmp_path):
    points = "".join(f"    - {{name: p, params: {{clamp: {v}}}}}\n" for v in (1.0, 2.0, 3.0))
    found = problems(tmp_path, BASE + f"search:\n  num_trials: 2\n  enqueue:\n{points}")
    assert any("search.enqueue: 3 points but the sweep runs 2 trials" in m for m in found)
    assert sum("names an earlier point too" in m for m in found) == 2


def test_create_fixed_names_only_keys_of_fixed(tmp_path):
    (msg,) = problems(tmp_path, BASE + "fixed: {a.b: 1}\ncreate_fixed: [a.c]\n")
    assert "create_fixed.0: 'a.c' is not a key of fixed" in msg


def test_enqueued_point_out_of_range(tmp_path):
    text = BASE + "search:\n  enqueue:\n    - name: a\n      params: {clamp: 9.0}\n"
    (msg,) = problems(tmp_path, text)
    assert "search.enqueue.0.params.clamp: must be in [1.0, 3.0], but got 9.0" in msg
    assert ":13:" in msg  # the line of the enqueued params


def test_enqueued_point_off_a_float_step_of_one(tmp_path):
    text = (BASE.replace("high: 3.0", "high: 3.0\n    step: 1.0")
            + "search:\n  enqueue:\n    - name: a\n      params: {clamp: 2.5}\n")
    (msg,) = problems(tmp_path, text)
    assert "search.enqueue.0.params.clamp: must be on the grid 1.0 + k * 1.0, but got 2.5" in msg


@pytest.mark.parametrize("bad", ["{config", "{config}}", "{{config}}", "{config.name}",
                                 "--cfg={config[0]}"])
def test_a_misspelt_placeholder_is_refused_not_passed_on(tmp_path, bad):
    (msg,) = problems(tmp_path, BASE + f"command: [t, '{bad}', '{{config}}', '{{work_dir}}']\n")
    assert "command.1: " in msg and "is not a placeholder" in msg and "write {config}" in msg
    (msg,) = problems(tmp_path, BASE + "env: {OUT: '{work_dir'}\n")
    assert "OUT: '{work_dir' in '{work_dir' is not a placeholder" in msg


def test_braces_that_are_no_placeholder_pass(tmp_path):
    space = load_space(write(tmp_path, BASE + "command: [t, '{config}', '{work_dir}', "
                                               "'--opts={\"a\": 1}']\n"))
    assert space.command[-1] == '--opts={"a": 1}'


def test_unknown_pruner_and_placeholder(tmp_path):
    (msg,) = problems(tmp_path, BASE + "pruner: {type: medain}\n")
    assert "pruner.type" in msg and "'median'" in msg
    (msg,) = problems(tmp_path, BASE + "command: [python, train.py, '{cfg}', '{work_dir}']\n")
    assert "unknown placeholder" in msg and "{cfg}" in msg


@pytest.mark.parametrize(("command", "says"), [
    ("[t, '{config}', '{work_dir}', --cfg-options, '{cfg_options}']", "'{cfg_options}' is gone"),
    ("[t, '{work_dir}']", "must contain '{config}'"),
    ("[t, '{config}']", "must contain '{work_dir}'"),
])
def test_command_needs_its_config_and_work_dir(tmp_path, command, says):
    (msg,) = problems(tmp_path, BASE + f"command: {command}\n")
    assert "command: " in msg and says in msg


@pytest.mark.parametrize(("env", "says"), [
    ("{1BAD: x}", "'1BAD' is not an environment variable name"),
    ("{PYTHONPATH: '{root}'}", "unknown placeholder(s) ['{root}']"),
])
def test_env_names_and_templates(tmp_path, env, says):
    (msg,) = problems(tmp_path, BASE + f"env: {env}\n")
    assert "env: " in msg and says in msg
    ok = load_space(write(tmp_path, BASE + "env: {PYTHONPATH: '{cwd}', MASTER: '{port}'}\n"))
    assert ok.env == {"PYTHONPATH": "{cwd}", "MASTER": "{port}"}


def test_an_enqueued_point_needs_every_parameter_or_the_base_config(tmp_path):
    text = BASE.replace("parameters:\n", "parameters:\n  r: {type: float, low: 0, high: 1, "
                        "targets: [a.r]}\n") + "search:\n  enqueue:\n    - {name: a, params: {clamp: 2}}\n"
    (msg,) = problems(tmp_path, text)
    assert "search.enqueue.0.params: no value for r" in msg
    ok = text.replace("params: {clamp: 2}", "params: base_config")
    assert load_space(write(tmp_path, ok)).search.enqueue[0].params == "base_config"


def test_grid_counts_trials_and_needs_steps(tmp_path):
    text = BASE.replace("high: 3.0", "high: 3.0\n    step: 0.5") + "search: {sampler: grid}\n"
    assert load_space(write(tmp_path, text)).num_trials() == 5
    (msg,) = problems(tmp_path, BASE + "search: {sampler: grid}\n")
    assert "needs a step" in msg


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(SpaceError, match="no such file"):
        load_space(tmp_path / "nope.yaml")
    (msg,) = problems(tmp_path, "name: [unclosed\n")
    assert msg.startswith(f"{tmp_path / 'space.yaml'}:") and "yaml" in msg


@pytest.mark.parametrize(("low", "high", "step"), [(0, 1, 0.6), (1.0, 3.0, 0.75)])
def test_a_step_that_does_not_divide_the_range_is_refused(tmp_path, low, high, step):
    text = BASE.replace("low: 1.0\n    high: 3.0", f"low: {low}\n    high: {high}\n    step: {step}")
    [line] = problems(tmp_path, text)
    assert "parameters.clamp: step must divide high - low" in line and f"step={step}" in line
    assert line.startswith(f"{tmp_path / 'space.yaml'}:")


def test_grid_values_stay_in_their_range(tmp_path):
    text = BASE.replace("high: 3.0", "high: 3.0\n    step: 0.4") + "search: {sampler: grid}\n"
    space = load_space(write(tmp_path, text))
    assert space.grid_points() == {"clamp": [1.0, 1.4, 1.8, 2.2, 2.6, 3.0]}
    assert space.num_trials() == 6


def test_a_later_check_names_the_fields_line(tmp_path):
    text = BASE + "pruner:\n  type: median\n  options: {x: 1}\n"
    space = load_space(write(tmp_path, text))
    assert str(space.problem("pruner.options", "bad")) == \
        f"{tmp_path / 'space.yaml'}:12: pruner.options: bad"


def test_read_as_yaml_1_2(tmp_path):
    """Only true/false are booleans; 010 is ten, 1e-3 a float; a quoted 'yes' is a fine choice."""
    text = BASE.replace("name: t", "name: yes").replace("parameters:\n", """\
parameters:
  mode: {type: categorical, choices: ['yes', 'no'], targets: [a.mode]}
""") + """\
env: {FLAG: on}
fixed: {a.octal: 010, a.small: 1e-3, a.flag: true, a.word: 'off'}
search: {enqueue: [{name: a, params: {clamp: 2, mode: 'yes'}}]}
"""
    space = load_space(write(tmp_path, text))
    assert space.name == "yes" and space.env == {"FLAG": "on"}
    assert space.fixed == {"a.octal": 10, "a.small": 0.001, "a.flag": True, "a.word": "off"}
    assert space.parameters["mode"].choices == ["yes", "no"]
    assert space.search.enqueue[0].params == {"clamp": 2, "mode": "yes"}


def test_anchors_and_merge_keys_still_work(tmp_path):
    text = BASE.replace("parameters:\n", """\
parameters:
  a: &knob {type: float, low: 0.0, high: 1.0, targets: [x.a]}
  b: {<<: *knob, targets: [x.b]}
""")
    space = load_space(write(tmp_path, text))
    assert space.parameters["b"].high == 1.0 and space.parameters["b"].targets == ["x.b"]


@pytest.mark.parametrize("uri", ["sqlite:////shared/mlflow.db", "sqlite:///mlflow.db",
                                 "postgresql://u:p@db:5432/mlflow",
                                 "postgresql+psycopg2://db/mlflow", "mysql://db/mlflow",
                                 "http://127.0.0.1:5000", "https://mlflow.example.com/x",
                                 "databricks", "databricks://profile"])
def test_accepted_tracking_uris(tmp_path, uri):
    assert load_space(write(tmp_path, BASE + f"tracking: {{uri: '{uri}'}}\n")).tracking.uri == uri


def test_a_boolean_choice_is_not_taken_for_a_number(tmp_path):
    text = BASE.replace("parameters:\n", "parameters:\n  f: {type: categorical, choices: [1, 2], "
                        "targets: [x.f]}\n") + "search:\n  enqueue:\n    - {name: a, params: "
    (msg,) = problems(tmp_path, text + "{clamp: 2, f: true}}\n")
    assert "search.enqueue.0.params.f: True is not one of the choices [1, 2]" in msg
    assert load_space(write(tmp_path, text + "{clamp: 2, f: 1}}\n")).search.enqueue[0].params


def test_a_step_must_divide_an_int_range_too(tmp_path):
    text = BASE + "  n: {type: int, low: 0, high: 10, step: 4, targets: [x.n]}\n"
    (msg,) = problems(tmp_path, text)
    assert ":10: parameters.n: step must divide high - low" in msg and "use high=8" in msg
    space = load_space(write(tmp_path, text.replace("high: 10", "high: 8")))
    assert space.parameters["n"].grid() == [0, 4, 8] and space.parameters["n"].grid_size() == 3
