"""Diagnostics of the fork's attention bias (``CmtHead``'s ``AttentionBiasGenerator``), which the
fork only ``print()``s: gathered by a forward hook on the generator, logged by the schedule hook.

``aqr/bias_scale`` is the learned scale as the parameter holds it, ``aqr/bias_scale_at_limit`` 1
when it sits at or beyond ``[min_scale, max_scale]`` (where the fork's clamp gives it no gradient);
``aqr/attn_bias_abs_mean`` / ``_abs_max`` the bias's magnitude, ``aqr/attn_bias_frac_clamped`` the
share of its entries at the final clamp ``min(5, max_scale)``, ``aqr/attn_bias_frac_nonzero`` the
share that biases anything (over its finite entries), ``aqr/attn_bias_frac_nonfinite`` the share
of NaN or infinite entries; ``aqr/attn_bias_missing`` is 1 when no bias was made since the last
log: with ``aqr/attn_bias_not_called`` 0 the generator ran and made none (the fork swallowed an
error and trained without it), with 1 it never ran (AQR off, or the hook names a module the
forward does not use).
"""

from typing import Any, Dict, Optional

import torch
from torch import Tensor, nn

#: the fork's final clamp of the bias (attention_bias_generator.py:291-292)
FINAL_CLAMP = 5.0


def _first_tensor(value: Any) -> Optional[Tensor]:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (list, tuple)):
        return next((t for t in map(_first_tensor, value) if t is not None), None)
    if isinstance(value, dict):
        return next((t for t in map(_first_tensor, value.values()) if t is not None), None)
    return None


class AttentionBiasStats:
    """Watch an attention-bias generator's outputs.

    Args:
        generator: The module that makes the bias (its first tensor output is the bias).
    """

    def __init__(self, generator: nn.Module) -> None:
        self.generator = generator
        self._bias: Optional[Tensor] = None
        self._made = self._called = 0
        generator.register_forward_pre_hook(self._enter)
        generator.register_forward_hook(self._capture)

    def _enter(self, module: nn.Module, inputs: Any) -> None:
        self._called += 1

    def _capture(self, module: nn.Module, inputs: Any, output: Any) -> None:
        bias = _first_tensor(output)
        if bias is not None:
            self._bias = bias.detach()
            self._made += 1

    @torch.no_grad()
    def scalars(self) -> Dict[str, float]:
        """The statistics since the last call."""
        out: Dict[str, float] = {}
        low = getattr(self.generator, "min_scale", None)
        high = getattr(self.generator, "max_scale", None)
        scale = getattr(self.generator, "bias_scale", None)
        if isinstance(scale, Tensor) and scale.numel():
            raw = float(scale.detach().flatten()[0])
            out["aqr/bias_scale"] = raw
            if low is not None and high is not None:
                out["aqr/bias_scale_at_limit"] = float(raw <= low or raw >= high)
        out["aqr/attn_bias_missing"] = float(self._made == 0)
        out["aqr/attn_bias_not_called"] = float(self._called == 0)
        if self._bias is not None and self._bias.numel():
            values = self._bias.float()
            finite = torch.isfinite(values)
            out["aqr/attn_bias_frac_nonfinite"] = float((~finite).float().mean())
            bias = values[finite].abs()
            if bias.numel():
                limit = min(FINAL_CLAMP, float(high)) if high is not None else FINAL_CLAMP
                out["aqr/attn_bias_abs_mean"] = float(bias.mean())
                out["aqr/attn_bias_abs_max"] = float(bias.max())
                out["aqr/attn_bias_frac_clamped"] = float(
                    (bias >= limit * (1 - 1e-3)).float().mean())
                out["aqr/attn_bias_frac_nonzero"] = float((bias > 0).float().mean())
        self._made = self._called = 0
        return out
