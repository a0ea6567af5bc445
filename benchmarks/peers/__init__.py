"""The peers aqr-sweep is measured against, each through its own library's classes, over the same
surface, each giving our ``Trace`` (so ``sweeps.simulation.outcome`` scores them all alike).

``PEERS[name](space, points, settings)`` makes a peer: a ``Strategy`` (a Ray searcher + scheduler,
run by ``sweeps.simulation.loop.simulate``) or a ``Runner`` (a library that drives its own loop:
Optuna's ask/tell, DEHB, Syne Tune's simulator). ``run_peer(peer, simulation, repetition)`` runs
either and returns the ``Trace``; ``knobs(name)`` lists a peer's settings and their defaults.

Seconds: one simulated sweep of 144 epochs over 24 configurations x 3 seeds x 6 epochs, 2 slots
(mean of 3, measured on 2 cores shared with other work, load ~4: expect less on an idle machine).

=====================  ===================================================  ============  ======
name                   what                                                 module        s
=====================  ===================================================  ============  ======
ray-optuna-asha        Ray OptunaSearch (TPE) + ASHAScheduler               strategies    0.19
ray-random-asha        Ray random search + ASHAScheduler                    strategies    0.04
ray-optuna-tpe         Ray OptunaSearch (TPE), no pruning                   strategies    0.05
ray-random             Ray random search, no pruning                        strategies    0.01
guide-grid             the tuning guide's clamp x residual grid             strategies    0.00
ray-bohb               Ray TuneBOHB + HyperBandForBOHB (pause/resume)       ray_bohb      0.8 *
optuna-tpe-hyperband   Optuna ask/tell: TPESampler + HyperbandPruner        optuna_alone  0.13
optuna-tpe-sha         Optuna ask/tell: TPESampler + SuccessiveHalvingPr.   optuna_alone  0.16
optuna-gp-hyperband    Optuna ask/tell: GPSampler + HyperbandPruner         optuna_alone  2.1 *
optuna-gp              Optuna ask/tell: GPSampler, no pruning               optuna_alone  5.3 *
syne-tune-asha         Syne Tune ASHA on its simulator                      syne_tune     0.25
syne-tune-bohb         Syne Tune BOHB (ASHA + KDE) on its simulator         syne_tune     2.5 *
dehb                   DEHB (ask/tell, fidelities in epochs)                dehb          0.17
=====================  ===================================================  ============  ======

``*``: costly at 100 repetitions. Cheaper settings: ``ray-bohb`` with ``{"bohb_config":
{"num_samples": 16}}`` (0.2 s; hpbandster's candidates per proposal, 64 by default: each one is
drawn with scipy's slow ``truncnorm.rvs``), ``syne-tune-bohb`` with ``{"search_options":
{"num_candidates": 16}}`` (0.9 s; the same cost); the GP samplers have no public knob for their
cost (~0.2-0.6 s an ask once ``n_startup_trials`` trials completed): fewer repetitions.

``SLOW_PEERS`` (same form, not in ``PEERS``, so that a benchmark looping over ``PEERS`` stays
within minutes): ``syne-tune-mobster`` (ASHA + a GP) and ``syne-tune-hypertune`` (Hyperband
brackets + a GP), minutes a sweep each (``SLOW`` says how slow, and what is cheaper).

The libraries beyond Ray and Optuna (hpbandster, ConfigSpace, Syne Tune, DEHB, greenlet) come with
the ``bench`` extra (``pip install -e '.[bench]'``); each is imported only when its peer is made,
and a missing one says so.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from benchmarks.peers.runner import Peer, Runner, repeat_peer, run_peer
from sweeps.simulation.strategies import Points, Strategy
from sweeps.space import SweepSpace

__all__ = ["PEERS", "SLOW", "SLOW_PEERS", "Peer", "PeerFactory", "Runner", "Strategy", "knobs",
           "make_peer", "repeat_peer", "run_peer"]

PeerFactory = Callable[..., Peer]  # (space, points, settings=None) -> Strategy | Runner


def _guide_grid(space: SweepSpace, points: Points, current: dict[str, Any] | None = None,
                available: dict[str, list] | None = None) -> Strategy:
    """The guide's grid around ``current`` (default: the first enqueued point), each value moved
    to the nearest of ``available`` (e.g. the surface's ``knob_values``) when given."""
    from benchmarks.peers.strategies import guide_configs, guide_grid

    if current is None:
        if not points:
            raise ValueError("guide-grid needs the current configuration: a point, or the "
                             "setting current=")
        current = dict(points[0][1])
    return guide_grid(space, guide_configs(space, current, available))


#: name -> (module:function, fixed arguments)
_WHERE: dict[str, tuple[str, dict[str, Any]]] = {
    "ray-optuna-asha": ("strategies:ray_optuna_asha", {}),
    "ray-random-asha": ("strategies:ray_random_asha", {}),
    "ray-optuna-tpe": ("strategies:optuna_tpe", {}),
    "ray-random": ("strategies:random_full", {}),
    "guide-grid": ("", {}),
    "ray-bohb": ("ray_bohb:ray_bohb", {}),
    "optuna-tpe-hyperband": ("optuna_alone:optuna_alone", {"sampler": "tpe", "pruner": "hyperband"}),
    "optuna-tpe-sha": ("optuna_alone:optuna_alone", {"sampler": "tpe", "pruner": "sha"}),
    "optuna-gp-hyperband": ("optuna_alone:optuna_alone", {"sampler": "gp", "pruner": "hyperband"}),
    "optuna-gp": ("optuna_alone:optuna_alone", {"sampler": "gp", "pruner": "none"}),
    "syne-tune-asha": ("syne_tune:syne_tune", {"scheduler": "asha"}),
    "syne-tune-bohb": ("syne_tune:syne_tune", {"scheduler": "bohb"}),
    "syne-tune-mobster": ("syne_tune:syne_tune", {"scheduler": "mobster"}),
    "syne-tune-hypertune": ("syne_tune:syne_tune", {"scheduler": "hypertune"}),
    "dehb": ("dehb:dehb", {}),
}

#: peers too slow for a benchmark of 100 repetitions (seconds a sweep of 144 epochs, 2 cores
#: shared): run them with fewer repetitions, or the cheaper setting named
SLOW: dict[str, str] = {
    "syne-tune-mobster": "a GP fit (autograd, L-BFGS, 2 starts) per decision: ~290 s a sweep of "
                         "144 epochs; settings {'search_options': {'opt_skip_init_length': 0, "
                         "'opt_skip_period': 5}} (refit every 5th decision): ~85 s",
    "syne-tune-hypertune": "as MOBSTER, with a GP per bracket: ~70 s a sweep even with "
                           "{'search_options': {'opt_skip_init_length': 0, 'opt_skip_period': 5}}",
}


def _function(name: str) -> Callable[..., Peer]:
    where, _ = _WHERE[name]
    if not where:
        return _guide_grid
    module, function = where.split(":")
    return getattr(importlib.import_module(f"benchmarks.peers.{module}"), function)


def knobs(name: str) -> dict[str, Any]:
    """The settings peer ``name`` takes, with their defaults."""
    fixed = _WHERE[name][1]
    params = list(inspect.signature(_function(name)).parameters.values())[2:]
    return {p.name: p.default for p in params if p.name not in fixed}


def make_peer(name: str, space: SweepSpace, points: Points = (),
              settings: Mapping[str, Any] | None = None) -> Peer:
    """Peer ``name`` for ``space``, starting from ``points`` where its library takes known points,
    with ``settings`` (see ``knobs(name)``).

    Raises:
        KeyError: no such peer.
        TypeError: a setting the peer does not take (naming the ones it takes).
        ImportError: its library is not installed (naming the ``bench`` extra).
    """
    if name not in _WHERE:
        raise KeyError(f"no peer {name!r} (peers: {', '.join(_WHERE)})")
    settings = dict(settings or {})
    allowed = knobs(name)
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise TypeError(f"peer {name!r} takes no setting {', '.join(map(repr, unknown))} (its "
                        f"settings: {', '.join(allowed) or 'none'})")
    return _function(name)(space, list(points), **_WHERE[name][1], **settings)


def _factory(name: str) -> PeerFactory:
    def factory(space: SweepSpace, points: Points = (),
                settings: Mapping[str, Any] | None = None) -> Peer:
        return make_peer(name, space, points, settings)
    factory.__name__ = factory.__qualname__ = name.replace("-", "_")
    factory.__doc__ = f"Peer {name!r}: ``(space, points, settings) -> Strategy | Runner``."
    return factory


#: name -> factory taking (space, points, settings): the peers a benchmark runs
PEERS: dict[str, PeerFactory] = {name: _factory(name) for name in _WHERE if name not in SLOW}
#: the same for the peers too slow for 100 repetitions (see ``SLOW``)
SLOW_PEERS: dict[str, PeerFactory] = {name: _factory(name) for name in SLOW}
