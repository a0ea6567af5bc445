import pytest
import torch

from aqr.modulator import FeatureModulator


def features_and_map():
    f = torch.tensor([2.0, -4.0]).view(1, 2, 1, 1).expand(1, 2, 2, 2).clone()
    m = torch.tensor([[[0.0, 1.0], [2.0, 0.5]]])
    return f, m


def test_convex_residual():
    f, m = features_and_map()
    out = FeatureModulator(residual_weight=0.7, residual_mode="convex")(f, m)
    # r*F + (1-r)*F*M at M=2: 0.7*2 + 0.3*2*2 = 2.6
    assert out[0, 0, 1, 0].item() == pytest.approx(2.6)
    assert out[0, 1, 0, 0].item() == pytest.approx(0.7 * -4.0)


def test_additive_residual():
    f, m = features_and_map()
    out = FeatureModulator(residual_weight=0.6, residual_mode="additive")(f, m)
    # F*(M + r) at M=0.5: 2*(1.1) = 2.2
    assert out[0, 0, 1, 1].item() == pytest.approx(2.2)
    assert out[0, 1, 0, 1].item() == pytest.approx(-4.0 * 1.6)


def test_no_residual():
    f, m = features_and_map()
    out = FeatureModulator(residual_connection=False)(f, m)
    torch.testing.assert_close(out, f * m.unsqueeze(1))


def test_perspective_shapes_and_relative_change():
    f = torch.ones(2, 6, 4, 3, 5)
    m = torch.full((2, 6, 3, 5), 2.0)
    mod = FeatureModulator(residual_weight=0.5)
    out = mod(f, m)
    assert out.shape == f.shape
    # out = 0.5 + 0.5*2 = 1.5, so |out - F| / |F| = 0.5
    assert mod.last_stats["pers"]["relative_change"].item() == pytest.approx(0.5)


def test_channel_wise_learns_per_channel_gain():
    f, m = features_and_map()
    mod = FeatureModulator(modulation_type="channel_wise", in_channels=2, residual_weight=0.5)
    out = mod(f, m)
    out.sum().backward()
    assert mod.channel_gain.grad is not None and mod.channel_gain.grad.shape == (2,)


def test_residual_weight_schedule_can_set_it_and_range_is_checked():
    mod = FeatureModulator()
    mod.residual_weight = 0.4
    assert mod.residual_weight == 0.4
    with pytest.raises(ValueError, match="residual_weight must be in \\[0, 1\\].*1.4"):
        mod.residual_weight = 1.4
    FeatureModulator(residual_mode="additive", residual_weight=1.4)  # no bound for additive


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="weight_map"):
        FeatureModulator()(torch.ones(1, 2, 3, 3), torch.ones(1, 1, 3, 3))


def test_channel_wise_needs_channels():
    with pytest.raises(ValueError, match="in_channels"):
        FeatureModulator(modulation_type="channel_wise")
