"""A small Gaussian process over the knobs (range-scaled, log where the space says so): the
model that fills the tuning matrix's empty cells, each with its uncertainty, where it has
support."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sweeps.space import SweepSpace

#: kernel length in range-scaled units, and noise as a share of the values' variance
LENGTH_SCALE = 0.3
NOISE = 0.1
#: a prediction is made only where its standard deviation is at most this share of the values'
#: spread: a completed trial within about a quarter of each knob's range
SUPPORT = 0.75


@dataclass
class GaussianProcess:
    """An RBF-kernel GP on standardised values, its hyperparameters fixed (few trials cannot
    fit them). It knows the pruned trials' places, not their values (an early value is not a
    final one): where a pruned trial is nearer than any completed one, it does not predict."""

    space: SweepSpace
    knobs: list[str]
    x: np.ndarray
    alpha: np.ndarray
    chol: np.ndarray
    mean: float
    scale: float
    anchor: dict
    pruned: np.ndarray

    @classmethod
    def fit(cls, space: SweepSpace, knobs: list[str], x: pd.DataFrame, y: pd.Series,
            anchor: dict, pruned: pd.DataFrame) -> GaussianProcess:
        """Fit on ``x`` (one column per knob) and ``y``; ``anchor`` holds the knobs a
        prediction does not name; ``pruned``, the pruned trials' knobs."""
        values = y.to_numpy(float)
        mean, scale = float(values.mean()), float(values.std()) or 1.0
        points = _unit(space, knobs, x.to_numpy(float))
        gram = _kernel(points, points) + NOISE * np.eye(len(points))
        chol = np.linalg.cholesky(gram)
        alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, (values - mean) / scale))
        return cls(space, knobs, points, alpha, chol, mean, scale, anchor,
                   _unit(space, knobs, pruned[knobs].to_numpy(float)))

    def predict_at(self, where: dict) -> tuple[float, float] | None:
        """Mean and standard deviation at ``where`` (other knobs at the anchor's values); None
        without support: no completed trial near, or a pruned trial nearer."""
        point = _unit(self.space, self.knobs,
                      np.array([[float(where[k] if k in where else self.anchor[k])
                                 for k in self.knobs]]))
        cross = _kernel(point, self.x)[0]
        v = np.linalg.solve(self.chol, cross)
        std = math.sqrt(max(1.0 - float(v @ v), 0.0))
        nearest = np.sqrt(((self.x - point) ** 2).sum(1)).min()
        if std > SUPPORT or (len(self.pruned) and np.sqrt(
                ((self.pruned - point) ** 2).sum(1)).min() < nearest):
            return None
        return self.mean + self.scale * float(cross @ self.alpha), self.scale * std


def _unit(space: SweepSpace, knobs: list[str], x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x, dtype=float)
    for i, knob in enumerate(knobs):
        p = space.parameters[knob]
        lo, hi, col = float(p.low), float(p.high), x[:, i]
        if getattr(p, "log", False):
            lo, hi, col = math.log(lo), math.log(hi), np.log(col)
        out[:, i] = (col - lo) / ((hi - lo) or 1.0)
    return out


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return np.exp(-0.5 * d2 / LENGTH_SCALE**2)
