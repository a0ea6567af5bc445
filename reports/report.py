"""``aqr-sweep report``: the tuning matrix, the trials table, the other knob pairs, the quick
reference, plots and an offline index.html."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports import plots
from reports.export import best_trial, describe_mean
from reports.html import matrix_html, page, trials_html
from reports.matrix import knob_pairs, matrix, quick_reference
from reports.sweep_data import SweepData
from sweeps.constants import TrialState
from sweeps.run.ranking import Ranking

#: the trials table's columns, in order (per-parameter and tracked-metric columns go between)
_LEAD = ["trial", "label", "state", "epochs_run", "pruned_at_epoch"]
_TAIL = ["last", "best", "duration_s", "run_url"]


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

    importance_image, scores = plots.importance(data, out_dir / "importance.png")
    pairs = knob_pairs(data, list(scores) or None)
    for n, (a, b) in enumerate(pairs):
        m = matrix(data, a, b)
        stem = out_dir / f"matrix_{a}__{b}"
        m.long().to_csv(stem.with_suffix(".csv"), index=False)
        stem.with_suffix(".md").write_text(
            f"{metric}: {a} (rows) x {b} (columns). Completed trials' final values; "
            "pruned@K: only pruned trials, the furthest one's value at epoch K; ~ predicted by a "
            "Gaussian process on the completed trials (± one standard deviation), only near a "
            "completed trial with no pruned trial nearer; ** the best trial (export-best's: the "
            "first run of the configuration best by its mean over its runs).\n\n" + _markdown(m) + "\n")
        files.matrices += [stem.with_suffix(".csv"), stem.with_suffix(".md")]
        files.tuning_matrix = files.tuning_matrix or stem.with_suffix(".md")
        title = ("Tuning matrix" if n == 0 else "Knob pair") + f": {a} x {b}"
        sections[title] = matrix_html(m, metric)

    params = list(data.space.parameters)
    tracked = [f"final {m}" for m in data.space.track if m != metric]
    shown = [c for c in (*_LEAD, *params, "schedules", "value", *tracked, *_TAIL)
             if c in data.trials.columns]
    answer = data.answer()
    sections["Trials"] = trials_html(data.trials[shown], metric,
                                     None if answer is None else int(answer["trial"]))

    ranking = data.ranking
    if ranking.standings:
        table = configurations(data, ranking)
        table.to_csv(out_dir / "configurations.csv", index=False)
        sections["Configurations, by mean over their runs (training seeds)"] = table

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
    files.images.append(importance_image)
    scheduled = plots.schedules_beside_metric(data, out_dir / "schedules.png")
    files.images += [scheduled] if scheduled else []
    if scores:
        table = pd.DataFrame({"parameter": list(scores), "importance": list(scores.values())})
        caveat = plots.importance_caveat(len(data.completed()), len(params))
        sections["Parameter importance"] = (
            "<div class='wide'>" + table.to_html(index=False, float_format=lambda v: f"{v:.4f}")
            + f"</div><p class='legend' id='importance-caveat'>{html.escape(caveat)}</p>"
            if caveat else table)

    files.index = out_dir / "index.html"
    files.index.write_text(page(f"Sweep {data.name}", _intro(data), sections, files.images))
    return files


def configurations(data: SweepData, ranking: Ranking) -> pd.DataFrame:
    """One row per configuration, best first: its runs, mean, 95% interval and standing."""
    tied = {s.key for s in ranking.tied()}
    rows = []
    for place, s in enumerate(ranking.standings, 1):
        params = dict(s.key)
        rows.append({"rank": place, "trials": ", ".join(map(str, s.trials)),
                     **{p: params.get(p) for p in data.params}, "runs": s.runs,
                     "value at epoch": "" if s.at_epoch is None else s.at_epoch,
                     "mean": s.mean, "± (95%)": s.half_width,
                     "standing": "best" if place == 1 else "tied within noise" if s.key in tied
                     else ""})
    return pd.DataFrame(rows)


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
    if not data.completed().empty:
        best = best_trial(data)
        label = data.trials.set_index("trial").loc[best.number, "label"]
        text += (f" Best trial: {best.number} {label}".rstrip()
                 + f", {data.space.metric} = {describe_mean(best)}"
                 + (f"; tied with it within noise: trials {best.tied_with}" if best.tied_with
                    else "") + ".")
        if best.versus_current:
            text += f" {best.versus_current[0].upper()}{best.versus_current[1:]}."
    if (data.trials["state"] == TrialState.IMPORTED).any():
        text += (" Imported runs trained on their own schedules: they are listed and drawn as "
                 "references, never in the matrices.")
    return text
