"""The training-environment runtime (``aqr/runtime`` and the package's ``__init__``) is Python 3.8
code that imports only the standard library, torch, and mmengine or mmcv: the real CMT trains on
Python 3.8 with mmcv 1.x. Checked statically (vermin, the 3.8 grammar), then for real in a
training environment of the fork's kind (Python 3.8, torch 1.9.0, mmcv 1.6.0, no mmengine; built
by tests/kit/py38_env.py): the runtime imports and runs inside mmcv 1.x's runner there, and a sweep
of the CMT stand-in trains and probes its knobs in that python."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.kit.py38_env import VERSIONS, python38, training_python

REPO = Path(__file__).resolve().parents[2]
RUNTIME = [REPO / "aqr" / "__init__.py", *sorted((REPO / "aqr" / "runtime").rglob("*.py"))]
#: the training environment's own libraries (mmdet and mmdet3d build the real CMT for the probe)
ALLOWED = {"torch", "mmcv", "mmengine", "mmdet", "mmdet3d", "aqr", "numpy"}


def test_vermin_finds_nothing_newer_than_python_38():
    vermin = Path(sys.executable).with_name("vermin")
    done = subprocess.run([str(vermin), "-t=3.8-", "--no-tips", "--violations",
                           "--eval-annotations", "--feature", "union-types",
                           *map(str, RUNTIME)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: str(p.relative_to(REPO)))
def test_it_parses_as_python_38_and_imports_no_sweep_side(path):
    tree = ast.parse(path.read_text(), feature_version=(3, 8))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    outside = {m for m in imported if m.split(".")[0] not in ALLOWED | set(sys.stdlib_module_names)}
    assert not outside, f"{path.name} imports {sorted(outside)}"
    ours = {m for m in imported if m.split(".")[0] == "aqr"}
    assert all(m == "aqr" or m.startswith("aqr.runtime") for m in ours), ours


def test_python_38_compiles_it():
    python = python38()
    if python is None:
        pytest.skip("no Python 3.8 interpreter here (vermin's check above still ran)")
    done = subprocess.run([python, "-m", "compileall", "-q", *map(str, RUNTIME)],
                          capture_output=True, text=True, env={"PYTHONPYCACHEPREFIX": "/tmp/aqr38"})
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def py38() -> str:
    """The Python 3.8 training environment's python (tests/kit/py38_env.py builds it)."""
    return training_python()


def in_py38(py38: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([py38, *args], cwd=REPO, capture_output=True, text=True, timeout=240)


#: the diagnostics on fixed maps and features, and every schedule, as JSON (run in both pythons)
DIAGNOSED = """
import json, math, torch
from aqr.runtime.diagnostics import flatten_stats, map_stats, modulation_stats
from aqr.runtime.schedules import build_schedule
g = torch.Generator().manual_seed(0)
raw = torch.rand(2, 3, 8, 8, generator=g) * 3
feat = torch.randn(2, 4, 8, 8, generator=g)
stats = {"bev": map_stats(raw, raw.clamp(max=2.0), 2.0, torch.tensor([[True, False, False]])),
         "pers": map_stats(raw, raw, math.inf, torch.zeros(2, 0, dtype=torch.bool)),
         "mod": modulation_stats(feat, feat * 0.7)}
specs = [0.5, {"type": "cosine", "start": 0.7, "end": 0.4, "warmup_epochs": 1, "total_epochs": 4},
         {"type": "staged", "values": [0.1, 0.05], "boundaries": [2]}]
values = [build_schedule(s).value(e) for s in specs for e in (0, 1, 2.5, 4)]
print(json.dumps({"stats": flatten_stats(stats), "schedules": values}))
"""


@pytest.mark.slow
@pytest.mark.integration
def test_it_is_the_fork_s_kind_of_environment_and_every_runtime_module_runs_there(py38):
    """Every runtime module imports; the diagnostics and schedules give there what they give here."""
    modules = ["aqr", *sorted(".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(
        ".__init__") for p in RUNTIME if p.parent.name != "aqr")]
    done = in_py38(py38, "-c", f"import importlib.util; [importlib.import_module(m) for m in {modules}]; "
                   "import sys, torch, mmcv; print(sys.version_info[:2], torch.__version__, "
                   "mmcv.__version__, importlib.util.find_spec('mmengine'))")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1].split() == ["(3,", "8)", *VERSIONS, "None"]
    there = in_py38(py38, "-c", DIAGNOSED)
    here = subprocess.run([sys.executable, "-c", DIAGNOSED], cwd=REPO, capture_output=True,
                          text=True, check=True)
    assert there.returncode == 0, there.stderr[-3000:]
    there, here = json.loads(there.stdout), json.loads(here.stdout)
    assert there["stats"] == pytest.approx(here["stats"], rel=1e-5) and len(there["stats"]) == 19
    assert there["schedules"] == pytest.approx(here["schedules"], rel=1e-9)


