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
from reports.matrix import matrix, quick_reference
from reports.report import write_report
from reports.sweep_data import load_sweep
from sweeps.config.overrides import flat_overrides
from sweeps.errors import NoResultError

pytestmark = [pytest.mark.slow, pytest.mark.integration,
              pytest.mark.xdist_group("mini_sweep")]  # one worker makes mini_sweep once
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


def test_the_trials_table_puts_only_final_values_under_final(data, report):
    from html.parser import HTMLParser

    class Table(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.inside = [], False

        def handle_starttag(self, tag, attrs):
            self.inside = self.inside or dict(attrs).get("class") == "trials"
            if self.inside and tag == "tr":
                self.rows.append([])

        def handle_endtag(self, tag):
            self.inside = self.inside and tag != "table"

        def handle_data(self, text):
            if self.inside and self.rows:
                self.rows[-1].append(text)

    page = report.index.read_text()
    table = Table()
    table.feed(page)
    header, *rows = table.rows
    finals = [i for i, h in enumerate(header) if h.startswith("final ")]
    assert [header[i] for i in finals] == ["final NDS"] + [
        f"final {m.rsplit('/', 1)[-1]}" for m in data.space.track], header
    for row in rows:
        state = row[header.index("state")]
        assert all((row[i] == "-") == (state != "completed") for i in finals), row
    hopeless = next(r for r in rows if "hopeless" in r)
    assert hopeless[header.index("last NDS")] != "-"      # its early value: under "last"
    assert "value:" not in page and "last NDS: the last validation" in page
    # 2 completed trials over 3 knobs: importances are a hint, and the page says so
    if "Parameter importance</h2>" in page:
        assert "id='importance-caveat'>Caveat: these importances rest on 2 completed" in page


def test_matrix_agrees_with_trials(data):
    m = matrix(data, "max_weight_clamp", "score_threshold")
    done = data.trials[data.trials["state"] == "completed"]
    for _, row in done.iterrows():
        cell = m.cells[m.rows.cell(row["max_weight_clamp"])][m.cols.cell(row["score_threshold"])]
        assert cell.kind == "completed" and cell.value >= row["value"]  # the best final value
    hopeless = data.trials[data.trials["label"] == "hopeless"].iloc[0]
    cell = m.cells[m.rows.cell(hopeless["max_weight_clamp"])][m.cols.cell(
        hopeless["score_threshold"])]
    assert cell.kind == "pruned" and cell.epoch == 1
    best = m.cells[m.best[0]][m.best[1]]
    assert best.value == pytest.approx(done["value"].max())


def test_quick_reference_picks_the_closest_trial(data):
    ref = quick_reference(data).set_index("preset")
    # only max_weight_clamp is shared with the guide: current 1.5 -> good_a, aggressive 2.5 -> good_b
    number = data.trials.set_index("label")["trial"]
    assert ref.loc["current", "measured_by"] == f"trial {number['good_a']}"
    assert ref.loc["aggressive", "measured_by"] == f"trial {number['good_b']}"
    assert ref.loc["current", "distance"] == 0


def test_files_exist_and_are_not_trivial(report):
    for image in report.images:
        assert image.suffix == ".png" and image.stat().st_size > 10_000, image
    assert len(report.matrices) == 6  # 3 knob pairs, CSV and Markdown each
    assert all(p.stat().st_size > 50 for p in report.matrices)
    html = report.index.read_text()
    assert html.count("data:image/png;base64,") == 4 and "good_a" in html
    for fetched in ("src='http", 'src="http', "<script", "<link"):  # opens offline
        assert fetched not in html


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


def test_export_refuses_sweeps_without_completed_trials(data, tmp_path):
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
    for log, params in [("cmt_r50_baseline_1ep.log", ["--baseline"]),
                        ("cmt_aqr_r50_clamp2.5_res0.6_1ep.log",
                         ["--param", "max_weight_clamp=2.5", "--param", "residual_weight=0.6"])]:
        proc = subprocess.run([*cli, str(LOGS / log), "--sweep", "cmt", "--space", str(space),
                               *params], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    bad = subprocess.run([*cli, str(LOGS / "cmt_r50_baseline_1ep.log"), "--sweep", "cmt",
                          "--param", "max_weight_clamp=9"], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "must be in [1.5, 3.0], but got 9" in bad.stderr
    again = subprocess.run([*cli, str(LOGS / "cmt_r50_baseline_1ep.log"), "--sweep", "cmt",
                            "--baseline"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert again.returncode == 0 and "already imported as trial 0 (same bytes); skipped" \
        in again.stdout                                 # not a second, duplicate reference
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("cmt-aqr-r50").experiment_id],
                              filter_string="tags.`aqr.imported` = 'true'")
    got = {r.data.tags["aqr.label"]: r for r in runs}
    base = got["baseline:cmt_r50_baseline_1ep"].data
    aqr = got["imported:cmt_aqr_r50_clamp2.5_res0.6_1ep"].data
    assert base.metrics["pts_bbox_NuScenes/NDS"] == pytest.approx(0.6908)
    assert base.metrics["pts_bbox_NuScenes/mAP"] == pytest.approx(0.6575)
    assert aqr.metrics["pts_bbox_NuScenes/NDS"] == pytest.approx(0.6825)
    assert aqr.metrics["pts_bbox_NuScenes/mAP"] == pytest.approx(0.6397)
    assert aqr.params == {"max_weight_clamp": "2.5", "residual_weight": "0.6"}
    assert aqr.metrics["aqr/pers_post_max"] == 2.5

    import optuna

    from sweeps.store.sweep_dir import SweepDir

    study = optuna.load_study(study_name="cmt", storage=SweepDir("cmt", tmp_path / "runs")
                              .study_storage)
    # references on their own (1-epoch) schedule: the sampler and the pruners skip FAIL trials
    assert all(t.state == optuna.trial.TrialState.FAIL for t in study.get_trials())
    assert sorted(t.user_attrs["final_value"] for t in study.get_trials()) == [0.6825, 0.6908]
    assert [t.user_attrs["baseline"] for t in study.get_trials()] == [True, False]
    assert base.tags["aqr.state"] == "imported" and base.params == {"aqr": "off"}

    # every command works on a sweep that holds only imported runs
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True,
                              text=True, env=env, cwd=tmp_path)

    status = cli("status", "cmt")
    assert status.returncode == 0 and "imported" in status.stdout and "1 own" in status.stdout
    assert "1/20" not in status.stdout
    report = cli("report", "cmt", "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr[-2000:]
    assert "baseline:cmt_r50_baseline_1ep" in (tmp_path / "report" / "index.html").read_text()
    best = cli("export-best", "cmt", "-o", str(tmp_path / "best.py"))
    assert best.returncode == 2 and "holds only imported runs" in best.stderr
    baseline_with_params = cli("import-log", str(LOGS / "cmt_r50_baseline_1ep.log"), "--sweep",
                               "cmt", "--baseline", "--param", "max_weight_clamp=2.0")
    assert baseline_with_params.returncode == 2 and "takes no --param" in \
        baseline_with_params.stderr
