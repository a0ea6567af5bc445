"""Two searchers Ray Tune does not ship as ``Searcher`` classes: a fixed list of configurations
(the tuning guide's grid, or a finished sweep's own order), and Ray's random search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ray import tune
from ray.tune.search import Searcher
from ray.tune.search.variant_generator import generate_variants

from sweeps.constants import Mode, TrialAttr
from sweeps.space import CategoricalParameter, FloatParameter, SweepSpace


class FixedOrderSearcher(Searcher):
    """Propose ``configs`` in order, then say FINISHED."""

    def __init__(self, configs: Sequence[dict[str, Any]], metric: str, mode: Mode) -> None:
        super().__init__(metric=metric, mode=Mode(mode).value)
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
        super().__init__(metric=space.metric, mode=space.mode.value)
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


class LeaderRerunSearcher(Searcher):
    """Every ``every``-th proposal re-runs the leader (the configuration with the best mean over
    its completed trials, among the ``top`` best) until it has ``repeats`` runs, through the
    study's queue, so the inner ask/tell searcher books it like any trial. In the simulator each
    re-run draws a seed again: what a re-run with a new training seed measures."""

    def __init__(self, inner: Searcher, study, mode: Mode, every: int = 4, repeats: int = 3,
                 top: int = 3) -> None:
        super().__init__(metric=inner.metric, mode=Mode(mode).value)
        self.inner, self.study = inner, study
        self.every, self.repeats, self.top = every, repeats, top
        self._proposed = 0

    def suggest(self, trial_id: str) -> dict | None:
        self._proposed += 1
        if self._proposed % self.every == 0 and (params := self._leader()) is not None:
            self.study.enqueue_trial(params, user_attrs={TrialAttr.LABEL: "rerun"})
        return self.inner.suggest(trial_id)

    def _leader(self) -> dict | None:
        import optuna

        runs: dict[tuple, list[float]] = {}
        params_of: dict[tuple, dict] = {}
        for t in self.study.get_trials(deepcopy=False,
                                       states=(optuna.trial.TrialState.COMPLETE,)):
            key = tuple(sorted(t.params.items()))
            runs.setdefault(key, []).append(t.value)
            params_of[key] = t.params
        ranked = sorted(runs, key=lambda k: -Mode(self.mode).sign * float(np.mean(runs[k])))[:self.top]
        pending = [k for k in ranked if len(runs[k]) < self.repeats]
        return dict(params_of[pending[0]]) if pending else None

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.inner.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        self.inner.on_trial_complete(trial_id, result=result, error=error)
