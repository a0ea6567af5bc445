"""The tuning matrix reads like the guide's table: clamp rows x residual columns at the guide's
values, completed trials' final values, pruned trials marked with their epoch, empty cells
predicted with their uncertainty where a completed trial supports it, the best trial marked,
imported runs left out; the quick reference names only a completed trial near each preset.
Built from a SweepData made by hand."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pandas as pd
import pytest

from reports.export import best_trial
from reports.html import matrix_html
from reports.matrix import matrix, quick_reference, tuning_pair
from reports.report import write_report
from reports.surrogate import GaussianProcess
from reports.sweep_data import SweepData
from sweeps.space import SweepSpace
from sweeps.store.sweep_dir import SweepDir, SweepRecord

#: label, state, clamp, residual, sigma, last value, epochs run
TRIALS = [("current", "completed", 1.5, 0.7, 1.0, 0.35, 4),
          ("", "completed", 2.0, 0.6, 1.0, 0.38, 4),
          ("", "pruned", 2.5, 0.5, 1.0, 0.20, 2),
          ("", "completed", 2.1, 0.62, 1.5, 0.36, 4),
          ("", "failed", 3.0, 0.4, 1.0, math.nan, 1),
          ("imported:aqr_1ep", "imported", 2.5, 0.6, math.nan, 0.69, 1),
          ("", "interrupted", 1.5, 0.4, 1.0, 0.10, 1)]


@pytest.fixture()
def data(tmp_path: Path) -> SweepData:
    return sweep_data(tmp_path, TRIALS)


def sweep_data(tmp_path: Path, trials: list[tuple]) -> SweepData:
    """A SweepData of ``trials`` (rows as in :data:`TRIALS`); trials with the same knobs are runs
    of one configuration (a confirmation's label names its seed)."""
    space = SweepSpace.model_validate({
        "name": "guide", "base_config": "c.py", "max_epochs": 4,
        "parameters": {
            "max_weight_clamp": {"type": "float", "low": 1.0, "high": 4.0, "targets": ["c"]},
            "residual_weight": {"type": "float", "low": 0.3, "high": 0.9, "targets": ["r"]},
            "gaussian_sigma": {"type": "float", "low": 0.5, "high": 2.0, "targets": ["s"]}}})
    rows, curves = [], []
    study = optuna.create_study(direction="maximize")
    dists = {k: optuna.distributions.FloatDistribution(p.low, p.high)
             for k, p in space.parameters.items()}
    for number, (label, state, clamp, residual, sigma, last, epochs) in enumerate(trials):
        params = {"max_weight_clamp": clamp, "residual_weight": residual, "gaussian_sigma": sigma}
        params = {k: v for k, v in params.items() if not math.isnan(v)}
        done = state == "completed"
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions={k: dists[k] for k in params},
            value=last if done else None, user_attrs={"label": label},
            state=optuna.trial.TrialState.COMPLETE if done else optuna.trial.TrialState.FAIL))
        rows.append({"trial": number, "label": label, "state": state, "epochs_run": epochs,
                     "pruned_at_epoch": epochs if state == "pruned" else math.nan,
                     "max_weight_clamp": clamp, "residual_weight": residual,
                     "gaussian_sigma": sigma,
                     "value": last if state == "completed" else math.nan, "last": last,
                     "best": last, "work_dir": "", "run_id": f"run{number}",
                     "run_url": f"http://127.0.0.1:5000/#/experiments/1/runs/run{number}",
                     "duration_s": 3723.0})
        curves += [{"trial": number, "metric": space.metric, "epoch": e, "value": last * e / epochs}
                   for e in range(1, epochs + 1) if not math.isnan(last)]
    record = SweepRecord("guide", str(tmp_path / "g.yaml"), "sqlite:///x.db", "1", "parent")
    return SweepData("guide", space, record, SweepDir("guide", tmp_path / "runs"), study,
                     pd.DataFrame(rows), pd.DataFrame(curves))


def cells(m):
    return {(r, c): m.cells[i][j] for i, r in enumerate(m.rows.values)
            for j, c in enumerate(m.cols.values)}


def test_the_guide_grid_holds_final_values_and_marks_pruned_ones(data):
    assert tuning_pair(data) == ("max_weight_clamp", "residual_weight")
    m = matrix(data, *tuning_pair(data))
    assert m.rows.values == [1.5, 2.0, 2.5, 3.0] and m.cols.values == [0.4, 0.5, 0.6, 0.7]
    assert m.rows.labels()[1] == "2 (1.75-2.25)"        # each row says the range it covers
    got = cells(m)
    assert got[2.0, 0.6].kind == "completed" and got[2.0, 0.6].value == 0.38
    assert got[2.0, 0.6].completed == 2                  # trials 1 and 3; the better one shown
    assert got[1.5, 0.7].value == 0.35 and got[1.5, 0.7].trial == 0
    assert got[2.5, 0.5].kind == "pruned" and got[2.5, 0.5].epoch == 2
    assert got[2.5, 0.5].text() == "pruned@2: 0.2000 (trial 2)"
    assert m.best == (1, 2)


