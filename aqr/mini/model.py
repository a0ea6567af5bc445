"""A miniature CMT + AQR detector on the synthetic scenes, as an mmengine model.

Structure and module names follow CMT-AQR, so the real config's ``custom_keys`` (``lr_mult``) and
dotted override paths work unchanged: ``img_backbone`` and ``pts_backbone`` encode the camera views and
the LiDAR BEV map; ``pts_bbox_head`` holds ``shared_conv``, ``reference_points``, ``query_embed``,
the AQR trio ``aqr_weight_generator`` -> ``weight_renderer`` -> ``feature_modulator`` (which modulate
both modalities before the decoder), the ``transformer`` decoder and the ``task_heads``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from mmengine.model import BaseModel
from mmengine.registry import MODELS
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn
from torch.nn import functional as F

from aqr.generator import AQRWeightGenerator, sine_encoding
from aqr.mini.scenes import CLASSES, SceneSpec
from aqr.modulator import FeatureModulator
from aqr.renderer import WeightRenderer

BOX_DIMS = 10  # dx, dy, dz, log l, log w, log h, sin yaw, cos yaw, vx, vy


def _encoder(in_channels: int, dims: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, dims, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(dims, dims, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(dims, dims, 3, padding=1),
    )


class MiniCMTHead(nn.Module):
    """Queries at learnable reference points, AQR modulation, a query transformer and heads."""

    def __init__(self, spec: SceneSpec, embed_dims: int, num_queries: int, num_layers: int,
                 renderer_config: dict, modulator_config: dict) -> None:
        super().__init__()
        self.spec = spec
        self.shared_conv = nn.Conv2d(embed_dims, embed_dims, 1)
        side = math.isqrt(num_queries)
        if side * side != num_queries:
            raise ValueError(f"num_queries must be a square (queries start on a grid), "
                             f"but got num_queries={num_queries}")
        grid = (torch.arange(side) + 0.5) / side
        gy, gx = torch.meshgrid(grid, grid, indexing="ij")
        z = (0.5 - spec.pc_range[2]) / (spec.pc_range[5] - spec.pc_range[2])
        ref = torch.stack([gx.flatten(), gy.flatten(), torch.full((num_queries,), z)], -1)
        self.reference_points = nn.Embedding(num_queries, 3)
        self.reference_points.weight.data.copy_(torch.logit(ref, eps=1e-4))
        self.query_embed = nn.Sequential(nn.Linear(3 * 16, embed_dims), nn.ReLU(inplace=True),
                                         nn.Linear(embed_dims, embed_dims))
        self.aqr_weight_generator = AQRWeightGenerator(
            embed_dims=embed_dims, pc_range=spec.pc_range, bev_feature_shape=spec.bev_shape,
            pers_feature_shape=spec.pers_shape, img_shape=spec.img_shape, hidden_dims=embed_dims)
        renderer_config = {k: v for k, v in renderer_config.items() if k != "type"}
        renderer_config.setdefault("bev_feature_shape", spec.bev_shape)
        renderer_config.setdefault("pers_feature_shape", spec.pers_shape)
        self.weight_renderer = WeightRenderer(**renderer_config)
        self.feature_modulator = FeatureModulator(
            **{k: v for k, v in modulator_config.items() if k != "type"})
        self.sample_proj = nn.Linear(2 * embed_dims, embed_dims)
        # Each query reads the modulated BEV and camera features at its own point; the layers
        # then let queries exchange what they read (self-attention) before the heads.
        layer = nn.TransformerEncoderLayer(embed_dims, nhead=4, dim_feedforward=2 * embed_dims,
                                           dropout=0.0, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, num_layers=num_layers,
                                                 enable_nested_tensor=False)
        self.task_heads = nn.ModuleDict({
            "cls": nn.Sequential(nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
                                 nn.Linear(embed_dims, len(CLASSES))),
            "reg": nn.Sequential(nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
                                 nn.Linear(embed_dims, BOX_DIMS)),
        })
        nn.init.constant_(self.task_heads["cls"][-1].bias, -2.0)

    def forward(self, bev: Tensor, cams: Tensor, lidar2img: Tensor,
                dn: DenoisingQueries | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``bev [B, D, H, W]``, ``cams [B, V, D, h, w]`` -> class logits, box deltas and
        reference points of the ``Q`` matching queries followed by the denoising queries."""
        batch = bev.shape[0]
        bev = self.shared_conv(bev)
        ref = self.reference_points.weight.sigmoid().unsqueeze(0).expand(batch, -1, -1)
        valid = torch.ones(ref.shape[:2], dtype=torch.bool, device=ref.device)
        mask = None
        if dn is not None:
            ref = torch.cat([ref, dn.ref], 1)
            valid = torch.cat([valid, dn.valid], 1)
            mask = dn.attn_mask(self.reference_points.num_embeddings)
        query = self.query_embed(sine_encoding(ref))
        aqr = self.aqr_weight_generator(query, ref, lidar2img)
        # padding queries render nothing (NaN / view -1) but are still sampled at a valid point
        pts_bev = torch.where(valid.unsqueeze(-1), aqr["pts_bev"], float("nan"))
        pts_pers = torch.where(valid.unsqueeze(-1), aqr["pts_pers"], -1.0)
        bev_map = self.weight_renderer.render_bev_weights(aqr["lidar_weights"], pts_bev)
        cam_map = self.weight_renderer.render_perspective_weights(aqr["camera_weights"], pts_pers)
        bev = self.feature_modulator(bev, bev_map)
        cams = self.feature_modulator(cams, cam_map)

        sampled = torch.cat([_sample_bev(bev, aqr["pts_bev"]),
                             _sample_views(cams, aqr["pts_pers"])], dim=-1)
        out = self.transformer(query + self.sample_proj(sampled), mask=mask)
        return self.task_heads["cls"](out), self.task_heads["reg"](out), ref


