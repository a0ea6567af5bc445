"""``AQRScheduleHook``: drive knobs by schedule and log them with the AQR diagnostics into the
runner's own log, on mmengine's ``Runner`` and on mmcv 1.x's ``EpochBasedRunner``.

A config turns it on with ``custom_imports = dict(imports=['aqr.runtime.hook'])`` and
``custom_hooks = [dict(type='AQRScheduleHook', ...)]``; importing this module registers the hook
in mmengine's ``HOOKS`` and in mmcv 1.x's ``HOOKS`` (whichever is installed), under one name.

What it drives:

* ``attributes``: ``{dotted path in the model: schedule}``, e.g.
  ``{'pts_bbox_head.feature_modulator.residual_weight': dict(type='cosine', start=0.7, end=0.4,
  warmup_epochs=5, total_epochs=20)}``: any module attribute, the fork's classes included;
* ``lr_mult``: ``{custom key: schedule}``: the ``lr_mult`` of the param groups that key wins under
  the optimizer constructor's rules (:mod:`aqr.runtime.param_groups`) among ``custom_keys``, every
  key of the optimizer's ``paramwise_cfg`` (default: mmengine's config's; on mmcv 1.x, whose
  runner keeps no config, give them, or only the scheduled keys compete). The multiplier in force is
  read off the optimizer when training starts, so a resumed run goes on from the one it had; the
  runner's own lr schedule (mmengine's param schedulers, mmcv's lr updater hooks) is rescaled with
  it;
* ``by_epoch``: schedules count epochs (set at each epoch's start) or iterations (before each).

What it logs every ``interval`` iterations, as ``aqr/...`` scalars (mmengine: the message hub,
reaching ``scalars.json``; mmcv 1.x: the log buffer, reaching ``.log.json`` and the text log):
each scheduled value (``aqr/<attribute name>``, ``aqr/lr_mult/<key>``) and each attribute it is
told to ``watch`` (dotted paths, logged as they are), the statistics that AQR
modules keep in ``last_stats`` (the weight maps' and the modulation's) and, with
``attention_bias`` naming the fork's attention-bias generator, its bias statistics
(:mod:`aqr.runtime.attention_bias`).
"""

import math
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence

from torch import nn