@pytest.mark.slow
@pytest.mark.integration
def test_the_hook_schedules_and_logs_inside_mmcv1_s_runner_there(py38, tmp_path):
    """tests/kit/mmcv1_training.py (as tests/aqr/test_runtime_mmcv1.py runs it here) on Python
    3.8, torch 1.9 and mmcv 1.6: what it logs is what the sweep's follower reads, and a resumed
    run keeps the scheduled lr_mult."""
    from sweeps.logs import read_log

    first = in_py38(py38, "-m", "tests.kit.mmcv1_training", str(tmp_path / "w"), "--epochs", "2")
    resumed = in_py38(py38, "-m", "tests.kit.mmcv1_training", str(tmp_path / "w"), "--epochs", "3",
                      "--resume")
    assert first.returncode == 0 and resumed.returncode == 0, \
        first.stderr[-3000:] + resumed.stderr[-3000:]
    logs = [json.loads(p.stdout.splitlines()[-1])["log"] + ".json" for p in (first, resumed)]
    records = [r for log in logs for r in read_log(Path(log))]
    assert [r.epoch for r in records] == [1, 2, 3]
    assert [round(r.diagnostics["aqr/residual_weight"], 4) for r in records] == [0.7, 0.7, 0.55]
    assert {"aqr/bias_scale", "aqr/attn_bias_abs_mean", "aqr/attn_bias_frac_clamped",
            "aqr/bias_scale_at_limit"} <= set(records[0].diagnostics)
    bias, aqr = "pts_bbox_head.attention_bias_generator.bias_scale", \
        "pts_bbox_head.aqr_weight_generator.weight"
    # the staged lr_mult (0.1, then 0.05 from epoch 1) applied once across the resume, not twice
    assert json.loads(resumed.stdout.splitlines()[-1])["lr"] == {
        bias: pytest.approx(0.01 * 0.05 * 0.1), aqr: pytest.approx(0.001)}


def standin(tmp_path: Path, py38: str, name: str, **env: str) -> Path:
    """The stand-in CMT's space (tests/kit/standin.py), trained by the Python 3.8 environment."""
    from tests.kit.standin import standin_space

    path = standin_space(tmp_path, name, launcher_restarts=0, max_failures=0, python=py38,
                         enqueue=[{"name": "current", "params": "base_config"}])
    data = yaml.safe_load(path.read_text())
    data["env"].pop("CMT_STANDIN_CRASH_AT_EPOCH")
    data["env"].update(env)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.slow
@pytest.mark.integration
def test_the_preflight_there_names_the_fork_s_need_for_torch_2(py38, tmp_path):
    """The fork's decoder calls scaled_dot_product_attention, which torch 1.x lacks: the smoke
    run in the real environment (no emulation) stops the sweep before any trial."""
    from tests.kit.standin import run_cli

    proc = run_cli(tmp_path, "run", str(standin(tmp_path, py38, "sdpa")))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: preflight failed: smoke run: ")
    assert "AttributeError: module 'torch.nn.functional' has no attribute " \
           "'scaled_dot_product_attention'" in proc.stderr, proc.stderr[-3000:]
    sweep = tmp_path / "runs" / "sdpa"
    assert not (sweep / "trials").exists()                  # run launched no trial
    assert "scaled_dot_product_attention" in (sweep / "preflight" / "report.txt").read_text()


