"""The CLI as a user runs it: real subprocesses, exit codes, one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "cli"]


def run(*args, cwd=REPO):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd)


def test_validate_prints_count_and_first_command():
    proc = run("validate", "search_spaces/demo.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "ok: 10 trials, tpe sampler, median pruner, 2 at a time" in proc.stdout
    assert "max_weight_clamp: model.pts_bbox_head.renderer_config.max_weight_clamp = 1.5" \
        in proc.stdout                                   # the base config's current value
    first = proc.stdout.split("first trial (current): ", 1)[1]
    assert "'max_weight_clamp': 1.5" in first and "'aqr_weight_generator': {'lr_mult': 0.5}" in first
    command = proc.stdout.split("command: ", 1)[1]
    assert "-m aqr.train" in command and "trials/0000/aqr_sweep/trial_config.py" in command


def test_bad_space_is_file_line_field_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbase_config: aqr/configs/mini_cmt_aqr.py\nmax_epochs: 2\n"
                   "parameters:\n  r:\n    type: float\n    low: 0.1\n    high: 0.9\n"
                   "    targets: [a.b]\n    colour: red\n")
    proc = run("validate", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"{bad}:10: parameters.r.colour: unknown field; remove it or "
                                   "check its spelling (known: type, low, high, log, step, "
                                   "choices, targets, create, when)")
    assert "Traceback" not in proc.stderr


def test_missing_things_are_one_line_errors(tmp_path):
    proc = run("validate", str(tmp_path / "none.yaml"))
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = run("status", "nosuch", cwd=tmp_path)
    assert proc.returncode == 2 and "no sweep named 'nosuch'" in proc.stderr
    proc = run("logs", str(tmp_path / "x.log"))
    assert proc.returncode == 2 and "log file not found" in proc.stderr
    proc = run("logs", str(tmp_path))  # a work dir without a log: no result (as an empty log)
    assert proc.returncode == 1 and proc.stderr.strip() == (
        f"error: {tmp_path}: no validation records found (is it a training log of mmengine or "
        "mmcv 1.x, or a work dir that holds one?)")


def test_logs_of_a_work_dir_reads_the_logs_in_it(tmp_path):
    (tmp_path / "20261206_120000.log.json").write_text(
        '{"mode": "val", "epoch": 1, "NDS": 0.5}\n{"mode": "val", "epoch": 2, "NDS": 0.6}\n')
    proc = run("logs", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert [r["epoch"] for r in json.loads(proc.stdout)] == [1, 2]
    proc = run("logs", str(tmp_path), "--metric", "NDZ")   # a misspelt key: not a "-" column
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"error: --metric NDZ: never logged in {tmp_path} (it logged 1 key; nearest: NDS)")


def test_ui_dry_run_binds_localhost(tmp_path):
    proc = run("ui", "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0
    assert "http://127.0.0.1:5000/" in proc.stdout and "--host 127.0.0.1" in proc.stdout


def test_debug_shows_the_traceback_of_a_user_error(tmp_path):
    proc = run("--debug", "validate", str(tmp_path / "none.yaml"))
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "SpaceError" in proc.stderr


def test_a_bug_is_not_dressed_as_a_user_error(tmp_path, monkeypatch):
    """An exception that is not a UserError keeps its traceback (exit 1), not a one-liner."""
    from typer.testing import CliRunner

    import sweeps.logs
    from cli.app import app

    def bug(path, log_format="auto"):
        raise ValueError("an internal bug")

    monkeypatch.setattr(sweeps.logs, "read_log", bug)
    result = CliRunner().invoke(app, ["logs", str(tmp_path / "x.log")])
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    assert "error: an internal bug" not in result.output


LINGERING = ("import sys, threading, time\nimport ray._raylet\n"
             "threading.Thread(target=time.sleep, args=(300,)).start()\n"  # holds a normal exit
             "from cli.app import main\nmain(sys.argv[1:])\n")


def test_once_ray_is_loaded_the_process_ends_when_the_command_does(tmp_path):
    """After a sweep, Ray's threads can hold the interpreter's teardown for minutes (the
    Ctrl-C test once waited past 60 s after its last line): the CLI ends with the command's
    exit code and output instead, here past a thread that would hold a normal exit 300 s."""
    proc = subprocess.run([sys.executable, "-c", LINGERING, "validate", "search_spaces/demo.yaml"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0 and "ok: 10 trials" in proc.stdout, proc.stderr
    proc = subprocess.run([sys.executable, "-c", LINGERING, "validate", str(tmp_path / "no.yaml")],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = subprocess.run([sys.executable, "-c", LINGERING, "--debug", "validate",
                           str(tmp_path / "no.yaml")],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "SpaceError" in proc.stderr


QUIETED = ("import logging\nimport ray.tune\nfrom cli.app import _QUIET, _setup_logging\n"
           "_setup_logging()\nfor name, start in _QUIET.items():\n"
           "    logging.getLogger(name).warning(start + ' (quieted)')\n"
           "    logging.getLogger(name).warning('kept: ' + name)\n")


def test_what_the_sweep_s_view_already_says_is_not_printed_again():
    """Ray's messages on a failed or stopped trial (e.g. its result grid failing to fetch the
    metrics of a trial stopped before its first result) are left out; the rest of those
    loggers' warnings are printed."""
    from cli.app import _QUIET

    proc = subprocess.run([sys.executable, "-c", QUIETED], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(quieted)" not in proc.stderr and proc.stderr.count("kept: ") == len(_QUIET)