class DenoisingQueries:
    """CMT's denoising queries: ``groups`` noisy copies of every true box centre, trained to
    reconstruct their box. They go through AQR like the matching queries, so during training the
    weight maps get hot spots at the objects, which the clamp bounds; at test time there are none.

    Args:
        gt_centres: Per sample, ``[N_i, 3]`` true centres normalised to ``[0, 1]``.
        groups: Noisy copies per object.
        max_objects: Padding size of a group.
        noise: Standard deviation of the centre noise, normalised units.
        generator: Random source.
    """

    def __init__(self, gt_centres: list[Tensor], groups: int, max_objects: int, noise: float,
                 generator: torch.Generator | None = None) -> None:
        batch = len(gt_centres)
        self.groups, self.max_objects = groups, max_objects
        ref = torch.full((batch, groups, max_objects, 3), 0.5)
        valid = torch.zeros(batch, groups, max_objects, dtype=torch.bool)
        for b, centres in enumerate(gt_centres):
            n = min(len(centres), max_objects)
            jitter = torch.randn(groups, n, 3, generator=generator) * noise
            jitter[..., 2] = 0.0
            ref[b, :, :n] = (centres[:n] + jitter).clamp(0.0, 1.0)
            valid[b, :, :n] = True
        self.ref, self.valid = ref.flatten(1, 2), valid.flatten(1, 2)

    def attn_mask(self, num_matching: int) -> Tensor:
        """``True`` = may not attend: matching queries never see denoising ones (they would see
        the answer), and denoising groups do not see each other."""
        size = self.groups * self.max_objects
        total = num_matching + size
        mask = torch.zeros(total, total, dtype=torch.bool)
        mask[:num_matching, num_matching:] = True
        group = torch.arange(size) // self.max_objects
        mask[num_matching:, num_matching:] = group[:, None] != group[None, :]
        return mask


def _sample_bev(bev: Tensor, pts_bev: Tensor) -> Tensor:
    """Bilinear features ``[B, Q, D]`` at (row, col) cells."""
    height, width = bev.shape[-2:]
    grid = torch.stack([pts_bev[..., 1] / width, pts_bev[..., 0] / height], -1) * 2 - 1
    return F.grid_sample(bev, grid.unsqueeze(2), align_corners=False).squeeze(-1).transpose(1, 2)


def _sample_views(cams: Tensor, pts_pers: Tensor) -> Tensor:
    """Bilinear features ``[B, Q, D]`` at (view, row, col); zero for queries in no view."""
    batch, views, dims, height, width = cams.shape
    grid = torch.stack([pts_pers[..., 2] / width, pts_pers[..., 1] / height], -1) * 2 - 1
    grid = grid.unsqueeze(1).expand(-1, views, -1, -1).reshape(batch * views, -1, 1, 2)
    feats = F.grid_sample(cams.flatten(0, 1), grid, align_corners=False).squeeze(-1)
    feats = feats.view(batch, views, dims, -1)
    onehot = F.one_hot(pts_pers[..., 0].long().clamp_min(0), views).to(cams.dtype)
    onehot = onehot * (pts_pers[..., 0:1] >= 0).to(cams.dtype)            # [B, Q, V]
    return torch.einsum("bvdq,bqv->bqd", feats, onehot)


