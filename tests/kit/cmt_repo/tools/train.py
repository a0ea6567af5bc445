# Stand-in for CMTTEST/tools/train.py of the CMT-AQR fork (github.com/Neko-coffee/test @ b0a62a5),
# which is mmdet3d 1.0.0rc5's tools/train.py: the same command line, the same plugin import from the
# config's `plugin`/`plugin_dir` keys, the same work_dir / timestamped log / checkpoint behaviour as
# mmcv 1.6 + mmdet3d's train_detector, but a tiny deterministic model (projects/mmdet3d_plugin/models.py)
# instead of CMT, so the sweeper's real launch path runs on CPU with gloo.
#
# Fault injection (environment, read by every rank):
#   CMT_STANDIN_EPOCH_SECONDS   seconds of "training" per epoch (default 0.5)
#   CMT_STANDIN_VAL_SECONDS     seconds per validation (default 0.1)
#   CMT_STANDIN_ITERS           iterations per epoch (default 200; log_config.interval applies)
#   CMT_STANDIN_CRASH_AT_EPOCH  N: kill rank CMT_STANDIN_CRASH_RANK (default 0) mid-epoch N with
#                               SIGKILL (CMT_STANDIN_CRASH_MODE=exit: os._exit(1) after a traceback);
#                               once per work dir (marker file .standin_crashed_epoch{N})
#   CMT_STANDIN_KILL_IN_VAL_AT_EPOCH  N: SIGKILL rank CMT_STANDIN_KILL_IN_VAL_RANK (default 0) as
#                               epoch N's validation starts, after its checkpoint was saved (a stop
#                               during the validation); once per work dir
#   CMT_STANDIN_NAN_AT_EPOCH    N: the model diverges in epoch N: losses and later metrics are NaN
#   CMT_STANDIN_HANG_AT_EPOCH   N: rank CMT_STANDIN_HANG_RANK (default 0) hangs mid-epoch N (the
#                               others block in all_reduce); once per work dir
import argparse
import datetime
import getpass
import inspect
import json
import math
import os
import signal
import socket
import sys
import time
import warnings
from collections import OrderedDict
from os import path as osp

import torch
import torch.distributed as dist

try:  # the fork's own: mmcv 1.x; mmengine's (the same semantics) where mmcv 1.x is missing
    from mmcv import Config, DictAction
except ImportError:
    from mmengine.config import Config, DictAction

MMCV_VERSION = '1.6.0 (stand-in)'
MMDET_VERSION = '2.24.0 (stand-in)'
MMDET3D_VERSION = '1.0.0rc5 (stand-in)'
VAL_SAMPLES = 6019  # nuScenes val; 753 iterations on 8 GPUs, as in the real logs
CLASSES = ('car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier', 'motorcycle',
           'bicycle', 'pedestrian', 'traffic_cone')
# per-class (AP@4m, ATE, ASE, AOE, AVE, AAE) shape, from shared/data/cmt_logs; None = nan
CLASS_SHAPE = {
    'car': (0.9067, 0.190, 0.147, 0.081, 0.301, 0.198),
    'truck': (0.7291, 0.347, 0.179, 0.130, 0.241, 0.219),
    'construction_vehicle': (0.5364, 0.796, 0.460, 0.982, 0.123, 0.333),
    'bus': (0.8857, 0.370, 0.172, 0.047, 0.463, 0.234),
    'trailer': (0.6651, 0.595, 0.206, 0.512, 0.177, 0.164),
    'barrier': (0.7970, 0.268, 0.260, 0.057, None, None),
    'motorcycle': (0.7532, 0.229, 0.233, 0.261, 0.465, 0.252),
    'bicycle': (0.6500, 0.188, 0.258, 0.520, 0.193, 0.006),
    'pedestrian': (0.8800, 0.182, 0.276, 0.343, 0.223, 0.094),
    'traffic_cone': (0.7600, 0.208, 0.310, None, None, None),
}


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume-from', help='the checkpoint file to resume from')
    parser.add_argument(
        '--auto-resume',
        action='store_true',
        help='resume from the latest checkpoint automatically')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='whether not to evaluate the checkpoint during training')
    group_gpus = parser.add_mutually_exclusive_group()
    group_gpus.add_argument(
        '--gpus',
        type=int,
        help='(Deprecated, please use --gpu-id) number of gpus to use '
        '(only applicable to non-distributed training)')
    group_gpus.add_argument(
        '--gpu-ids',
        type=int,
        nargs='+',
        help='(Deprecated, please use --gpu-id) ids of gpus to use '
        '(only applicable to non-distributed training)')
    group_gpus.add_argument(
        '--gpu-id',
        type=int,
        default=0,
        help='number of gpus to use '
        '(only applicable to non-distributed training)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--diff-seed',
        action='store_true',
        help='Whether or not set different seeds for different ranks')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='whether to set deterministic options for CUDNN backend.')
    parser.add_argument(
        '--options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file (deprecate), '
        'change to --cfg-options instead.')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--autoscale-lr',
        action='store_true',
        help='automatically scale lr with the number of gpus')
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)

    if args.options and args.cfg_options:
        raise ValueError(
            '--options and --cfg-options cannot be both specified, '
            '--options is deprecated in favor of --cfg-options')
    if args.options:
        warnings.warn('--options is deprecated in favor of --cfg-options', stacklevel=2)
        args.cfg_options = args.options

    return args


