"""The synthetic scenes as an mmengine dataset, and the collate function that batches them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch
from mmengine.registry import DATASETS, FUNCTIONS
from torch.utils.data import Dataset

from aqr.mini.scenes import SceneSpec, make_scene

_SPLIT_OFFSET = {"train": 0, "val": 1_000_000}
#: The SceneSpec fields a dataset may change: how hard the scenes are (object placement and the
#: sensor model). The geometry (ranges, map shapes, channels, camera rig, ``max_objects``) is left
#: alone: the model builds itself from the default SceneSpec and must see the same one.
DIFFICULTY_FIELDS = ("min_range", "lidar_falloff", "reduced_beams_prob", "dropped_view_prob",
                     "clutter")


def scene_spec(spec: Mapping[str, Any] | None = None) -> SceneSpec:
    """The default :class:`SceneSpec` with ``spec``'s fields changed (None: the default).

    Raises:
        ValueError: a field that is not one of :data:`DIFFICULTY_FIELDS`, or a count
            (``clutter``) that is not a whole number.
    """
    if not spec:
        return SceneSpec()
    unknown = sorted(set(spec) - set(DIFFICULTY_FIELDS))
    if unknown:
        raise ValueError(f"spec may change only {', '.join(DIFFICULTY_FIELDS)} (the model assumes "
                         f"the default geometry), but got {', '.join(map(str, unknown))}")
    default = SceneSpec()
    changed = dict(spec)
    for key, value in spec.items():
        if isinstance(getattr(default, key), int):   # a count: 10 or 10.0, not 10.5
            if float(value) != int(value):
                raise ValueError(f"spec {key} must be a whole number, but got {value!r}")
            changed[key] = int(value)
    return dataclasses.replace(default, **changed)


@DATASETS.register_module()
class MiniNuScenesDataset(Dataset):
    """``num_scenes`` synthetic scenes, generated once from ``seed`` (train and val never overlap).

    Args:
        split: ``'train'`` or ``'val'``.
        num_scenes: Number of scenes.
        seed: Data seed; the same seed gives the same scenes.
        spec: SceneSpec fields to change, e.g. ``dict(lidar_falloff=14.0, clutter=10)`` for
            harder scenes (only :data:`DIFFICULTY_FIELDS`); None: the default SceneSpec.
    """

    def __init__(self, split: str = "train", num_scenes: int = 256, seed: int = 0,
                 spec: Mapping[str, Any] | None = None) -> None:
        if split not in _SPLIT_OFFSET:
            raise ValueError(f"split must be 'train' or 'val', but got split={split!r}")
        self.spec = scene_spec(spec)
        base = _SPLIT_OFFSET[split] + seed * 10_000_019
        self.scenes = [make_scene(base + i, self.spec) for i in range(num_scenes)]
        self.split = split

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> dict:
        s = self.scenes[index]
        return {
            "inputs": {"lidar": torch.from_numpy(s["lidar"]), "cams": torch.from_numpy(s["cams"]),
                       "lidar2img": torch.from_numpy(s["lidar2img"])},
            "data_samples": {"token": f"{self.split}-{index}",
                             "gt_boxes": torch.from_numpy(s["boxes"]),
                             "gt_labels": torch.from_numpy(s["labels"])},
        }


@FUNCTIONS.register_module()
def mini_collate(batch: list[dict]) -> dict:
    """Stack the sensor inputs; keep the per-sample ground truth as a list."""
    inputs = {k: torch.stack([b["inputs"][k] for b in batch]) for k in batch[0]["inputs"]}
    return {"inputs": inputs, "data_samples": [b["data_samples"] for b in batch]}
