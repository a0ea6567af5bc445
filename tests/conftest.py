"""Shared fixtures: one small real sweep of the mini task (real Ray, MLflow sqlite, subprocesses)."""

from __future__ import annotations

import re

import pytest

from tests.kit.spaces import MINI_CONFIG

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
