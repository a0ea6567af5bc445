"""Hostile space files (issue 10, item 8): each is refused in bounded time and memory with one
``file:line: field: message`` line per problem, never a traceback, and nothing is written."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweeps.config.base import load_base_config
from sweeps.errors import SpaceError
from sweeps.space import SweepSpace, load_space
from sweeps.space.reader import MAX_FILE_BYTES
from tests.kit.spaces import MINIMAL_SPACE as BASE

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<field>.+?): (?P<message>.+)$")


def base(old: str = "", new: str = "", extra: str = "") -> str:
    """BASE with ``old`` replaced by ``new``, plus ``extra`` lines at the end."""
    assert not old or old in BASE
    return (BASE.replace(old, new, 1) if old else BASE) + extra


def param(name: str, body: str) -> str:
    """An extra parameter (appended under ``parameters``, which ends BASE)."""
    return f"  {name}:\n" + "".join(f"    {line}\n" for line in body.splitlines())


def choices(values: str) -> str:
    return param("m", f"type: categorical\nchoices: {values}\ntargets: [a.m]")


def laughs(levels: int, width: int = 10) -> str:
    """A billion-laughs file: each level holds ``width`` aliases of the one before."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def chain(depth: int, step: int = 10) -> str:
    """Anchors that each nest the previous one ``step`` levels deeper (deep only via aliases)."""
    lines = [f"c0: &c0 {'[' * step}x{']' * step}"]
    lines += [f"c{i}: &c{i} {'[' * step}*c{i - 1}{']' * step}" for i in range(1, depth // step)]
    return "\n".join(lines) + "\n"


#: (id, file content, field, message fragment, line or None)
CASES: list[tuple[str, str | bytes, str, str, int | None]] = [
    # 1. YAML syntax: yaml's problem and context, at the problem's line
    ("unclosed_flow_mapping", base(extra="search: {sampler: tpe, seed: 1\nmode: max\n"),
     "yaml", "flow mapping", 11),
    ("unclosed_flow_sequence", base(extra="track: [a, b\nmode: max\n"), "yaml", "flow sequence", 11),
    ("unclosed_nested_flow", base(extra="fixed: {a.b: [1, 2}\n"), "yaml", "flow sequence", None),
    ("tab_indentation", base("    low: 1.0", "\tlow: 1.0"), "yaml", "indent with spaces", 7),
    ("tab_before_key", base(extra="pruner:\n\ttype: median\n"), "yaml", "indent with spaces", 11),
    ("unclosed_quote", base(extra="metric: 'pts_bbox/NDS\n"), "yaml", "quoted scalar", None),
    ("bad_indentation", base("    high: 3.0", "   high: 3.0"), "yaml", "block mapping", 8),
    ("two_documents", base(extra="---\nname: u\n"), "yaml", "single document", 10),
    ("undefined_alias", base(extra="fixed: {a.b: *nowhere}\n"), "yaml", "undefined alias", 10),
    ("python_tag", base(extra="fixed: {a.b: !!python/object/apply:os.system [ls]}\n"), "yaml",
     "remove the tag", 10),
    ("unknown_tag", base(extra="metric: !secret NDS\n"), "yaml", "remove the tag", 10),
    ("control_character", base(extra="metric: NDS\x07\n"), "file", "#x0007", 10),
    ("bad_escape", base(extra='metric: "NDS\\q"\n'), "yaml", "escape", 10),
    ("huge_integer", base(extra="fixed: {a.b: " + "9" * 5000 + "}\n"), "yaml", "4300 digits", 10),
    # 1. bytes that are not UTF-8 text
    ("latin1_bytes", base(extra="metric: caf\xe9\n").encode("latin-1"), "file", "must be UTF-8", 10),
    ("truncated_utf8", base().encode() + b"metric: \xe2\x82\n", "file", "must be UTF-8", 10),
    ("nul_byte", base(extra="metric: a\0b\n").encode(), "file", "NUL byte", 10),
    ("utf16_file", base().encode("utf-16"), "file", "NUL byte", 1),
    ("too_big", base(extra="fixed: {a.b: '" + "x" * MAX_FILE_BYTES + "'}\n"), "file",
     f"at most {MAX_FILE_BYTES} bytes", 0),
    ("nul_escape", base(extra='env: {A: "a\\0b"}\n'), "env.A", "NUL character", 10),
    # 2. duplicate keys at any depth, YAML 1.1 booleans where a config value goes
    ("duplicate_top_key", base(extra="name: u\n"), "name", "first on line 1, again on line 10",
     10),
    ("duplicate_nested_key", base("    high: 3.0", "    high: 3.0\n    low: 2.0"),
     "parameters.clamp.low", "first on line 7, again on line 9", 9),
    ("duplicate_parameter", base(extra=param("clamp", "type: int\nlow: 0\nhigh: 2\ntargets: [a]")),
     "parameters.clamp", "duplicate key 'clamp'", 10),
    ("duplicate_in_flow", base(extra="search: {sampler: tpe, sampler: random}\n"),
     "search.sampler", "first on line 10, again on line 10", 10),
    ("duplicate_number_keys", base(extra="fixed:\n  a: {1: x, 1.0: y}\n"), "fixed.a.1.0",
     "duplicate key", 11),
    ("yes_no_choices", base(extra=choices("[yes, no]")), "parameters.m.choices.0",
     "quote it ('yes')", 12),
    ("on_in_fixed", base(extra="fixed: {a.flag: on}\n"), "fixed.a.flag", "true in YAML 1.1", 10),
    ("off_in_enqueue", base(extra=choices("['on', 'off']")
                            + "search: {enqueue: [{name: a, params: {clamp: 2, m: off}}]}\n"),
     "search.enqueue.0.params.m", "false in YAML 1.1", 14),
    ("yes_in_pruner_options", base(extra="pruner: {options: {flag: YES}}\n"),
     "pruner.options.flag", "YAML 1.1", 10),
    # 3. infinite and NaN numbers
    ("inf_low", base("low: 1.0", "low: -.inf"), "parameters.clamp.low", "finite number", 7),
    ("nan_high", base("high: 3.0", "high: .nan"), "parameters.clamp.high", "finite number", 8),
    ("inf_word_high", base("high: 3.0", "high: inf"), "parameters.clamp.high", "finite", 8),
    ("overflowing_high", base("high: 3.0", "high: 1e999"), "parameters.clamp.high", "finite", 8),
    ("inf_step", base("high: 3.0", "high: 3.0\n    step: .inf"), "parameters.clamp.step",
     "finite number", 9),
    ("infinite_range", base("low: 1.0", "low: -1.7e308").replace("high: 3.0", "high: 1.7e308"),
     "parameters.clamp", "high - low must be a finite number", 5),
    ("inf_int_bound", base(extra=param("n", "type: int\nlow: 0\nhigh: .inf\ntargets: [a.n]")),
     "parameters.n.high", "finite number", 13),
    ("nan_choice", base(extra=choices("[0.5, .nan]")), "parameters.m.choices.1", "finite", 12),
    ("inf_choice", base(extra=choices("[0.5, -.inf]")), "parameters.m.choices.1", "finite", 12),
    ("nan_fixed", base(extra="fixed: {a.b: [1, .nan]}\n"), "fixed.a.b.1", "finite number", 10),
    ("inf_stop_grace", base(extra="stop_grace_seconds: .inf\n"), "stop_grace_seconds", "finite",
     10),
    ("nan_cpu", base(extra="resources: {cpu: .nan}\n"), "resources.cpu", "finite", 10),
    ("inf_pruner_option", base(extra="pruner: {type: threshold, options: {lower: -.inf}}\n"),
     "pruner.options.lower", "finite number", 10),
    ("nan_enqueued", base(extra="search: {enqueue: [{name: a, params: {clamp: .nan}}]}\n"),
     "search.enqueue.0.params.clamp", "must be in [1.0, 3.0]", 10),
    # 4. deep nesting
    ("deep_flow", base(extra="fixed: {a.b: " + "[" * 60 + "]" * 60 + "}\n"), "yaml",
     "deeper than 50", 10),
    ("very_deep_flow", base(extra="fixed: {a.b: " + "[" * 5000 + "]" * 5000 + "}\n"), "yaml",
     "deeper than 50", 10),
    ("deep_block", base(extra="fixed:\n  a.b:\n" + "".join("  " * (i + 2) + f"k{i}:\n"
                                                        for i in range(60))),
     "yaml", "deeper than 50", None),
    ("deep_through_aliases", base(extra=chain(80)), "yaml", "deeper than 50", None),
    # 5. a step that does not divide the range
    ("float_step_off_grid", base("high: 3.0", "high: 3.0\n    step: 0.7"), "parameters.clamp",
     "step must divide high - low", 5),
    ("int_step_off_grid", base(extra=param("n", "type: int\nlow: 0\nhigh: 10\nstep: 3\n"
                                                "targets: [a.n]")),
     "parameters.n", "use high=9", 10),
    ("int_step_zero", base(extra=param("n", "type: int\nlow: 0\nhigh: 10\nstep: 0\n"
                                            "targets: [a.n]")), "parameters.n", "step must be > 0",
     10),
    ("negative_step", base("high: 3.0", "high: 3.0\n    step: -0.5"), "parameters.clamp",
     "step must be > 0", 5),
    ("fractional_int_step", base(extra=param("n", "type: int\nlow: 0\nhigh: 10\nstep: 2.5\n"
                                                  "targets: [a.n]")),
     "parameters.n.step", "valid integer", 14),
    # 6. categorical choices must be distinct hashable scalars
    ("mapping_choice", base(extra=choices("[{a: 1}, 2]")), "parameters.m.choices.0",
     "got a mapping", 12),
    ("list_choice", base(extra=choices("[[1, 2], 3]")), "parameters.m.choices.0", "got a list", 12),
    ("binary_choice", base(extra=choices("[!!binary aGk=, x]")), "parameters.m.choices.0",
     "binary string", 12),
    ("bool_equals_int_choice", base(extra=choices("[1, true]")), "parameters.m.choices.1",
     "choices must be distinct", 12),
    ("no_choices", base(extra=choices("[]")), "parameters.m.choices", "at least 1", 12),
    # 7. empty names, metrics and keys
    ("empty_metric", base(extra="metric: ''\n"), "metric", "must not be empty", 10),
    ("blank_metric", base(extra="metric: '   '\n"), "metric", "must not be empty", 10),
    ("padded_metric", base(extra="metric: ' pts_bbox_NuScenes/NDS'\n"), "metric",
     "start or end with spaces", 10),
    ("null_metric", base(extra="metric:\n"), "metric", "valid string", 10),
    ("empty_name", base("name: t", "name: ''"), "name", "one folder name", 1),
    ("empty_target", base("targets: [model", "targets: ['', model"), "parameters.clamp.targets.0",
     "is not a config key", 9),
    ("blank_track", base(extra="track: [pts_bbox_NuScenes/mAP, ' ']\n"), "track.1",
     "must not be empty", 10),
    ("empty_base_config", base("base_config: aqr/configs/mini_cmt_aqr.py", "base_config: ''"),
     "base_config", "must not be empty", 2),
    ("empty_experiment", base(extra="tracking: {experiment: ''}\n"), "tracking.experiment",
     "must not be empty", 10),
    ("empty_enqueue_name", base(extra="search: {enqueue: [{name: '', params: {clamp: 2}}]}\n"),
     "search.enqueue.0.name", "must not be empty", 10),
    ("empty_command", base(extra="command: ['', '{config}', '{work_dir}']\n"), "command.0",
     "program to run", 10),
    # 8. a warm-up that never ends
    ("warmup_equals_max_epochs", base(extra="pruner: {type: median, warmup_epochs: 4}\n"),
     "pruner.warmup_epochs", "must be < max_epochs (4)", 10),
    ("warmup_beyond_max_epochs", base(extra="pruner:\n  type: asha\n  warmup_epochs: 40\n"),
     "pruner.warmup_epochs", "pruner type: none", 12),
    ("confirm_at_end_without_search", base(extra="command: [t, '{config}', '{work_dir}', "
                                                 "'{seed}']\nsearch:\n  num_trials: 3\n"
                                                 "  confirm: {top_k: 2, seeds: 1, when: end}\n"),
     "search.confirm.when", "num_trials must be more than 3", 13),
    ("confirm_after_every_trial", base(extra="command: [t, '{config}', '{work_dir}', "
                                             "'{seed}']\nsearch:\n  num_trials: 3\n"
                                             "  confirm: {top_k: 1, seeds: 1, after: 3}\n"),
     "search.confirm.after", "must be < num_trials (3)", 13),
    ("negative_pessimism", base(extra="search: {confirm: {top_k: 1, seeds: 1, pessimism: -1}}\n"),
     "search.confirm.pessimism", "greater than or equal to 0", 10),
    ("nan_pessimism", base(extra="search: {confirm: {top_k: 1, seeds: 1, pessimism: .nan}}\n"),
     "search.confirm.pessimism", "finite number", 10),
    # 9. tracking URIs MLflow cannot use
    ("ftp_uri", base(extra="tracking: {uri: 'ftp://host/x'}\n"), "tracking.uri", "sqlite:///PATH",
     10),
    ("bare_path_uri", base(extra="tracking: {uri: ./mlruns}\n"), "tracking.uri",
     "MLFLOW_ALLOW_FILE_STORE", 10),
    ("memory_sqlite_uri", base(extra="tracking: {uri: 'sqlite://'}\n"), "tracking.uri",
     "must be an MLflow tracking URI", 10),
    ("s3_uri", base(extra="tracking: {uri: 's3://bucket/mlflow'}\n"), "tracking.uri",
     "postgresql://", 10),
    ("hostless_http_uri", base(extra="tracking: {uri: 'http://'}\n"), "tracking.uri",
     "http(s)://HOST", 10),
    ("empty_uri", base(extra="tracking: {uri: ''}\n"), "tracking.uri", "remove uri", 10),
    ("file_uri_without_opt_in", base(extra="tracking: {uri: 'file:///tmp/mlruns'}\n"),
     "tracking.uri", "MLFLOW_ALLOW_FILE_STORE=true", 10),
    # 10. names that are not one folder under the sweeps' root
    ("name_dot", base("name: t", "name: ."), "name", "not '.' or '..'", 1),
    ("name_dotdot", base("name: t", "name: '..'"), "name", "but got '..'", 1),
    ("name_parent_path", base("name: t", "name: ../escape"), "name", "no '/'", 1),
    ("name_absolute", base("name: t", "name: /tmp/escape"), "name", "one folder name", 1),
    ("name_with_space", base("name: t", "name: my sweep"), "name", "one folder name", 1),
    ("name_too_long", base("name: t", "name: " + "n" * 101), "name", "at most 100", 1),
    ("name_not_ascii", base("name: t", "name: café"), "name", "one folder name", 1),
    ("parameter_name_path", base(extra=param("../x", "type: int\nlow: 0\nhigh: 2\n"
                                                     "targets: [a.x]")),
     "parameters.../x", "a parameter's name", 10),
    ("parameter_name_empty", base(extra=param("''", "type: int\nlow: 0\nhigh: 2\n"
                                                    "targets: [a.x]")),
     "parameters.", "a parameter's name", 10),
    # 11. alias bombs and cycles
    ("billion_laughs", base(extra=laughs(9)), "yaml", "more than 100000 YAML nodes", None),
    ("wide_alias_bomb", base(extra="a: &a [" + ", ".join(["x"] * 2000) + "]\nb: ["
                             + ", ".join(["*a"] * 2000) + "]\n"), "yaml", "remove the aliases", 11),
    ("laughs_in_a_knob", base(extra=choices("*l9") + laughs(9)), "yaml", "more than 100000",
     None),
    ("self_alias_cycle", base(extra="fixed: {a.b: &x [1, *x]}\n"), "yaml", "a cycle", 10),
    ("too_many_nodes", base(extra="fixed:\n" + "".join(f"  k{i}: [1, 2, 3]\n"
                                                       for i in range(30_000))),
     "yaml", "is this the right file?", None),
    # and the rest a hostile file may hold
    ("empty_file", "", "file", "but got an empty file", 1),
    ("only_a_comment", "# nothing\n", "file", "but got an empty file", 1),
    ("top_level_list", "- name: t\n", "file", "but got a list", 1),
    ("top_level_scalar", "just words\n", "file", "but got a str", 1),
    ("negative_seed", base(extra="search: {seed: -1}\n"), "search.seed", "greater than or equal",
     10),
    ("absurd_trial_count", base(extra="search: {num_trials: 1000000000000}\n"),
     "search.num_trials", "less than or equal", 10),
    ("grid_too_big", base("parameters:\n", "parameters:\n" + param(
        "n", "type: int\nlow: 0\nhigh: 9000000000\ntargets: [a.n]")).replace(
        "  clamp:\n    type: float\n    low: 1.0\n    high: 3.0\n",
        "  clamp:\n    type: float\n    low: 1.0\n    high: 3.0\n    step: 0.5\n")
     + "search: {sampler: grid}\n", "search.sampler", "at most 100000 points", 16),
    ("huge_int_bound", base(extra=param("n", "type: int\nlow: 0\nhigh: 100000000000000000000\n"
                                             "targets: [a.n]")), "parameters.n", "2**53", 10),
    ("missing_type", base(extra=param("m", "choices: [1]\ntargets: [a.m]")), "parameters.m",
     "give type: float, int or categorical", 10),
    ("newline_in_key", base(extra='fixed: {"a\\nb": 1}\n'), "fixed.a\\nb", "not a config key", 10),
]


def problem_lines(err: SpaceError, path: Path) -> list[dict]:
    """Each line of the error, parsed; every one must be ``file:line: field: message``."""
    lines = str(err).splitlines()
    assert len(lines) == len(err.problems) >= 1
    parsed = []
    for line in lines:
        match = LINE.match(line)
        assert match and match["file"] == str(path), line
        parsed.append(match.groupdict())
    return parsed


@pytest.mark.parametrize(("content", "field", "fragment", "line"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_hostile_space_is_refused_with_one_line_per_problem(tmp_path, monkeypatch, content, field,
                                                            fragment, line):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "space.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    start = time.monotonic()
    with pytest.raises(SpaceError) as err:
        load_space(path)
    assert time.monotonic() - start < 5
    found = problem_lines(err.value, path)
    hits = [p for p in found if p["field"] == field and fragment in p["message"]]
    assert hits, f"no {field!r} problem saying {fragment!r} in:\n{err.value}"
    if line is not None:
        assert int(hits[0]["line"]) == line, str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["space.yaml"]  # nothing written


def test_the_corpus_covers_every_kind_and_its_ids_are_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 90


def test_not_a_file(tmp_path):
    for path, says in [(tmp_path, "must be a regular file"), (tmp_path / "no.yaml", "no such file")]:
        with pytest.raises(SpaceError) as err:
            load_space(path)
        assert str(err.value) == f"{path}:0: file: {err.value.problems[0].message}"
        assert says in str(err.value)


def test_many_problems_are_capped_with_a_count(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(base().split("parameters:")[0] + "parameters:\n" + "".join(
        f"  p{i}: {{type: float, low: 2, high: 1, targets: [a.p{i}]}}\n" for i in range(500)))
    with pytest.raises(SpaceError) as err:
        load_space(path)
    found = problem_lines(err.value, path)
    assert len(found) == 20 and found[-1]["message"].startswith("481 more problems not shown")


def test_file_store_is_accepted_once_opted_in(tmp_path, monkeypatch):
    path = tmp_path / "space.yaml"
    path.write_text(base(extra="tracking: {uri: 'file:///tmp/mlruns'}\n"))
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    assert load_space(path).tracking.uri == "file:///tmp/mlruns"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _cli(args: list[str], cwd: Path, timeout: float = 60) -> tuple[subprocess.CompletedProcess,
                                                                     float]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "AQR_SWEEP_ROOT": str(cwd / "runs")}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout, preexec_fn=_limit_memory)
    return proc, time.monotonic() - start


@pytest.mark.parametrize(("content", "field", "fragment"), [
    pytest.param(base(extra=laughs(9)), "yaml", "more than 100000 YAML nodes", id="billion_laughs"),
    pytest.param(base(extra="fixed: {a.b: " + "[" * 5000 + "]" * 5000 + "}\n"), "yaml",
                 "deeper than 50", id="deep_flow"),
    pytest.param(base("    low: 1.0", "\tlow: 1.0"), "yaml", "indent with spaces", id="tab"),
    pytest.param(base("name: t", "name: '..'"), "name", "one folder name", id="name_dotdot"),
    pytest.param(base(extra="metric: a\0b\n").encode(), "file", "NUL byte", id="nul_byte"),
])
def test_validate_refuses_hostile_files_in_bounded_time_and_memory(tmp_path, content, field,
                                                                   fragment):
    """Through the command line, under a 2 GB address-space limit: exit 2 within 10 s, one
    ``file:line: field: message`` line, no traceback, nothing written."""
    path = tmp_path / "space.yaml"
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    proc, elapsed = _cli(["validate", str(path)], tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert elapsed < 10
    assert "Traceback" not in proc.stderr + proc.stdout
    (line,) = proc.stderr.strip().splitlines()
    match = LINE.match(line)
    assert match and match["file"] == str(path) and match["field"] == field, line
    assert fragment in match["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["space.yaml"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["../escape", "ABSOLUTE", ".."])
def test_run_refuses_a_name_outside_the_sweeps_root(tmp_path, name):
    outside = tmp_path.parent / f"{tmp_path.name}-escape"   # this test's own, outside tmp_path
    name = str(outside) if name == "ABSOLUTE" else name
    path = tmp_path / "space.yaml"
    path.write_text(base("base_config: aqr/configs/mini_cmt_aqr.py",
                         f"base_config: {REPO / 'aqr/configs/mini_cmt_aqr.py'}"))
    proc, _ = _cli(["run", str(path), "--name", name], tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "one folder name" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["space.yaml"]
    assert not outside.exists()


def test_an_index_past_the_end_of_a_list_is_named_as_such(tmp_path):
    """Not a "dead knob, set create: true" (which the writer then could not write either)."""
    base = tmp_path / "base.py"
    base.write_text("model = dict(tasks=[dict(num_class=1)])\n")
    space = SweepSpace.model_validate({
        "name": "s", "base_config": str(base), "max_epochs": 3, "parameters": {
            "n": {"type": "int", "low": 1, "high": 3, "targets": ["model.tasks.3.num_class"]}}})
    with pytest.raises(SpaceError, match=r"model.tasks.3.num_class: model.tasks holds 1 item\(s\) "
                                         r"in the base config base.py; index 3 is past its end"):
        load_base_config(space, tmp_path / "s.yaml")


def test_a_misspelt_key_inside_a_nested_fixed_section_is_a_dead_knob(tmp_path):
    """``fixed: {model: {head: {clampp: 2}}}`` merges into the base's sections as the dotted form
    does: the key it would create is named, not passed because ``model`` exists."""
    base = tmp_path / "base.py"
    base.write_text("model = dict(head=dict(clamp=1.0, sigma=2.0))\noptim = dict(lr=0.1)\n")

    def problems(fixed: dict, **extra) -> list[str]:
        space = SweepSpace.model_validate({
            "name": "s", "base_config": str(base), "max_epochs": 3, "fixed": fixed, **extra,
            "parameters": {"lr": {"type": "float", "low": 0.1, "high": 1.0,
                                  "targets": ["optim.lr"]}}})
        try:
            load_base_config(space, tmp_path / "s.yaml")
        except SpaceError as err:
            return [f"{p.field}: {p.message}" for p in err.problems]
        return []

    (msg,) = problems({"model": {"head": {"clampp": 2.0, "sigma": 1.0}}})
    assert msg.startswith("fixed: model.head.clampp is not in the base config base.py: a merge "
                          "would create it")
    assert "nearest keys: model.head.clamp" in msg and "list model in create_fixed" in msg
    (msg,) = problems({"model": {"neck": {"x": 1}}})         # a section the base lacks
    assert msg.startswith("fixed: model.neck is not in the base config")
    assert problems({"model": {"head": {"clamp": 2.0}}}) == []
    assert problems({"model": {"head": {"clampp": 2.0}}}, create_fixed=["model"]) == []
    assert problems({"model": {"_delete_": True, "head": {"other": 1}}}) == []  # replaced whole
    assert problems({"model": {"head": "a string replaces the section"}}) == []


def test_words_as_choices_on_a_number_key_are_refused(tmp_path):
    """``choices: [a, b]`` on a key that holds 1.0: the model would get a string (the preflight
    found it only as a TypeError deep in the renderer); numbers quoted, or mixed, are named too."""
    base = tmp_path / "base.py"
    base.write_text("model = dict(sigma=1.0, mode='convex', n=3)\n")

    def problems(choices: list, key: str = "model.sigma") -> list[str]:
        space = SweepSpace.model_validate({
            "name": "s", "base_config": str(base), "max_epochs": 3, "parameters": {
                "k": {"type": "categorical", "choices": choices, "targets": [key]}}})
        try:
            load_base_config(space, tmp_path / "s.yaml")
        except SpaceError as err:
            return [f"{p.field}: {p.message}" for p in err.problems]
        return []

    assert problems(["a", "b"]) == [
        "parameters.k.targets.0: model.sigma is a number in the base config (1.0), but the "
        "choices are words ('a', 'b'): the training would get a string; give numbers as choices "
        "(unquoted), or target the key those words belong to"]
    assert len(problems(["1", "2"], "model.n")) == 1
    assert problems([1.0, 2.0]) == [] and problems(["additive", "convex"], "model.mode") == []


def test_a_variable_the_base_config_reads_while_parsed_is_refused(tmp_path):
    """`out_size_factor = 8` ... `dict(out_size_factor=out_size_factor)`: setting the top-level
    name in the trial config changes none of the values made from it (also through `_base_`)."""
    (tmp_path / "common.py").write_text("data_root = 'data/'\nmodel = dict(x=1)\n"
                                        "data = dict(train=dict(data_root=data_root))\n")
    base = tmp_path / "base.py"
    base.write_text("_base_ = ['./common.py']\nout_size_factor = 8\ntotal_epochs = 20\n"
                    "model = dict(train_cfg=dict(out_size_factor=out_size_factor))\n")
    space = SweepSpace.model_validate({
        "name": "s", "base_config": str(base), "max_epochs": 20,
        "fixed": {"data_root": "/mnt/nuscenes/", "total_epochs": 20},
        "parameters": {"f": {"type": "categorical", "choices": [4, 8],
                             "targets": ["out_size_factor"]}}})
    with pytest.raises(SpaceError) as err:
        load_base_config(space, tmp_path / "s.yaml")
    fields = {p.field: p.message for p in err.value.problems}
    assert fields["parameters.f.targets.0"] == (
        "out_size_factor is a variable the base config reads while it is parsed (base.py:4): "
        "what it made is fixed by then, so setting it changes nothing the training reads; set "
        "the keys that hold its value instead (model.train_cfg.out_size_factor)")
    assert fields["fixed"].startswith("data_root is a variable the base config reads while it "
                                      "is parsed (common.py:3)")
    assert len(fields) == 2          # total_epochs is read by the training, not by the config


def test_a_base_config_that_never_ends_is_one_line(tmp_path, monkeypatch):
    import sweeps.config.base

    monkeypatch.setattr(sweeps.config.base, "READ_SECONDS", 1.0)
    base = tmp_path / "base.py"
    base.write_text("x = 1\nwhile True:\n    pass\n")
    space = SweepSpace.model_validate({
        "name": "s", "base_config": str(base), "max_epochs": 3,
        "parameters": {"x": {"type": "int", "low": 1, "high": 3, "targets": ["x"]}}})
    with pytest.raises(SpaceError, match=r"base.py cannot be read as a config: TimeoutError: "
                                         r"reading it took over 1 s; does it loop"):
        load_base_config(space, tmp_path / "s.yaml")


@pytest.mark.parametrize("text, message", [
    ("import sys\nprint('hello')\nsys.exit(3)\n",
     "RuntimeError: it exited (exit code 3) while it was read: a script, not a config?"),
    ("import argparse\nargparse.ArgumentParser().parse_args(['--work-dir'])\n",
     "RuntimeError: it exited (exit code 2) while it was read"),
    ("raise RuntimeError\n", "RuntimeError: (no message)"),
], ids=["exits", "argparse", "bare-raise"])
def test_a_script_given_as_the_base_config_is_one_line(tmp_path, text, message):
    base = tmp_path / "base.py"
    base.write_text(text)
    space = SweepSpace.model_validate({
        "name": "s", "base_config": str(base), "max_epochs": 3,
        "parameters": {"x": {"type": "int", "low": 1, "high": 3, "targets": ["x"]}}})
    with pytest.raises(SpaceError, match=re.escape(f"base.py cannot be read as a config: {message}")):
        load_base_config(space, tmp_path / "s.yaml")
