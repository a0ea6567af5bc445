"""MLflow: one nested run per trial under the sweep's parent run, logged from the driver.

The nested run gets the trial's params, every validation's metrics at its epoch, the AQR
diagnostics, and tags: ``aqr.state`` (running, completed, pruned, failed), ``aqr.pruned_at_epoch``,
``aqr.work_dir``, ``aqr.trial_number`` and, for a failure, ``aqr.error`` (with the training's last
lines).
"""

from __future__ import annotations

import re
import time
from collections import deque
from pathlib import Path

from mlflow.entities import Metric, RunTag
from mlflow.tracking import MlflowClient
from ray.tune import Callback

from sweeps.constants import COMMAND_FILE, MAX_TAG_CHARS, TRIAL_CONFIG_FILE, Tag, TrialState
from sweeps.run.ledger import TrialLedger
from sweeps.tracking.runs import create_trial_run, log_metrics, numeric_metrics


class MLflowTrialTracker(Callback):
    """Ray Tune callback that records each trial as a nested MLflow run of the sweep's run.

    Args:
        client: MLflow client on the sweep's tracking store.
        experiment: Experiment id.
        parent_run_id: The sweep's run.
        ledger: The sweep's trial ledger (params, work dir, how each trial ended).
        sweep_name: Tagged on every trial run.
        metric: The sweep's metric (a resumed trial's run gets the values the study holds and
            the run lacks: a driver that died between the two writes left a gap).
    """

    def __init__(self, client: MlflowClient, experiment: str, parent_run_id: str,
                 ledger: TrialLedger, sweep_name: str, metric: str) -> None:
        self.client = client
        self.metric = metric
        self.sweep_name = sweep_name
        self.experiment = experiment
        self.parent_run_id = parent_run_id
        self.ledger = ledger
        self.run_ids: dict[str, str] = {}
        self._files_logged: set[str] = set()
        self._finished: set[str] = set()
        self._last_epoch: dict[str, int] = {}

    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        entry = self.ledger.get(trial.trial_id)
        if entry is None or trial.trial_id in self.run_ids:
            return
        if entry.resumed and (run_id := self._existing_run(entry.number)):
            self.client.update_run(run_id, status="RUNNING")
            self.client.set_tag(run_id, Tag.STATE, str(TrialState.RUNNING))
            self.run_ids[trial.trial_id] = run_id
            self._last_epoch[trial.trial_id] = max(entry.epochs, default=0)  # logged already
            logged = {m.step for m in self.client.get_metric_history(run_id, self.metric)}
            now = int(time.time() * 1000)
            log_metrics(self.client, run_id, [
                Metric(self.metric, value, now, epoch)
                for epoch, value in zip(entry.epochs, entry.values, strict=True)
                if epoch not in logged])
            return
        self.run_ids[trial.trial_id] = create_trial_run(
            self.client, self.experiment, self.parent_run_id, self.sweep_name, entry.number,
            entry.name, entry.label, TrialState.RUNNING, entry.params,
            **{Tag.WORK_DIR: str(entry.work_dir), Tag.RAY_TRIAL_ID: trial.trial_id,
               Tag.SEED: str(entry.seed)})

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        run_id = self.run_ids.get(trial.trial_id)
        if run_id is None or "epoch" not in result:
            return
        epoch = int(result["epoch"])
        if epoch <= self._last_epoch.get(trial.trial_id, 0):
            return  # a restarted attempt reported an epoch again
        self._last_epoch[trial.trial_id] = epoch
        self._log_files(trial.trial_id, run_id)
        log_metrics(self.client, run_id,
                    numeric_metrics(result, int(result["epoch"]), int(time.time() * 1000)))

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        self._finish(trial.trial_id)

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        entry = self.ledger.get(trial.trial_id)
        if entry is not None:  # the searcher ended it FAILED, with the trainable's reason if any
            entry.explain(_error_text(trial))
        self._finish(trial.trial_id)

    def _finish(self, trial_id: str) -> None:
        run_id = self.run_ids.get(trial_id)
        entry = self.ledger.get(trial_id)
        if run_id is None or entry is None or trial_id in self._finished:
            return
        self._finished.add(trial_id)
        self._log_files(trial_id, run_id)
        tags = [RunTag(Tag.STATE, str(entry.state)),
                RunTag(Tag.EPOCHS_RUN, str(len(entry.epochs)))]
        if entry.pruned_at is not None:
            tags.append(RunTag(Tag.PRUNED_AT_EPOCH, str(entry.pruned_at)))
        if entry.error:
            tags.append(RunTag(Tag.ERROR, entry.error[:MAX_TAG_CHARS]))
        if entry.state == TrialState.PRUNED:  # reads as pruned in the run list, not "Finished"
            tags.append(RunTag("mlflow.runName", f"{entry.name} pruned@{entry.pruned_at}"))
        self.client.log_batch(run_id, tags=tags)
        output = entry.work_dir / "train.out"
        if output.is_file():
            with open(output, errors="replace") as f:
                self.client.log_text(run_id, "".join(deque(f, maxlen=200)), "train_tail.txt")
        status = {TrialState.FAILED: "FAILED", TrialState.PRUNED: "KILLED"}.get(entry.state,
                                                                                "FINISHED")
        self.client.set_terminated(run_id, status=status)

    def close_open(self) -> None:
        """End the runs Tune left open as the sweep stopped: an interrupted trial's as KILLED
        (``resume`` reopens it), a trial the driver ended itself as its state says."""
        for trial_id, run_id in self.run_ids.items():
            entry = self.ledger.get(trial_id)
            if entry is None or trial_id in self._finished:
                continue
            if entry.state == TrialState.INTERRUPTED:
                self.client.set_tag(run_id, Tag.STATE, str(TrialState.INTERRUPTED))
                self.client.set_terminated(run_id, status="KILLED")
            elif entry.state.finished:
                self._finish(trial_id)

    def _existing_run(self, number: int) -> str | None:
        """The MLflow run of trial ``number`` of this sweep, if it has one."""
        runs = self.client.search_runs([self.experiment], max_results=1, filter_string=(
            f"tags.`{Tag.PARENT}` = '{self.parent_run_id}' and "
            f"tags.`{Tag.TRIAL_NUMBER}` = '{number}'"))
        return runs[0].info.run_id if runs else None

    def _log_files(self, trial_id: str, run_id: str) -> None:
        """The trial's config file and command line, once: its run alone reproduces it."""
        entry = self.ledger.get(trial_id)
        if trial_id in self._files_logged or entry is None:
            return
        files = [entry.work_dir / n for n in (TRIAL_CONFIG_FILE, COMMAND_FILE)]
        if all(f.is_file() for f in files):
            for file in files:
                self.client.log_artifact(run_id, str(file))
            self._files_logged.add(trial_id)


def _error_text(trial) -> str:
    """The error a Ray trial ended with, for a failure the trainable did not explain: its first
    line, then Ray's traceback (its colour codes removed)."""
    path = getattr(trial, "error_file", None) or getattr(getattr(trial, "run_metadata", None),
                                                         "error_filename", None)
    text = Path(path).read_text(errors="replace") if path and Path(path).is_file() else \
        str(getattr(trial, "error_msg", "") or "failed")
    text = _ANSI.sub("", text).strip()
    last = next((line for line in reversed(text.splitlines()) if line.strip()), "failed")
    return f"{last.strip()}\n\n{text}"[:MAX_TAG_CHARS]


#: a terminal's colour and cursor codes
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
