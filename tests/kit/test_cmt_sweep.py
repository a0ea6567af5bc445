"""A sweep over the CMT stand-in (tests/kit/cmt_repo) through the real launch path: the CLI from
the CMT root, the real attention-bias space (its keys checked against the fork's config tree),
``torch.distributed.launch`` with 2 CPU ranks each (gloo), Ray, Optuna and MLflow on sqlite.

Every trial that reaches epoch 2 has its rank 1 SIGKILLed mid-epoch once: with the launcher's
restarts off, Ray restarts the trial and it resumes from its checkpoint (``--auto-resume``). The
good one is SIGKILLed once more as epoch 3's validation starts, after its checkpoint was saved:
the retry sets that checkpoint aside and trains epoch 3 again from epoch 2's.
Afterwards no process of any trial remains. (A launcher's own restart, into a new log, is the log
follower's test: torch 2.13's restarted gloo group fails to rendezvous on CPU here.)"""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from sweeps.logs import read_log
from sweeps.store.sweep_dir import SweepDir
from tests.kit.standin import leftovers, run_cli, standin_space

NDS = "pts_bbox_NuScenes/NDS"

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def point(name: str, bias_scale: float) -> dict:
    return {"name": name, "params": {"bias_scale": bias_scale, "window_size": 7,
                                     "use_gaussian_window": True, "bias_sigma": 1.75,
                                     "aqr_lr_mult": 0.5, "bias_scale_lr_mult": 0.5}}


def test_crash_resume_prune_and_nothing_left(tmp_path):
    space = standin_space(tmp_path, "standin", launcher_restarts=0, max_failures=2,
                          enqueue=[point("good", 1.8), point("bad", 4.0)])
    data = yaml.safe_load(space.read_text())
    data["env"]["CMT_STANDIN_KILL_IN_VAL_AT_EPOCH"] = "3"
    space.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = run_cli(tmp_path, "run", str(space))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    study = optuna.load_study(study_name="standin",
                              storage=SweepDir("standin", tmp_path / "runs").study_storage)
    good, bad = study.get_trials()
    assert good.state == optuna.trial.TrialState.COMPLETE and sorted(good.intermediate_values) \
        == [1, 2, 3]
    assert bad.state == optuna.trial.TrialState.PRUNED and bad.user_attrs["pruned_at_epoch"] == 1

    work = Path(good.user_attrs["work_dir"])
    assert "--auto-resume" in (work / "command.txt").read_text()   # Ray's retry resumed
    assert (work / ".standin_crashed_epoch2").exists()
    assert (work / ".standin_kill_in_valed_epoch3").exists()
    assert (work / "epoch_3.pth.unvalidated").exists()   # set aside; epoch 3 trained again
    assert os.readlink(work / "latest.pth") == "epoch_3.pth"
    assert "goes on from epoch_2.pth" in (work / "train.out").read_text()
    logs = sorted(work.glob("*.log.json"))
    assert len(logs) == 3                     # the first attempt's log and the two resumed ones'
    assert [r.epoch for r in read_log(logs[-1])] == [3]
    trial_config = (work / "aqr_sweep" / "trial_config.py").read_text()
    assert "'attention_bias_generator.bias_scale': {'lr_mult': 0.5}" in trial_config

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("standin").experiment_id],
                              filter_string="tags.`aqr.label` = 'good'")
    assert {a.path for a in client.list_artifacts(runs[0].info.run_id)} >= {
        "trial_config.py", "command.txt"}
    first_attempt = (work / "train.out").read_text().split("--auto-resume")[0]
    assert "failed (exitcode: -9) local_rank: 1" in (work / "train.out").read_text()
    assert "restart" not in first_attempt.lower()    # --max_restarts=0: the launcher gave up
    assert leftovers(tmp_path) == []


def test_a_dead_knob_is_refused_before_anything_starts(tmp_path):
    space = standin_space(tmp_path, "dead", launcher_restarts=0, max_failures=0,
                          enqueue=[point("only", 1.8)])
    text = space.read_text().replace("attention_bias_config.bias_scale",
                                     "attention_bias_config.bias_scales")
    space.write_text(text)
    proc = run_cli(tmp_path, "run", str(space))
    assert proc.returncode == 2
    assert "parameters.bias_scale.targets.0: model.pts_bbox_head.attention_bias_config.bias_scales " \
           "is not in the base config" in proc.stderr
    assert "nearest keys: model.pts_bbox_head.attention_bias_config.bias_scale" in proc.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "mlflow.db").exists()