from aqr.runtime.attention_bias import AttentionBiasStats
from aqr.runtime.diagnostics import flatten_stats
from aqr.runtime.param_groups import group_keys
from aqr.runtime.schedules import Schedule, build_schedule


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a (distributed) data-parallel wrapper."""
    return getattr(model, "module", model)


def resolve(model: nn.Module, path: str):
    """``(owner, attribute name)`` of a dotted path in the model.

    Raises:
        AttributeError: a part of the path does not exist, naming the part and what is there.
    """
    *parents, leaf = path.split(".")
    owner: Any = model
    for i, part in enumerate(parents):
        if not hasattr(owner, part):
            children = [n for n, _ in owner.named_children()] if isinstance(owner, nn.Module) \
                else []
            raise AttributeError("AQRScheduleHook: {} has no {!r} (at {!r}); its children: {}"
                                 .format(".".join(parents[:i]) or "the model", part, path,
                                         ", ".join(children) or "none"))
        owner = getattr(owner, part)
    if not hasattr(owner, leaf):
        raise AttributeError(f"AQRScheduleHook: {path!r}: {type(owner).__name__} has no attribute {leaf!r}")
    return owner, leaf


class ScheduleDriver:
    """The hook's work, the same on both runners."""

    def __init__(self, attributes: Optional[Mapping[str, Any]] = None,
                 lr_mult: Optional[Mapping[str, Any]] = None, by_epoch: bool = True,
                 interval: int = 10, attention_bias: Optional[str] = None,
                 custom_keys: Optional[Sequence[str]] = None,
                 watch: Sequence[str] = ()) -> None:
        if interval < 1:
            raise ValueError(f"interval must be >= 1, but got interval={interval}")
        self.attributes: Dict[str, Schedule] = {p: build_schedule(s)
                                                for p, s in (attributes or {}).items()}
        self.lr_mult: Dict[str, Schedule] = {k: build_schedule(s)
                                             for k, s in (lr_mult or {}).items()}
        self.by_epoch, self.interval = by_epoch, interval
        self.attention_bias_path = attention_bias
        self.custom_keys = list(custom_keys) if custom_keys is not None else None
        self.attention_bias: Optional[AttentionBiasStats] = None
        self._names = _scalar_names([*self.attributes, *(p for p in watch
                                                          if p not in self.attributes)])
        self._group_keys: List[Optional[str]] = []
        self._mult: Dict[str, float] = {}

    def start(self, model: nn.Module, optimizer: Any, lr_bases: List[List[float]],
              config_keys: Sequence[str] = ()) -> None:
        """Check every path and key against the model, and read the multipliers in force
        (``config_keys``: the optimizer config's custom keys, when the runner knows them).

        Raises:
            AttributeError: a path the model does not have. ValueError: an lr_mult key that no
                parameter's group carries.
        """
        model = unwrap(model)
        for path in self._names:
            resolve(model, path)
        if self.attention_bias_path and self.attention_bias is None:
            owner, leaf = resolve(model, self.attention_bias_path)
            self.attention_bias = AttentionBiasStats(getattr(owner, leaf))
        if not self.lr_mult:
            return
        groups = optimizer.param_groups
        competing = set(self.lr_mult) | set(self.custom_keys or config_keys)
        self._group_keys = group_keys(model, groups, competing)
        base = optimizer.defaults["lr"]
        self._mult = {}
        for group, key in zip(groups, self._group_keys):
            if key is not None and key not in self._mult:
                self._mult[key] = group.get("initial_lr", group["lr"]) / base
        missing = sorted(set(self.lr_mult) - set(self._mult))
        if missing:
            raise ValueError(f"AQRScheduleHook: lr_mult keys {missing} win no parameter's group (no "
                             "parameter name holds them, or a longer key wins those that do); "
                             "use a custom key of the optimizer's paramwise_cfg that its "
                             "parameters match")
        self._lr_bases = lr_bases

    def apply(self, model: nn.Module, optimizer: Any, t: float) -> None:
        """Set every scheduled value for time ``t`` (epochs or iterations, from 0)."""
        model = unwrap(model)
        for path, schedule in self.attributes.items():
            owner, leaf = resolve(model, path)
            setattr(owner, leaf, schedule.value(t))
        for key, schedule in self.lr_mult.items():
            self._set_lr_mult(optimizer, key, schedule.value(t))

    def scalars(self, model: nn.Module, diagnostics: bool) -> Dict[str, float]:
        """What to log now: the scheduled values and, with ``diagnostics``, the AQR modules'
        statistics."""
        model = unwrap(model)
        out = {name: float(getattr(*resolve(model, path)))
               for path, name in self._names.items()}
        out.update({"aqr/lr_mult/" + key: mult for key, mult in self._mult.items()})
        if diagnostics:
            for module in model.modules():
                stats = getattr(module, "last_stats", None)
                if isinstance(stats, dict) and stats:
                    out.update(flatten_stats(stats))
            if self.attention_bias is not None:
                out.update(self.attention_bias.scalars())
        return out

    def _set_lr_mult(self, optimizer: Any, key: str, mult: float) -> None:
        old = self._mult[key]
        if mult == old:
            return
        base = optimizer.defaults["lr"]
        for index, group in enumerate(optimizer.param_groups):
            if self._group_keys[index] != key:
                continue
            # the lr schedule's current factor, kept (a multiplier of 0 has none to scale)
            factor = group["lr"] / (base * old) if old else 1.0
            group["lr"] = factor * base * mult
            if "initial_lr" in group:
                group["initial_lr"] = base * mult
            for bases in self._lr_bases:
                if index < len(bases):
                    bases[index] = base * mult
        self._mult[key] = mult


def _scalar_names(paths: Sequence[str]) -> Dict[str, str]:
    """``aqr/<attribute name>`` per path, or the whole path where two paths end alike."""
    leaves = [path.rsplit(".", 1)[-1] for path in paths]
    return {path: "aqr/" + (leaf if leaves.count(leaf) == 1 else path.replace(".", "/"))
            for path, leaf in zip(paths, leaves)}


def _mmengine_lr_bases(runner: Any) -> List[List[float]]:
    schedulers = runner.param_schedulers or []
    if isinstance(schedulers, dict):  # one list per optimizer: not ours to rescale
        return []
    return [s.base_values for s in schedulers
            if getattr(s, "param_name", "lr") == "lr" and isinstance(
                getattr(s, "base_values", None), list)]


