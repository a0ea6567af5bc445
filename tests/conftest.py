"""Shared fixtures: one small real sweep of the mini task (real Ray, MLflow sqlite, subprocesses)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.kit.spaces import MINI_CONFIG

# The tests press Ctrl-C on drivers (SIGINT), and a driver keeps SIGINT ignored when it starts
# with it ignored, as a background job of a script does (`cmd &`, `nohup ... &`). A pytest started
# that way would hand that to every driver: give the tests Ctrl-C back (a child starts with the
# default, which Python turns into KeyboardInterrupt).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# A Ray started without an address joins the cluster last registered in its temp dir, and
# ray.cluster_utils.Cluster (test_multinode) registers its own there, then removes it: with one
# temp dir, the other xdist worker's sweeps would run on that test cluster and die with it, and a
# developer's own `ray start` would be unregistered. Each test process (and every driver it starts,
# which inherits this) keeps its Ray in a temp dir of its own, short (Ray's socket paths hold 107
# bytes), under TMPDIR (not under an inherited RAY_TMPDIR: the xdist controller's is the workers').
_RAY_TMP = Path(tempfile.mkdtemp(prefix="aqr"))
os.environ["RAY_TMPDIR"] = str(_RAY_TMP)

MINI_SWEEP = """\
name: mini
base_config: {config}
metric: pts_bbox_NuScenes/NDS
mode: max
max_epochs: 3
env: {{AQR_NUM_THREADS: "1"}}
fixed:
  train_cfg.max_epochs: 3
  train_dataloader.dataset.num_scenes: 128
  val_dataloader.dataset.num_scenes: 32
  default_hooks.checkpoint.max_keep_ckpts: 1
parameters:
  max_weight_clamp:
    type: float
    low: 1.0
    high: 3.0
    targets: [model.pts_bbox_head.renderer_config.max_weight_clamp]
  score_threshold:           # 0.99 keeps no box: NDS 0, pruned by the threshold pruner
    type: categorical
    choices: [0.05, 0.99]
    targets: [model.score_threshold]
    create: true             # MiniCMTAQR(score_threshold=...) reads it; the config omits it
  num_queries:               # 10 is not a square: that trial's training fails at once
    type: categorical
    choices: [64, 10]
    targets: [model.pts_bbox_head.num_queries]
search:
  sampler: random
  num_trials: 4
  concurrency: 2
  enqueue:
    - {{name: good_a, params: {{max_weight_clamp: 1.5, score_threshold: 0.05, num_queries: 64}}}}
    - {{name: hopeless, params: {{max_weight_clamp: 2.0, score_threshold: 0.99, num_queries: 64}}}}
    - {{name: broken, params: {{max_weight_clamp: 2.0, score_threshold: 0.05, num_queries: 10}}}}
    - {{name: good_b, params: {{max_weight_clamp: 2.5, score_threshold: 0.05, num_queries: 64}}}}
pruner:
  type: threshold
  warmup_epochs: 0
  options: {{lower: 0.000001}}
tracking:
  uri: {uri}
  experiment: tests
  artifact_location: {artifacts}
