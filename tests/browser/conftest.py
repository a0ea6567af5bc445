"""A sweep with every kind of trial (completed, pruned, failed, interrupted, imported), reported,
and a headless Chromium to look at it as a person does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser",
                                                   "google-chrome") if shutil.which(name)), None)


def chromium(*args: str, timeout: float = 120) -> str:
    """Run headless Chromium; its stdout (``--dump-dom``: the DOM after scripts ran)."""
    if CHROMIUM is None:
        pytest.skip("no chromium here: `apt-get install -y chromium` (.ci/run does)")
    # a new profile each time: two Chromiums on one profile (another test worker's) abort
    with tempfile.TemporaryDirectory(prefix="aqr-sweep-chromium-", ignore_cleanup_errors=True) as home:
        done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-dev-shm-usage", f"--user-data-dir={home}", *args],
                              capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="session")
def mixed_sweep(tmp_path_factory):
    """Trials a (0.9) and b (0.8) completed, low (0.1) pruned at epoch 1, one failed, one left
    running by a dead driver (interrupted), one imported log; then ``aqr-sweep report``."""
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    from sweeps.run.driver import run_sweep
    from sweeps.store.study import load_study
    from sweeps.store.sweep_dir import SweepDir
    from tests.kit.replay import ReplayBackend
    from tests.kit.spaces import write_space

    root = tmp_path_factory.mktemp("mixed")
    env = {**os.environ, "AQR_SWEEP_ROOT": str(root / "runs")}
    space = write_space(root, "mixed", tracking={
        "uri": f"sqlite:///{root / 'mlflow.db'}", "experiment": "mixed",
        "artifact_location": (root / "mlartifacts").as_uri()}, pruner={"type": "median", "warmup_epochs": 0,
                                               "startup_trials": 2}, search={
        "num_trials": 3, "enqueue": [{"name": n, "params": {"x": x}}
                                     for n, x in (("a", 0.9), ("b", 0.8), ("low", 0.1))]})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AQR_SWEEP_ROOT", str(root / "runs"))
        run_sweep(space, view="none", backend=ReplayBackend(epochs=3))
        study = load_study(SweepDir("mixed"))
    dist = {"x": FloatDistribution(0.1, 1.0)}
    study.add_trial(create_trial(params={"x": 0.3}, distributions=dist, intermediate_values={
        1: 0.3}, state=optuna.trial.TrialState.FAIL, user_attrs={"label": "crashed"}))
    study.add_trial(create_trial(params={"x": 0.4}, distributions=dist, intermediate_values={
        1: 0.4}, state=optuna.trial.TrialState.RUNNING, user_attrs={"label": "cut"}))
    log = root / "old_run.log.json"
    log.write_text("\n".join(json.dumps({"mode": "val", "epoch": e, "NDS": v})
                             for e, v in ((1, 0.5), (2, 3.5))) + "\n")  # better than any trial
    cli = [sys.executable, "-m", "cli"]
    for args in (["import-log", str(log), "--sweep", "mixed", "--param", "x=0.5"],
                 ["report", "mixed", "--out", str(root / "report")]):
        done = subprocess.run([*cli, *args], cwd=root, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    return {"root": root, "env": env, "uri": f"sqlite:///{root / 'mlflow.db'}",
            "report": root / "report" / "index.html"}
