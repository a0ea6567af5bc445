"""The attention-bias diagnostics tell a generator that ran from one that failed inside a forward
that swallowed the error and from one that never ran, and count a bias's non-finite entries."""

import pytest
import torch
from torch import nn

from aqr.runtime.attention_bias import AttentionBiasStats


class Generator(nn.Module):
    def __init__(self, bias: torch.Tensor, fail: bool = False):
        super().__init__()
        self.bias_scale = nn.Parameter(torch.tensor([2.5]))
        self.min_scale, self.max_scale = 0.5, 5.0
        self.bias, self.fail = bias, fail

    def forward(self):
        if self.fail:
            raise RuntimeError("the fork's debug print")
        return self.bias


def run(generator: Generator) -> None:
    try:
        generator()
    except RuntimeError:   # as the fork's head does: prints, trains without the bias
        pass


@pytest.mark.parametrize("fail, called, missing, not_called", [
    (False, True, 0.0, 0.0), (True, True, 1.0, 0.0), (False, False, 1.0, 1.0)],
    ids=["made", "swallowed", "never-ran"])
def test_missing_and_never_ran_are_told_apart(fail, called, missing, not_called):
    generator = Generator(torch.tensor([1.0, 5.0]), fail=fail)
    stats = AttentionBiasStats(generator)
    if called:
        run(generator)
    out = stats.scalars()
    assert (out["aqr/attn_bias_missing"], out["aqr/attn_bias_not_called"]) == (missing, not_called)
    assert out["aqr/bias_scale"] == 2.5 and out["aqr/bias_scale_at_limit"] == 0.0


def test_non_finite_entries_are_counted_and_the_rest_described():
    generator = Generator(torch.tensor([float("nan"), 1.0, float("inf"), 5.0]))
    stats = AttentionBiasStats(generator)
    run(generator)
    out = stats.scalars()
    assert out["aqr/attn_bias_frac_nonfinite"] == 0.5
    assert out["aqr/attn_bias_abs_mean"] == 3.0 and out["aqr/attn_bias_frac_clamped"] == 0.5
    assert stats.scalars()["aqr/attn_bias_not_called"] == 1.0   # counts restart at each log