@pytest.mark.slow
@pytest.mark.integration
def test_a_sweep_trains_the_stand_in_there(py38, tmp_path):
    """With the decoder's attention written out (a fork mended for torch 1.x), the whole path in
    the Python 3.8 environment: the knob probe (the runtime shipped to it, mmcv 1.x's
    build_optimizer), torch 1.9's ``torch.distributed.launch`` on 2 ranks, mmcv-1.x logs
    followed, the trial in Optuna and MLflow."""
    import optuna
    from mlflow.tracking import MlflowClient

    from sweeps.store.sweep_dir import SweepDir
    from tests.kit.standin import run_cli

    proc = run_cli(tmp_path, "run", str(standin(tmp_path, py38, "mended", CMT_STANDIN_SDPA="0")))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sweep = SweepDir("mended", tmp_path / "runs")
    probe = json.loads((sweep.path / "preflight" / "result.json").read_text())
    assert {t["effect"] for t in probe["targets"]} == {"live"}
    (trial,) = optuna.load_study(study_name="mended", storage=sweep.study_storage).get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert sorted(trial.intermediate_values) == [1, 2, 3]
    work = Path(trial.user_attrs["work_dir"])
    (log,) = [p for p in work.glob("*.log") if not p.name.endswith(".json.log")]
    assert f"PyTorch: {VERSIONS[0]}" in log.read_text() and "Python: 3.8." in log.read_text()
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("mended").experiment_id],
                                filter_string="tags.`aqr.label` = 'current'")
    history = client.get_metric_history(run.info.run_id, "pts_bbox_NuScenes/NDS")
    assert sorted(m.step for m in history) == [1, 2, 3]


@pytest.mark.slow
@pytest.mark.integration
def test_a_stopped_sweep_leaves_nothing_of_torch_1_9_s_launcher_running(py38, tmp_path):
    """SIGTERM (a cluster's stop) to the driver while torch 1.9's launcher trains 2 ranks: the
    driver exits 130 and no launcher or rank outlives it."""
    import signal
    import time

    from tests.kit.standin import CMT, cli_env, leftovers

    space = standin(tmp_path, py38, "stopped", CMT_STANDIN_SDPA="0", CMT_STANDIN_EPOCH_SECONDS="60")
    driver = subprocess.Popen([sys.executable, "-m", "cli", "run", "--no-preflight", str(space)],
                              cwd=CMT, env=cli_env(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not list(tmp_path.glob("runs/stopped/trials/*/*.log")) and time.time() < deadline:
            time.sleep(0.2)                                  # rank 0 logs once both ranks joined
        assert len(leftovers(tmp_path)) >= 3, "the launcher and its 2 ranks never started"
        driver.send_signal(signal.SIGTERM)
        _, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130, err[-3000:]
    assert leftovers(tmp_path) == []                         # at the driver's exit
    assert "continue with `aqr-sweep resume stopped`" in err


GRADIENT_ONLY = '''
import torch
from tests.kit.mmcv1_training import TinyDetector, Toy


def build(cfg):
    torch.manual_seed(0)
    model = TinyDetector()
    model.gscale = 1.0   # a knob that changes the gradients only (a partial stop-gradient)
    data = Toy(8)

    def loss(m):
        out = m.predict(data.x)
        return torch.nn.functional.mse_loss(out * m.gscale + out.detach() * (1 - m.gscale), data.y)
    return dict(model=model, loss=loss)
'''


@pytest.mark.slow
@pytest.mark.integration
def test_the_probe_there_sees_a_knob_that_changes_only_the_gradients(py38, tmp_path):
    """torch 1.9's zero_grad zeroes gradients in place: the probe compares copies, not views
    (it called such a knob dead there, and live on torch 2)."""
    (tmp_path / "gradient_only.py").write_text(GRADIENT_ONLY)
    (tmp_path / "config.py").write_text("model = dict(type='Tiny')\n"
                                        "optimizer = dict(type='SGD', lr=0.01)\n")
    (tmp_path / "plan.json").write_text(json.dumps({"builder": "gradient_only:build", "targets": [
        {"parameter": "gscale", "kind": "attribute", "attribute": "gscale", "values": [0.5, 1.0]}]}))
    done = subprocess.run([py38, "-m", "aqr.runtime.probe", "--config", "config.py", "--plan",
                           "plan.json", "--out", "out.json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=240, env={**os.environ, "PYTHONPATH": str(REPO),
                                                       "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    (target,) = json.loads((tmp_path / "out.json").read_text())["targets"]
    assert target["effect"] == "live", target
    assert not list(tmp_path.glob("aqr_probe_*"))  # its scratch folder (no --work-dir) is removed