# --- mmcv 1.6 / mmdet helpers, cut down --------------------------------------------------------

def init_dist(launcher, backend='nccl', **kwargs):
    """mmcv.runner.init_dist; nccl becomes gloo without CUDA (the stand-in runs on CPU)."""
    if launcher != 'pytorch':
        raise NotImplementedError(f'the CMT stand-in supports --launcher none|pytorch, got {launcher}')
    if backend == 'nccl' and not torch.cuda.is_available():
        backend = 'gloo'
    dist.init_process_group(backend=backend, **kwargs)  # env://: RANK, WORLD_SIZE, MASTER_*


def get_dist_info():
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def get_root_logger(log_file=None, log_level='INFO', name='mmdet'):
    """mmcv.utils.get_logger: stderr stream on every rank, the file on rank 0; ERROR elsewhere."""
    import logging
    logger = logging.getLogger(name)
    logger.propagate = False
    rank, _ = get_dist_info()
    handlers = [logging.StreamHandler()]
    if rank == 0 and log_file is not None:
        handlers.append(logging.FileHandler(log_file, 'w'))
    formatter = logging.Formatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s')
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.setLevel(log_level)
        logger.addHandler(handler)
    logger.setLevel(log_level if rank == 0 else logging.ERROR)
    return logger


def collect_env():
    return OrderedDict([
        ('sys.platform', sys.platform),
        ('Python', sys.version.replace('\n', '')),
        ('CUDA available', torch.cuda.is_available()),
        ('GCC', 'n/a'),
        ('PyTorch', torch.__version__),
        ('MMCV', MMCV_VERSION),
        ('MMDetection', MMDET_VERSION),
        ('MMDetection3D', MMDET3D_VERSION),
    ])


def find_latest_checkpoint(path, suffix='pth'):
    """mmdet.utils.find_latest_checkpoint: latest.pth, else the highest *_N.pth."""
    if not osp.exists(path):
        warnings.warn('The path of checkpoints does not exist.', stacklevel=2)
        return None
    if osp.exists(osp.join(path, f'latest.{suffix}')):
        return osp.join(path, f'latest.{suffix}')
    checkpoints = [f for f in os.listdir(path) if f.endswith(f'.{suffix}')]
    if len(checkpoints) == 0:
        warnings.warn('There are no checkpoints in the path.', stacklevel=2)
        return None
    latest, latest_path = -1, None
    for checkpoint in checkpoints:
        count = int(osp.basename(checkpoint).split('_')[-1].split('.')[0])
        if count > latest:
            latest, latest_path = count, osp.join(path, checkpoint)
    return latest_path


def _torch_load(filename):
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    # mmcv 1.x's torch.load: a full unpickle (torch >= 2.6 needs it said; torch < 1.13 lacks the word)
    if 'weights_only' in inspect.signature(torch.load).parameters:
        return torch.load(filename, map_location='cpu', weights_only=False)
    return torch.load(filename, map_location='cpu')


