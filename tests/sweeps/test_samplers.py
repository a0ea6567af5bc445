"""Every sampler a space can name follows ``search.seed``: the same seed proposes the same
configurations, another seed others (past the first trial, which Optuna's model-based samplers
draw with their seeded independent sampler)."""

import optuna
import pytest

from sweeps.run.samplers import SAMPLERS, build_sampler, suggest_params
from sweeps.space import SweepSpace


def space(sampler: str, seed: int) -> SweepSpace:
    return SweepSpace.model_validate({
        "name": "s", "base_config": "c.py", "max_epochs": 3,
        "search": {"sampler": sampler, "seed": seed, "num_trials": 4},
        "parameters": {knob: {"type": "float", "low": 0.0, "high": 1.0, "step": 0.1,
                              "targets": [knob]} for knob in ("x", "y")}})


def proposals(sampler: str, seed: int, n: int = 4) -> list[dict]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = space(sampler, seed)
    study = optuna.create_study(sampler=build_sampler(s))
    out = []
    for _ in range(n):
        trial = study.ask()
        params = suggest_params(trial, s)
        study.tell(trial, params["x"] - params["y"])
        out.append(params)
    return out


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_a_sampler_proposes_by_the_search_seed(sampler):
    assert proposals(sampler, 0) == proposals(sampler, 0)
    assert proposals(sampler, 0)[1:] != proposals(sampler, 1)[1:]
