"""Per-query LiDAR and camera weights, and where each query lands on the feature maps.

This is a compact version of the MoME/CMT-AQR weight generator: the real one attends from each
object query to the LiDAR and camera tokens around its reference point before an MLP head; here an
MLP reads the query embedding together with a sine encoding of the reference point. The projection
part is the same: reference points in ``[0, 1]^3`` are scaled to ``pc_range``, put on the BEV grid as
(row, col) cells, and projected through ``lidar2img`` into the camera views, where a query takes the
view whose image centre is closest to its projection; a query in no view gets ``view = -1``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def sine_encoding(points: Tensor, num_feats: int = 16) -> Tensor:
    """Sine/cosine encoding of ``[..., D]`` points in ``[0, 1]`` -> ``[..., D * 2 * num_feats]``."""
    freqs = 2.0 ** torch.arange(num_feats // 2, device=points.device, dtype=points.dtype)
    angles = points.unsqueeze(-1) * freqs * math.pi
    return torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(-2)


class AQRWeightGenerator(nn.Module):
    """Map object queries to modality weights in ``[0, 1]`` and their map positions.

    Args:
        embed_dims: Query embedding size.
        pc_range: ``(x_min, y_min, z_min, x_max, y_max, z_max)`` in metres.
        bev_feature_shape: ``(H, W)`` of the BEV map; rows follow y, columns follow x.
        pers_feature_shape: ``(V, H, W)`` of the camera-view feature maps.
        img_shape: ``(H, W)`` in pixels of the images that ``lidar2img`` projects into.
        hidden_dims: Width of the MLP.
    """

    def __init__(
        self,
        embed_dims: int = 256,
        pc_range: tuple[float, ...] = (-54.0, -54.0, -5.0, 54.0, 54.0, 3.0),
        bev_feature_shape: tuple[int, int] = (128, 128),
        pers_feature_shape: tuple[int, int, int] = (6, 20, 50),
        img_shape: tuple[int, int] = (320, 800),
        hidden_dims: int = 128,
    ) -> None:
        super().__init__()
        self.register_buffer("pc_range", torch.tensor(pc_range, dtype=torch.float32),
                             persistent=False)
        self.bev_feature_shape = tuple(bev_feature_shape)
        self.pers_feature_shape = tuple(pers_feature_shape)
        self.img_shape = tuple(img_shape)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dims + 3 * 16, hidden_dims), nn.ReLU(inplace=True),
            nn.Linear(hidden_dims, hidden_dims), nn.ReLU(inplace=True),
            nn.Linear(hidden_dims, 2),
        )

    def forward(self, query_embed: Tensor, reference_points: Tensor,
                lidar2img: Tensor) -> dict[str, Tensor]:
        """Weights and positions for ``[B, Q, C]`` queries at ``[B, Q, 3]`` reference points.

        Args:
            query_embed: Query features.
            reference_points: Normalised ``(x, y, z)`` in ``[0, 1]``.
            lidar2img: ``[B, V, 4, 4]`` LiDAR-to-pixel projections.

        Returns:
            ``lidar_weights`` and ``camera_weights`` ``[B, Q]`` in ``[0, 1]``; ``pts_bev``
            ``[B, Q, 2]`` (row, col) BEV cells; ``pts_pers`` ``[B, Q, 3]`` (view, row, col).
        """
        logits = self.mlp(torch.cat([query_embed, sine_encoding(reference_points)], dim=-1))
        weights = logits.sigmoid()
        xyz = self.denormalize(reference_points.detach())
        return {
            "lidar_weights": weights[..., 0],
            "camera_weights": weights[..., 1],
            "pts_bev": self.bev_positions(xyz),
            "pts_pers": self.perspective_positions(xyz, lidar2img),
        }

    def denormalize(self, reference_points: Tensor) -> Tensor:
        """``[0, 1]^3`` -> metres inside ``pc_range``."""
        lo, hi = self.pc_range[:3], self.pc_range[3:]
        return reference_points * (hi - lo) + lo

    def bev_positions(self, xyz: Tensor) -> Tensor:
        """Metres -> (row, col) in BEV cells."""
        height, width = self.bev_feature_shape
        lo, hi = self.pc_range[:2], self.pc_range[3:5]
        rel = (xyz[..., :2] - lo) / (hi - lo)
        return torch.stack([rel[..., 1] * height, rel[..., 0] * width], dim=-1)

    def perspective_positions(self, xyz: Tensor, lidar2img: Tensor) -> Tensor:
        """Metres -> (view, row, col) on the camera feature maps; ``view = -1`` if in no view."""
        _, feat_h, feat_w = self.pers_feature_shape
        img_h, img_w = self.img_shape
        homo = torch.cat([xyz, torch.ones_like(xyz[..., :1])], dim=-1)        # [B, Q, 4]
        cam = torch.einsum("bvij,bqj->bvqi", lidar2img.to(xyz.dtype), homo)    # [B, V, Q, 4]
        depth = cam[..., 2]
        u = cam[..., 0] / depth.clamp_min(1e-5)
        v = cam[..., 1] / depth.clamp_min(1e-5)
        inside = (depth > 1e-3) & (u >= 0) & (u < img_w) & (v >= 0) & (v < img_h)
        off_centre = (u / img_w - 0.5).abs() + (v / img_h - 0.5).abs()
        score = torch.where(inside, off_centre, torch.full_like(off_centre, math.inf))
        best, view = score.min(dim=1)                                         # [B, Q]
        u_best = u.gather(1, view.unsqueeze(1)).squeeze(1)
        v_best = v.gather(1, view.unsqueeze(1)).squeeze(1)
        seen = torch.isfinite(best)
        view = torch.where(seen, view, torch.full_like(view, -1)).to(xyz.dtype)
        row = torch.where(seen, v_best / img_h * feat_h, torch.zeros_like(v_best))
        col = torch.where(seen, u_best / img_w * feat_w, torch.zeros_like(u_best))
        return torch.stack([view, row, col], dim=-1)
