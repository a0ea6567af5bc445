"""Reports of a sweep with categorical knobs that are strings (``residual_mode: convex |
additive``) or mixed (``1``, ``"a"``, ``null``): built from a SweepData made by hand, no sweep run.
pandas 3 reads a column of strings as its ``str`` dtype, which numpy's dtype checks refuse."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from reports.matrix import axis, knob_pairs, matrix, quick_reference
from reports.report import write_report
from reports.sweep_data import SweepData, is_numeric
from sweeps.space import SweepSpace
from sweeps.store.sweep_dir import SweepDir, SweepRecord

MODES = ["convex", "additive"]
MIXED = [1, "a", None]
#: label, state, max_weight_clamp, residual_mode, mixed, best
TRIALS = [("a", "completed", 1.5, "convex", 1, 0.30), ("b", "pruned", 2.5, "additive", "a", 0.10),
          ("c", "failed", 2.0, "convex", None, math.nan), ("d", "completed", 1.8, "additive", 1, 0.40),
          ("e", "completed", 2.2, "convex", "a", 0.35)]


@pytest.fixture()
def data(tmp_path: Path) -> SweepData:
    space = SweepSpace.model_validate({
        "name": "cat", "base_config": "c.py", "max_epochs": 3, "track": ["pts_bbox_NuScenes/mAP"],
        "parameters": {
            "max_weight_clamp": {"type": "float", "low": 1.0, "high": 3.0, "targets": ["a.clamp"]},
            "residual_mode": {"type": "categorical", "choices": MODES, "targets": ["a.mode"]},
            "mixed": {"type": "categorical", "choices": MIXED, "targets": ["a.mixed"]}}})
    study = optuna.create_study(direction="maximize")
    distributions = {"max_weight_clamp": FloatDistribution(1.0, 3.0),
                     "residual_mode": CategoricalDistribution(MODES),
                     "mixed": CategoricalDistribution(MIXED)}
    rows, curves = [], []
    for number, (label, state, clamp, mode, mixed, best) in enumerate(TRIALS):
        params = {"max_weight_clamp": clamp, "residual_mode": mode, "mixed": mixed}
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions=distributions, value=None if math.isnan(best) else best,
            state=optuna.trial.TrialState.FAIL if math.isnan(best)
            else optuna.trial.TrialState.COMPLETE))
        rows.append({"trial": number, "label": label, "state": state, "epochs_run": 3,
                     "pruned_at_epoch": 1 if state == "pruned" else math.nan, **params,
                     "value": best if state == "completed" else math.nan, "last": best,
                     "best": best,
                     "work_dir": str(tmp_path / label), "run_id": f"run{number}"})
        curves += [{"trial": number, "metric": metric, "epoch": epoch, "value": best * epoch / 3}
                   for metric in (space.metric, "pts_bbox_NuScenes/mAP") for epoch in (1, 2, 3)
                   if not math.isnan(best)]
    record = SweepRecord("cat", str(tmp_path / "cat.yaml"), "sqlite:///x.db", "1", "parent")
    return SweepData("cat", space, record, SweepDir("cat", tmp_path / "runs"), study,
                     pd.DataFrame(rows), pd.DataFrame(curves))


def test_string_and_mixed_columns_are_categories(data):
    assert is_numeric(data.trials["max_weight_clamp"])
    assert not is_numeric(data.trials["residual_mode"]) and not is_numeric(data.trials["mixed"])
    assert axis(data, "mixed").values == ["1", "a", "None"]
    assert axis(data, "residual_mode").values == ["convex", "additive"]


def test_the_matrix_crosses_a_string_knob_with_the_others(data):
    assert ("max_weight_clamp", "residual_mode") in knob_pairs(data)
    m = matrix(data, "residual_mode", "mixed")
    cells = {(r, c): m.cells[i][j] for i, r in enumerate(m.rows.values)
             for j, c in enumerate(m.cols.values)}
    assert cells["additive", "1"].kind == "completed" and cells["additive", "1"].value == 0.40
    assert cells["convex", "a"].value == pytest.approx(0.35)
    assert cells["additive", "a"].kind == "pruned"        # b: pruned, marked as such
    assert cells["convex", "None"].failed == 1
    assert m.best == (1, 0)                                # additive x 1: trial d, 0.40
    ref = quick_reference(data).set_index("preset")
    assert ref.loc["current", "measured_by"] == "trial 0"  # a: clamp 1.5


def test_the_whole_report_is_written(data, tmp_path):
    files = write_report(data, tmp_path / "report")
    assert len(files.matrices) == 6  # 3 knob pairs, CSV and Markdown each
    assert all(image.stat().st_size > 5_000 for image in files.images)
    assert "additive" in (tmp_path / "report" / "matrix_max_weight_clamp__residual_mode.md") \
        .read_text()
    html = files.index.read_text()
    assert "convex" in html and html.count("data:image/png;base64,") == 4