def test_empty_cells_are_predicted_only_near_completed_trials_never_from_imported_runs(data):
    got = cells(matrix(data, "max_weight_clamp", "residual_weight"))
    assert got[1.5, 0.6].kind == "predicted"             # the imported run's 0.69 is not used
    assert 0.3 < got[1.5, 0.6].value < 0.4 and got[1.5, 0.6].std > 0
    assert "(predicted)" in got[1.5, 0.6].text() and "±" in got[1.5, 0.6].text()
    # no completed trial within a quarter of the ranges: no prediction, whatever the model says
    assert got[3.0, 0.4].kind == "empty" and got[3.0, 0.4].failed == 1
    assert got[3.0, 0.4].text() == "- (1 failed)"
    predicted = sum(c.kind == "predicted" for c in got.values())
    assert predicted <= 5, f"{predicted} of 16 cells predicted from 3 completed trials"
    without = cells(matrix(data, "max_weight_clamp", "residual_weight", predict=False))
    assert without[1.5, 0.6].kind == "empty"


def test_no_prediction_where_a_pruned_trial_is_nearer_than_any_completed_one(data):
    space = data.space
    done = pd.DataFrame({"max_weight_clamp": [1.5, 2.0], "residual_weight": [0.7, 0.6]})
    knobs = list(done.columns)
    fit = lambda pruned: GaussianProcess.fit(  # noqa: E731
        space, knobs, done, pd.Series([0.35, 0.38]), {}, pd.DataFrame(pruned, columns=knobs))
    here = {"max_weight_clamp": 2.3, "residual_weight": 0.5}
    alone = fit([])
    assert alone.predict_at(here) is not None
    assert fit([[2.4, 0.5]]).predict_at(here) is None   # the pruned trial is the nearer evidence
    assert fit([[1.0, 0.9]]).predict_at(here) is not None
    mean, std = alone.predict_at({"max_weight_clamp": 2.0, "residual_weight": 0.6})
    assert mean == pytest.approx(0.38, abs=0.01) and std < alone.predict_at(here)[1]


def test_quick_reference_names_only_a_completed_trial_near_each_preset(data):
    ref = quick_reference(data).set_index("preset")
    assert ref.loc["current", "measured_by"] == "trial 0"
    assert ref.loc["conservative", "measured_by"] == "trial 1"
    # aggressive (2.5, 0.5, 0.8): only trial 2 is near, and it was pruned
    assert ref.loc["aggressive", "measured_by"].startswith("not measured (nearest: trial ")


def test_the_marked_best_trial_is_the_answer_by_mean_not_the_luckiest_run(tmp_path):
    """Trial 0's one run is the highest value, but trials 1 and 2 (one configuration, two seeds)
    rank first by their mean, as export-best answers: the matrix, the trials table and the
    summary all mark trial 1."""
    lucky = sweep_data(tmp_path, [
        ("", "completed", 2.0, 0.6, 1.0, 0.43, 4),
        ("", "completed", 1.5, 0.7, 1.0, 0.40, 4),
        ("confirm 1, seed 1", "completed", 1.5, 0.7, 1.0, 0.42, 4),
        ("", "completed", 3.0, 0.4, 1.0, 0.20, 4),
        ("confirm 3, seed 1", "completed", 3.0, 0.4, 1.0, 0.35, 4)])
    m = matrix(lucky, "max_weight_clamp", "residual_weight")
    assert m.best == (m.rows.values.index(1.5), m.cols.values.index(0.7))
    page = write_report(lucky, tmp_path / "report").index.read_text()
    assert "<tr class='best' id='best-trial' data-trial='1'>" in page
    assert "Best trial: 1, pts_bbox_NuScenes/NDS = 0.4100" in page


def test_the_report_compares_the_best_with_current_over_the_same_seeds(tmp_path):
    """Both run on seeds 0 and 1: the difference of their means, with the 95% interval of the
    sweep's seed noise (two re-runs: t with 2 degrees of freedom), and what it rests on."""
    both = sweep_data(tmp_path, [
        ("current", "completed", 1.5, 0.7, 1.0, 0.35, 4),
        ("", "completed", 2.0, 0.6, 1.0, 0.40, 4),
        ("confirm 1, seed 1", "completed", 2.0, 0.6, 1.0, 0.42, 4),
        ("current, seed 1", "completed", 1.5, 0.7, 1.0, 0.33, 4)])
    line = ("best vs current: +0.0700 ± 0.0608 NDS over 2 seed(s) (95%; seed noise from 2 "
            "re-runs)")
    assert best_trial(both).versus_current == line
    page = write_report(both, tmp_path / "report").index.read_text()
    assert "= 0.4100 ± 0.0430 over 2 seed(s) (95%; seed noise from 2 re-runs)" in page
    assert "Best vs current: +0.0700 ± 0.0608 NDS" in page


def test_html_marks_the_best_cell_and_the_best_trial(data, tmp_path):
    html = matrix_html(matrix(data, "max_weight_clamp", "residual_weight"), "NDS")
    assert "id='best-cell' data-kind='completed'>0.3800 (trial 1, 2 completed)" in html
    files = write_report(data, tmp_path / "report")
    page = files.index.read_text()
    assert page.index("Tuning matrix: max_weight_clamp x residual_weight") < page.index("Trials")
    assert "<tr class='best' id='best-trial' data-trial='1'>" in page
    assert "href='http://127.0.0.1:5000/#/experiments/1/runs/run1'" in page
    assert "1h02m" in page                               # durations, readable
    assert "Best trial: 1, pts_bbox_NuScenes/NDS = 0.3800 over 1 seed(s)" in page
    md = (tmp_path / "report" / "matrix_max_weight_clamp__residual_weight.md").read_text()
    assert "**0.3800 (trial 1, 2 completed)**" in md and "pruned@2" in md
