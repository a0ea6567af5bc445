"""A real sweep: Ray Tune + Optuna + MLflow sqlite + `python -m aqr.train` subprocesses."""

import json
import os
import re
import subprocess
import sys

import optuna
import pytest
from mlflow.tracking import MlflowClient

pytestmark = [pytest.mark.slow, pytest.mark.integration,
              pytest.mark.xdist_group("mini_sweep")]  # one worker makes mini_sweep once
NDS = "pts_bbox_NuScenes/NDS"


def test_optuna_states(mini_sweep):
    from sweeps.store.sweep_dir import SweepDir

    sweep = SweepDir("mini", mini_sweep["root"] / "runs")
    study = optuna.load_study(study_name="mini", storage=sweep.study_storage)
    by_label = {t.user_attrs["label"]: t for t in study.get_trials()}
    State = optuna.trial.TrialState
    assert by_label["good_a"].state == State.COMPLETE
    assert by_label["good_b"].state == State.COMPLETE
    assert sorted(by_label["good_a"].intermediate_values) == [1, 2, 3]
    assert by_label["good_a"].value == by_label["good_a"].intermediate_values[3] > 0
    hopeless = by_label["hopeless"]
    assert hopeless.state == State.PRUNED            # told PRUNED, not COMPLETE with its 0.0
    assert hopeless.intermediate_values == {1: 0.0}
    assert hopeless.user_attrs["pruned_at_epoch"] == 1
    assert by_label["broken"].state == State.FAIL
    summary = mini_sweep["summary"]
    assert summary.counts() == {"completed": 2, "pruned": 1, "failed": 1}
    assert summary.best_number in (by_label["good_a"].number, by_label["good_b"].number)


def test_mlflow_run_tree(mini_sweep):
    client = MlflowClient(mini_sweep["uri"])
    exp = client.get_experiment_by_name("tests")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("aqr.kind") == "sweep"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    parent = parents[0]
    assert any(a.path == "space.yaml" for a in client.list_artifacts(parent.info.run_id))
    children = {r.data.tags["aqr.label"]: r for r in runs
                if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert set(children) == {"good_a", "hopeless", "broken", "good_b"}
    states = {k: r.data.tags["aqr.state"] for k, r in children.items()}
    assert states == {"good_a": "completed", "good_b": "completed", "hopeless": "pruned",
                      "broken": "failed"}
    good = children["good_a"]
    assert good.data.params["max_weight_clamp"] == "1.5"
    history = client.get_metric_history(good.info.run_id, NDS)
    assert sorted(m.step for m in history) == [1, 2, 3]
    assert "aqr/pers_post_max" in good.data.metrics
    assert os.path.isdir(good.data.tags["aqr.work_dir"])
    assert children["hopeless"].data.tags["aqr.pruned_at_epoch"] == "1"
    # MLflow as the dashboard: a pruned run reads as pruned, the parent carries the answer
    assert children["hopeless"].info.status == "KILLED"
    assert children["hopeless"].info.run_name.endswith("pruned@1")
    assert "train_tail.txt" in {a.path for a in client.list_artifacts(good.info.run_id)}
    best = max(children["good_a"].data.metrics[NDS], children["good_b"].data.metrics[NDS])
    assert parent.data.metrics[NDS] == pytest.approx(best)
    assert parent.data.metrics["trials_completed"] == 2
    assert parent.data.metrics["trials_pruned"] == 1 and parent.data.metrics["trials_failed"] == 1
    assert parent.data.tags["aqr.best_trial"] in {children["good_a"].data.tags["aqr.trial_number"],
                                                  children["good_b"].data.tags["aqr.trial_number"]}
    assert "Best: trial" in parent.data.tags["mlflow.note.content"]
    assert [m.step for m in client.get_metric_history(children["hopeless"].info.run_id, NDS)] \
        == [1]
    broken = children["broken"]
    assert broken.info.status == "FAILED"
    assert "num_queries must be a square" in broken.data.tags["aqr.error"]


def test_status_and_resume_cli(mini_sweep):
    env = {**os.environ, "AQR_SWEEP_ROOT": str(mini_sweep["root"] / "runs")}
    cli = [sys.executable, "-m", "cli"]
    out = subprocess.run([*cli, "status", "mini", "--json"], capture_output=True, text=True,
                         env=env, cwd=mini_sweep["root"], check=True).stdout
    rows = {r["label"]: r for r in json.loads(out)}
    assert rows["hopeless"]["state"] == "pruned" and rows["hopeless"]["epochs_run"] == 1
    assert rows["good_b"]["epochs_run"] == 3 and rows["good_b"]["params"]["max_weight_clamp"] == 2.5
    # the sweep is done: resuming runs nothing new and reuses the MLflow parent
    done = subprocess.run([*cli, "resume", "mini"], capture_output=True, text=True, env=env,
                          cwd=mini_sweep["root"])
    assert done.returncode == 0, done.stderr
    assert "sweep mini: 2 completed, 1 failed, 1 pruned; nothing was left to run" in done.stdout
    # the answer is the ranking's (export-best's): a mean over the configuration's seeds
    assert re.search(r"best: trial \d+, \d\.\d{4} over 1 seed\(s\) \(", done.stdout), done.stdout
    again = subprocess.run([*cli, "run", str(mini_sweep["space_file"])], capture_output=True,
                           text=True, env=env, cwd=mini_sweep["root"])
    assert again.returncode == 2 and "already exists" in again.stderr
    report = subprocess.run([*cli, "report", "mini", "--out", str(mini_sweep["root"] / "rep")],
                            capture_output=True, text=True, env=env, cwd=mini_sweep["root"])
    assert report.returncode == 0, report.stderr
    client = MlflowClient(mini_sweep["uri"])
    parent = next(r for r in client.search_runs([client.get_experiment_by_name("tests")
                                                 .experiment_id])
                  if r.data.tags.get("aqr.kind") == "sweep")
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/index.html", "report/trials.csv"} <= logged
