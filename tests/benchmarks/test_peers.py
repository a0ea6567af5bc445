"""The peers run in the simulator as a benchmark runs them: each spends its budget, starts with
the enqueued point (where its library takes points), replays the curves our simulator draws, and
is reproducible; the guide's grid trains each cell in full; Ray's pausing schedulers pause and
resume; the registry names its peers' settings and the ``bench`` extra."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.peers import PEERS, SLOW, SLOW_PEERS, knobs, make_peer, run_peer
from benchmarks.peers import strategies as P
from benchmarks.peers.runner import need
from benchmarks.peers.searchers import tune_domains
from sweeps.simulation import strategies as S
from sweeps.simulation.compare import Simulation
from sweeps.simulation.loop import SimEnd, best_last_result, simulate
from sweeps.simulation.surface import load_surface
from sweeps.space import load_space
from tests.kit.bench_extra import or_skip
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


# --- the peers from the other libraries (the ``bench`` extra), through ``PEERS`` -------------

#: the new peers, with the settings their short runs take; all reproducible here (Syne Tune only
#: because its clock is not charged the scheduler's real compute time, our default for it)
LIBRARY_PEERS = {
    "ray-bohb": {}, "optuna-tpe-hyperband": {}, "optuna-tpe-sha": {},
    "optuna-gp-hyperband": {}, "optuna-gp": {"n_startup_trials": 3},  # the GP fits from trial 4
    "syne-tune-asha": {}, "syne-tune-bohb": {}, "dehb": {},
    "syne-tune-asha-promotion": {"type": "promotion"},
}
#: DEHB takes no known points
TAKES_POINTS = set(LIBRARY_PEERS) - {"dehb"}


def _peer(space, key):
    return or_skip(lambda: make_peer(key.removesuffix("-promotion"), space, POINTS,
                                     LIBRARY_PEERS[key]))


def _replays_our_draw(trace, surface, space, repetition):
    """Each trial replays the curve our simulator draws for its index and proposal, from its
    first epoch on (a resumed trial goes on with its own curve)."""
    draw = surface.curve_for(space, repetition)
    for t in trace.trials:
        assert (t.config, t.curve) == draw(t.index, t.params)
        assert t.values == t.curve.values[:t.epochs]


@pytest.mark.parametrize("key", list(LIBRARY_PEERS))
def test_library_peer_spends_its_budget_replays_our_draw_and_repeats(space, surface_file, key):
    surface = load_surface(surface_file, space)
    sim = Simulation(surface, space, slots=2, budget_epochs=40)
    trace = run_peer(_peer(space, key), sim, 1)
    assert [s.epochs for s in trace.steps] == list(range(1, 41))
    assert sum(t.epochs for t in trace.trials) == trace.epochs == 40
    ends = {t.end for t in trace.trials}
    assert ends <= {SimEnd.COMPLETED, SimEnd.STOPPED, SimEnd.CUT} and SimEnd.COMPLETED in ends
    assert trace.steps[-1].recommended in surface.curves  # an answer: a tabulated configuration
    _replays_our_draw(trace, surface, space, 1)
    if key in TAKES_POINTS:
        assert trace.trials[0].params == POINTS[0][1]
    again = run_peer(_peer(space, key), sim, 1)
    assert [t.params for t in again.trials] == [t.params for t in trace.trials]
    assert [(s.time, s.recommended) for s in again.steps] == \
        [(s.time, s.recommended) for s in trace.steps]


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")  # hpbandster's
def test_simulate_pauses_and_resumes_as_tune_does(space, surface_file):
    """Ray's HyperBandForBOHB in ``simulate``: trials paused at a rung, some resumed later, each
    epoch trained (and charged) once."""
    or_skip(lambda: need("hpbandster", "TuneBOHB"))
    from ray.tune.schedulers import HyperBandForBOHB, TrialScheduler
    from ray.tune.search.bohb import TuneBOHB

    decisions: list[tuple[str, int, str]] = []

    class Recording(HyperBandForBOHB):
        def on_trial_result(self, tune_controller, trial, result):
            decision = super().on_trial_result(tune_controller, trial, result)
            decisions.append((trial.trial_id, result["training_iteration"], decision))
            return decision

    surface = load_surface(surface_file, space)
    searcher = TuneBOHB(space=TuneBOHB.convert_search_space(tune_domains(space)),
                        metric=space.metric, mode=space.mode.value, seed=0)
    trace = simulate(searcher, Recording(max_t=6, reduction_factor=3, metric=space.metric,
                                         mode=space.mode.value),
                     metric=space.metric, mode=space.mode, max_epochs=6, slots=2,
                     curve_for=surface.curve_for(space, 0), recommend=best_last_result,
                     budget_epochs=60)
    assert trace.epochs == 60
    paused_at = {}
    for trial_id, epoch, decision in decisions:
        if decision == TrialScheduler.PAUSE:
            paused_at.setdefault(trial_id, epoch)
    assert paused_at
    assert any(epoch > paused_at[t] for t, epoch, _ in decisions if t in paused_at)  # resumed
    assert len(decisions) == len({(t, e) for t, e, _ in decisions}) == 60
    _replays_our_draw(trace, surface, space, 0)


def test_ray_asha_peers_take_their_settings(space, surface_file):
    surface = load_surface(surface_file, space)
    assert PEERS["ray-optuna-asha"](space, POINTS).name == "Ray OptunaSearch+ASHA"  # as before
    tuned = PEERS["ray-random-asha"](space, POINTS, {"grace_period": 2, "reduction_factor": 2})
    assert tuned.name == "Ray random+ASHA (grace 2, rf 2)"
    trace = Simulation(surface, space, slots=2, budget_epochs=60).run(tuned, 0)
    stopped = [t for t in trace.trials if t.end == SimEnd.STOPPED]
    assert stopped and all(t.epochs >= 2 for t in stopped)  # none stopped before the grace
    for grace in (1, 2, 3):  # the grid a benchmark tunes them over
        for rf in (2, 3, 4):
            peer = PEERS["ray-optuna-asha"](space, POINTS, {"grace_period": grace,
                                                            "reduction_factor": rf})
            trace = Simulation(surface, space, slots=2, budget_epochs=24).run(peer, 0)
            assert trace.epochs == 24
            assert all(t.epochs >= grace for t in trace.trials if t.end == SimEnd.STOPPED)


def test_registry_names_settings_and_the_extra(space):
    assert {k.removesuffix("-promotion") for k in LIBRARY_PEERS} <= set(PEERS)
    assert set(SLOW) == set(SLOW_PEERS) and not set(SLOW) & set(PEERS)
    assert knobs("ray-bohb")["reduction_factor"] == 3
    with pytest.raises(TypeError, match="grace_period"):
        PEERS["ray-optuna-asha"](space, POINTS, {"grace": 2})
    with pytest.raises(KeyError, match="no peer"):
        make_peer("hyperopt", space)
    with pytest.raises(ImportError, match=r"\.\[bench\]"):
        need("no_such_library_here", "a peer")


def test_syne_tune_replays_a_table_whose_configurations_ran_different_seeds(space, tmp_path):
    """A configuration run on one seed where the others ran two: Syne Tune's tabular blackbox
    (one seed count for all) still holds the table, and the peer replays our draw."""
    table = pd.read_csv(write_surface(tmp_path / "surface.csv"))
    one_seed = (table["max_weight_clamp"] == 1.5) & (table["seed"] == 1)
    table[~one_seed].to_csv(tmp_path / "ragged.csv", index=False)
    surface = load_surface(tmp_path / "ragged.csv", space)
    assert {len(runs) for runs in surface.curves.values()} == {1, 2}
    trace = run_peer(_peer(space, "syne-tune-asha"), Simulation(surface, space, slots=2,
                                                                budget_epochs=60), 2)
    assert trace.epochs == 60
    _replays_our_draw(trace, surface, space, 2)
    assert any(t.config[0] == 1.5 for t in trace.trials)  # a one-seed configuration replayed


def test_a_peer_that_cannot_replay_the_table_is_left_out_saying_why(space, tmp_path, capsys):
    """A run that stops before the schedule's end (a pruned run in a table): Syne Tune's tabular
    blackbox has no values past it, so bench_search leaves its peers out, naming the run, and
    keeps the others."""
    from benchmarks.bench_search import applicable
    from benchmarks.contenders import OURS, Contender

    table = pd.read_csv(write_surface(tmp_path / "surface.csv"))
    stopped = (table["max_weight_clamp"] == 3.0) & (table["residual_weight"] == 0.4) \
        & (table["gaussian_sigma"] == 1.0) & (table["aqr_lr_mult"] == 0.5) \
        & (table["seed"] == 0) & (table["epoch"] > 2)
    table[~stopped].to_csv(tmp_path / "stopped.csv", index=False)
    surface = load_surface(tmp_path / "stopped.csv", space)
    or_skip(lambda: make_peer("syne-tune-asha", space, POINTS))
    entrants = [Contender(OURS), Contender("syne-tune-asha", "syne-tune-asha"),
                Contender("ray-random-asha", "ray-random-asha")]
    kept = applicable(space, POINTS, surface, entrants)
    assert [c.name for c in kept] == [OURS, "ray-random-asha"]
    said = capsys.readouterr().out
    assert f"syne-tune-asha left out: {tmp_path / 'stopped.csv'}: a curve of {{'max_weight_clamp'" \
        ": 3.0, 'residual_weight': 0.4," in said
    assert "stops at epoch 2 of 6: Syne Tune's BlackboxTabular needs whole curves" in said
