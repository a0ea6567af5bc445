"""Bad input to the commands that read a finished sweep, through the real CLI: one ``error:``
line naming the value and the fix, exit code 2, nothing written (no MLflow store created, no
file of the sweep overwritten)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reports.export import export_best
from reports.sweep_data import load_sweep
from sweeps.errors import BadOptionError
from sweeps.store.study import load_study
from sweeps.store.sweep_dir import SweepDir
from tests.kit.spaces import write_space

CLI = [sys.executable, "-m", "cli"]


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AQR_SWEEP_ROOT": str(cwd / "runs")}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=240)


def one_error(proc: subprocess.CompletedProcess) -> str:
    """The error line of a refused command (exit 2, one line, no traceback)."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.removeprefix("error: ").strip()


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 2-trial sweep ``good`` (replayed trainings), its MLflow store in its root."""
    from sweeps.run.driver import run_sweep
    from tests.kit.replay import ReplayBackend

    root = tmp_path_factory.mktemp("finished")
    space = write_space(root, "good", search={"num_trials": 2, "sampler": "random"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AQR_SWEEP_ROOT", str(root / "runs"))
        run_sweep(space, view="none", backend=ReplayBackend())
    return root


def copy_of(finished: Path, folder: Path, **record: str) -> SweepDir:
    """The finished sweep's folder copied under ``folder/runs``, ``record`` set in its
    ``sweep.json``."""
    sweep = SweepDir("good", folder / "runs")
    shutil.copytree(finished / "runs" / "good", sweep.path)
    data = json.loads(sweep.record_file.read_text())
    sweep.record_file.write_text(json.dumps({**data, **record}))
    return sweep


@pytest.mark.slow
@pytest.mark.integration
def test_export_best_refuses_an_output_it_cannot_or_must_not_write(finished, tmp_path):
    sweep = copy_of(finished, tmp_path)
    (tmp_path / "out").mkdir()
    space = sweep.space_file.read_text()
    assert one_error(cli(tmp_path, "export-best", "good", "-o", "out")) == \
        "-o out is a directory; give a file path such as out/best.py"
    assert one_error(cli(tmp_path, "export-best", "good", "-o", str(sweep.space_file))) == (
        f"-o {sweep.space_file} is in the folder of sweep 'good' ({sweep.path}), which holds its "
        "space, study and trials; give a path outside it such as best.py")
    assert sweep.space_file.read_text() == space

    data = load_sweep("good", tmp_path / "runs", show_progress=False)
    for out, problem in [
            (tmp_path / "out", "is a directory"),
            (sweep.trials_dir / "0000" / "best.py", "is in the folder of sweep 'good'"),
            (finished / "good.yaml", "is the space file of sweep 'good'"),
            (finished / "config.py", "is the base config of sweep 'good'"),
            (finished / "config.py" / "best.py", f"{finished / 'config.py'} is a file, not a "
                                                 "directory")]:
        before = out.read_text() if out.is_file() else None
        with pytest.raises(BadOptionError, match=problem):
            export_best(data, out)
        assert (out.read_text() if out.is_file() else None) == before
    assert one_error(cli(tmp_path, "export-best", "good", "-o", "best.yaml")) == (
        "-o best.yaml: a py export must end in .py (configs are read by their suffix); name it "
        "best.py, or give --format yaml")
    done = cli(tmp_path, "export-best", "good", "-o", "new/folder/best.py")   # as mkdir -p
    assert done.returncode == 0, done.stderr[-2000:]
    assert "_base_ = " in (tmp_path / "new" / "folder" / "best.py").read_text()


def test_an_output_path_that_cannot_be_written_is_one_line(finished, tmp_path):
    """Where the OS refuses the path (no folder can be made there, a file in the way): one line
    naming it, no traceback."""
    copy_of(finished, tmp_path)
    assert one_error(cli(tmp_path, "export-best", "good", "-o", "/proc/nope/best.py")).startswith(
        "cannot use /proc/nope: No such file or directory; check the path")
    assert one_error(cli(tmp_path, "report", "good", "--out", "/proc/nope")).startswith(
        "cannot use /proc/nope: No such file or directory; check the path")
    (tmp_path / "a_file").write_text("x")
    assert one_error(cli(tmp_path, "report", "good", "--out", "a_file")) == (
        "--out a_file is a file; give a folder for the report's files, such as reports/good")
    assert (tmp_path / "a_file").read_text() == "x"


def test_slurm_refuses_options_sbatch_would_misread(finished, tmp_path):
    """A partition or account is written into the script's #SBATCH lines: a newline or a shell
    word there would end the block or run; a time not longer than the stop's lead would stop
    each allocation as it starts."""
    space = str(finished / "good.yaml")
    for args, error in [
            (["--partition", "gpu\n#SBATCH --wrap=x"], "--partition must be a Slurm name"),
            (["--account", "acc$(touch x)"], "--account must be a Slurm name"),
            (["--time", "99:99:99"], "--time must be as sbatch takes it"),
            (["--time", "00:01:00"], "--time 00:01:00 (60 s) must be longer than the stop's lead"),
            (["--time", "2"], "--time 2 (120 s) must be longer than the stop's lead")]:
        assert one_error(cli(tmp_path, "slurm", space, *args)).startswith(error), args
    assert not (tmp_path / "x").exists() and not (tmp_path / "runs").exists()


@pytest.mark.slow
@pytest.mark.integration
def test_a_lost_mlflow_store_or_run_is_one_line_and_never_created(finished, tmp_path):
    db = tmp_path / "gone" / "mlflow.db"
    sweep = copy_of(finished, tmp_path, tracking_uri=f"sqlite:///{db}")
    log = tmp_path / "old.log.json"
    log.write_text(json.dumps({"mode": "val", "epoch": 1, "NDS": 0.5}) + "\n")
    lost = (f"sweep 'good': its MLflow store sqlite:///{db} is gone (no file {db}); nothing was "
            f"changed. Restore the store, or set tracking_uri in {sweep.record_file} to where it "
            "is")
    for args in (["report", "good"], ["resume", "good"], ["export-best", "good", "-o", "b.py"],
                 ["import-log", str(log), "--sweep", "good", "--param", "x=0.5"],
                 ["ui", "good", "--dry-run"],
                 ["preflight", str(finished / "good.yaml"), "--name", "good"]):
        assert one_error(cli(tmp_path, *args)) == lost, args
        assert not db.parent.exists(), args
    assert not (tmp_path / "b.py").exists() and not (tmp_path / "reports").exists()
    assert len(load_study(sweep).trials) == 2      # the finished ones: the log was not imported

    shutil.rmtree(sweep.path)
    sweep = copy_of(finished, tmp_path, parent_run_id="deadbeef")
    for args in (["report", "good"], ["resume", "good"]):
        assert one_error(cli(tmp_path, *args)) == (
            f"sweep 'good': its MLflow run deadbeef is not in sqlite:///{finished / 'mlflow.db'}; "
            "nothing was changed. Restore the store, or set tracking_uri and parent_run_id in "
            f"{sweep.record_file} to the store and run of the sweep"), args
    assert not (tmp_path / "reports").exists()


def test_import_log_refuses_a_metric_that_is_nan_or_infinite(tmp_path):
    space = write_space(tmp_path, "imp")
    # another metric's NaN is kept as logged: the sweep's metric is what runs are compared by
    (tmp_path / "ok.log.json").write_text('{"mode": "val", "epoch": 1, "NDS": 0.5, "mAP": NaN}\n')
    done = cli(tmp_path, "import-log", "ok.log.json", "--sweep", "imp", "--space", str(space),
               "--param", "x=0.5")
    assert done.returncode == 0, done.stderr[-2000:]
    logs = {"nan": [(1, "0.2"), (2, "NaN"), (3, "0.4")], "inf": [(1, "Infinity")],
            "ninf": [(1, "0.2"), (2, "-Infinity")]}
    for name, rows in logs.items():
        (tmp_path / f"{name}.log.json").write_text("".join(
            f'{{"mode": "val", "epoch": {epoch}, "NDS": {value}}}\n' for epoch, value in rows))
    for name, epoch, shown in (("nan", 2, "NaN"), ("inf", 1, "Infinity"),
                               ("ninf", 2, "-Infinity")):
        refused = cli(tmp_path, "import-log", f"{name}.log.json", "--sweep", "imp", "--param",
                      "x=0.5")
        assert one_error(refused) == (f"{name}.log.json: NDS is {shown} at epoch {epoch}; not "
                                      "imported (a diverged run has no result to compare)")
    trial, = load_study(SweepDir("imp", tmp_path / "runs")).trials
    assert trial.user_attrs["final_value"] == 0.5


def test_a_refused_import_creates_no_sweep(tmp_path):
    """A log, a --param or a second log refused: the sweep --space would have created is not
    left behind empty (a later `run --name` would have had to pick another name)."""
    space = write_space(tmp_path, "fresh")
    (tmp_path / "ok.log.json").write_text('{"mode": "val", "epoch": 1, "NDS": 0.5}\n')
    (tmp_path / "nan.log.json").write_text('{"mode": "val", "epoch": 1, "NDS": NaN}\n')
    for args, error in (
            (["nan.log.json"], "nan.log.json: NDS is NaN at epoch 1"),
            (["ok.log.json", "missing.log.json"], "log file not found: missing.log.json"),
            (["ok.log.json", "--param", "nope=1"], "--param nope: not a parameter")):
        refused = cli(tmp_path, "import-log", *args, "--sweep", "fresh", "--space", str(space),
                      *([] if "--param" in args else ["--param", "x=0.5"]))
        assert one_error(refused).startswith(error), args
        assert not (tmp_path / "runs" / "fresh").exists(), args


def test_run_taking_over_an_imported_sweep_checks_its_mlflow_store(tmp_path):
    """`run` goes on with a sweep that holds only imported runs: a lost MLflow store is one line
    (a traceback, and a new empty store that lost the imported runs)."""
    space = write_space(tmp_path, "taken")
    (tmp_path / "ok.log.json").write_text('{"mode": "val", "epoch": 1, "NDS": 0.5}\n')
    done = cli(tmp_path, "import-log", "ok.log.json", "--sweep", "taken", "--space", str(space),
               "--param", "x=0.5")
    assert done.returncode == 0, done.stderr[-2000:]
    db = tmp_path / "mlflow.db"
    db.unlink()
    error = one_error(cli(tmp_path, "run", str(space), "--no-preflight"))
    assert error.startswith(f"sweep 'taken': its MLflow store sqlite:///{db} is gone")
    assert not db.exists()
