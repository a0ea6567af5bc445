"""``search_spaces/guide_schedules.yaml`` run for 2 trials on the mini task, through the real
driver: the guide's scheme C and its 3-stage plan reach the training, whose own log
(``scalars.json``) holds the scheduled values epoch by epoch, and MLflow gets them per epoch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


def per_epoch(work_dir: Path, key: str) -> dict[int, float]:
    """The last logged value of ``key`` in each epoch of a trial's ``scalars.json``."""
    out = {}
    for line in next(work_dir.glob("*/vis_data/scalars.json")).read_text().splitlines():
        record = json.loads(line)
        if key in record and "epoch" in record:
            out[record["epoch"]] = record[key]
    return out


def test_two_trials_of_the_guide_schedules_log_their_schedules(tmp_path, monkeypatch):
    from sweeps.run.driver import run_sweep

    space = yaml.safe_load((REPO / "search_spaces" / "guide_schedules.yaml").read_text())
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    base = tmp_path / "mini_small.py"     # a quarter of the scenes: the schedules are the point
    base.write_text(f"_base_ = [{str(REPO / 'aqr' / 'configs' / 'mini_cmt_aqr.py')!r}]\n"
                    "train_dataloader = dict(dataset=dict(num_scenes=80))\n"
                    "val_dataloader = dict(dataset=dict(num_scenes=40))\n")
    space.update(base_config=str(base),
                 tracking={"uri": uri, "experiment": "guide",
                           "artifact_location": (tmp_path / "mlartifacts").as_uri()},
                 pruner={"type": "none"})
    space["search"].update(num_trials=2, enqueue=space["search"]["enqueue"][:2])
    path = tmp_path / "guide_schedules.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    summary = run_sweep(path, view="none")
    assert [t.state for t in summary.trials] == ["completed", "completed"], summary

    trials = tmp_path / "runs" / "guide_schedules" / "trials"
    residual = per_epoch(trials / "0000", "aqr/residual_weight")        # scheme C: a cosine
    assert len(set(residual.values())) >= 2, residual
    assert residual[1] == pytest.approx(0.7) and residual[6] < 0.6, residual
    clamp = per_epoch(trials / "0001", "aqr/max_weight_clamp")         # 3 stages: 3.0, 2.0, 1.5
    assert clamp[1] == pytest.approx(3.0) and clamp[4] == pytest.approx(2.0) \
        and clamp[6] == pytest.approx(1.5), clamp

    client = MlflowClient(uri)
    run = client.search_runs([client.get_experiment_by_name("guide").experiment_id],
                             filter_string="tags.`aqr.trial_number` = '0'")[0]
    history = client.get_metric_history(run.info.run_id, "aqr/residual_weight")
    assert len({m.value for m in history}) >= 2, history

    # the report shows which schedule each trial ran, and the scheduled values beside NDS
    from reports.matrix import tuning_pair
    from reports.report import write_report
    from reports.sweep_data import load_sweep

    data = load_sweep("guide_schedules", tmp_path / "runs", show_progress=False)
    assert tuning_pair(data) == ("residual_kind", "clamp_kind")
    ran = data.trials.set_index("label")["schedules"]
    assert ran["scheme_c"].startswith("residual: cosine 0.7->0.4 (warm-up 1.5 of 6)")
    assert "clamp: staged 3->2->1.5 at 3,5" in ran["three_stage"]
    files = write_report(data, tmp_path / "report")
    assert any(p.name == "schedules.png" for p in files.images)
    page = files.index.read_text()
    assert "Tuning matrix: residual_kind x clamp_kind" in page and "aqr_lr: staged" in page
