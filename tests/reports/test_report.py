"""Reports on a real sweep of the mini task (the shared session fixture)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from mmengine.config import Config

from reports.export import best_trial, export_best
from reports.matrix import pivot, quick_reference
from reports.report import write_report
from reports.sweep_data import load_sweep
from sweeps.config_file import config_text
from sweeps.errors import ConfigWriteError, NoResultError
from sweeps.overrides import flat_overrides

pytestmark = [pytest.mark.slow, pytest.mark.integration]
LOGS = Path(__file__).resolve().parents[1] / "data" / "cmt_logs"  # copies of shared/data/cmt_logs
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(mini_sweep):
    return load_sweep("mini", mini_sweep["root"] / "runs", show_progress=False)


@pytest.fixture(scope="module")
def report(data, tmp_path_factory):
    return write_report(data, tmp_path_factory.mktemp("report"))


def test_trials_table(data, report):
    import pandas as pd

    table = pd.read_csv(report.trials_csv)
    assert len(table) == 4 and sorted(table["trial"]) == [0, 1, 2, 3]
    states = dict(zip(table["label"], table["state"], strict=True))
    assert states == {"good_a": "completed", "hopeless": "pruned", "broken": "failed",
                      "good_b": "completed"}
    good = table[table["label"] == "good_a"].iloc[0]
    assert good["epochs_run"] == 3
    assert good["pts_bbox_NuScenes/NDS@3"] == pytest.approx(good["value"])
    hopeless = table[table["label"] == "hopeless"].iloc[0]
    assert hopeless["pruned_at_epoch"] == 1 and pd.isna(hopeless["pts_bbox_NuScenes/NDS@2"])


def test_pivot_agrees_with_trials(data):
    table = pivot(data, "max_weight_clamp", "score_threshold")
    for _, row in data.trials[data.trials["best"].notna()].iterrows():
        cell = table.loc[row["max_weight_clamp"], row["score_threshold"]]
        assert cell >= row["best"]  # the cell holds the best of its trials
    assert table.max().max() == pytest.approx(data.trials["best"].max())


def test_quick_reference_picks_the_closest_trial(data):
    ref = quick_reference(data).set_index("preset")
    # only max_weight_clamp is shared with the guide: current 1.5 -> good_a, aggressive 2.5 -> good_b
    labels = data.trials.set_index("trial")["label"]
    assert labels[ref.loc["current", "closest_trial"]] == "good_a"
    assert labels[ref.loc["aggressive", "closest_trial"]] == "good_b"
    assert ref.loc["current", "distance"] == 0


def test_files_exist_and_are_not_trivial(report):
    for image in report.images:
        assert image.suffix == ".png" and image.stat().st_size > 10_000, image
    assert len(report.pivots) == 6  # 3 knob pairs, CSV and Markdown each
    assert all(p.stat().st_size > 50 for p in report.pivots)
    html = report.index.read_text()
    assert html.count("data:image/png;base64,") == 4 and "good_a" in html
    assert "http" not in html.replace("http-equiv", "")  # opens offline: nothing fetched


def test_export_best_loads_and_equals_the_overrides(data, tmp_path):
    best = best_trial(data)
    out = tmp_path / "best.py"
    _, options = export_best(data, out)
    exported = Config.fromfile(str(out))
    expected = Config.fromfile(str(REPO / "aqr" / "configs" / "mini_cmt_aqr.py"))
    expected.merge_from_dict(flat_overrides(data.space, best.params))
    assert exported.to_dict() == expected.to_dict()
    assert f"model.pts_bbox_head.renderer_config.max_weight_clamp={best.params['max_weight_clamp']}" \
        in options

    # trained for an epoch as it is, its modules carry the best parameters
    work = tmp_path / "work"
    proc = subprocess.run([sys.executable, "-m", "aqr.train", str(out), "--work-dir", str(work),
                           "--cfg-options", "train_cfg.max_epochs=1", "custom_hooks.0.interval=1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    scalars = next(work.glob("*/vis_data/scalars.json")).read_text().splitlines()
    train = [json.loads(line) for line in scalars if '"iter"' in line]
    assert train[-1]["aqr/max_weight_clamp"] == pytest.approx(best.params["max_weight_clamp"])


def test_export_refuses_list_keys_and_sweeps_without_completed_trials(data, tmp_path):
    with pytest.raises(ConfigWriteError, match="indexes a list"):
        config_text(Path("a.py"), {"custom_hooks.0.interval": 1}, tmp_path / "x.py", "")
    empty = data.trials.copy()
    empty["state"] = "pruned"
    with pytest.raises(NoResultError, match="no completed trial .*4 pruned"):
        best_trial(type(data)(data.name, data.space, data.record, data.sweep_dir, data.study,
                              empty, data.curves))


def test_import_real_logs(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    space = tmp_path / "cmt.yaml"
    space.write_text((REPO / "search_spaces" / "cmt_aqr_r50.yaml").read_text()
                     + f"  uri: {uri}\n")
    env = {**os.environ, "AQR_SWEEP_ROOT": str(tmp_path / "runs")}
    cli = [sys.executable, "-m", "cli", "import-log"]
    for log, params in [("cmt_r50_baseline_1ep.log", []),
                        ("cmt_aqr_r50_clamp2.5_res0.6_1ep.log",
                         ["--param", "max_weight_clamp=2.5", "--param", "residual_weight=0.6"])]:
        proc = subprocess.run([*cli, str(LOGS / log), "--sweep", "cmt", "--space", str(space),
                               *params], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    bad = subprocess.run([*cli, str(LOGS / "cmt_r50_baseline_1ep.log"), "--sweep", "cmt",
                          "--param", "max_weight_clamp=9"], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "must be in [1.5, 3.0], but got 9" in bad.stderr
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("cmt-aqr-r50").experiment_id],
                              filter_string="tags.`aqr.imported` = 'true'")
    got = {r.data.tags["aqr.label"]: r for r in runs}
    base = got["imported:cmt_r50_baseline_1ep"].data
    aqr = got["imported:cmt_aqr_r50_clamp2.5_res0.6_1ep"].data
    assert base.metrics["pts_bbox_NuScenes/NDS"] == pytest.approx(0.6908)
    assert base.metrics["pts_bbox_NuScenes/mAP"] == pytest.approx(0.6575)
    assert aqr.metrics["pts_bbox_NuScenes/NDS"] == pytest.approx(0.6825)
    assert aqr.metrics["pts_bbox_NuScenes/mAP"] == pytest.approx(0.6397)
    assert aqr.params == {"max_weight_clamp": "2.5", "residual_weight": "0.6"}
    assert aqr.metrics["aqr/pers_post_max"] == 2.5

    import optuna

    from sweeps.store import SweepDir

    study = optuna.load_study(study_name="cmt", storage=SweepDir("cmt", tmp_path / "runs")
                              .study_storage)
    values = sorted(t.value for t in study.get_trials())
    assert values == [0.6825, 0.6908]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials())
