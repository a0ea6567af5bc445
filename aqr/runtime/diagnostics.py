"""Diagnostics of AQR weight maps and of the feature modulation they drive.

All statistics are detached scalar tensors (no host sync on the hot path); call ``float()`` on them
when logging. Keys follow ``{stat}`` and are prefixed by the modality (``bev``/``pers``) by whoever
logs them, e.g. ``aqr/pers_post_max``.
"""

import math
from typing import Callable, Dict

import torch
from torch import Tensor


@torch.no_grad()
def map_stats(raw: Tensor, out: Tensor, clamp: float, dropped: Tensor) -> Dict[str, Tensor]:
    """Statistics of a weight map before (``raw``) and after (``out``) post-processing.

    Args:
        raw: The rendered map before threshold and clamp.
        out: The map after post-processing.
        clamp: The clamp's upper bound (``math.inf`` when the map is not clamped).
        dropped: ``[B, Q]`` bool, the queries whose position was off the map (they render nothing).

    Returns:
        ``pre_max``, ``pre_mean``, ``pre_std``, ``post_max``, ``post_mean``, ``post_std``,
        ``frac_clamped`` (share of cells above the clamp), ``queries_dropped`` and
        ``frac_dropped`` (share of the batch's queries that rendered nothing).
    """
    raw, out = raw.detach().float(), out.detach().float()
    empty = raw.numel() == 0
    zero = raw.new_zeros(())

    def _stat(t: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
        return zero if empty else fn(t)

    frac = zero if (empty or math.isinf(clamp)) else (raw > clamp).float().mean()
    return {
        "pre_max": _stat(raw, torch.amax),
        "pre_mean": _stat(raw, torch.mean),
        "pre_std": _stat(raw, lambda t: t.std(unbiased=False)),
        "post_max": _stat(out, torch.amax),
        "post_mean": _stat(out, torch.mean),
        "post_std": _stat(out, lambda t: t.std(unbiased=False)),
        "frac_clamped": frac,
        "queries_dropped": dropped.sum().float(),
        "frac_dropped": dropped.float().mean() if dropped.numel() else zero,
    }


@torch.no_grad()
def modulation_stats(features: Tensor, out: Tensor) -> Dict[str, Tensor]:
    """Relative change of the features by the modulation: ``||out - F|| / ||F||`` (L2)."""
    features, out = features.detach().float(), out.detach().float()
    norm = torch.linalg.vector_norm(features)
    change = torch.linalg.vector_norm(out - features)
    return {"relative_change": torch.where(norm > 0, change / norm.clamp_min(1e-12), change)}


def flatten_stats(stats: Dict[str, Dict[str, Tensor]], prefix: str = "aqr/") -> Dict[str, float]:
    """``{'bev': {'post_max': t}}`` -> ``{'aqr/bev_post_max': float(t)}``."""
    return {f"{prefix}{modality}_{name}": float(value)
            for modality, values in stats.items() for name, value in values.items()}
