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
    console.print(trials_table(rows, SPACE, width=80, max_rows=24 - 8))
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


def render(space: SweepSpace, rows: list[TrialStatus], **kwargs) -> list[str]:
    console = Console(width=80, record=True, color_system=None)
    console.print(trials_table(rows, space, width=80, **kwargs))
    return console.export_text().splitlines()


def test_status_at_80_columns_keeps_the_metric_and_narrows_the_knobs():
    rows = [TrialStatus(0, "current", TrialState.COMPLETED, 6, {p: 0.3857 for p in SPACE.parameters},
                        0.3857, 0.3912, None, ""),
            TrialStatus(1, "", TrialState.PRUNED, 2, {p: 1.0 for p in SPACE.parameters},
                        0.1965, 0.1965, 2, "")]
    lines = render(SPACE, rows, title="demo2")
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].strip().startswith("demo2:")          # the sweep's name, not the space's
    header = next(line for line in lines if "trial" in line)
    assert header.split()[-2:] == ["last", "best"]
    assert "0.3857" in lines[-2] and lines[-2].rstrip().endswith("0.3912")
    assert "pruned@2" in lines[-1] and lines[-1].rstrip().endswith("0.1965")


def test_knobs_that_cannot_fit_are_counted_not_squeezed():
    many = SweepSpace.model_validate({**SPACE.model_dump(include={"name", "base_config",
                                                                  "max_epochs"}),
                                      "parameters": {f"knob_{i}": {"type": "float", "low": 0.1,
                                                                   "high": 4.0,
                                                                   "targets": [f"m.k{i}"]}
                                                     for i in range(12)}})
    rows = [TrialStatus(0, "", TrialState.COMPLETED, 6, {p: 0.5 for p in many.parameters},
                        0.3857, 0.3912, None, "")]
    lines = render(many, rows)
    assert all(len(line) <= 80 for line in lines)
    assert "0.5000" in lines[-2] and lines[-2].rstrip().endswith("0.3912")
    assert "knobs not shown at 80 columns" in lines[-1]
