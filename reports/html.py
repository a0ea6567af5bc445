"""One offline HTML page with the report's tables and figures (images embedded, nothing fetched)."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd

from reports.matrix import Matrix

_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px}
.wide{max-width:100%;overflow-x:auto}th{max-width:9em;overflow-wrap:anywhere}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
td.completed{background:#e8f5e9}td.pruned{background:#fff3e0;color:#8a5a00}
td.predicted{color:#777;font-style:italic}td.best{outline:3px solid #2e7d32;font-weight:bold}
tr.best td{font-weight:bold;background:#e8f5e9}.legend{font-size:12px;color:#555}"""


def page(title: str, intro: str, sections: dict[str, pd.DataFrame | str],
         images: list[Path]) -> str:
    """The HTML text: a heading, an intro paragraph, the sections (tables, or HTML already
    made), then the images inline."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p id='intro'>{html.escape(intro)}</p>"]
    for caption, content in sections.items():
        parts.append(f"<h2>{html.escape(caption)}</h2>")
        parts.append(content if isinstance(content, str) else "<div class='wide'>" + content.to_html(
            index=False, na_rep="-", float_format=lambda v: f"{v:.4f}") + "</div>")
    for image in images:
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        parts.append(f"<h2>{html.escape(image.stem.replace('_', ' '))}</h2>"
                     f"<img alt='{html.escape(image.stem)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


def matrix_html(m: Matrix, metric: str) -> str:
    """The matrix as a table: each cell classed by what fills it, the best trial's cell marked."""
    cols = m.cols.labels()
    head = (f"<tr><th>{html.escape(m.rows.knob)} \\ {html.escape(m.cols.knob)}</th>"
            + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>")
    body = []
    for i, label in enumerate(m.rows.labels()):
        cells = []
        for j, cell in enumerate(m.cells[i]):
            classes = cell.kind + (" best" if m.best == (i, j) else "")
            ident = " id='best-cell'" if m.best == (i, j) else ""
            cells.append(f"<td class='{classes}'{ident} data-kind='{cell.kind}'>"
                         f"{html.escape(cell.text())}</td>")
        body.append(f"<tr><th>{html.escape(label)}</th>{''.join(cells)}</tr>")
    legend = (f"<p class='legend'>{html.escape(metric)}. Green: the final value of the cell's "
              "best completed trial. Orange, pruned@K: the cell has only pruned trials; the "
              "value the furthest one reached at epoch K (not a final value). Grey ~: predicted "
              "by a Gaussian process fitted on the completed trials (± one standard deviation), "
              "other knobs at the best trial's values, only where a completed trial is near "
              "(within about a quarter of each knob's range) and no pruned trial nearer; "
              "elsewhere -. Outlined: the best trial (export-best's: the first run of the "
              "configuration best by its mean over its runs). A numeric "
              "row or column covers the range in brackets.</p>")
    return (f"<div class='wide'><table class='matrix' data-rows='{html.escape(m.rows.knob)}' "
            f"data-cols='{html.escape(m.cols.knob)}'>{head}{''.join(body)}</table></div>{legend}")


def trials_html(trials: pd.DataFrame, metric: str, best: int | None) -> str:
    """The trials table: the row of trial ``best`` marked, each run linked in MLflow; metric
    headers shortened to their last path part (the full name on hover)."""
    columns = [c for c in trials.columns if c != "run_url"] + ["MLflow"]
    head = "<tr>" + "".join(f"<th title='{html.escape(_full_heading(c, metric))}'>"
                            f"{html.escape(_heading(c, metric))}</th>" for c in columns) + "</tr>"
    body = []
    for _, row in trials.iterrows():
        cells = [f"<td>{html.escape(_duration(row[c]) if c == 'duration_s' else _text(row[c]))}"
                 "</td>" for c in columns[:-1]]
        url = row.get("run_url")
        cells.append(f"<td><a href='{html.escape(url)}'>run</a></td>" if isinstance(url, str)
                     else "<td>-</td>")
        mark = " class='best' id='best-trial'" if row["trial"] == best else ""
        body.append(f"<tr{mark} data-trial='{int(row['trial'])}'>{''.join(cells)}</tr>")
    short = _short(metric)
    return (f"<div class='wide'><table class='trials'>{head}{''.join(body)}</table></div>"
            f"<p class='legend'>final: the value at the last epoch of a completed trial (a "
            f"pruned or failed trial has none); last {html.escape(short)}: the last validation "
            f"a trial reached (a pruned trial's, at the epoch in 'pruned at'); best "
            f"{html.escape(short)}: its best validation; {html.escape(short)} is "
            f"{html.escape(metric)}; duration: wall time of its MLflow run; MLflow links open "
            "in the UI that `aqr-sweep ui` serves (127.0.0.1:5000).</p>")


def _short(metric: str) -> str:
    return metric.rsplit("/", 1)[-1]


def _heading(column: str, metric: str) -> str:
    if column.startswith("final "):
        return f"final {_short(column[len('final '):])}"
    return {"value": f"final {_short(metric)}", "last": f"last {_short(metric)}",
            "best": f"best {_short(metric)}", "duration_s": "duration",
            "epochs_run": "epochs", "pruned_at_epoch": "pruned at"}.get(column, column)


def _full_heading(column: str, metric: str) -> str:
    return {"value": f"final {metric}", "last": f"last {metric}",
            "best": f"best {metric}"}.get(column, column)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if not value.is_integer() or abs(value) < 1 else f"{value:g}"
    return str(value)


def _duration(seconds: object) -> str:
    if not isinstance(seconds, float | int) or math.isnan(seconds):
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
