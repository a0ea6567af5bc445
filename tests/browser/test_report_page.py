"""The HTML report as a person sees it, in headless Chromium: the tuning matrix with the best
trial's cell, the trials table with the best trial marked and every state shown, the figures."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.browser.conftest import chromium

pytestmark = [pytest.mark.slow, pytest.mark.integration,
              pytest.mark.xdist_group("mixed_sweep")]  # one worker makes mixed_sweep once


class Elements(HTMLParser):
    """Text of the elements with an ``id`` or a ``class``, from a serialized DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str]] = []
        self.text: dict[str, str] = {}
        self.rows: list[tuple[dict, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        key = f"#{attrs['id']}" if "id" in attrs else f".{attrs.get('class', '')}"
        self.open.append((tag, key, attrs))
        self.text.setdefault(key, "")

    def handle_endtag(self, tag):
        while self.open:
            name, key, attrs = self.open.pop()
            if name == "tr" and "data-trial" in attrs:
                self.rows.append((attrs, self.text.get(key, "")))
            if name == tag:
                break

    def handle_data(self, data):
        for _, key, _ in self.open:
            self.text[key] = self.text.get(key, "") + data


def test_the_report_shows_the_matrix_and_the_best_trial(mixed_sweep, tmp_path):
    dom = chromium("--dump-dom", mixed_sweep["report"].as_uri())
    page = Elements()
    page.feed(dom)
    assert "class=\"matrix\"" in dom, "no tuning matrix on the page"
    assert page.text["#best-cell"].startswith("2.7000 (trial 0"), page.text["#best-cell"]
    best_rows = [text for attrs, text in page.rows if attrs.get("id") == "best-trial"]
    assert len(best_rows) == 1 and best_rows[0].startswith("0a"), best_rows   # trial 0 (a)
    body = " ".join(text for _, text in page.rows)
    for state in ("completed", "pruned", "failed", "interrupted", "imported"):
        assert state in body, f"no {state} trial in the trials table"
    assert "Best trial: 0 a" in page.text["#intro"]                   # not the imported 3.5
    assert dom.count("data:image/png;base64,") == 4

    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2400", mixed_sweep["report"].as_uri())
    assert shot.stat().st_size > 30_000                               # a page, not a blank
