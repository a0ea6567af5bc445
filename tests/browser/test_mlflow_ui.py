"""MLflow as the sweep's dashboard, in headless Chromium against a real ``aqr-sweep ui``: the runs
view it opens lists the sweep's runs with the best trial first and named so; the parent run's page
shows the best trial and the tuning matrix, and serves the whole report."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.browser.conftest import chromium

pytestmark = [pytest.mark.slow, pytest.mark.integration,
              pytest.mark.xdist_group("mixed_sweep")]  # one worker makes mixed_sweep once
BUDGET = "--virtual-time-budget=30000"  # the UI fetches runs after load: let its scripts run


def _text(dom: str) -> str:
    dom = re.sub(r"<style.*?</style>|<script.*?</script>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


@pytest.fixture(scope="module")
def ui(mixed_sweep):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "cli", "ui", "mixed", "--port", str(port)],
                              cwd=mixed_sweep["root"], env=mixed_sweep["env"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = [server.stdout.readline(), server.stdout.readline()]
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("the MLflow UI did not come up")
    urls = {line.split(": ", 1)[0]: line.split(": ", 1)[1].strip() for line in lines}
    yield {"port": port, "urls": urls}
    server.send_signal(signal.SIGTERM)          # `aqr-sweep ui` ends its server with itself
    server.wait(timeout=30)


def test_the_runs_view_lists_the_sweep_best_trial_first(ui):
    view = ui["urls"]["MLflow UI"]
    assert "/runs?searchFilter=" in view and "orderByKey=metrics.%60NDS%60" in view
    text = _text(chromium(BUDGET, "--window-size=1600,1200", "--dump-dom", view))
    names = re.findall(r"(trial_\d{4}\S*(?: \(best\)| pruned@\d+)?|imported_\S+)", text)
    assert names, text[:2000]
    trials = [n for n in names if n.startswith("trial_")]
    assert trials[0] == "trial_0000_a (best)", names     # sorted by NDS, the best trial first
    # the imported run (NDS 3.5 after its own schedule) is listed by its value, named as imported
    assert names[0].startswith("imported_old_run"), names
    assert "trial_0002_low pruned@1" in names           # a pruned trial reads as pruned


def test_the_parent_run_page_shows_the_best_trial_and_the_tuning_matrix(ui, mixed_sweep):
    text = _text(chromium(BUDGET, "--window-size=1600,1600", "--dump-dom",
                          ui["urls"]["sweep mixed's parent run"]))
    assert "Best: trial 0 a, NDS = 2.7000 over 1 seed(s)" in text, text[:3000]
    assert "Tuning matrix" in text and "2.7000 (trial 0" in text   # the matrix, rendered
    assert "trial_0000_a (best)" in text                             # among the child runs
    artifacts = _text(chromium(BUDGET, "--window-size=1600,1200", "--dump-dom",
                               ui["urls"]["sweep mixed's parent run"] + "/artifacts/report/"
                               "index.html"))
    for name in ("index.html", "matrix_x__all.md", "learning_curves.png", "trials.csv"):
        assert name in artifacts, artifacts[:3000]
    assert "mlflow-html-iframe" in chromium(BUDGET, "--dump-dom", ui["urls"][
        "sweep mixed's parent run"] + "/artifacts/report/index.html")  # previewed in the page
    record = json.loads((mixed_sweep["root"] / "runs" / "mixed" / "sweep.json").read_text())
    served = urllib.request.urlopen(f"http://127.0.0.1:{ui['port']}/get-artifact?path=report/"
                                    f"index.html&run_uuid={record['parent_run_id']}").read()
    assert b"id='best-cell'" in served and b"id='best-trial'" in served