def _mmengine_custom_keys(runner: Any) -> List[str]:
    cfg = getattr(runner, "cfg", None) or {}
    keys = cfg.get("optim_wrapper", {}).get("paramwise_cfg", {}).get("custom_keys", {})
    return [str(k) for k in keys]


def _mmcv_lr_bases(runner: Any) -> List[List[float]]:
    return [h.base_lr for h in runner.hooks if isinstance(getattr(h, "base_lr", None), list)]


def register_with_mmengine() -> None:
    """Register the hook in mmengine's ``HOOKS``."""
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    class AQRScheduleHook(Hook):
        """:class:`ScheduleDriver` on mmengine's ``Runner`` (see the module's docstring)."""

        priority = "NORMAL"

        def __init__(self, **kwargs: Any) -> None:
            self.driver = ScheduleDriver(**kwargs)

        def before_train(self, runner: Any) -> None:
            self.driver.start(runner.model, runner.optim_wrapper.optimizer,
                              _mmengine_lr_bases(runner), _mmengine_custom_keys(runner))

        def before_train_epoch(self, runner: Any) -> None:
            if self.driver.by_epoch:
                self.driver.apply(runner.model, runner.optim_wrapper.optimizer, runner.epoch)

        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            if not self.driver.by_epoch:
                self.driver.apply(runner.model, runner.optim_wrapper.optimizer, runner.iter)

        def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                             outputs: Any = None) -> None:
            if not self.every_n_train_iters(runner, self.driver.interval):
                return
            for name, value in self.driver.scalars(runner.model, diagnostics=True).items():
                if math.isfinite(value):
                    runner.message_hub.update_scalar("train/" + name, value)

    HOOKS.register_module(name="AQRScheduleHook", module=AQRScheduleHook, force=True)


def register_with_mmcv() -> None:
    """Register the hook in mmcv 1.x's ``HOOKS`` (``mmcv.runner``; nothing for mmcv 2)."""
    import mmcv

    if int(mmcv.__version__.split(".")[0]) >= 2:  # mmcv 2 has no runner: mmengine's hook
        return
    from mmcv.runner import HOOKS, Hook

    class AQRScheduleHookMMCV(Hook):
        """:class:`ScheduleDriver` on mmcv 1.x's runners (see the module's docstring)."""

        def __init__(self, **kwargs: Any) -> None:
            self.driver = ScheduleDriver(**kwargs)

        def before_run(self, runner: Any) -> None:
            self.driver.start(runner.model, runner.optimizer, _mmcv_lr_bases(runner))

        def before_train_epoch(self, runner: Any) -> None:
            if self.driver.by_epoch:
                self.driver.apply(runner.model, runner.optimizer, runner.epoch)

        def before_train_iter(self, runner: Any) -> None:
            if not self.driver.by_epoch:
                self.driver.apply(runner.model, runner.optimizer, runner.iter)

        def after_train_iter(self, runner: Any) -> None:
            diagnostics = self.every_n_iters(runner, self.driver.interval)
            values = self.driver.scalars(runner.model, diagnostics)
            runner.log_buffer.update({k: v for k, v in values.items() if math.isfinite(v)})

    HOOKS.register_module(name="AQRScheduleHook", module=AQRScheduleHookMMCV, force=True)


def _register() -> List[str]:
    """Register the hook where a training can build it: in mmengine's ``HOOKS`` when mmengine is
    installed, in mmcv 1.x's when the training imported ``mmcv.runner`` (mmcv 1.x's
    ``tools/train.py`` does before its config's ``custom_imports``), or when mmengine is not
    installed; the libraries it was registered with."""
    registered = []
    try:
        register_with_mmengine()
        registered.append("mmengine")
    except ImportError:
        pass
    if "mmcv.runner" in sys.modules or not registered:
        try:
            register_with_mmcv()
            registered.append("mmcv")
        except (ImportError, RuntimeError):  # not installed, or mmcv.runner's torchvision
            pass
    if not registered:
        raise ImportError("aqr.runtime.hook needs mmengine or mmcv 1.x (mmcv.runner) in the "
                          "training environment")
    return registered


REGISTERED_WITH = _register()