@MODELS.register_module()
class MiniCMTAQR(BaseModel):
    """Mini CMT-AQR detector. ``pts_bbox_head`` takes ``renderer_config`` and
    ``modulator_config`` as the real CMT-AQR head does.

    Args:
        pts_bbox_head: ``embed_dims``, ``num_queries``, ``num_layers``, ``renderer_config``,
            ``modulator_config``, ``loss_weights`` (``cls``, ``bbox``), ``num_dn_groups``
            (denoising groups, 0 for none) and ``dn_noise`` (their centre noise, metres).
        score_threshold: Predictions below it are dropped at test time.
    """

    def __init__(self, pts_bbox_head: dict[str, Any], score_threshold: float = 0.05,
                 data_preprocessor: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.spec = SceneSpec()
        head = dict(pts_bbox_head)
        head.pop("type", None)
        dims = int(head.get("embed_dims", 32))
        self.loss_weights = dict(head.pop("loss_weights", {"cls": 2.0, "bbox": 1.0}))
        self.dn_groups = int(head.get("num_dn_groups", 0))
        self.dn_noise = float(head.get("dn_noise", 1.0))
        self.pts_backbone = _encoder(self.spec.lidar_channels, dims)
        self.img_backbone = _encoder(self.spec.camera_channels, dims)
        self.pts_bbox_head = MiniCMTHead(
            self.spec, dims, int(head.get("num_queries", 64)), int(head.get("num_layers", 2)),
            head.get("renderer_config", {}), head.get("modulator_config", {}))
        self.score_threshold = score_threshold
        lo = torch.tensor(self.spec.pc_range[:3])
        self.register_buffer("pc_lo", lo, persistent=False)
        self.register_buffer("pc_size", torch.tensor(self.spec.pc_range[3:]) - lo,
                             persistent=False)

    def forward(self, inputs: dict[str, Tensor], data_samples: list[dict] | None = None,
                mode: str = "tensor"):
        cams = inputs["cams"]
        bev = self.pts_backbone(inputs["lidar"])
        img = self.img_backbone(cams.flatten(0, 1)).view(*cams.shape[:2], -1, *cams.shape[-2:])
        dn = self._denoising_queries(data_samples) if mode == "loss" and self.dn_groups else None
        logits, deltas, ref = self.pts_bbox_head(bev, img, inputs["lidar2img"], dn)
        boxes = self.decode(deltas, ref)
        if mode == "loss":
            return self.loss(logits, boxes, data_samples, dn)
        if mode == "predict":
            return self.predict(logits, boxes)
        return logits, boxes

    def _denoising_queries(self, data_samples: list[dict]) -> DenoisingQueries:
        centres = [(d["gt_boxes"][:, :3] - self.pc_lo) / self.pc_size for d in data_samples]
        return DenoisingQueries(centres, self.dn_groups, self.spec.max_objects,
                                noise=self.dn_noise / float(self.pc_size[0]))

    def decode(self, deltas: Tensor, ref: Tensor) -> Tensor:
        """Box deltas -> ``[B, Q, 9]`` (x, y, z, l, w, h, yaw, vx, vy) in metres."""
        centre = ref * self.pc_size + self.pc_lo + deltas[..., :3] * torch.tensor([4.0, 4.0, 1.0])
        size = deltas[..., 3:6].clamp(-4, 4).exp()
        yaw = torch.atan2(deltas[..., 6], deltas[..., 7])
        return torch.cat([centre, size, yaw.unsqueeze(-1), deltas[..., 8:10] * 3.0], -1)

    def loss(self, logits: Tensor, boxes: Tensor, data_samples: list[dict],
             dn: DenoisingQueries | None = None) -> dict[str, Tensor]:
        num_matching = self.pts_bbox_head.reference_points.num_embeddings
        losses = self._matching_loss(logits[:, :num_matching], boxes[:, :num_matching],
                                     data_samples)
        if dn is not None:
            losses.update(self._denoising_loss(logits[:, num_matching:], boxes[:, num_matching:],
                                               data_samples, dn))
        return losses

    def _denoising_loss(self, logits: Tensor, boxes: Tensor, data_samples: list[dict],
                        dn: DenoisingQueries) -> dict[str, Tensor]:
        """Each denoising query reconstructs the box it was made from."""
        targets = torch.zeros_like(logits)
        preds, gts = [], []
        for b, sample in enumerate(data_samples):
            n = min(len(sample["gt_labels"]), dn.max_objects)
            for g in range(dn.groups):
                idx = torch.arange(n) + g * dn.max_objects
                targets[b, idx, sample["gt_labels"][:n]] = 1.0
                preds.append(boxes[b, idx])
                gts.append(sample["gt_boxes"][:n])
        valid = dn.valid.unsqueeze(-1).to(logits.dtype)
        num = max(int(dn.valid.sum()), 1)
        loss_cls = (sigmoid_focal_loss(logits, targets) * valid).sum() / num
        loss_bbox = box_l1(torch.cat(preds), torch.cat(gts)).sum() / num
        return {"dn_loss_cls": self.loss_weights["cls"] * loss_cls,
                "dn_loss_bbox": self.loss_weights["bbox"] * loss_bbox}

    def _matching_loss(self, logits: Tensor, boxes: Tensor,
                       data_samples: list[dict]) -> dict[str, Tensor]:
        targets = torch.zeros_like(logits)
        pred_matched, gt_matched = [], []
        for b, sample in enumerate(data_samples):
            gt_boxes, gt_labels = sample["gt_boxes"], sample["gt_labels"]
            if len(gt_labels) == 0:
                continue
            with torch.no_grad():
                prob = logits[b].sigmoid()[:, gt_labels]                       # [Q, G]
                dist = torch.cdist(boxes[b, :, :2], gt_boxes[:, :2])          # metres
                cost = -2.0 * prob + 0.25 * dist
            q_idx, g_idx = linear_sum_assignment(cost.numpy())
            q_idx, g_idx = torch.as_tensor(q_idx), torch.as_tensor(g_idx)
            targets[b, q_idx, gt_labels[g_idx]] = 1.0
            pred_matched.append(boxes[b, q_idx])
            gt_matched.append(gt_boxes[g_idx])
        num_gt = max(sum(len(g) for g in gt_matched), 1)
        loss_cls = sigmoid_focal_loss(logits, targets).sum() / num_gt
        if pred_matched:
            pred, gt = torch.cat(pred_matched), torch.cat(gt_matched)
            loss_bbox = box_l1(pred, gt).sum() / num_gt
        else:
            loss_bbox = boxes.sum() * 0.0
        return {"loss_cls": self.loss_weights["cls"] * loss_cls,
                "loss_bbox": self.loss_weights["bbox"] * loss_bbox}

    @torch.no_grad()
    def predict(self, logits: Tensor, boxes: Tensor) -> list[dict[str, Tensor]]:
        scores, labels = logits.sigmoid().max(-1)
        out = []
        for b in range(logits.shape[0]):
            keep = scores[b] > self.score_threshold
            out.append({"boxes": boxes[b, keep].float(), "labels": labels[b, keep],
                        "scores": scores[b, keep].float()})
        return out


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, alpha: float = 0.25,
                           gamma: float = 2.0) -> Tensor:
    """Sigmoid focal loss (as in RetinaNet / CMT), elementwise."""
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = prob * targets + (1 - prob) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * ce * (1 - p_t) ** gamma


def box_l1(pred: Tensor, gt: Tensor) -> Tensor:
    """Weighted L1 between matched ``[N, 9]`` boxes: centre, log size, yaw as sin/cos, velocity."""
    centre = (pred[:, :2] - gt[:, :2]).abs().sum(-1) + 0.2 * (pred[:, 2] - gt[:, 2]).abs()
    size = (pred[:, 3:6].log() - gt[:, 3:6].log()).abs().sum(-1)
    yaw = (torch.sin(pred[:, 6]) - torch.sin(gt[:, 6])).abs() \
        + (torch.cos(pred[:, 6]) - torch.cos(gt[:, 6])).abs()
    vel = (pred[:, 7:9] - gt[:, 7:9]).abs().sum(-1)
    return centre + size + 0.5 * yaw + 0.2 * vel
