"""Two searchers Ray Tune does not ship as ``Searcher`` classes: a fixed list of configurations
(the tuning guide's grid, or a finished sweep's own order), and Ray's random search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ray import tune
from ray.tune.search import Searcher
from ray.tune.search.variant_generator import generate_variants

from sweeps.space import CategoricalParameter, FloatParameter, SweepSpace


class FixedOrderSearcher(Searcher):
    """Propose ``configs`` in order, then say FINISHED."""

    def __init__(self, configs: Sequence[dict[str, Any]], metric: str, mode: str) -> None:
        super().__init__(metric=metric, mode=mode)
        self._configs = list(configs)

    def suggest(self, trial_id: str) -> dict | None:
        return self._configs.pop(0) if self._configs else Searcher.FINISHED

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        """Nothing to learn."""


def tune_domains(space: SweepSpace) -> dict[str, Any]:
    """The space as Ray Tune's sampling domains (what a Ray user writes in ``param_space``)."""
    out: dict[str, Any] = {}
    for name, p in space.parameters.items():
        if isinstance(p, CategoricalParameter):
            out[name] = tune.choice(p.choices)
        elif isinstance(p, FloatParameter):
            sample = tune.qloguniform if p.log else tune.quniform
            plain = tune.loguniform if p.log else tune.uniform
            out[name] = sample(p.low, p.high, p.step) if p.step else plain(p.low, p.high)
        else:
            step = p.step or 1
            out[name] = (tune.lograndint(p.low, p.high + 1) if p.log
                         else tune.qrandint(p.low, p.high, step))
    return out


class RandomVariantSearcher(Searcher):
    """Ray's random search: each configuration resolved from the space's Tune domains by
    ``generate_variants``, as ``BasicVariantGenerator`` resolves its samples; the
    ``points_to_evaluate`` first."""

    def __init__(self, space: SweepSpace, seed: int,
                 points_to_evaluate: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(metric=space.metric, mode=space.mode)
        self._spec = {"config": tune_domains(space)}
        self._random = np.random.RandomState(seed)
        self._points = list(points_to_evaluate)

    def suggest(self, trial_id: str) -> dict | None:
        if self._points:
            return self._points.pop(0)
        _, spec = next(generate_variants(self._spec, random_state=self._random))
        return spec["config"]

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        """Nothing to learn."""
