import math

import pytest
import torch

from aqr.renderer import WeightRenderer, gaussian_kernel


def make(**kw) -> WeightRenderer:
    args = dict(bev_feature_shape=(9, 9), pers_feature_shape=(3, 6, 7), min_weight_threshold=0.0,
                max_weight_clamp=100.0)
    args.update(kw)
    return WeightRenderer(**args)


def test_sum_kernel_matches_real_code_width_and_mass():
    k = gaussian_kernel(1.0, "sum")
    assert k.shape == (7, 7)  # int(6 * 1 + 1)
    assert k.sum().item() == pytest.approx(1.0)
    assert gaussian_kernel(2.0, "sum").shape == (13, 13)
    assert gaussian_kernel(0.5, "peak").max().item() == pytest.approx(1.0)


def test_gaussian_bev_hand_computed():
    r = make(gaussian_sigma=1.0, kernel_norm="peak")
    m = r.render_bev_weights(torch.tensor([[2.0]]), torch.tensor([[[4.3, 4.9]]]))
    assert m.shape == (1, 9, 9)
    assert m[0, 4, 4].item() == pytest.approx(2.0)
    assert m[0, 4, 5].item() == pytest.approx(2.0 * math.exp(-0.5))
    assert m[0, 5, 5].item() == pytest.approx(2.0 * math.exp(-1.0))
    assert m[0, 4, 7].item() == pytest.approx(2.0 * math.exp(-4.5))
    assert m[0, 4, 8].item() == 0.0  # truncated at 3 sigma


def test_queries_sum_and_clamp_and_threshold_bev():
    r = make(render_method="direct", max_weight_clamp=1.5, min_weight_threshold=0.3)
    w = torch.tensor([[1.0, 1.0, 0.2, 0.7]])
    p = torch.tensor([[[1.0, 1.0], [1.5, 1.2], [3.0, 3.0], [5.0, 5.0]]])
    m = r.render_bev_weights(w, p)[0]
    assert m[1, 1].item() == 1.5         # 2.0 clamped
    assert m[3, 3].item() == 0.0         # 0.2 below threshold
    assert m[5, 5].item() == pytest.approx(0.7)
    assert r.last_stats["bev"]["pre_max"].item() == 2.0
    assert r.last_stats["bev"]["post_max"].item() == 1.5
    assert r.last_stats["bev"]["frac_clamped"].item() == pytest.approx(1 / 81)


def test_perspective_path_is_clamped_and_thresholded_too():
    r = make(render_method="direct", max_weight_clamp=1.5, min_weight_threshold=0.3)
    w = torch.tensor([[30.0, 40.0, 0.2]])
    p = torch.tensor([[[2.0, 3.0, 4.0], [2.0, 3.0, 4.0], [1.0, 0.0, 0.0]]])
    m = r.render_perspective_weights(w, p)
    assert m.shape == (1, 3, 6, 7)
    assert m[0, 2, 3, 4].item() == 1.5
    assert m.max().item() == 1.5
    assert m[0, 1, 0, 0].item() == 0.0
    assert r.last_stats["pers"]["pre_max"].item() == 70.0


def test_no_clamp_without_normalize_weights():
    r = make(render_method="direct", normalize_weights=False, max_weight_clamp=1.5)
    m = r.render_perspective_weights(torch.tensor([[30.0]]), torch.tensor([[[0.0, 1.0, 1.0]]]))
    assert m.max().item() == 30.0


def test_off_view_and_off_grid_queries_render_nothing():
    r = make(gaussian_sigma=1.0)
    w = torch.ones(1, 5)
    pers = torch.tensor([[[-1.0, 0.0, 0.0], [3.0, 1.0, 1.0], [0.0, -0.5, 2.0],
                          [float("nan"), 1.0, 1.0], [0.0, 2.0, 7.0]]])
    assert r.render_perspective_weights(w, pers).abs().sum().item() == 0.0
    assert r.last_stats["pers"]["queries_dropped"].item() == 5
    bev = torch.tensor([[[-0.1, 4.0], [4.0, 9.0], [float("nan"), 2.0], [9.5, 1.0], [1.0, -3.0]]])
    assert r.render_bev_weights(w, bev).abs().sum().item() == 0.0
    assert r.last_stats["bev"]["frac_dropped"].item() == 1.0


