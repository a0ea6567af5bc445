"""A small synthetic surface over the demo space's four knobs, for tests that must not train."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

KNOBS = {
    "max_weight_clamp": [1.5, 2.0, 3.0],
    "residual_weight": [0.4, 0.6, 0.7],
    "gaussian_sigma": [1.0, 2.0],
    "aqr_lr_mult": [0.5, 1.5],
}


def write_surface(path: Path, seeds: int = 2, epochs: int = 6, noise: float = 0.01) -> Path:
    """Curves that rise to a final value set by the knobs (best: clamp 2, residual 0.6, sigma 2,
    lr_mult 0.5), plus per-seed noise."""
    rows = []
    for values in itertools.product(*KNOBS.values()):
        clamp, residual, sigma, lr = values
        final = 0.40 - 0.05 * abs(clamp - 2.0) - 0.2 * abs(residual - 0.6) \
            + 0.03 * (sigma - 1.0) - 0.02 * abs(np.log(lr / 0.5))
        for seed in range(seeds):
            rng = np.random.default_rng([seed, *[int(v * 10) for v in values]])
            for epoch in range(1, epochs + 1):
                nds = final * (1 - 0.6 ** epoch) + noise * rng.standard_normal()
                rows.append(dict(zip(KNOBS, values, strict=True), seed=seed, epoch=epoch,
                                 NDS=round(float(nds), 6), mAP=0.0, epoch_seconds=5.0 + seed))
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
