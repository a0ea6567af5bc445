"""The AQR tuning guide's numbers: its quick-reference presets and its clamp x residual grid."""

from __future__ import annotations

#: The quick-reference table: current, conservative, aggressive (the aggressive clamp is 2.5-3.0
#: and residual 0.5-0.4 in the guide; the lower end of each is taken).
GUIDE_PRESETS: dict[str, dict[str, float]] = {
    "current": {"max_weight_clamp": 1.5, "residual_weight": 0.7, "gaussian_sigma": 1.0,
                "aqr_lr_mult": 0.5, "transformer_lr_mult": 0.8},
    "conservative": {"max_weight_clamp": 2.0, "residual_weight": 0.6, "gaussian_sigma": 1.0,
                     "aqr_lr_mult": 0.5, "transformer_lr_mult": 0.8},
    "aggressive": {"max_weight_clamp": 2.5, "residual_weight": 0.5, "gaussian_sigma": 0.8,
                   "aqr_lr_mult": 0.8, "transformer_lr_mult": 1.0},
}

#: The guide's tuning matrix: clamp rows x residual columns, the values its table names
#: (clamp 1.5 / 2.0 / 2.5-3.0, residual 0.7 / 0.6 / 0.5-0.4).
GUIDE_GRID: dict[str, list[float]] = {
    "max_weight_clamp": [1.5, 2.0, 2.5, 3.0],
    "residual_weight": [0.7, 0.6, 0.5, 0.4],
}
