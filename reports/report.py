"""``aqr-sweep report``: the tuning matrix, the trials table, the other knob pairs, the quick
reference, plots and an offline index.html."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports import plots
from reports.html import matrix_html, page, trials_html
from reports.matrix import knob_pairs, matrix, quick_reference
from reports.sweep_data import SweepData
from sweeps.constants import TrialState

#: the trials table's columns, in order (per-parameter and tracked-metric columns go between)
_LEAD = ["trial", "label", "state", "epochs_run", "pruned_at_epoch"]
_TAIL = ["value", "best", "duration_s", "run_url"]


@dataclass
class ReportFiles:
    """What a report wrote."""

    out_dir: Path
    trials_csv: Path
    matrices: list[Path] = field(default_factory=list)
    #: the tuning matrix (the first of ``matrices``) as Markdown
    tuning_matrix: Path | None = None
    quick_reference: Path | None = None
    images: list[Path] = field(default_factory=list)
    index: Path | None = None


def write_report(data: SweepData, out_dir: Path) -> ReportFiles:
    """Write every report file of ``data`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(out_dir, out_dir / "trials.csv")
    data.tidy().to_csv(files.trials_csv, index=False)
    metric = data.space.metric
    sections: dict[str, pd.DataFrame | str] = {}

    for n, (a, b) in enumerate(knob_pairs(data)):
        m = matrix(data, a, b)
        stem = out_dir / f"matrix_{a}__{b}"
        m.long().to_csv(stem.with_suffix(".csv"), index=False)
        stem.with_suffix(".md").write_text(
            f"{metric}: {a} (rows) x {b} (columns). Completed trials' final values; "
            "pruned@K: only pruned trials, the furthest one's value at epoch K; ~ predicted by a "
            "Gaussian process on the completed trials (± one standard deviation); ** the best "
            "trial.\n\n" + _markdown(m) + "\n")
        files.matrices += [stem.with_suffix(".csv"), stem.with_suffix(".md")]
        files.tuning_matrix = files.tuning_matrix or stem.with_suffix(".md")
        title = ("Tuning matrix" if n == 0 else "Knob pair") + f": {a} x {b}"
        sections[title] = matrix_html(m, metric)

    params = list(data.space.parameters)
    tracked = [c for c in data.trials.columns if c.startswith("final ")]
    shown = [c for c in (*_LEAD, *params, *tracked, *_TAIL) if c in data.trials.columns]
    best = data.best_completed()
    sections["Trials"] = trials_html(data.trials[shown], metric,
                                     None if best is None else int(best["trial"]))

    ref = quick_reference(data)
    files.quick_reference = out_dir / "quick_reference.md"
    files.quick_reference.write_text(
        "The tuning guide's quick-reference presets and the completed trial that measured each "
        "(within a range-scaled distance of 0.15)\n\n"
        + ref.to_markdown(index=False, floatfmt=".4f") + "\n")
    ref.to_csv(out_dir / "quick_reference.csv", index=False)
    sections["Quick reference (guide presets, the completed trial near each)"] = ref

    files.images = [plots.learning_curves(data, out_dir / "learning_curves.png"),
                    plots.parallel_coordinates(data, out_dir / "parallel_coordinates.png"),
                    plots.knobs_vs_metric(data, out_dir / "knobs_vs_metric.png")]
    image, scores = plots.importance(data, out_dir / "importance.png")
    files.images.append(image)
    if scores:
        sections["Parameter importance"] = pd.DataFrame(
            {"parameter": list(scores), "importance": list(scores.values())})

    files.index = out_dir / "index.html"
    files.index.write_text(page(f"Sweep {data.name}", _intro(data), sections, files.images))
    return files


def _markdown(m) -> str:
    frame = m.frame()
    if m.best is not None:
        i, j = m.best
        frame.iloc[i, j] = f"**{frame.iloc[i, j]}**"
    return frame.to_markdown()


def _intro(data: SweepData) -> str:
    counts = data.trials["state"].value_counts().to_dict()
    text = (f"{data.space.metric} ({data.space.mode}), {len(data.trials)} trials: "
            + ", ".join(f"{n} {s}" for s, n in counts.items())
            + f". Base config {data.space.base_config}; full schedule {data.space.max_epochs} "
              "epochs.")
    best = data.best_completed()
    if best is not None:
        text += (f" Best trial: {int(best['trial'])} {best['label']}".rstrip()
                 + f", {data.space.metric} = {best['value']:.4f}.")
    if (data.trials["state"] == TrialState.IMPORTED).any():
        text += (" Imported runs trained on their own schedules: they are listed and drawn as "
                 "references, never in the matrices.")
    return text
