"""The peers' strategies run in the simulator as a benchmark runs them: each spends its budget,
starts with the enqueued point, and is reproducible; the guide's grid trains each cell in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.peers import strategies as P
from sweeps.simulation import strategies as S
from sweeps.simulation.compare import Simulation
from sweeps.simulation.loop import SimEnd
from sweeps.simulation.surface import load_surface
from sweeps.space import load_space
from tests.kit.surface import write_surface

DEMO = Path(__file__).resolve().parents[2] / "search_spaces" / "demo.yaml"
POINTS = [("current", {"max_weight_clamp": 1.5, "residual_weight": 0.7, "gaussian_sigma": 1.0,
                       "aqr_lr_mult": 0.5})]


@pytest.fixture(scope="module")
def space():
    return load_space(DEMO)


@pytest.fixture()
def surface_file(tmp_path):
    return write_surface(tmp_path / "surface.csv")


@pytest.mark.parametrize("make", [
    lambda sp: S.aqr_sweep(sp, POINTS), lambda sp: P.ray_optuna_asha(sp, POINTS),
    lambda sp: P.ray_random_asha(sp, POINTS), lambda sp: P.optuna_tpe(sp, POINTS),
    lambda sp: P.random_full(sp, POINTS),
], ids=["aqr-sweep", "ray-optuna-asha", "ray-random-asha", "tpe", "random"])
def test_every_strategy_spends_its_budget_and_starts_with_the_enqueued_point(space, surface_file,
                                                                            make):
    surface = load_surface(surface_file, space)
    trace = Simulation(surface, space, slots=2, budget_epochs=60).run(make(space), 0)
    assert trace.epochs == 60
    assert trace.trials[0].params == POINTS[0][1]
    ends = {t.end for t in trace.trials}
    assert ends <= {SimEnd.COMPLETED, SimEnd.STOPPED, SimEnd.CUT} and SimEnd.COMPLETED in ends
    again = Simulation(surface, space, slots=2, budget_epochs=60).run(make(space), 0)
    assert [t.params for t in again.trials] == [t.params for t in trace.trials]  # reproducible



def test_guide_grid_trains_each_cell_in_full(space, surface_file):
    surface = load_surface(surface_file, space)
    configs = P.guide_configs(space, POINTS[0][1], surface.knob_values)
    # the guide's clamp 1.5/2.0/2.5/3.0 on this surface's 1.5/2.0/3.0; residual 0.7..0.4 on 0.7/0.6/0.4
    assert {(c["max_weight_clamp"], c["residual_weight"]) for c in configs} == {
        (a, b) for a in (1.5, 2.0, 3.0) for b in (0.7, 0.6, 0.4)}
    assert all(c["gaussian_sigma"] == 1.0 and c["aqr_lr_mult"] == 0.5 for c in configs)
    trace = Simulation(surface, space, slots=2).run(P.guide_grid(space, configs), 0)
    assert len(trace.trials) == len(configs) and {t.end for t in trace.trials} == {SimEnd.COMPLETED}
