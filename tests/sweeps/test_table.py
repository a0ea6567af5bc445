"""The trials table in an 80x24 terminal: running trials and the best ones shown, the rest
counted, no cell wrapped."""

from rich.console import Console

from sweeps.constants import TrialState
from sweeps.space import SweepSpace
from sweeps.store.status import TrialStatus
from sweeps.view.table import trials_table

SPACE = SweepSpace.model_validate({
    "name": "demo", "base_config": "c.py", "max_epochs": 6,
    "parameters": {name: {"type": "float", "low": 0.1, "high": 4.0, "targets": [f"m.{name}"]}
                   for name in ("max_weight_clamp", "residual_weight", "gaussian_sigma",
                                "aqr_lr_mult")}})


def row(number: int, state: TrialState, best: float | None) -> TrialStatus:
    return TrialStatus(number, "", state, 3, {p: 1.23456 for p in SPACE.parameters}, best, best,
                       None, "")


def test_an_80x24_screen_shows_running_and_best_trials_without_wrapping():
    rows = [row(i, TrialState.COMPLETED, 0.30 + i / 1000) for i in range(30)]
    rows += [row(30 + i, TrialState.PRUNED, 0.1) for i in range(10)]
    rows += [row(40, TrialState.RUNNING, 0.2), row(41, TrialState.RUNNING, None)]
    console = Console(width=80, height=24, record=True, color_system=None)
    console.print(trials_table(rows, SPACE, max_rows=24 - 8))
    text = console.export_text()
    lines = text.splitlines()
    assert len(lines) <= 24 - 2 and all(len(line) <= 80 for line in lines)
    header = next(line for line in lines if "trial" in line)
    assert header.rstrip().endswith("best")               # the metric columns are not cut off
    assert any(line.rstrip().endswith("0.3290") for line in lines)
    shown = [line.split()[0] for line in lines if line.split() and line.split()[0].isdigit()]
    assert {"40", "41"} <= set(shown)                   # running: always shown
    assert "29" in shown and "28" in shown              # the best completed ones
    assert "26 more: " in text and "10 pruned" in text  # the rest, counted
    assert "runnin" not in text.replace("running", "")  # no cell cut or wrapped mid-word
