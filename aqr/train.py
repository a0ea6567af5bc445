"""Train a config with mmengine's Runner, like mmdet3d's ``tools/train.py``.

``python -m aqr.train CONFIG [--work-dir DIR] [--cfg-options k=v ...] [--resume] [--seed N]``

It writes mmengine's usual logs (``<work_dir>/<timestamp>/vis_data/scalars.json``) and checkpoints,
resumes from the work dir's latest checkpoint with ``--resume``, uses one CPU thread unless
``--threads`` (or ``AQR_NUM_THREADS``) says otherwise, and exits non-zero with a one-line reason
when training fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# mmengine's checkpoints hold HistoryBuffer and numpy objects, which torch >= 2.6's default
# weights_only load refuses; the checkpoints resumed here are the run's own, in its own work dir.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(prog="python -m aqr.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="mmengine config file")
    parser.add_argument("--work-dir", help="where logs and checkpoints go "
                                           "(default: ./work_dirs/<config name>)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        help="override config keys, e.g. model.pts_bbox_head.renderer_config."
                             "max_weight_clamp=2.0")
    parser.add_argument("--resume", action="store_true",
                        help="resume from the latest checkpoint in the work dir")
    parser.add_argument("--seed", type=int, help="random seed (default: the config's)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("AQR_NUM_THREADS", 1)),
                        help="CPU threads for torch (default 1, or AQR_NUM_THREADS)")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):
    """The config file with ``--cfg-options``, work dir, resume and seed applied."""
    from mmengine.config import Config

    if not Path(args.config).is_file():
        raise FileNotFoundError(f"config file not found: {args.config}")
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or str(Path("work_dirs") / Path(args.config).stem)
    if args.resume:
        cfg.resume = True
        cfg.load_from = None
    if args.seed is not None:
        cfg.randomness = dict(cfg.get("randomness", {}), seed=args.seed)
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.runner import Runner

    torch.set_num_threads(max(args.threads, 1))
    try:
        cfg = build_config(args)
        runner = Runner.from_cfg(cfg)
        runner.train()
    except KeyboardInterrupt:
        print("aqr.train: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one line for whoever follows the log; the traceback is above it
        import traceback

        traceback.print_exc()
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"aqr.train: error: {type(err).__name__}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
