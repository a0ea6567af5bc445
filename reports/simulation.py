"""``simulate``'s outputs: the table per setting (CSV) and GPU-hours vs the best value found."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sweeps.simulation.replay import SettingResult  # noqa: E402


def write_table(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    for column in [c for c in frame.columns if c.endswith("_range")]:
        frame[[f"{column[:-6]}_min", f"{column[:-6]}_max"]] = frame[column].tolist()
    frame.drop(columns=[c for c in frame.columns if c.endswith("_range")]).to_csv(
        path, index=False, float_format="%.6g")
    return path


def plot_found_vs_spent(results: list[SettingResult], gpu_hours_per_epoch: float, metric: str,
                        title: str, path: Path) -> Path:
    """Per setting, the true value of what it would recommend against GPU-hours spent: the
    median over repetitions as a line, the 25-75th percentiles as a band."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for result in results:
        curves = [o.curve for o in result.outcomes if o.curve]
        if not curves:
            continue
        end = max(c[-1][0] for c in curves)
        grid = np.arange(1, end + 1)
        table = np.full((len(curves), len(grid)), np.nan)
        for i, curve in enumerate(curves):
            epochs = np.array([e for e, _ in curve])
            values = np.array([v for _, v in curve])
            at = np.searchsorted(epochs, grid, side="right") - 1  # value once that many epochs ran
            known = (at >= 0) & (grid <= epochs[-1])
            table[i, known] = values[at[known]]
        with warnings.catch_warnings():  # an epoch no repetition reached is all-NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(table, axis=0)
            low, high = np.nanpercentile(table, 25, axis=0), np.nanpercentile(table, 75, axis=0)
        hours = grid * gpu_hours_per_epoch
        (line,) = ax.plot(hours, median, label=result.name)
        if len(curves) > 1:
            ax.fill_between(hours, low, high, color=line.get_color(), alpha=0.15)
    ax.set(xlabel="GPU-hours spent (simulated)", ylabel=f"{metric} of the recommended config",
           title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