"""


@pytest.fixture(scope="session")
def mini_sweep(tmp_path_factory):
    """Run the 4-trial, 3-epoch sweep once; return its summary, space file and tracking URI.

    The sweep root is set only while the sweep runs: later tests see their own environment.
    """
    from sweeps.run.driver import run_sweep

    root = tmp_path_factory.mktemp("sweep")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    space_file = root / "mini.yaml"
    space_file.write_text(MINI_SWEEP.format(config=MINI_CONFIG, uri=uri,
                                            artifacts=(root / "mlartifacts").as_uri()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AQR_SWEEP_ROOT", str(root / "runs"))
        summary = run_sweep(space_file)
    return {"summary": summary, "space_file": space_file, "uri": uri, "root": root}


def pytest_ignore_collect(collection_path, config):
    """With ``-m "not slow"``, modules marked slow as a whole (``pytestmark`` naming ``slow``)
    are not imported at all: their imports of Ray and MLflow cost seconds of the fast tier."""
    if collection_path.suffix != ".py" or config.getoption("markexpr") != "not slow":
        return None
    head = collection_path.read_text(errors="replace")[:4000]
    return True if re.search(r"^pytestmark = \[?pytest\.mark\.slow", head, re.M) else None


REPO = Path(__file__).resolve().parents[1]
_LEFT_ALONE = re.compile(r"(^|/)(__pycache__|\.pytest_cache|\.ruff_cache|\.venv[^/]*|[^/]*\.egg-info)(/|$)")


def _stray_files() -> set[str]:
    """Files in the checkout that git does not track (ignored ones included), caches left out."""
    done = subprocess.run(["git", "ls-files", "--others", "--directory", "--no-empty-directory"],
                          cwd=REPO, capture_output=True, text=True)
    return {p for p in done.stdout.splitlines() if not _LEFT_ALONE.search(p)}


def pytest_sessionstart(session):
    if hasattr(session.config, "workerinput"):    # an xdist worker: the controller checks
        return
    session.config._stray_before = _stray_files() if (REPO / ".git").exists() else None


def pytest_sessionfinish(session, exitstatus):
    """A test that writes into the checkout (an MLflow store, a sweep folder, artifacts in a
    kit repo) fails the run: tests write under their tmp_path."""
    before = getattr(session.config, "_stray_before", None)
    if before is None:
        return
    new = sorted(_stray_files() - before)
    if new:
        session.config.get_terminal_writer().line(
            f"tests left files in the checkout: {', '.join(new[:10])}", red=True)
        session.exitstatus = 1


def pytest_unconfigure(config):
    shutil.rmtree(_RAY_TMP, ignore_errors=True)  # Ray's session logs of this test process


#: seconds the longest files (or groups) took on 2 cores (2026-12-07): they start first, so that
#: no worker is left to run one of them alone at the end (xdist starts files with most tests first)
LONGEST = {"tests/sweeps/test_faults.py": 245, "mini_sweep": 215, "tests/sweeps/test_stops.py": 160,
           "tests/sweeps/test_trial_failures.py": 135, "tests/sweeps/test_slurm.py": 130,
           "mixed_sweep": 120, "tests/cli/test_user_errors.py": 115,
           "tests/aqr/test_runtime_py38.py": 100, "tests/test_benchmarks.py": 100,
           "tests/kit/test_preflight_standin.py": 95, "tests/sweeps/test_resume.py": 85,
           "tests/sweeps/test_simulation_fidelity.py": 70, "tests/cli/test_cli_sweep.py": 70,
           "tests/kit/test_cmt_sweep.py": 65}


@functools.cache
def group_of(root: Path, path: str) -> str:
    """The ``xdist_group`` the test module at ``path`` (from ``root``) marks itself with, read from
    its source, else ``path``: pytest 9.2 drops the group that xdist 3.8 appends to node ids
    (pytest-dev/pytest-xdist#1386). ``tests/test_grouping.py`` checks it against the marks."""
    try:
        source = (root / path).read_text(errors="replace")
    except OSError:
        return path
    match = re.search(r"""xdist_group\((?:name=)?["'](\w+)["']\)""", source)
    return match[1] if match else path


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` as ``loadfile`` (each test file whole on one worker), except that the
    files of one ``xdist_group`` go together: those sharing a session fixture that takes a minute
    to make (``mini_sweep``, ``mixed_sweep``) make it once, in the order one process runs them.
    The :data:`LONGEST` go first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileOrGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(config.rootpath, nodeid.split("::", 1)[0])

        def _assign_work_unit(self, node) -> None:
            longest = max(self.workqueue, key=lambda scope: LONGEST.get(scope, 0))
            self.workqueue.move_to_end(longest, last=False)
            super()._assign_work_unit(node)

    return FileOrGroupScheduling(config, log)
