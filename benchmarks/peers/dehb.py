"""DEHB (differential evolution + Hyperband; the ``dehb`` package, in the ``bench`` extra) through
its ask/tell interface: each job is a configuration and a fidelity in epochs (between
``min_fidelity`` and the schedule, spaced by ``eta``), trained from scratch as a new trial (DEHB's
own model of a job: a promoted configuration is a new DE vector, trained again from epoch 0),
its value at the job's fidelity told as the fitness and its simulated seconds as the cost. The
answer is DEHB's incumbent (``get_incumbents``: the best fitness told, at any fidelity).

Reproducible: DEHB and its ConfigSpace are seeded with the space's search seed + the repetition.
DEHB does not take known points, so the enqueued points are not tried first. DEHB configures the
global ``loguru`` logger on each construction (stdout at ``ERROR`` here, and a log file in a
temporary folder removed after the sweep).
"""

from __future__ import annotations

import tempfile
import warnings
from typing import Any

from benchmarks.peers.runner import Runner, label, need, seed_of, simulate_jobs
from sweeps.simulation.compare import Simulation
from sweeps.simulation.loop import Trace, TrialRun
from sweeps.simulation.strategies import Points
from sweeps.space import CategoricalParameter, FloatParameter, SweepSpace

DEFAULTS: dict[str, Any] = {"min_fidelity": 1, "eta": 3, "mutation_factor": 0.5,
                            "crossover_prob": 0.5}


def config_space(space: SweepSpace, seed: int):
    """The space as a ConfigSpace (steps dropped: a proposal replays the nearest tabulated
    configuration anyway)."""
    cs_mod = need("ConfigSpace", "DEHB")
    cs = cs_mod.ConfigurationSpace(seed=seed)
    for name, p in space.parameters.items():
        if isinstance(p, CategoricalParameter):
            cs.add(cs_mod.Categorical(name, list(p.choices)))
        elif isinstance(p, FloatParameter):
            cs.add(cs_mod.Float(name, (p.low, p.high), log=p.log))
        else:
            cs.add(cs_mod.Integer(name, (p.low, p.high), log=p.log))
    return cs


class _DEHBJob:
    """One DEHB job: train ``fidelity`` epochs, then tell the value there."""

    def __init__(self, dehb, job: dict, max_epochs: int, sign: float) -> None:
        self.dehb, self.job, self.sign = dehb, job, sign
        self.params = dict(job["config"])
        self.fidelity = max(1, min(max_epochs, int(round(float(job["fidelity"])))))

    def result(self, epoch: int, value: float) -> bool:
        if epoch < self.fidelity:
            return False
        # DEHB minimises its fitness; the cost is the job's epochs (as many as it asked for)
        fitness = -self.sign * value if value == value else float("inf")
        self.dehb.tell(self.job, {"fitness": fitness, "cost": float(self.fidelity)})
        return True


def dehb(space: SweepSpace, points: Points = (), *, min_fidelity: float = 1, eta: float = 3,
         mutation_factor: float = 0.5, crossover_prob: float = 0.5,
         name: str | None = None) -> Runner:
    """DEHB with fidelities from ``min_fidelity`` to the schedule (``eta`` apart: 2 and 6 epochs
    for a 6-epoch schedule with the defaults), one DEHB worker (ask/tell needs no Dask cluster);
    ``sim.slots`` jobs run at once."""
    DEHB = need("dehb", "DEHB").DEHB
    settings = {"min_fidelity": min_fidelity, "eta": eta, "mutation_factor": mutation_factor,
                "crossover_prob": crossover_prob}
    name = name or label("DEHB", settings, DEFAULTS)

    def run(sim: Simulation, repetition: int) -> Trace:
        seed = seed_of(sim, repetition)
        with tempfile.TemporaryDirectory(prefix="dehb-") as folder, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # ConfigSpace 1.x's old names
            optimizer = DEHB(cs=config_space(space, seed), min_fidelity=min_fidelity,
                             max_fidelity=space.max_epochs, eta=eta,
                             mutation_factor=mutation_factor, crossover_prob=crossover_prob,
                             n_workers=1, seed=seed, output_path=folder, log_level="ERROR",
                             save_freq="end")

            def ask(index: int) -> _DEHBJob:
                return _DEHBJob(optimizer, optimizer.ask(), space.max_epochs, space.mode.sign)

            def recommend(trials: list[TrialRun]):
                if optimizer.inc_config is None:
                    return None
                config = dict(optimizer.get_incumbents()[0])
                # the incumbent is a job's configuration: the one its trial replayed
                ran = next((t for t in reversed(trials) if t.params == config), None)
                return ran.config if ran else sim.surface.nearest(config, space)

            try:
                return simulate_jobs(sim, repetition, ask, recommend)
            finally:
                optimizer.logger.remove()  # its file sink in ``folder``
    return Runner(name, run)
