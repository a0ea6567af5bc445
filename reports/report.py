"""``aqr-sweep report``: the trials table, tuning matrix, quick reference, plots and index.html."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports import plots
from reports.html import page
from reports.matrix import knob_pairs, pivot, quick_reference
from reports.sweep_data import SweepData


@dataclass
class ReportFiles:
    """What a report wrote."""

    out_dir: Path
    trials_csv: Path
    pivots: list[Path] = field(default_factory=list)
    quick_reference: Path | None = None
    images: list[Path] = field(default_factory=list)
    index: Path | None = None


def write_report(data: SweepData, out_dir: Path) -> ReportFiles:
    """Write every report file of ``data`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out_dir, out_dir / "trials.csv")
    tidy = data.tidy()
    tidy.to_csv(files.trials_csv, index=False)

    tables: dict[str, pd.DataFrame] = {"Trials": data.trials.drop(columns=["work_dir", "run_id"])}
    for a, b in knob_pairs(data):
        table = pivot(data, a, b)
        stem = out_dir / f"pivot_{a}__{b}"
        table.to_csv(stem.with_suffix(".csv"))
        stem.with_suffix(".md").write_text(
            f"Best {data.space.metric} by {a} (rows) x {b} (columns)\n\n"
            + table.to_markdown(floatfmt=".4f") + "\n")
        files.pivots += [stem.with_suffix(".csv"), stem.with_suffix(".md")]
        tables[f"Best {data.space.metric}: {a} x {b}"] = table.reset_index()

    ref = quick_reference(data)
    files.quick_reference = out_dir / "quick_reference.md"
    files.quick_reference.write_text(
        "The tuning guide's quick-reference presets and the measured result of the closest "
        "trial\n\n" + ref.to_markdown(index=False, floatfmt=".4f") + "\n")
    ref.to_csv(out_dir / "quick_reference.csv", index=False)
    tables["Quick reference (guide presets, closest measured trial)"] = ref

    files.images = [plots.learning_curves(data, out_dir / "learning_curves.png"),
                    plots.parallel_coordinates(data, out_dir / "parallel_coordinates.png"),
                    plots.knobs_vs_metric(data, out_dir / "knobs_vs_metric.png")]
    image, scores = plots.importance(data, out_dir / "importance.png")
    files.images.append(image)
    if scores:
        tables["Parameter importance"] = pd.DataFrame(
            {"parameter": list(scores), "importance": list(scores.values())})

    counts = data.trials["state"].value_counts().to_dict()
    intro = (f"{data.space.metric} ({data.space.mode}), {len(data.trials)} trials: "
             + ", ".join(f"{n} {s}" for s, n in counts.items())
             + f". Base config {data.space.base_config}.")
    files.index = out_dir / "index.html"
    files.index.write_text(page(f"Sweep {data.name}", intro, tables, files.images))
    return files
