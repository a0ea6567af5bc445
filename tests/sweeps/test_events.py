"""One timestamped line per event, whatever a value or a failure's reason holds: a newline in a
categorical choice or in a reason never splits the line."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

from sweeps.constants import TrialState
from sweeps.run.ledger import TrialEntry, TrialLedger
from sweeps.space import SweepSpace
from sweeps.view.events import EventLog

SPACE = SweepSpace.model_validate({
    "name": "e", "base_config": "c.py", "max_epochs": 2, "metric": "NDS",
    "parameters": {"head": {"type": "categorical", "choices": ["a\nb", "c"],
                            "targets": ["model.head"]}}})
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


def test_each_event_is_one_line_with_newlines_escaped():
    ledger = TrialLedger()
    entry = TrialEntry(number=0, optuna_trial=None, params={"head": "a\nb"},
                       work_dir=Path("/w/0000"), label="odd\nlabel")
    ledger.add("t0", entry)
    out = io.StringIO()
    log = EventLog(ledger, SPACE, stream=out)
    trial = SimpleNamespace(trial_id="t0")
    log.on_trial_start(0, [], trial)
    log.on_trial_result(0, [], trial, {"NDS": 0.5, "epoch": 1})
    entry.end(TrialState.FAILED, "training exited with code 1\nTraceback (most recent call last)")
    log.on_trial_error(0, [], trial)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and all(STAMP.match(line) for line in lines)
    assert "head=a\\nb" in lines[0] and "(odd\\nlabel)" in lines[0]
    assert lines[2].endswith("failed: training exited with code 1")


def test_a_pruned_trial_s_line_says_what_its_pruner_saw():
    """The threshold pruner compares with its bounds, not with the other trials."""
    lines = {}
    for kind, options in (("median", {}), ("threshold", {"lower": 0.3})):
        space = SPACE.model_copy(update={"pruner": SPACE.pruner.model_copy(
            update={"type": kind, "options": options})})
        ledger = TrialLedger()
        entry = TrialEntry(number=0, optuna_trial=None, params={"head": "c"},
                           work_dir=Path("/w/0000"))
        ledger.add("t0", entry)
        out = io.StringIO()
        log = EventLog(ledger, space, stream=out)
        entry.values, entry.epochs, entry.pruned_at = [0.2], [1], 1
        entry.end(TrialState.PRUNED)
        log.on_trial_complete(0, [], SimpleNamespace(trial_id="t0"))
        lines[kind] = out.getvalue().strip()
    assert lines["median"].endswith("pruned at epoch 1: its NDS 0.2000 was behind the other "
                                    "trials' at that epoch (median pruner)")
    assert lines["threshold"].endswith("pruned at epoch 1: its NDS 0.2000 was below its lower "
                                       "bound 0.3 (threshold pruner)")
