import dataclasses

import numpy as np
import pytest

from aqr.mini.dataset import DIFFICULTY_FIELDS, MiniNuScenesDataset, scene_spec
from aqr.mini.scenes import CLASSES, SIZE_PRIORS, SceneSpec, camera_rig, make_scene, project


def test_deterministic_from_seed():
    a, b, c = make_scene(7), make_scene(7), make_scene(8)
    for key in ("boxes", "labels", "lidar", "cams"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["lidar"], c["lidar"])


def test_classes_sizes_and_ranges():
    spec = SceneSpec()
    for seed in range(20):
        s = make_scene(seed)
        assert set(s["labels"]) <= set(range(len(CLASSES)))
        for box, label in zip(s["boxes"], s["labels"], strict=True):
            prior = np.array(SIZE_PRIORS[CLASSES[label]])
            assert np.all(np.abs(box[3:6] / prior - 1) <= 0.11)
            assert spec.min_range - 1e-4 <= np.hypot(box[0], box[1]) <= 30.0 + 1e-4


def test_boxes_project_into_the_view_that_faces_them():
    spec = SceneSpec()
    rig = camera_rig(spec)
    # 10 m ahead is in the front camera (view 0) only; 10 m to the left (90 deg) in view 1 or 2
    pts = np.array([[10.0, 0.0, 0.5], [0.0, 10.0, 0.5], [-10.0, 0.0, 0.5]])
    uv, depth, inside = project(pts, rig, spec.img_shape)
    assert inside[:, 0].tolist() == [True, False, False, False, False, False]
    assert abs(uv[0, 0, 0] - spec.img_shape[1] / 2) < 1e-3
    assert inside[1:3, 1].any() and not inside[[0, 3, 4, 5], 1].any()
    assert inside[3, 2]
    s = make_scene(3)
    in_view = s["in_view"]
    azimuth = np.degrees(np.arctan2(s["boxes"][:, 1], s["boxes"][:, 0])) % 360
    for n, az in enumerate(azimuth):
        nearest = int(((az + 30) % 360) // 60)   # the camera whose axis is within 30 degrees
        assert in_view[nearest, n]


def test_camera_features_peak_where_objects_project():
    spec = SceneSpec()
    s = make_scene(11)
    uv, _, inside = project(s["boxes"][:, :3].astype(float), s["lidar2img"], spec.img_shape)
    view, obj = np.argwhere(inside)[0]
    if view == s["dropped_view"]:
        view, obj = np.argwhere(inside)[-1]
    row = int(uv[view, obj, 1] / spec.img_shape[0] * spec.pers_shape[1])
    col = int(uv[view, obj, 0] / spec.img_shape[1] * spec.pers_shape[2])
    presence = s["cams"][view, -1]
    assert presence[row, col] > presence.mean() + 0.3


def test_lidar_map_has_objects_at_their_cells():
    s = make_scene(5)
    near = np.argmin(np.hypot(s["boxes"][:, 0], s["boxes"][:, 1]))
    x, y = s["boxes"][near, :2]
    row, col = int((y + 32) / 2), int((x + 32) / 2)
    assert s["lidar"][0, row, col] > s["lidar"][0].mean() + 0.2


def test_dataset_without_spec_makes_the_same_scenes_as_before():
    # spec=None (and {}) is the default SceneSpec: the shipped surfaces' scenes, bit for bit
    for spec in (None, {}):
        for split, base in (("train", 0), ("val", 1_000_000)):
            ds = MiniNuScenesDataset(split, num_scenes=3, seed=2, spec=spec)
            assert ds.spec == SceneSpec()
            for i, scene in enumerate(ds.scenes):
                before = make_scene(base + 2 * 10_000_019 + i)
                for key in ("boxes", "labels", "lidar", "cams", "lidar2img"):
                    np.testing.assert_array_equal(scene[key], before[key])
    first = MiniNuScenesDataset("train", num_scenes=1, seed=0)[0]
    np.testing.assert_array_equal(first["inputs"]["lidar"].numpy(), make_scene(0)["lidar"])


def test_dataset_spec_changes_the_sensors_not_the_objects():
    hard = {"lidar_falloff": 14.0, "reduced_beams_prob": 0.35, "dropped_view_prob": 0.4,
            "clutter": 10.0}
    ds = MiniNuScenesDataset("val", num_scenes=4, seed=11, spec=hard)
    assert ds.spec == dataclasses.replace(SceneSpec(), lidar_falloff=14.0, reduced_beams_prob=0.35,
                                          dropped_view_prob=0.4, clutter=10)
    assert isinstance(ds.spec.clutter, int)
    plain = MiniNuScenesDataset("val", num_scenes=4, seed=11)
    for a, b in zip(ds.scenes, plain.scenes, strict=True):
        np.testing.assert_array_equal(a["boxes"], b["boxes"])      # same objects
        assert not np.array_equal(a["lidar"], b["lidar"])           # seen worse
    assert set(hard) <= set(DIFFICULTY_FIELDS)


@pytest.mark.parametrize("spec, match", [({"bev_shape": (16, 16)}, "may change only"),
                                         ({"clutter": 10.5}, "whole number")])
def test_dataset_spec_refuses_geometry_and_fractional_counts(spec, match):
    with pytest.raises(ValueError, match=match):
        scene_spec(spec)
