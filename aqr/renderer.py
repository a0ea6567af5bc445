"""Render per-query modality weights into BEV and perspective weight maps.

Each query ``q`` has a weight ``w_q`` and a position on a feature map; the renderer splats the
weights with a kernel and sums them: ``map(x) = sum_q w_q * K(x - p_q)``. Queries whose position is
NaN, off the grid, or in no camera view (``view < 0``) contribute nothing. The BEV and perspective
paths share one vectorised scatter and one post-processing step (threshold, then clamp to
``[0, max_weight_clamp]``), unlike the original implementation, whose perspective path skipped the
clamp and drew every off-view query at view 0, pixel (0, 0).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from aqr.runtime.diagnostics import map_stats

RenderMethod = Literal["gaussian", "bilinear", "direct"]
KernelNorm = Literal["peak", "sum"]


def gaussian_kernel_1d(sigma: float, kernel_norm: KernelNorm = "sum") -> Tensor:
    """1D gaussian of width ``int(6 * sigma + 1)`` (made odd), as the real CMT-AQR code's kernel.

    Args:
        sigma: Standard deviation in feature-map cells.
        kernel_norm: ``'sum'`` normalises to sum 1; ``'peak'`` to peak 1.
    """
    size = int(6 * sigma + 1)
    if size % 2 == 0:
        size += 1
    ax = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-(ax**2) / (2.0 * sigma**2))
    return g / g.sum() if kernel_norm == "sum" else g


def gaussian_kernel(sigma: float, kernel_norm: KernelNorm = "sum") -> Tensor:
    """Square ``[k, k]`` gaussian: with ``'sum'`` it sums to 1 (the real code), ``'peak'`` peaks at 1."""
    g = gaussian_kernel_1d(sigma, kernel_norm)
    return torch.outer(g, g)


class WeightRenderer(nn.Module):
    """Splat query weights onto the BEV map and the camera-view maps.

    Args:
        render_method: ``'gaussian'`` (kernel around the query's cell), ``'bilinear'`` (the four
            cells around the continuous position) or ``'direct'`` (the query's cell only).
        gaussian_sigma: Kernel width in feature-map cells.
        min_weight_threshold: Map values below it become 0.
        normalize_weights: Clamp the map to ``[0, max_weight_clamp]``.
        max_weight_clamp: Upper bound of the map when ``normalize_weights``.
        bev_feature_shape: ``(H, W)`` of the BEV map.
        pers_feature_shape: ``(V, H, W)`` of the camera-view maps.
        kernel_norm: ``'sum'`` (the real code's kernel) or ``'peak'`` (peak 1).

    After each call, :attr:`last_stats` holds the diagnostics of the last render per modality
    (``'bev'``, ``'pers'``): see :func:`aqr.runtime.diagnostics.map_stats`.
    """

    def __init__(
        self,
        render_method: RenderMethod = "gaussian",
        gaussian_sigma: float = 1.0,
        min_weight_threshold: float = 0.01,
        normalize_weights: bool = True,
        max_weight_clamp: float = 1.5,
        bev_feature_shape: tuple[int, int] = (128, 128),
        pers_feature_shape: tuple[int, int, int] = (6, 20, 50),
        kernel_norm: KernelNorm = "peak",
    ) -> None:
        super().__init__()
        if render_method not in ("gaussian", "bilinear", "direct"):
            raise ValueError(
                "render_method must be one of 'gaussian', 'bilinear', 'direct', "
                f"but got render_method={render_method!r}"
            )
        if kernel_norm not in ("peak", "sum"):
            raise ValueError(f"kernel_norm must be 'peak' or 'sum', but got {kernel_norm!r}")
        if not gaussian_sigma > 0:
            raise ValueError(f"gaussian_sigma must be > 0, but got gaussian_sigma={gaussian_sigma}")
        if not max_weight_clamp > 0:
            raise ValueError(
                f"max_weight_clamp must be > 0, but got max_weight_clamp={max_weight_clamp}"
            )
        self.render_method = render_method
        self.kernel_norm = kernel_norm
        self.min_weight_threshold = float(min_weight_threshold)
        self.normalize_weights = bool(normalize_weights)
        self.max_weight_clamp = float(max_weight_clamp)
        self.bev_feature_shape = tuple(bev_feature_shape)
        self.pers_feature_shape = tuple(pers_feature_shape)
        self.gaussian_sigma = float(gaussian_sigma)
        self.last_stats: dict[str, dict[str, Tensor]] = {}

    @property
    def gaussian_sigma(self) -> float:
        return self._sigma

    @gaussian_sigma.setter
    def gaussian_sigma(self, sigma: float) -> None:
        self._sigma = float(sigma)
        # The 2D kernel is the outer product of this 1D one, so the splat is a separable conv.
        self._kernel_1d = gaussian_kernel_1d(self._sigma, self.kernel_norm)
        self._bands: dict[int, Tensor] = {}  # banded convolution matrices by map side

    def render_bev_weights(self, query_weights: Tensor, pts_bev: Tensor) -> Tensor:
        """Render ``[B, Q]`` weights at ``[B, Q, 2]`` (row, col) BEV cells into ``[B, H, W]``."""
        views = torch.zeros_like(pts_bev[..., :1])
        pts = torch.cat([views, pts_bev], dim=-1)
        return self._render(query_weights, pts, (1, *self.bev_feature_shape), "bev")[:, 0]

    def render_perspective_weights(self, query_weights: Tensor, pts_pers: Tensor) -> Tensor:
        """Render ``[B, Q]`` weights at ``[B, Q, 3]`` (view, row, col) into ``[B, V, H, W]``.

        ``view < 0`` (or NaN) marks a query that is in no camera view: it renders nothing.
        """
        return self._render(query_weights, pts_pers, self.pers_feature_shape, "pers")

    def forward(self, query_weights: Tensor, pts: Tensor, modality: str = "bev") -> Tensor:
        """Dispatch to the BEV (``pts`` [B,Q,2]) or perspective (``pts`` [B,Q,3]) renderer."""
        if modality == "bev":
            return self.render_bev_weights(query_weights, pts)
        return self.render_perspective_weights(query_weights, pts)

    def _render(self, weights: Tensor, pts: Tensor, shape: tuple[int, int, int],
                modality: str) -> Tensor:
        """Splat, threshold and clamp into ``[B, V, H, W]``; record the diagnostics."""
        on_map = self._centre_on_grid(pts.float(), shape)
        raw = self._splat(weights, pts.float(), shape, on_map)
        out = torch.where(raw < self.min_weight_threshold, torch.zeros_like(raw), raw)
        if self.normalize_weights:
            out = out.clamp(0.0, self.max_weight_clamp)
        clamp = self.max_weight_clamp if self.normalize_weights else math.inf
        self.last_stats[modality] = map_stats(raw, out, clamp, ~on_map)
        return out

    def _splat(self, weights: Tensor, pts: Tensor, shape: tuple[int, int, int],
               on_map: Tensor) -> Tensor:
        """Sum of the queries' kernels on a ``[B, V, H, W]`` map, zero outside the map.

        Each query's weight goes into its cell (``'gaussian'``, ``'direct'``) or its four bilinear
        neighbours (``'bilinear'``) with one ``index_add_``; for ``'gaussian'`` the impulse map is
        then convolved with the kernel, which equals adding each query's kernel window clipped at
        the borders, the per-query loop of the original code.
        """
        num_views, height, width = shape
        batch = weights.shape[0]
        out = weights.new_zeros(batch * num_views * height * width)
        if weights.numel() == 0:
            return out.view(batch, num_views, height, width)
        view = torch.nan_to_num(torch.floor(pts[..., 0]), nan=-1.0).long().unsqueeze(-1)
        if self.render_method == "bilinear":
            rows, cols, coef = _bilinear_taps(pts[..., 1], pts[..., 2])
        else:
            rows = _cell(pts[..., 1]).unsqueeze(-1)
            cols = _cell(pts[..., 2]).unsqueeze(-1)
            coef = torch.ones_like(rows, dtype=torch.float32)
        valid = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width) \
            & on_map.unsqueeze(-1)
        base = torch.arange(batch, device=weights.device).view(batch, 1, 1) * num_views + view
        index = torch.where(valid, (base * height + rows) * width + cols, 0)
        values = weights.unsqueeze(-1) * (coef * valid).to(weights.dtype)
        out.index_add_(0, index.flatten(), values.flatten())
        out = out.view(batch, num_views, height, width)
        if self.render_method == "gaussian":
            out = self._convolve(out)
        return out

    def _convolve(self, impulses: Tensor) -> Tensor:
        """Separable gaussian with zero padding, as two banded matrix products (``A X A^T``)."""
        height, width = impulses.shape[-2:]
        a_rows = self._band(height).to(impulses.device, impulses.dtype)
        a_cols = self._band(width).to(impulses.device, impulses.dtype)
        return a_rows @ impulses @ a_cols.T

    def _band(self, size: int) -> Tensor:
        if size not in self._bands:
            self._bands[size] = _band_matrix(self._kernel_1d, size)
        return self._bands[size]

    @staticmethod
    def _centre_on_grid(pts: Tensor, shape: tuple[int, int, int]) -> Tensor:
        """Whether each query's own position lies on the map (its kernel tail alone does not count)."""
        view, row, col = pts[..., 0], pts[..., 1], pts[..., 2]
        num_views, height, width = shape
        return ((view >= 0) & (view < num_views) & (row >= 0) & (row < height)
                & (col >= 0) & (col < width))

    def extra_repr(self) -> str:
        return (f"render_method={self.render_method!r}, gaussian_sigma={self.gaussian_sigma}, "
                f"max_weight_clamp={self.max_weight_clamp}, kernel_norm={self.kernel_norm!r}")


def _cell(coord: Tensor) -> Tensor:
    """Index of the cell holding ``coord`` (NaN -> far off the map)."""
    return torch.nan_to_num(torch.floor(coord), nan=-1e6).long()


def _bilinear_taps(row: Tensor, col: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The four cells around a continuous position (cell centres at ``i + 0.5``) and their
    bilinear weights, each ``[B, Q, 4]``."""
    r, c = row - 0.5, col - 0.5
    r0, c0 = torch.floor(r), torch.floor(c)
    fr, fc = (r - r0).unsqueeze(-1), (c - c0).unsqueeze(-1)
    dr = torch.tensor([0, 0, 1, 1], device=row.device)
    dc = torch.tensor([0, 1, 0, 1], device=row.device)
    coef = torch.where(dr == 1, fr, 1 - fr) * torch.where(dc == 1, fc, 1 - fc)
    return _cell(r0).unsqueeze(-1) + dr, _cell(c0).unsqueeze(-1) + dc, torch.nan_to_num(coef)


def _band_matrix(kernel: Tensor, size: int) -> Tensor:
    """``[size, size]`` matrix whose product with a signal is its convolution with ``kernel``
    (odd length), zero-padded at both ends."""
    half = kernel.numel() // 2
    offset = torch.arange(size)[None, :] - torch.arange(size)[:, None] + half
    inside = (offset >= 0) & (offset < kernel.numel())
    return torch.where(inside, kernel[offset.clamp(0, kernel.numel() - 1)], 0.0)
