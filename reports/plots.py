"""The report's figures as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402

from reports.sweep_data import SweepData, category_label, is_numeric, own_trials  # noqa: E402
from sweeps.constants import TrialState  # noqa: E402

_COLOURS = {TrialState.COMPLETED: "tab:green", TrialState.PRUNED: "tab:orange",
            TrialState.FAILED: "tab:red", TrialState.RUNNING: "tab:blue",
            TrialState.INTERRUPTED: "tab:gray", TrialState.QUEUED: "tab:gray",
            TrialState.IMPORTED: "tab:purple"}


def learning_curves(data: SweepData, path: Path) -> Path:
    """The metric per epoch for every trial; pruned trials end in an x at the epoch they stopped;
    enqueued points (``current``, ...) are named at their curve's end; imported runs are dashed
    references (their own schedules), named too."""
    fig, ax = plt.subplots(figsize=(8, 5))
    curves = data.curves[data.curves["metric"] == data.space.metric]
    trials = data.trials.set_index("trial")
    for trial, curve in curves.groupby("trial"):
        state = trials["state"].get(trial, TrialState.COMPLETED)
        label = trials["label"].get(trial, "")
        imported = state == TrialState.IMPORTED
        ax.plot(curve["epoch"], curve["value"], marker="o", ms=3, color=_COLOURS.get(state),
                alpha=0.8, label=state, linestyle="--" if imported else "-")
        if state == TrialState.PRUNED:
            ax.plot(curve["epoch"].iloc[-1], curve["value"].iloc[-1], marker="x", ms=10,
                    mew=2, color="black")
        if label:
            ax.annotate(f"{trial} {label}", (curve["epoch"].iloc[-1], curve["value"].iloc[-1]),
                        xytext=(4, 2), textcoords="offset points", fontsize=8)
    handles = {h.get_label(): h for h in ax.get_lines() if not h.get_label().startswith("_")}
    ax.legend(handles.values(), handles.keys(), title="x = pruned here")
    ax.set(xlabel="epoch", ylabel=data.space.metric, title=f"{data.name}: learning curves")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def schedules_beside_metric(data: SweepData, path: Path) -> Path | None:
    """For a space with schedules: the metric per epoch over each scheduled value per epoch (as
    the trainings logged them), one colour per trial, so a curve can be read against the
    schedule that made it; None when no schedule was logged."""
    scheduled = sorted(m for m in data.curves["metric"].unique() if m.startswith("aqr/"))
    if not data.space.schedules or not scheduled:
        return None
    rows = [data.space.metric, *scheduled]
    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 2.6 * len(rows)), sharex=True,
                             squeeze=False)
    trials = own_trials(data.trials).set_index("trial")
    colours = plt.colormaps["tab10"]
    for n, trial in enumerate(trials.index):
        label = f"{trial} {trials['label'].get(trial, '')}".strip()
        for ax, metric in zip(axes[:, 0], rows, strict=True):
            curve = data.curves[(data.curves["trial"] == trial)
                                & (data.curves["metric"] == metric)]
            if not curve.empty:
                ax.plot(curve["epoch"], curve["value"], marker="o", ms=3, color=colours(n % 10),
                        label=label)
    for ax, metric in zip(axes[:, 0], rows, strict=True):
        ax.set_ylabel(metric.rsplit("/", 1)[-1] if metric == data.space.metric else metric,
                      fontsize=8)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=2)
    axes[0, 0].set_title(f"{data.name}: {data.space.metric} beside the scheduled values")
    axes[-1, 0].set_xlabel("epoch")
    return _save(fig, path)


def parallel_coordinates(data: SweepData, path: Path) -> Path:
    """Each trial as a line through its (range-scaled) knobs and its best metric."""
    trials = own_trials(data.trials)
    trials = trials[trials["best"].notna()]
    # a knob no plotted trial has (a schedule's stage value, under another kind) has no axis
    numeric = [p for p in data.params if is_numeric(trials[p]) and trials[p].notna().any()]
    columns = [*numeric, "best"]
    fig, ax = plt.subplots(figsize=(max(6, 2 * len(columns)), 5))
    if not trials.empty:
        values = trials[columns].to_numpy(float)
        lo, hi = np.nanmin(values, 0), np.nanmax(values, 0)
        scaled = (values - lo) / np.where(hi > lo, hi - lo, 1.0)
        best = trials["best"].to_numpy(float)
        norm = plt.Normalize(np.nanmin(best), np.nanmax(best))
        for row, value in zip(scaled, best, strict=True):
            ax.plot(range(len(columns)), row, color=plt.cm.viridis(norm(value)), alpha=0.8)
        for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
            ax.annotate(f"{a:.3g}", (i, 0), xytext=(3, -12), textcoords="offset points", fontsize=7)
            ax.annotate(f"{b:.3g}", (i, 1), xytext=(3, 4), textcoords="offset points", fontsize=7)
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax,
                     label=data.space.metric)
    ax.set_xticks(range(len(columns)), columns, rotation=20)
    ax.set_yticks([])
    ax.set_title(f"{data.name}: parallel coordinates ({len(trials)} trials)")
    return _save(fig, path)


def knobs_vs_metric(data: SweepData, path: Path) -> Path:
    """One panel per knob: its value against each trial's best metric, coloured by state (a
    categorical knob's values as labels)."""
    params = data.params
    fig, axes = plt.subplots(1, len(params), figsize=(4 * len(params), 4), squeeze=False)
    reached = own_trials(data.trials)
    reached = reached[reached["best"].notna()]
    for ax, param in zip(axes[0], params, strict=True):
        numeric = is_numeric(data.trials[param])
        for state, group in reached.groupby("state"):
            x = group[param].to_numpy(float) if numeric else \
                [str(category_label(v)) for v in group[param]]
            ax.scatter(x, group["best"].to_numpy(float), label=state, color=_COLOURS.get(state),
                       alpha=0.8)
        ax.set(xlabel=param, ylabel=data.space.metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.suptitle(f"{data.name}: knobs against {data.space.metric}")
    return _save(fig, path)


def importance(data: SweepData, path: Path) -> tuple[Path, dict[str, float]]:
    """Optuna's parameter importances (its default evaluator) on the completed trials."""
    fig, ax = plt.subplots(figsize=(7, 4))
    reason = ""
    try:
        with warnings.catch_warnings():  # "too few trials: importances will be equal"
            warnings.simplefilter("ignore", UserWarning)
            scores = optuna.importance.get_param_importances(data.study)
    except (RuntimeError, ValueError) as err:
        scores = {}
        reason = str(err).splitlines()[0]
    if scores:
        names = list(scores)[::-1]
        ax.barh(names, [scores[n] for n in names], color="tab:blue")
        completed = len(data.completed())
        ax.set_xlabel("importance" + (f" (from only {completed} completed trials: a hint)"
                                      if importance_caveat(completed, len(names)) else ""))
    else:
        completed = int((data.trials["state"] == TrialState.COMPLETED).sum())
        ax.text(0.5, 0.5, f"parameter importance needs at least 2 completed trials\nwith "
                f"different values; this sweep has {completed}.\n{reason if completed > 1 else ''}",
                ha="center", va="center", wrap=True)
        ax.set_axis_off()
    ax.set_title(f"{data.name}: parameter importance for {data.space.metric}")
    return _save(fig, path), scores


#: completed trials per knob below which importances are a hint, not a measurement
FEW_PER_KNOB = 5


def importance_caveat(completed: int, knobs: int) -> str:
    """A warning when the importances rest on few completed trials, else ''."""
    if completed >= FEW_PER_KNOB * knobs:
        return ""
    return (f"Caveat: these importances rest on {completed} completed trials over {knobs} "
            f"knobs (fewer than {FEW_PER_KNOB} per knob); Optuna's fANOVA forest fits noise at "
            "this size: read them as a hint, not a ranking.")


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