def _round_float(items):
    if isinstance(items, list):
        return [_round_float(item) for item in items]
    if isinstance(items, float):
        return round(items, 5)
    return items


class Runner:
    """mmcv 1.x EpochBasedRunner with the hooks mmdet3d's train_detector registers: cyclic LR,
    CheckpointHook (NORMAL), (Dist)EvalHook (LOW), TextLoggerHook (VERY_LOW), in that order."""

    def __init__(self, model, cfg, logger, meta, timestamp, distributed, validate):
        self.model, self.cfg, self.logger, self.meta = model, cfg, logger, meta
        self.timestamp, self.distributed, self.validate = timestamp, distributed, validate
        self.work_dir = osp.abspath(cfg.work_dir)
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0
        self.iter = 0
        self.max_epochs = cfg.runner['max_epochs']
        self.iters_per_epoch = int(os.environ.get('CMT_STANDIN_ITERS', '200'))
        self.max_iters = self.max_epochs * self.iters_per_epoch
        self.epoch_seconds = float(os.environ.get('CMT_STANDIN_EPOCH_SECONDS', '0.5'))
        self.val_seconds = float(os.environ.get('CMT_STANDIN_VAL_SECONDS', '0.1'))
        self.base_lr = float(cfg.optimizer['lr'])
        self.custom_keys = dict(cfg.optimizer.get('paramwise_cfg', {}).get('custom_keys', {}) or {})
        self.json_log_path = osp.join(self.work_dir, f'{timestamp}.log.json')
        self.time_sec_tot = 0.0
        self.start_iter = 0
        self.seed = meta['seed']

    # -- checkpoints (mmcv.runner.checkpoint / EpochBasedRunner) --
    def load_checkpoint(self, filename):
        self.logger.info(f'load checkpoint from local path: {filename}')
        checkpoint = _torch_load(filename)
        state = checkpoint.get('state_dict', checkpoint)
        missing, unexpected = self.model.load_state_dict(state)
        self.model.state_dict_['standin.pretrained'] = torch.ones(1)
        self.model.state_dict_['standin.epochs_trained'] = torch.zeros(1)
        self.model.state_dict_['standin.diverged'] = torch.zeros(1)
        msgs = []
        if unexpected:
            msgs.append(f'unexpected key in source state_dict: {", ".join(unexpected)}\n')
        if missing:
            msgs.append(f'missing keys in source state_dict: {", ".join(missing)}\n')
        if msgs:
            self.logger.warning('The model and loaded state dict do not match exactly\n\n' + '\n'.join(msgs))
        return checkpoint

    def resume(self, checkpoint):
        ckpt = self.load_checkpoint(checkpoint)
        self.epoch = ckpt['meta']['epoch']
        self.iter = ckpt['meta']['iter']
        self.start_iter = self.iter
        self.model.load_state_dict(ckpt['state_dict'])
        self.meta.setdefault('hook_msgs', {})
        self.meta['hook_msgs'].update(ckpt['meta'].get('hook_msgs', {}))
        self.logger.info('resumed epoch %d, iter %d', self.epoch, self.iter)

    def save_checkpoint(self):
        """CheckpointHook after_train_epoch (rank 0): epoch_N.pth, latest.pth -> epoch_N.pth."""
        ck = self.cfg.checkpoint_config
        interval = ck.get('interval', -1)
        last = ck.get('save_last', True) and self.epoch + 1 == self.max_epochs
        if not ((interval > 0 and (self.epoch + 1) % interval == 0) or last):
            return
        self.logger.info(f'Saving checkpoint at {self.epoch + 1} epochs')
        if self.rank != 0:
            return
        out_dir = ck.get('out_dir') or self.work_dir
        filename = f'epoch_{self.epoch + 1}.pth'
        meta = dict(ck.get('meta', {}) or {})
        meta.update(self.meta)
        meta.update(epoch=self.epoch + 1, iter=self.iter)
        torch.save({'meta': meta, 'state_dict': self.model.state_dict(),
                    'optimizer': {'state': {}, 'param_groups': [{'lr': self.current_lr()}]}},
                   osp.join(out_dir, filename))
        dst = osp.join(out_dir, 'latest.pth')
        if osp.lexists(dst):
            os.remove(dst)
        os.symlink(filename, dst)  # mmcv.symlink: relative, on Linux
        self.meta.setdefault('hook_msgs', {})['last_ckpt'] = osp.join(out_dir, filename)
        keep = ck.get('max_keep_ckpts', -1)
        if keep > 0:
            for step in range(self.epoch + 1 - keep * interval, 0, -interval):
                path = osp.join(out_dir, f'epoch_{step}.pth')
                if not osp.exists(path):
                    break
                os.remove(path)

    # -- LR (CyclicLrUpdaterHook, by iteration over the whole run) --
    def lr_ratio(self):
        lr_cfg = self.cfg.get('lr_config', {}) or {}
        if lr_cfg.get('policy') != 'cyclic':
            return 1.0
        up, down = lr_cfg.get('target_ratio', (10, 1e-4))
        per_phase = self.max_iters // lr_cfg.get('cyclic_times', 1)
        up_iters = int(lr_cfg.get('step_ratio_up', 0.4) * per_phase)
        cur = self.iter % per_phase

        def annealing_cos(start, end, factor):
            return end + 0.5 * (start - end) * (math.cos(math.pi * factor) + 1)
        if cur < up_iters:
            return annealing_cos(1.0, up, cur / max(up_iters, 1))
        return annealing_cos(up, down, (cur - up_iters) / max(per_phase - up_iters, 1))

    def current_lr(self):
        """The first param group's lr, which TextLoggerHook logs (img_backbone's in CMT)."""
        mult = float(self.custom_keys.get('img_backbone', {}).get('lr_mult', 1.0))
        return self.base_lr * mult * self.lr_ratio()

    # -- logging (TextLoggerHook) --
    def dump_json(self, log_dict):
        if self.rank != 0:
            return
        with open(self.json_log_path, 'a+') as f:
            json.dump(OrderedDict((k, _round_float(v)) for k, v in log_dict.items()), f)
            f.write('\n')

    def log_train(self, inner_iter, losses, iter_time):
        self.time_sec_tot += iter_time * self.cfg.log_config['interval']
        avg = self.time_sec_tot / (self.iter - self.start_iter)
        eta = str(datetime.timedelta(seconds=int(avg * (self.max_iters - self.iter))))
        log_dict = OrderedDict(mode='train', epoch=self.epoch + 1, iter=inner_iter)
        log_dict['lr'] = self.current_lr()
        log_dict['memory'] = 22547
        log_dict['data_time'] = 0.046
        log_dict.update(losses)
        log_dict['time'] = iter_time
        if self.iter % 1000 == 0:
            self.logger.info(f'Exp name: {self.meta["exp_name"]}')
        items = [f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
                 for k, v in log_dict.items()
                 if k not in ('mode', 'epoch', 'iter', 'lr', 'time', 'data_time', 'memory')]
        self.logger.info(
            f'Epoch [{self.epoch + 1}][{inner_iter}/{self.iters_per_epoch}]\t'
            f'lr: {log_dict["lr"]:.3e}, eta: {eta}, time: {iter_time:.3f}, '
            f'data_time: {log_dict["data_time"]:.3f}, memory: {log_dict["memory"]}, '
            + ', '.join(items))
        self.dump_json(log_dict)

    def log_val(self, metrics, eval_iters):
        log_dict = OrderedDict(mode='val', epoch=self.epoch + 1, iter=eval_iters)
        log_dict['lr'] = self.current_lr()
        log_dict.update(metrics)
        self.logger.info(f'Exp name: {self.meta["exp_name"]}')
        items = [f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}' for k, v in metrics.items()]
        self.logger.info(f'Epoch(val) [{self.epoch + 1}][{eval_iters}]\t' + ', '.join(items))
        self.dump_json(log_dict)

    # -- the work --
    def all_reduce(self, value):
        t = torch.tensor([float(value)])
        if self.distributed:
            dist.all_reduce(t)
            t /= self.world_size
        return float(t)

    def forward_hook(self, n):
        """The fork's debug side effects of n forwards (cmt_head.py:1310-1339, every rank)."""
        head = self.model.head
        before = self.model.forward_count
        self.model.forward_count += n
        self.model.forward()
        if not (head.enable_aqr and head.debug_mode):
            return
        step = head.visualization_interval
        for it in range((before // step + 1) * step, self.model.forward_count + 1, step):
            print(f'\n🔥 AQR Attention Bias Debug (Iteration {it}):', flush=True)
            vis_dir = 'aqr_bias_visualization'  # relative to the CWD, as in the fork
            os.makedirs(vis_dir, exist_ok=True)
            with open(osp.join(vis_dir, f'bias_visualization_iter_{it}_batch_0.png'), 'wb') as f:
                f.write(b'\x89PNG\r\n\x1a\n')
            print(f'📸 Saved bias visualization to: {vis_dir}/bias_visualization_iter_{it}_batch_0.png',
                  flush=True)

    def fault(self, name, epoch):
        at = os.environ.get(f'CMT_STANDIN_{name}_AT_EPOCH')
        if at is None or int(at) != epoch:
            return False
        if name == 'NAN':
            return True
        if int(os.environ.get(f'CMT_STANDIN_{name}_RANK', '0')) != self.rank:
            return False
        marker = osp.join(self.work_dir, f'.standin_{name.lower()}ed_epoch{epoch}')
        if osp.exists(marker):
            return False
        with open(marker, 'w') as f:
            f.write(f'rank {self.rank}\n')
        return True

    def train_epoch(self):
        epoch = self.epoch + 1
        interval = self.cfg.log_config['interval']
        chunks = list(range(interval, self.iters_per_epoch + 1, interval)) or [self.iters_per_epoch]
        iter_time = self.epoch_seconds / self.iters_per_epoch
        diverge = self.fault('NAN', epoch)
        done = 0
        for n, end in enumerate(chunks):
            time.sleep(iter_time * (end - done))
            self.forward_hook(end - done)
            self.iter += end - done
            done = end
            if n == len(chunks) // 2:  # mid-epoch
                if self.fault('CRASH', epoch):
                    if os.environ.get('CMT_STANDIN_CRASH_MODE', 'kill') == 'exit':
                        print('Traceback (most recent call last):\nRuntimeError: CUDA error: an illegal '
                              'memory access was encountered (stand-in)', file=sys.stderr, flush=True)
                        os._exit(1)
                    os.kill(os.getpid(), signal.SIGKILL)
                if self.fault('HANG', epoch):
                    print(f'rank {self.rank} hangs (stand-in)', flush=True)
                    while True:
                        time.sleep(3600)
                if diverge:
                    self.model.state_dict_['standin.diverged'] = torch.ones(1)
            progress = (self.epoch * self.iters_per_epoch + end) / max(self.max_iters, 1)
            loss = self.all_reduce(13.0 - 3.0 * progress)
            if float(self.model.state_dict_['standin.diverged']) > 0:
                loss = math.nan
            losses = OrderedDict([
                ('loss_cls', loss * 0.008), ('loss_bbox', loss * 0.058),
                ('d0.loss_cls', loss * 0.010), ('d0.loss_bbox', loss * 0.075),
                ('dn_loss_cls', loss * 0.036), ('dn_loss_bbox', loss * 0.051),
                ('loss', loss), ('grad_norm', math.nan if math.isnan(loss) else 45.0 + 10 * progress)])
            if end % interval == 0:
                self.log_train(end, losses, iter_time)
        self.iter += self.iters_per_epoch - done
        self.model.train_epoch(self.custom_keys, self.base_lr / 1e-4)

    def evaluate(self):
        """DistEvalHook: every rank runs the val set, rank 0 evaluates and logs."""
        eval_iters = math.ceil(VAL_SAMPLES / self.world_size)
        if self.fault('KILL_IN_VAL', self.epoch + 1):
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.val_seconds)
        self.forward_hook(eval_iters)
        self.all_reduce(1.0)  # collect_results
        if self.rank != 0:
            return
        nds, map_ = self.model.quality(self.custom_keys, self.base_lr / 1e-4, self.epoch + 1,
                                       self.max_epochs, self.seed)
        ratio = map_ / 0.6575 if not math.isnan(map_) else math.nan
        p = 'pts_bbox_NuScenes/'
        metrics = OrderedDict()
        agg = OrderedDict()
        for i, cls in enumerate(CLASSES):
            ap4, ate, ase, aoe, ave, aae = CLASS_SHAPE[cls]
            for d, f in zip(('0.5', '1.0', '2.0', '4.0'), (0.75, 0.9, 0.96, 1.0)):
                metrics[f'{p}{cls}_AP_dist_{d}'] = ap4 * f * ratio
            errs = (ate, ase, aoe, ave, aae)
            for name, v in zip(('trans', 'scale', 'orient', 'vel', 'attr'), errs):
                metrics[f'{p}{cls}_{name}_err'] = math.nan if v is None else v
            if i == 0:
                for k, v in (('mATE', 0.3373), ('mASE', 0.25), ('mAOE', 0.3259), ('mAVE', 0.2731),
                             ('mAAE', 0.1876)):
                    agg[f'{p}{k}'] = v
                metrics.update(agg)
        metrics[f'{p}NDS'] = nds
        metrics[f'{p}mAP'] = map_
        # mmdet3d's NuScenesDataset.evaluate prints the devkit summary to stdout
        print(f'mAP: {map_:.4f}\nmATE: 0.3373\nmASE: 0.2500\nmAOE: 0.3259\nmAVE: 0.2731\n'
              f'mAAE: 0.1876\nNDS: {nds:.4f}\nEval time: {self.val_seconds:.1f}s', flush=True)
        self.log_val(metrics, eval_iters)

    def run(self):
        self.logger.info('Start running, host: %s, work_dir: %s',
                         f'{getpass.getuser()}@{socket.gethostname()}', self.work_dir)
        self.logger.info('workflow: %s, max: %d epochs', self.cfg.workflow, self.max_epochs)
        self.dump_json(self.meta)  # TextLoggerHook.before_run
        ev = self.cfg.get('evaluation', {}) or {}
        while self.epoch < self.max_epochs:
            self.train_epoch()
            self.save_checkpoint()
            interval = ev.get('interval', 1)
            start = ev.get('start')
            due = (self.epoch + 1) % interval == 0 if start is None else (
                self.epoch + 1 >= start and (self.epoch + 1 - start) % interval == 0)
            if self.validate and due:
                self.evaluate()
            self.epoch += 1


def train_model(model, cfg, distributed, validate, timestamp, meta, logger):
    """mmdet3d.apis.train_detector, as far as runner, resume and load_from go."""
    if 'runner' not in cfg:
        cfg.runner = {'type': 'EpochBasedRunner', 'max_epochs': cfg.total_epochs}
        warnings.warn('config is now expected to have a `runner` section, '
                      'please set `runner` in your config.', UserWarning, stacklevel=2)
    else:
        if 'total_epochs' in cfg:
            assert cfg.total_epochs == cfg.runner.max_epochs
    if 'type' not in cfg.runner:
        raise KeyError('`cfg` or `default_args` must contain the key "type", '
                       f'but got {cfg.runner}\nNone')
    runner = Runner(model, cfg, logger, meta, timestamp, distributed, validate)
    resume_from = None
    if cfg.resume_from is None and cfg.get('auto_resume'):
        resume_from = find_latest_checkpoint(cfg.work_dir)
    if resume_from is not None:
        cfg.resume_from = resume_from
    if cfg.resume_from:
        runner.resume(cfg.resume_from)
    elif cfg.load_from:
        runner.load_checkpoint(cfg.load_from)
    runner.run()


def main():
    args = parse_args()

    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # import modules from plguin/xx, registry will be updated (the fork's train.py:130-154)
    if hasattr(cfg, 'plugin'):
        if cfg.plugin:
            import importlib
            if hasattr(cfg, 'plugin_dir'):
                plugin_dir = cfg.plugin_dir
                _module_dir = os.path.dirname(plugin_dir)
                _module_dir = _module_dir.split('/')
                _module_path = _module_dir[0]

                for m in _module_dir[1:]:
                    _module_path = _module_path + '.' + m
                print(_module_path)
                plg_lib = importlib.import_module(_module_path)
            else:
                # import dir is the dirpath for the config file
                _module_dir = os.path.dirname(args.config)
                _module_dir = _module_dir.split('/')
                _module_path = _module_dir[0]
                for m in _module_dir[1:]:
                    _module_path = _module_path + '.' + m
                print(_module_path)
                plg_lib = importlib.import_module(_module_path)

    plg_lib = importlib.import_module('mmdetection3d.mmdet3d')  # noqa: F841 (as the fork)

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.resume_from is not None:
        cfg.resume_from = args.resume_from

    if args.auto_resume:
        cfg.auto_resume = args.auto_resume
        warnings.warn('`--auto-resume` is only supported when mmdet'
                      'version >= 2.20.0 for 3D detection model or'
                      'mmsegmentation verision >= 0.21.0 for 3D'
                      'segmentation model', stacklevel=2)

    if args.gpus is not None:
        cfg.gpu_ids = range(1)
        warnings.warn('`--gpus` is deprecated because we only support '
                      'single GPU mode in non-distributed training. '
                      'Use `gpus=1` now.', stacklevel=2)
    if args.gpu_ids is not None:
        cfg.gpu_ids = args.gpu_ids[0:1]
        warnings.warn('`--gpu-ids` is deprecated, please use `--gpu-id`. '
                      'Because we only support single GPU mode in '
                      'non-distributed training. Use the first GPU '
                      'in `gpu_ids` now.', stacklevel=2)
    if args.gpus is None and args.gpu_ids is None:
        cfg.gpu_ids = [args.gpu_id]

    if args.autoscale_lr:
        # as in the fork: gpu_ids is still [gpu_id] here, so this divides lr by 8 under a launcher
        cfg.optimizer['lr'] = cfg.optimizer['lr'] * len(cfg.gpu_ids) / 8

    # init distributed env first, since logger depends on the dist info.
    if args.launcher == 'none':
        distributed = False
    else:
        distributed = True
        init_dist(args.launcher, **cfg.dist_params)
        _, world_size = get_dist_info()
        cfg.gpu_ids = range(world_size)

    # create work_dir; dump config (every rank, as in the fork)
    os.makedirs(osp.abspath(cfg.work_dir), exist_ok=True)
    cfg.dump(osp.join(cfg.work_dir, osp.basename(args.config)))
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    log_file = osp.join(cfg.work_dir, f'{timestamp}.log')
    logger = get_root_logger(log_file=log_file, log_level=cfg.log_level, name='mmdet')

    meta = dict()
    env_info_dict = collect_env()
    env_info = '\n'.join([(f'{k}: {v}') for k, v in env_info_dict.items()])
    dash_line = '-' * 60 + '\n'
    logger.info('Environment info:\n' + dash_line + env_info + '\n' + dash_line)
    meta['env_info'] = env_info
    pretty_text = cfg.pretty_text  # yapf-formatted: slow, computed once (the fork calls it thrice)
    meta['config'] = pretty_text

    logger.info(f'Distributed training: {distributed}')
    logger.info(f'Config:\n{pretty_text}')

    seed = args.seed  # init_random_seed(seed) returns a given seed as it is
    seed = seed + dist.get_rank() if args.diff_seed else seed
    logger.info(f'Set random seed to {seed}, deterministic: {args.deterministic}')
    torch.manual_seed(seed)
    cfg.seed = seed
    meta['seed'] = seed
    meta['exp_name'] = osp.basename(args.config)

    from projects.mmdet3d_plugin import build_model  # the plugin registered it (registry stand-in)
    model = build_model(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    logger.info(f'Model:\nCmtDetector (stand-in), parameters: {model.named_parameters()}')
    if cfg.checkpoint_config is not None:
        cfg.checkpoint_config.meta = dict(
            mmdet_version=MMDET_VERSION, mmseg_version='0.20.0 (stand-in)',
            mmdet3d_version=MMDET3D_VERSION, config=pretty_text, CLASSES=list(CLASSES),
            PALETTE=None)
    train_model(model, cfg, distributed=distributed, validate=(not args.no_validate),
                timestamp=timestamp, meta=meta, logger=logger)
    if distributed:
        # Not in the fork (mmcv never destroys the group). Without it, torch 2.13 + gloo can abort a
        # rank at interpreter exit ("terminate called without an active exception") when rank 0,
        # which hosts the TCPStore, leaves first.
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
