"""Synthetic multi-sensor scenes: objects, a LiDAR BEV pseudo-feature map, six camera views.

Objects of three nuScenes classes (real names and size priors) stand on the ground around the ego
car. Both sensors see the same objects, and disagree the way real ones do:

* LiDAR is precise in position, size, yaw and velocity, but its returns thin out and get noisy with
  range; some sweeps have reduced beams (a weaker, noisier map).
* The cameras are strong at telling the classes apart at any range, but know depth only roughly;
  some samples lose a whole camera view.

So which modality to trust depends on the query (near or far, which view), which is what AQR
learns, and the AQR knobs change how much that weighting helps or hurts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CLASSES = ("car", "pedestrian", "traffic_cone")
# (length, width, height) in metres and speed scale (m/s), after nuScenes' size priors.
SIZE_PRIORS = {"car": (4.6, 1.95, 1.7), "pedestrian": (0.75, 0.7, 1.75), "traffic_cone": (0.4, 0.4, 1.0)}
SPEED = {"car": 6.0, "pedestrian": 1.2, "traffic_cone": 0.0}
MOVING_ATTR = {"car": ("vehicle.moving", "vehicle.parked"),
               "pedestrian": ("pedestrian.moving", "pedestrian.standing"), "traffic_cone": ("", "")}


@dataclass(frozen=True)
class SceneSpec:
    """Geometry and sensor model of the synthetic scenes."""

    pc_range: tuple[float, ...] = (-32.0, -32.0, -2.0, 32.0, 32.0, 4.0)
    bev_shape: tuple[int, int] = (32, 32)
    img_shape: tuple[int, int] = (96, 192)
    pers_shape: tuple[int, int, int] = (6, 12, 24)
    camera_height: float = 1.5
    horizontal_fov_deg: float = 70.0
    max_objects: int = 8
    min_range: float = 4.0
    lidar_channels: int = 8
    camera_channels: int = 8
    lidar_falloff: float = 22.0      # LiDAR signal ~ exp(-range / lidar_falloff)
    reduced_beams_prob: float = 0.2
    dropped_view_prob: float = 0.25
    clutter: int = 6                 # spurious returns per sensor and sample


def attribute_of(name: str, velocity: np.ndarray) -> str:
    """nuScenes attribute from the class and the speed (moving above 0.5 m/s)."""
    moving, still = MOVING_ATTR[name]
    return moving if float(np.hypot(*velocity)) > 0.5 else still


def camera_rig(spec: SceneSpec) -> np.ndarray:
    """``[6, 4, 4]`` LiDAR-to-pixel matrices of six cameras at 0, 60, ..., 300 degrees of yaw."""
    img_h, img_w = spec.img_shape
    focal = (img_w / 2) / math.tan(math.radians(spec.horizontal_fov_deg) / 2)
    intrinsic = np.array([[focal, 0, img_w / 2, 0], [0, focal, img_h / 2, 0],
                          [0, 0, 1, 0], [0, 0, 0, 1]], dtype=np.float64)
    mats = []
    for yaw in np.radians(np.arange(6) * 60.0):
        c, s = math.cos(yaw), math.sin(yaw)
        # lidar -> camera: rotate by -yaw about z, then x-forward/y-left/z-up -> x-right/y-down/z-fwd
        rot = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
        axes = np.array([[0, -1, 0], [0, 0, -1], [1, 0, 0]])
        extr = np.eye(4)
        extr[:3, :3] = axes @ rot
        extr[:3, 3] = axes @ np.array([0.0, 0.0, -spec.camera_height])
        mats.append(intrinsic @ extr)
    return np.stack(mats).astype(np.float32)


def project(points: np.ndarray, lidar2img: np.ndarray, img_shape: tuple[int, int]):
    """Project ``[N, 3]`` points; returns ``uv [V, N, 2]``, ``depth [V, N]``, ``inside [V, N]``."""
    homo = np.concatenate([points, np.ones((len(points), 1))], axis=1)
    cam = np.einsum("vij,nj->vni", lidar2img, homo)
    depth = cam[..., 2]
    uv = cam[..., :2] / np.maximum(depth, 1e-5)[..., None]
    img_h, img_w = img_shape
    inside = (depth > 0.5) & (uv[..., 0] >= 0) & (uv[..., 0] < img_w) & (uv[..., 1] >= 0) \
        & (uv[..., 1] < img_h)
    return uv, depth, inside


def _blobs(rows: np.ndarray, cols: np.ndarray, sigmas: np.ndarray, values: np.ndarray,
           shape: tuple[int, int]) -> np.ndarray:
    """Sum of gaussian blobs: centres (rows, cols) [N], widths [N], channel values [N, C] -> [C, H, W]."""
    if len(rows) == 0:
        return np.zeros((values.shape[1], *shape), dtype=np.float32)
    yy = np.arange(shape[0])[None, :, None] + 0.5
    xx = np.arange(shape[1])[None, None, :] + 0.5
    g = np.exp(-((yy - rows[:, None, None]) ** 2 + (xx - cols[:, None, None]) ** 2)
               / (2 * sigmas[:, None, None] ** 2))
    return np.einsum("nhw,nc->chw", g, values).astype(np.float32)


def make_scene(seed: int, spec: SceneSpec = SceneSpec()) -> dict:
    """One deterministic scene: objects, LiDAR BEV features, camera features and calibration.

    Returns:
        ``boxes [N, 9]`` (x, y, z, l, w, h, yaw, vx, vy), ``labels [N]``, ``lidar
        [C, H, W]``, ``cams [V, C, h, w]``, ``lidar2img [V, 4, 4]``, ``in_view [V, N]`` and the
        sample's failure flags ``reduced_beams`` and ``dropped_view`` (-1 for none).
    """
    rng = np.random.default_rng(seed)
    x0, y0, _, x1, y1, _ = spec.pc_range
    reach = min(x1 - x0, y1 - y0) / 2 - 2.0
    num = int(rng.integers(2, spec.max_objects + 1))
    labels = rng.choice(len(CLASSES), size=num, p=[0.5, 0.3, 0.2])
    radius = np.sqrt(rng.uniform(spec.min_range**2, reach**2, size=num))
    azimuth = rng.uniform(-math.pi, math.pi, size=num)
    sizes = np.array([SIZE_PRIORS[CLASSES[c]] for c in labels]) * rng.uniform(0.9, 1.1, (num, 3))
    yaw = rng.uniform(-math.pi, math.pi, size=num)
    speed = np.array([SPEED[CLASSES[c]] for c in labels]) * rng.uniform(0, 1, num) \
        * (rng.uniform(size=num) < 0.6)
    boxes = np.stack([radius * np.cos(azimuth), radius * np.sin(azimuth), sizes[:, 2] / 2,
                      sizes[:, 0], sizes[:, 1], sizes[:, 2], yaw,
                      speed * np.cos(yaw), speed * np.sin(yaw)], axis=1).astype(np.float32)

    lidar2img = camera_rig(spec)
    reduced_beams = bool(rng.uniform() < spec.reduced_beams_prob)
    dropped_view = int(rng.integers(6)) if rng.uniform() < spec.dropped_view_prob else -1
    lidar = _lidar_features(rng, boxes, radius, reduced_beams, spec)
    cams, in_view = _camera_features(rng, boxes, labels, lidar2img, dropped_view, spec)
    return {"boxes": boxes, "labels": labels.astype(np.int64), "lidar": lidar, "cams": cams,
            "lidar2img": lidar2img, "in_view": in_view, "reduced_beams": reduced_beams,
            "dropped_view": dropped_view}


def _lidar_features(rng, boxes, radius, reduced_beams: bool, spec: SceneSpec) -> np.ndarray:
    x0, y0, _, x1, y1, _ = spec.pc_range
    height, width = spec.bev_shape
    cell = (x1 - x0) / width
    strength = np.exp(-radius / spec.lidar_falloff) * (0.35 if reduced_beams else 1.0)
    hit = rng.uniform(size=len(boxes)) < np.clip(1.3 - radius / 30.0, 0.3, 1.0)
    strength = strength * hit
    values = np.stack([np.ones(len(boxes)), boxes[:, 5] / 2, boxes[:, 3] / 4, boxes[:, 4] / 2,
                       np.sin(boxes[:, 6]), np.cos(boxes[:, 6]), boxes[:, 7] / 5,
                       boxes[:, 8] / 5], axis=1) * strength[:, None] * 2.0
    rows = (boxes[:, 1] - y0) / cell
    cols = (boxes[:, 0] - x0) / cell
    sig = np.maximum(boxes[:, 3:5].mean(1) / cell / 2, 0.45)
    fmap = _blobs(rows, cols, sig, values, spec.bev_shape)
    # clutter: spurious returns that look like small objects
    n = spec.clutter
    crow, ccol = rng.uniform(0, height, n), rng.uniform(0, width, n)
    cval = np.concatenate([np.ones((n, 1)), rng.uniform(0.2, 1, (n, 7)) - 0.3], 1) \
        * rng.uniform(0.2, 0.8, (n, 1))
    fmap += _blobs(crow, ccol, np.full(n, 0.5), cval, spec.bev_shape)
    noise = 0.08 * (2.0 if reduced_beams else 1.0)
    fmap += rng.normal(0, noise, fmap.shape).astype(np.float32)
    return fmap


def _camera_features(rng, boxes, labels, lidar2img, dropped_view: int,
                     spec: SceneSpec) -> tuple[np.ndarray, np.ndarray]:
    num_views, feat_h, feat_w = spec.pers_shape
    img_h, img_w = spec.img_shape
    uv, depth, inside = project(boxes[:, :3].astype(np.float64), lidar2img, spec.img_shape)
    cams = np.zeros((num_views, spec.camera_channels, feat_h, feat_w), dtype=np.float32)
    onehot = np.eye(len(CLASSES))[labels]
    for view in range(num_views):
        sel = inside[view]
        rows = uv[view, sel, 1] / img_h * feat_h
        cols = uv[view, sel, 0] / img_w * feat_w
        d = depth[view, sel]
        noisy_depth = d * np.exp(rng.normal(0, 0.25, len(d)))
        apparent = boxes[sel, 3:5].max(1) / d * (feat_w / 2)
        values = np.concatenate([
            onehot[sel] * 1.5,
            (8.0 / noisy_depth)[:, None],
            np.clip(apparent, 0, 4)[:, None] / 2,
            np.sin(boxes[sel, 6:7]), np.cos(boxes[sel, 6:7]),
            np.ones((sel.sum(), 1)),
        ], axis=1)
        sig = np.clip(apparent / 2, 0.5, 2.5)
        cams[view] = _blobs(rows, cols, sig, values, (feat_h, feat_w))
        n = spec.clutter // 2
        cval = np.concatenate([rng.uniform(0, 1, (n, len(CLASSES))), rng.uniform(0, 1, (n, 5))], 1)
        cams[view] += _blobs(rng.uniform(0, feat_h, n), rng.uniform(0, feat_w, n),
                             np.full(n, 0.7), cval * 0.6, (feat_h, feat_w))
    cams += rng.normal(0, 0.1, cams.shape).astype(np.float32)
    if dropped_view >= 0:
        cams[dropped_view] = rng.normal(0, 0.1, cams[dropped_view].shape)
    return cams, inside
