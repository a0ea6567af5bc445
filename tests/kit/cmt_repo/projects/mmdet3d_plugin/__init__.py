"""Stand-in for the fork's ``projects/mmdet3d_plugin``: registers a tiny ``CmtDetector``.

tools/train.py imports this package from the config's ``plugin_dir`` (as the fork does), so it only
imports with the repository root on ``PYTHONPATH`` (tools/dist_train.sh sets it).
"""
from .models import MODELS, CmtDetector, build_model  # noqa: F401

# the fork's attention.py prints these on import, from every rank (stdout, not the mmcv log)
print('🔍 尝试从路径导入 FlashBias: external/FlashBias')
print('⚠️ FlashBias import failed: FlashBias not found in system path')
