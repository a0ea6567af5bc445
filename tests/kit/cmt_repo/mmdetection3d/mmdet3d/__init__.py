"""Stand-in for the ``mmdetection3d/`` checkout that the fork's tools/train.py:154 imports
unconditionally (``importlib.import_module('mmdetection3d.mmdet3d')``)."""