def test_kernel_does_not_leak_across_views_or_wrap_rows():
    r = make(gaussian_sigma=1.0)
    m = r.render_perspective_weights(torch.ones(1, 1), torch.tensor([[[1.0, 0.0, 6.0]]]))
    assert m[0, 0].sum().item() == 0.0 and m[0, 2].sum().item() == 0.0
    assert m[0, 1, :, :3].sum().item() == 0.0  # no wrap from the right edge to the left


def test_bilinear_splits_weight_over_four_cells():
    r = make(render_method="bilinear")
    m = r.render_bev_weights(torch.tensor([[1.0]]), torch.tensor([[[2.75, 3.5]]]))[0]
    # row 2.75 is a quarter of the way from cell 2 (centre 2.5) to cell 3 (centre 3.5)
    assert m[2, 3].item() == pytest.approx(0.75)
    assert m[3, 3].item() == pytest.approx(0.25)
    assert m.sum().item() == pytest.approx(1.0)


def test_vectorised_matches_per_query_loop_and_batches_are_independent():
    torch.manual_seed(0)
    r = WeightRenderer(kernel_norm="sum", gaussian_sigma=1.3, bev_feature_shape=(16, 20),
                       min_weight_threshold=0.0, normalize_weights=False)
    w = torch.rand(2, 30)
    p = torch.rand(2, 30, 2) * torch.tensor([18.0, 24.0]) - 1.0
    m = r.render_bev_weights(w, p)
    k = gaussian_kernel(1.3, "sum")
    half = k.shape[0] // 2
    ref = torch.zeros(2, 16, 20)
    for b in range(2):
        for q in range(30):
            row, col = int(math.floor(p[b, q, 0])), int(math.floor(p[b, q, 1]))
            if not (0 <= row < 16 and 0 <= col < 20):
                continue
            for i in range(k.shape[0]):
                for j in range(k.shape[1]):
                    y, x = row + i - half, col + j - half
                    if 0 <= y < 16 and 0 <= x < 20:
                        ref[b, y, x] += w[b, q] * k[i, j]
    torch.testing.assert_close(m, ref, atol=1e-6, rtol=1e-5)


def test_gradients_reach_query_weights():
    r = make(max_weight_clamp=1.5)
    w = torch.tensor([[0.5, 0.9]], requires_grad=True)
    m = r.render_perspective_weights(w, torch.tensor([[[0.0, 2.0, 3.0], [-1.0, 0.0, 0.0]]]))
    m.sum().backward()
    assert w.grad[0, 0].item() > 0
    assert w.grad[0, 1].item() == 0.0  # off-view query gets no gradient


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("method", ["gaussian", "bilinear", "direct"])
def test_zero_weights_and_empty_batches_give_no_nan(sigma, method):
    r = make(gaussian_sigma=sigma, render_method=method)
    m = r.render_bev_weights(torch.zeros(2, 4), torch.rand(2, 4, 2) * 9)
    assert m.abs().sum().item() == 0.0 and not torch.isnan(m).any()
    assert all(not torch.isnan(v).any() for v in r.last_stats["bev"].values())
    empty = r.render_perspective_weights(torch.zeros(0, 4), torch.zeros(0, 4, 3))
    assert empty.shape == (0, 3, 6, 7)
    no_queries = r.render_bev_weights(torch.zeros(2, 0), torch.zeros(2, 0, 2))
    assert no_queries.shape == (2, 9, 9) and no_queries.sum().item() == 0.0


def test_bfloat16():
    r = make(max_weight_clamp=1.5)
    w = torch.rand(2, 10, dtype=torch.bfloat16)
    m = r.render_perspective_weights(w, torch.tensor([[[1.0, 2.0, 3.0]] * 10] * 2))
    assert m.dtype == torch.bfloat16
    assert m.float().max().item() <= 1.5


def test_sigma_can_change_between_calls():
    r = make(kernel_norm="peak")
    r.gaussian_sigma = 2.0
    m = r.render_bev_weights(torch.ones(1, 1), torch.tensor([[[4.0, 4.0]]]))[0]
    assert m[4, 6].item() == pytest.approx(math.exp(-0.5))


@pytest.mark.parametrize("kw, field", [({"render_method": "nearest"}, "render_method"),
                                       ({"gaussian_sigma": 0}, "gaussian_sigma"),
                                       ({"max_weight_clamp": -1}, "max_weight_clamp"),
                                       ({"kernel_norm": "l2"}, "kernel_norm")])
def test_bad_arguments_name_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        WeightRenderer(**kw)
