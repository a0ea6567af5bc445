"""The knob probe's builder for the stand-in (its spaces' ``preflight.builder``): the stand-in
``CmtDetector`` as a torch module with the fork's parameter names, whose loss on a fixed "batch"
depends on the knobs that are live in the fork's forward and on nothing else (the validation
quality of ``models.py``), and whose optimizer is built by mmcv 1.x's own ``build_optimizer``.

The fork needs no builder (``aqr.runtime.probe`` builds it with mmdet3d 1.0.x); the stand-in has
no real network to build."""
import sys
import types

import torch
from torch import nn

from .models import build_model


def _build_optimizer():
    """mmcv 1.x's ``build_optimizer``; ``mmcv.runner`` imports torchvision at import time, and no
    torchvision build imports beside torch 2.13.0+cpu, so an empty one stands in meanwhile (mmcv
    reads it only for ``torchvision://`` checkpoints): see tests/kit/mmcv1.py."""
    if 'mmcv.runner' not in sys.modules:
        sys.modules.setdefault('torchvision', types.ModuleType('torchvision'))
        try:
            import mmcv.runner  # noqa: F401
        finally:
            if type(sys.modules.get('torchvision')) is types.ModuleType:
                del sys.modules['torchvision']
    from mmcv.runner import build_optimizer
    return build_optimizer


def _tree(names):
    """A module whose ``named_parameters`` are ``names`` (the fork's)."""
    root = nn.Module()
    for name in names:
        *path, leaf = name.split('.')
        node = root
        for part in path:
            if not hasattr(node, part):
                node.add_module(part, nn.Module())
            node = getattr(node, part)
        node.register_parameter(leaf, nn.Parameter(torch.full((2,), 0.1)))
    return root


def build(cfg):
    detector = build_model(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    module = _tree(detector.named_parameters())
    custom_keys = cfg.optimizer.get('paramwise_cfg', {}).get('custom_keys', {})

    def loss(m):
        detector.forward()  # the AQR path of one forward: a swallowed error, the decoder's SDPA
        nds, _ = detector.quality(custom_keys, 1.0, 10, 20, seed=0)
        weights = sum(p.sum() for p in m.parameters())
        return (1.0 - torch.tensor(nds)) * (1.0 + 1e-3 * weights)

    return {'model': module, 'loss': loss,
            'optimizer': lambda m, c: _build_optimizer()(m, c.optimizer)}
