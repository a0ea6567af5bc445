"""nuScenes detection metrics (mAP, NDS, TP errors) on the mini task, by nuscenes-devkit.

The devkit's own algorithms (``accumulate``, ``calc_ap``, ``calc_tp``, ``DetectionMetrics``) run on
boxes built here, without the nuScenes dataset; the detection config is the CVPR 2019 one narrowed
to the classes in use. Keys match the real mmdet3d logs: ``pts_bbox_NuScenes/NDS``,
``pts_bbox_NuScenes/mAP``, ``pts_bbox_NuScenes/mATE``, ``pts_bbox_NuScenes/car_AP_dist_0.5``...
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from aqr.mini.scenes import CLASSES, attribute_of

TP_SHORT = {"trans_err": "mATE", "scale_err": "mASE", "orient_err": "mAOE", "vel_err": "mAVE",
            "attr_err": "mAAE"}


def detection_config(classes: Sequence[str] = CLASSES, class_range: float = 50.0):
    """The devkit's ``detection_cvpr_2019`` config, narrowed to ``classes``."""
    from nuscenes.eval.common.config import config_factory

    cfg = config_factory("detection_cvpr_2019")
    cfg.class_range = {name: class_range for name in classes}
    cfg.class_names = list(classes)
    return cfg


def to_detection_boxes(token: str, boxes: np.ndarray, labels: np.ndarray,
                       scores: np.ndarray | None = None) -> list:
    """``[N, 9]`` (x, y, z, l, w, h, yaw, vx, vy) boxes -> devkit ``DetectionBox`` objects."""
    from nuscenes.eval.detection.data_classes import DetectionBox

    out = []
    for i, box in enumerate(np.asarray(boxes, dtype=np.float64)):
        name = CLASSES[int(labels[i])]
        half = box[6] / 2
        out.append(DetectionBox(
            sample_token=token, translation=tuple(box[:3]), size=tuple(np.maximum(box[3:6], 1e-3)),
            rotation=(float(np.cos(half)), 0.0, 0.0, float(np.sin(half))),
            velocity=tuple(box[7:9]), ego_translation=tuple(box[:3]), num_pts=1,
            detection_name=name, detection_score=-1.0 if scores is None else float(scores[i]),
            attribute_name=attribute_of(name, box[7:9]),
        ))
    return out


def nuscenes_metrics(gt: dict[str, list], pred: dict[str, list],
                     classes: Sequence[str] = CLASSES) -> dict[str, float]:
    """mAP, NDS, the TP errors and per-class APs from devkit boxes keyed by sample token."""
    from nuscenes.eval.common.data_classes import EvalBoxes
    from nuscenes.eval.detection.algo import accumulate, calc_ap, calc_tp
    from nuscenes.eval.detection.constants import TP_METRICS
    from nuscenes.eval.detection.data_classes import DetectionMetrics

    cfg = detection_config(classes)
    gt_boxes, pred_boxes = EvalBoxes(), EvalBoxes()
    for token in gt:
        gt_boxes.add_boxes(token, gt[token])
        pred_boxes.add_boxes(token, pred.get(token, []))
    metrics = DetectionMetrics(cfg)
    results: dict[str, float] = {}
    for name in cfg.class_names:
        for dist_th in cfg.dist_ths:
            md = accumulate(gt_boxes, pred_boxes, name, cfg.dist_fcn_callable, dist_th)
            ap = calc_ap(md, cfg.min_recall, cfg.min_precision)
            metrics.add_label_ap(name, dist_th, ap)
            results[f"{name}_AP_dist_{dist_th}"] = float(ap)
        md = accumulate(gt_boxes, pred_boxes, name, cfg.dist_fcn_callable, cfg.dist_th_tp)
        for metric_name in TP_METRICS:
            # as the devkit's DetectionEval: cones have no orientation, velocity or attribute
            if name == "traffic_cone" and metric_name in ("attr_err", "vel_err", "orient_err"):
                tp = float("nan")
            else:
                tp = float(calc_tp(md, cfg.min_recall, metric_name))
            metrics.add_label_tp(name, metric_name, tp)
            results[f"{name}_{metric_name}"] = tp
    for metric_name, err in metrics.tp_errors.items():
        results[TP_SHORT[metric_name]] = float(err)
    results["NDS"] = float(metrics.nd_score)
    results["mAP"] = float(metrics.mean_ap)
    return results


@METRICS.register_module()
class MiniNuScenesMetric(BaseMetric):
    """mmengine metric: collects predicted and true boxes per sample, then the devkit's mAP/NDS."""

    default_prefix = "pts_bbox_NuScenes"

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for truth, pred in zip(data_batch["data_samples"], data_samples, strict=True):
            self.results.append({
                "token": truth["token"],
                "gt": (truth["gt_boxes"].numpy(), truth["gt_labels"].numpy()),
                "pred": (pred["boxes"].numpy(), pred["labels"].numpy(), pred["scores"].numpy()),
            })

    def compute_metrics(self, results: list[dict]) -> dict[str, float]:
        gt = {r["token"]: to_detection_boxes(r["token"], *r["gt"]) for r in results}
        pred = {r["token"]: to_detection_boxes(r["token"], *r["pred"]) for r in results}
        return nuscenes_metrics(gt, pred)
