"""A small Gaussian process over the knobs (range-scaled, log where the space says so): the
model that fills the tuning matrix's empty cells, each with its uncertainty."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sweeps.space import SweepSpace

#: kernel length in range-scaled units, and noise as a share of the values' variance
LENGTH_SCALE = 0.3
NOISE = 0.1


@dataclass
class GaussianProcess:
    """An RBF-kernel GP on standardised values, its hyperparameters fixed (few trials cannot
    fit them)."""

    space: SweepSpace
    knobs: list[str]
    x: np.ndarray
    alpha: np.ndarray
    chol: np.ndarray
    mean: float
    scale: float
    anchor: dict

    @classmethod
    def fit(cls, space: SweepSpace, knobs: list[str], x: pd.DataFrame, y: pd.Series,
            anchor: dict) -> GaussianProcess:
        """Fit on ``x`` (one column per knob) and ``y``; ``anchor`` holds the knobs a
        prediction does not name."""
        values = y.to_numpy(float)
        mean, scale = float(values.mean()), float(values.std()) or 1.0
        points = _unit(space, knobs, x.to_numpy(float))
        gram = _kernel(points, points) + NOISE * np.eye(len(points))
        chol = np.linalg.cholesky(gram)
        alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, (values - mean) / scale))
        return cls(space, knobs, points, alpha, chol, mean, scale, anchor)

    def predict_at(self, where: dict) -> tuple[float, float]:
        """Mean and standard deviation at ``where`` (other knobs at the anchor's values)."""
        point = _unit(self.space, self.knobs,
                      np.array([[float(where.get(k, self.anchor[k])) for k in self.knobs]]))
        cross = _kernel(point, self.x)[0]
        mean = float(cross @ self.alpha)
        v = np.linalg.solve(self.chol, cross)
        var = max(1.0 - float(v @ v), 0.0)
        return self.mean + self.scale * mean, self.scale * math.sqrt(var)


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
