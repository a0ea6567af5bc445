"""The simulator makes the decisions a real sweep makes: at concurrency 1, the real Ray driver over
a replayed surface and the simulator over the same surface propose the same configurations in the
same order and prune the same trials at the same epochs."""

import optuna
import pytest

from sweeps.config.base import enqueued_points, load_base_config
from sweeps.constants import TrialAttr
from sweeps.run.driver import run_sweep
from sweeps.simulation.compare import Simulation
from sweeps.simulation.loop import SimEnd
from sweeps.simulation.strategies import aqr_sweep
from sweeps.simulation.surface import load_surface
from sweeps.space import load_space
from sweeps.store.study import load_study
from sweeps.store.sweep_dir import SweepDir
from tests.kit.replay import SurfaceReplayBackend
from tests.kit.spaces import write_space
from tests.kit.surface import write_surface

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(900)]

HEAD = "model.pts_bbox_head"
CONFIG = """\
model = dict(pts_bbox_head=dict(renderer_config=dict(max_weight_clamp=1.5, gaussian_sigma=1.0),
                                modulator_config=dict(residual_weight=0.7)))
aqr_lr_mult = 0.5
"""
PARAMETERS = {
    "max_weight_clamp": {"type": "float", "low": 1.0, "high": 4.0,
                         "targets": [f"{HEAD}.renderer_config.max_weight_clamp"]},
    "residual_weight": {"type": "float", "low": 0.3, "high": 0.9,
                        "targets": [f"{HEAD}.modulator_config.residual_weight"]},
    "gaussian_sigma": {"type": "float", "low": 0.5, "high": 2.0,
                       "targets": [f"{HEAD}.renderer_config.gaussian_sigma"]},
    "aqr_lr_mult": {"type": "float", "low": 0.1, "high": 2.0, "log": True,
                    "targets": ["aqr_lr_mult"]},
}


@pytest.mark.parametrize("pruner", [
    {"type": "median", "warmup_epochs": 1, "startup_trials": 2},
    {"type": "asha", "warmup_epochs": 0, "options": {"reduction_factor": 2}},
], ids=["median", "asha"])
def test_simulator_decides_as_the_real_driver(tmp_path, monkeypatch, pruner):
    (tmp_path / "config.py").write_text(CONFIG)
    space_file = write_space(
        tmp_path, "fidelity", parameters=PARAMETERS, max_epochs=6, pruner=pruner,
        search={"sampler": "tpe", "seed": 3, "num_trials": 8, "concurrency": 1,
                "enqueue": [{"name": "current", "params": "base_config"}]})
    surface_file = write_surface(tmp_path / "surface.csv")
    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    run_sweep(space_file, view="none", backend=SurfaceReplayBackend(space_file, surface_file))
    real = sorted(load_study(SweepDir("fidelity", tmp_path / "runs")).trials,
                  key=lambda t: t.number)

    space = load_space(space_file)
    points = enqueued_points(space, load_base_config(space, space_file))
    surface = load_surface(surface_file, space)
    trace = Simulation(surface, space, slots=1, max_trials=8).run(aqr_sweep(space, points), 0)

    assert [t.params for t in trace.trials] == [t.params for t in real]
    simulated_ends = [(t.end, t.epochs) for t in trace.trials]
    real_ends = [(SimEnd.STOPPED, t.user_attrs[TrialAttr.PRUNED_AT_EPOCH])
                 if t.state == optuna.trial.TrialState.PRUNED else (SimEnd.COMPLETED, 6) for t in real]
    assert simulated_ends == real_ends
    assert any(end == SimEnd.STOPPED for end, _ in simulated_ends)  # the pruner did decide something
    assert all(t.state in (optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.COMPLETE)
               for t in real)
