"""The tuning matrix: the best metric over pairs of knobs, and the guide's quick-reference table."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from reports.sweep_data import SweepData, category_label, is_numeric
from sweeps.guide import GUIDE_PRESETS


def binned(values: pd.Series, max_bins: int = 3) -> pd.Series:
    """Exact values when there are few, else ``max_bins`` quantile bins labelled by their range;
    categories (strings, booleans, mixed choices) by their values as text."""
    if not is_numeric(values):
        return values.map(category_label).astype(object)
    distinct = values.dropna().unique()
    if len(distinct) <= max_bins + 1:
        return values.map(lambda v: v if not isinstance(v, float) else round(v, 4))
    bins = pd.qcut(values, q=max_bins, duplicates="drop")
    return bins.map(lambda iv: f"{iv.left:.3g}-{iv.right:.3g}").astype(object)


def pivot(data: SweepData, a: str, b: str) -> pd.DataFrame:
    """Best metric reached by any trial in each (a, b) cell (pruned trials count with what they
    reached before being stopped; failed ones do not)."""
    trials = data.trials[data.trials["best"].notna()]
    frame = pd.DataFrame({a: binned(trials[a]), b: binned(trials[b]), "best": trials["best"]})
    agg = "max" if data.space.mode == "max" else "min"
    return frame.pivot_table(index=a, columns=b, values="best", aggfunc=agg)


def knob_pairs(data: SweepData) -> list[tuple[str, str]]:
    """Every pair of the sweep's knobs (a categorical one, ``convex``/``additive`` say, by its
    values; a numeric one binned)."""
    return list(itertools.combinations(data.params, 2))


def quick_reference(data: SweepData) -> pd.DataFrame:
    """The guide's presets with the measured result of the trial closest to each.

    Closeness is the euclidean distance over the knobs both the preset and the sweep have, each
    scaled by its search range.
    """
    spaces = data.space.parameters
    rows = []
    reached = data.trials[data.trials["best"].notna()]
    for preset, values in GUIDE_PRESETS.items():
        knobs = [k for k in values if k in spaces and hasattr(spaces[k], "low")]
        row = {"preset": preset, **{k: values[k] for k in knobs}}
        if reached.empty or not knobs:
            rows.append({**row, "closest_trial": None})
            continue
        scale = np.array([spaces[k].high - spaces[k].low for k in knobs])
        target = np.array([values[k] for k in knobs])
        dist = np.sqrt((((reached[knobs].to_numpy(float) - target) / scale) ** 2).sum(1))
        best = reached.iloc[int(np.nanargmin(dist))]
        row.update({"closest_trial": int(best["trial"]), "distance": round(float(dist.min()), 4),
                    "state": best["state"], data.space.metric: best["best"]})
        for metric in data.space.track:
            curve = data.curves[(data.curves["trial"] == best["trial"])
                                & (data.curves["metric"] == metric)]
            row[metric] = float(curve["value"].iloc[-1]) if len(curve) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)
