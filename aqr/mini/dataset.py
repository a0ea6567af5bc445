"""The synthetic scenes as an mmengine dataset, and the collate function that batches them."""

from __future__ import annotations

import torch
from mmengine.registry import DATASETS, FUNCTIONS
from torch.utils.data import Dataset

from aqr.mini.scenes import SceneSpec, make_scene

_SPLIT_OFFSET = {"train": 0, "val": 1_000_000}


@DATASETS.register_module()
class MiniNuScenesDataset(Dataset):
    """``num_scenes`` synthetic scenes, generated once from ``seed`` (train and val never overlap).

    Args:
        split: ``'train'`` or ``'val'``.
        num_scenes: Number of scenes.
        seed: Data seed; the same seed gives the same scenes.
    """

    def __init__(self, split: str = "train", num_scenes: int = 256, seed: int = 0) -> None:
        if split not in _SPLIT_OFFSET:
            raise ValueError(f"split must be 'train' or 'val', but got split={split!r}")
        self.spec = SceneSpec()
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
