import math

import numpy as np
import pytest

from aqr.mini.metric import nuscenes_metrics, to_detection_boxes


def box(x, y, label_yaw=0.0, vx=0.0):
    return [x, y, 0.85, 4.6, 1.95, 1.7, label_yaw, vx, 0.0]


def test_perfect_predictions_give_nds_one():
    gt = {"a": to_detection_boxes("a", np.array([box(5, 5), box(-10, 3)]), np.array([0, 1]))}
    pred = {"a": to_detection_boxes("a", np.array([box(5, 5), box(-10, 3)]), np.array([0, 1]),
                                    np.array([0.9, 0.8]))}
    gt["b"] = to_detection_boxes("b", np.array([box(1, 8)]), np.array([2]))
    pred["b"] = to_detection_boxes("b", np.array([box(1, 8)]), np.array([2]), np.array([0.7]))
    m = nuscenes_metrics(gt, pred)
    assert m["NDS"] == pytest.approx(1.0)
    assert m["mAP"] == pytest.approx(1.0)
    assert m["mATE"] == pytest.approx(0.0)
    assert math.isnan(m["traffic_cone_vel_err"])


def test_hand_computed_case():
    """One car predicted 1.5 m off, and a pedestrian missed, on two classes.

    Car: TP at 2 and 4 m only -> AP 0.5; pedestrian: AP 0. mAP = 0.25. Car TP errors: 1.5 m
    translation, 0 for the rest; the pedestrian has no TP, so all its errors are 1. mATE = 1.25
    (score 0), every other mean error 0.5 (score 0.5): NDS = (5 * 0.25 + 0 + 4 * 0.5) / 10.
    """
    gt = {"a": to_detection_boxes("a", np.array([box(10, 0)]), np.array([0])),
          "b": to_detection_boxes("b", np.array([box(-10, 0)]), np.array([1]))}
    pred = {"a": to_detection_boxes("a", np.array([box(11.5, 0)]), np.array([0]),
                                    np.array([0.9])),
            "b": []}
    m = nuscenes_metrics(gt, pred, classes=("car", "pedestrian"))
    assert m["car_AP_dist_0.5"] == 0.0 and m["car_AP_dist_1.0"] == 0.0
    assert m["car_AP_dist_2.0"] == pytest.approx(1.0)
    assert m["mAP"] == pytest.approx(0.5 / 2)
    assert m["car_trans_err"] == pytest.approx(1.5)
    assert m["mATE"] == pytest.approx((1.5 + 1.0) / 2)
    assert m["mASE"] == pytest.approx(0.5)
    expected = (5 * 0.25 + 0.0 + 4 * 0.5) / 10
    assert m["NDS"] == pytest.approx(expected)
