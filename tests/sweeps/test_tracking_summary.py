"""The sweep's answer on its MLflow parent run is the ranking's (export-best's), on a real sqlite
store: a configuration that leads on a stopped run's value is the one named and marked best."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from sweeps.constants import Mode, Tag, TrialState
from sweeps.run.ranking import Run, rank
from sweeps.space import SweepSpace
from sweeps.store.status import TrialStatus
from sweeps.tracking.runs import record_summary


def test_the_parent_run_carries_the_rankings_answer(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("s")
    parent = client.create_run(experiment, run_name="s").info.run_id
    for number in (0, 1):
        client.create_run(experiment, run_name=f"trial_000{number}", tags={
            Tag.PARENT: parent, Tag.TRIAL_NUMBER: str(number)})
    space = SweepSpace.model_validate({
        "name": "s", "base_config": "c.py", "max_epochs": 6, "mode": "max", "metric": "NDS",
        "parameters": {"x": {"type": "float", "low": 0, "high": 1, "targets": ["x"]}}})
    statuses = [TrialStatus(0, "a", TrialState.COMPLETED, 6, {"x": 0.2}, 0.30, 0.30, None, ""),
                TrialStatus(1, "b", TrialState.PRUNED, 3, {"x": 0.7}, 0.33, 0.33, 3, "")]
    ranking = rank([Run((("x", 0.2),), 0.30, 0), Run((("x", 0.7),), 0.33, 1, 3)], Mode.MAX)
    record_summary(client, parent, space, statuses, ranking.best)

    run = client.get_run(parent)
    assert run.data.metrics["NDS"] == 0.33 and run.data.tags["aqr.best_trial"] == "1"
    assert ("Best: trial 1 b, NDS = 0.3300 at epoch 3 (no run of it completed), params "
            "{'x': 0.7}.") in run.data.tags["mlflow.note.content"]
    statuses[1] = TrialStatus(1, "", TrialState.PRUNED, 3, {"x": 0.7}, 0.33, 0.33, 3, "")
    record_summary(client, parent, space, statuses, ranking.best)   # a trial with no label
    assert "Best: trial 1, NDS" in client.get_run(parent).data.tags["mlflow.note.content"]
    names = {r.data.tags[Tag.TRIAL_NUMBER]: r.info.run_name for r in client.search_runs(
        [experiment], f"tags.`{Tag.PARENT}` = '{parent}'")}
    assert names == {"0": "trial_0000", "1": "trial_0001 (best)"}
