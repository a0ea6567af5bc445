"""One offline HTML page with the report's tables and figures (images embedded)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:.5em 0}"""


def page(title: str, intro: str, tables: dict[str, pd.DataFrame], images: list[Path]) -> str:
    """The HTML text: a heading, an intro paragraph, the tables, then the images inline."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>"]
    for caption, table in tables.items():
        parts.append(f"<h2>{html.escape(caption)}</h2>")
        parts.append(table.to_html(index=False, na_rep="-", float_format=lambda v: f"{v:.4f}"))
    for image in images:
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        parts.append(f"<h2>{html.escape(image.stem.replace('_', ' '))}</h2>"
                     f"<img alt='{html.escape(image.stem)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
