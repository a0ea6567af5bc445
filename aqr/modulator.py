"""Modulate features with a rendered weight map, with an explicit residual form.

Two residual forms exist and both are named here:

* ``'convex'``: ``out = r * F + (1 - r) * F * M`` (how the tuning notes reason about ``r``);
* ``'additive'``: ``out = F * (M + r)`` (what the original CMT-AQR code computed).

Without a residual connection, ``out = F * M``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from aqr.runtime.diagnostics import modulation_stats

ModulationType = Literal["element_wise", "channel_wise"]
ResidualMode = Literal["convex", "additive"]
_ACTIVATIONS = {"none": nn.Identity, "sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


class FeatureModulator(nn.Module):
    """Multiply features by a weight map, with a residual connection.

    Args:
        modulation_type: ``'element_wise'`` applies the map equally to every channel;
            ``'channel_wise'`` scales it per channel by a learnable gain (initialised to 1, needs
            ``in_channels``).
        residual_connection: Keep part of the unmodulated features.
        residual_weight: ``r`` in the residual forms above; may be changed by a schedule.
        residual_mode: ``'convex'`` or ``'additive'`` (see the module docstring).
        normalize_weights: Divide each map by its maximum before use.
        learnable_modulation: Learn a scalar gain on the map (initialised to 1).
        activation: ``'none'``, ``'sigmoid'``, ``'relu'`` or ``'tanh'`` applied to the map.
        in_channels: Number of feature channels (``'channel_wise'`` only).

    Shapes: ``features [B, C, H, W]`` with ``weight_map [B, H, W]`` (BEV), or
    ``features [B, V, C, H, W]`` with ``weight_map [B, V, H, W]`` (camera views). After each call,
    :attr:`last_stats` holds ``relative_change`` per modality (``'bev'`` or ``'pers'``).
    """

    def __init__(
        self,
        modulation_type: ModulationType = "element_wise",
        residual_connection: bool = True,
        residual_weight: float = 0.7,
        residual_mode: ResidualMode = "convex",
        normalize_weights: bool = False,
        learnable_modulation: bool = False,
        activation: str = "none",
        in_channels: int | None = None,
    ) -> None:
        super().__init__()
        if modulation_type not in ("element_wise", "channel_wise"):
            raise ValueError("modulation_type must be 'element_wise' or 'channel_wise', "
                             f"but got modulation_type={modulation_type!r}")
        if residual_mode not in ("convex", "additive"):
            raise ValueError("residual_mode must be 'convex' or 'additive', "
                             f"but got residual_mode={residual_mode!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, "
                             f"but got activation={activation!r}")
        if modulation_type == "channel_wise" and not in_channels:
            raise ValueError("modulation_type='channel_wise' needs in_channels (the number of "
                             "feature channels), but got in_channels=None")
        self.modulation_type = modulation_type
        self.residual_connection = bool(residual_connection)
        self.residual_mode = residual_mode
        self.residual_weight = float(residual_weight)
        self.normalize_weights = bool(normalize_weights)
        self.activation = _ACTIVATIONS[activation]()
        self.gain = nn.Parameter(torch.ones(())) if learnable_modulation else None
        self.channel_gain = (nn.Parameter(torch.ones(in_channels))
                             if modulation_type == "channel_wise" else None)
        self.last_stats: dict[str, dict[str, Tensor]] = {}

    @property
    def residual_weight(self) -> float:
        return self._residual_weight

    @residual_weight.setter
    def residual_weight(self, value: float) -> None:
        if not 0.0 <= value <= 1.0 and self.residual_mode == "convex":
            raise ValueError(f"residual_weight must be in [0, 1] for residual_mode='convex', "
                             f"but got residual_weight={value}")
        self._residual_weight = float(value)

    def forward(self, features: Tensor, weight_map: Tensor) -> Tensor:
        """Return the modulated features, same shape and dtype as ``features``."""
        if features.dim() - weight_map.dim() != 1 or features.shape[:-3] != weight_map.shape[:-2]:
            raise ValueError("features [B, C, H, W] / [B, V, C, H, W] need a weight_map "
                             "[B, H, W] / [B, V, H, W], but got "
                             f"{tuple(features.shape)} and {tuple(weight_map.shape)}")
        m = self._prepare_map(weight_map).unsqueeze(-3).to(features.dtype)
        if self.channel_gain is not None:
            m = m * self.channel_gain.view(-1, 1, 1).to(features.dtype)
        r = self.residual_weight
        if not self.residual_connection:
            out = features * m
        elif self.residual_mode == "convex":
            out = r * features + (1.0 - r) * features * m
        else:
            out = features * (m + r)
        modality = "bev" if features.dim() == 4 else "pers"
        self.last_stats[modality] = modulation_stats(features, out)
        return out

    def _prepare_map(self, weight_map: Tensor) -> Tensor:
        m = weight_map
        if self.normalize_weights:
            peak = m.flatten(-2).amax(-1).clamp_min(1e-6)
            m = m / peak[..., None, None]
        m = self.activation(m)
        if self.gain is not None:
            m = m * self.gain
        return m

    def extra_repr(self) -> str:
        return (f"modulation_type={self.modulation_type!r}, residual_mode={self.residual_mode!r}, "
                f"residual_connection={self.residual_connection}, "
                f"residual_weight={self.residual_weight}")
