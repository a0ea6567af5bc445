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

import torch
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
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f"AQRScheduleHook: interval must be an int >= 1, but got "
                             f"interval={interval!r}")
        if not isinstance(by_epoch, bool):
            raise ValueError(f"AQRScheduleHook: by_epoch must be true or false, but got "
                             f"by_epoch={by_epoch!r}")
        self.attributes = _schedules("attributes", attributes)
        self.lr_mult = _schedules("lr_mult", lr_mult)
        for key, schedule in self.lr_mult.items():
            if min(schedule.extremes()) < 0:
                raise ValueError(f"AQRScheduleHook: lr_mult[{key!r}]: a multiplier must be >= 0, "
                                 f"but the schedule reaches {min(schedule.extremes())}")
        self.by_epoch, self.interval = by_epoch, interval
        self.attention_bias_path = attention_bias
        self.custom_keys = list(custom_keys) if custom_keys is not None else None
        self.attention_bias: Optional[AttentionBiasStats] = None
        if isinstance(watch, str):
            raise TypeError(f"AQRScheduleHook: watch must be a list of paths, but got the string "
                            f"{watch!r}; write watch=[{watch!r}]")
        self._names = _scalar_names([*self.attributes, *(p for p in watch
                                                          if p not in self.attributes)])
        self._group_keys: List[Optional[str]] = []
        self._mult: Dict[str, float] = {}
        self._base = 0.0

    def start(self, model: nn.Module, optimizer: Any, config_keys: Sequence[str] = (),
              lr_scale: float = 1.0) -> None:
        """Check every path and key against the model, and read the multipliers in force
        (``config_keys``: the optimizer config's custom keys, when the runner knows them;
        ``lr_scale``: what the runner multiplied every group's lr by, its optimizer's default
        lr left as configured: mmengine's ``auto_scale_lr``).

        Raises:
            AttributeError: a path the model does not have. ValueError: an lr_mult key that no
                parameter's group carries.
        """
        model = unwrap(model)
        for path in self._names:
            _check_scalar(path, getattr(*resolve(model, path)), scheduled=path in self.attributes)
        if self.attention_bias_path and self.attention_bias is None:
            owner, leaf = resolve(model, self.attention_bias_path)
            bias = getattr(owner, leaf)
            if not isinstance(bias, nn.Module):
                raise TypeError(f"AQRScheduleHook: attention_bias={self.attention_bias_path!r} is "
                                f"a {type(bias).__name__}; name the bias generator's module")
            self.attention_bias = AttentionBiasStats(bias)
        if not self.lr_mult:
            return
        groups = optimizer.param_groups
        competing = set(self.lr_mult) | set(self.custom_keys or config_keys)
        found = group_keys(model, groups, competing)
        for keys in found:
            mixed = sorted(k for k in keys if k in self.lr_mult) if len(keys) > 1 else []
            if mixed:
                raise ValueError(f"AQRScheduleHook: lr_mult keys {mixed} share a param group with "
                                 "parameters of other keys or of none: give them in the "
                                 "optimizer's paramwise_cfg.custom_keys, so that their "
                                 "parameters get groups of their own")
        self._group_keys = [next(iter(keys)) if len(keys) == 1 else None for keys in found]
        self._base = base = optimizer.defaults["lr"] * lr_scale
        found_mults: Dict[str, List[float]] = {}
        for group, key in zip(groups, self._group_keys):
            if key is not None:
                found_mults.setdefault(key, []).append(group.get("initial_lr", group["lr"]) / base)
        for key in self.lr_mult:
            mults = found_mults.get(key, [])
            if mults and not math.isclose(min(mults), max(mults), rel_tol=1e-6, abs_tol=1e-12):
                raise ValueError(
                    f"AQRScheduleHook: lr_mult key {key!r}: the optimizer gave its parameters "
                    f"different learning rates (x{min(mults):g} to x{max(mults):g} the base), so "
                    "another custom key wins some of them; give the hook the optimizer's custom "
                    "keys (custom_keys=[...]), and the key to the optimizer's paramwise_cfg")
        self._mult = {key: mults[0] for key, mults in found_mults.items()}
        missing = sorted(set(self.lr_mult) - set(self._mult))
        if missing:
            raise ValueError(f"AQRScheduleHook: lr_mult keys {missing} win no parameter's group (no "
                             "parameter name holds them, or a longer key wins those that do); "
                             "use a custom key of the optimizer's paramwise_cfg that its "
                             "parameters match")

    def apply(self, model: nn.Module, optimizer: Any, t: float,
              lr_bases: Sequence[List[float]] = ()) -> bool:
        """Set every scheduled value for time ``t`` (epochs or iterations, from 0); ``lr_bases``:
        the lr schedules' base lists (one entry per param group), rescaled with a multiplier.
        Whether a multiplier changed."""
        model = unwrap(model)
        for path, schedule in self.attributes.items():
            owner, leaf = resolve(model, path)
            setattr(owner, leaf, schedule.value(t))
        changed = [key for key, schedule in self.lr_mult.items()
                   if self._set_lr_mult(optimizer, key, schedule.value(t), lr_bases)]
        return bool(changed)

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

    def _set_lr_mult(self, optimizer: Any, key: str, mult: float,
                     lr_bases: Sequence[List[float]]) -> bool:
        old = self._mult[key]
        if mult == old:
            return False
        base = self._base
        factor = self._schedule_factor(optimizer, base, key)
        for index, group in enumerate(optimizer.param_groups):
            if self._group_keys[index] != key:
                continue
            group["lr"] = factor * base * mult  # the lr schedule's current factor, kept
            if "initial_lr" in group:
                group["initial_lr"] = base * mult
            for bases in lr_bases:
                if index < len(bases):
                    bases[index] = base * mult
        self._mult[key] = mult
        return True

    def _schedule_factor(self, optimizer: Any, base: float, key: str) -> float:
        """Where the lr schedule stands (its lr over its base): read off ``key``'s groups, or,
        when its multiplier is 0, off another key's (1 when none has a multiplier)."""
        for wanted in (key, *self._mult):
            mult = self._mult.get(wanted, 0.0)
            if not mult:
                continue
            for group, group_key in zip(optimizer.param_groups, self._group_keys):
                if group_key == wanted:
                    return group["lr"] / (base * mult)
        return 1.0


def _schedules(field: str, specs: Optional[Mapping[str, Any]]) -> Dict[str, Schedule]:
    """Each path's or key's schedule.

    Raises:
        ValueError: ``specs`` is not a mapping, or a schedule is bad, naming its path or key."""
    if specs is None:
        return {}
    if not isinstance(specs, Mapping):
        raise ValueError(f"AQRScheduleHook: {field} must be a dict of schedules by path or key, "
                         f"but got {specs!r}")
    out = {}
    for name, spec in specs.items():
        try:
            out[name] = build_schedule(spec)
        except ValueError as err:
            raise ValueError(f"AQRScheduleHook: {field}[{name!r}]: {err}") from None
    return out


def _check_scalar(path: str, value: Any, scheduled: bool) -> None:
    """A path the hook sets or logs holds a plain number (a float, an int, a one-element tensor).

    Raises:
        TypeError: a method, a module, a parameter or tensor of several elements, or None."""
    what = _what_else(value, scheduled)
    if what is not None:
        role = "schedule" if scheduled else "watch"
        raise TypeError(f"AQRScheduleHook: {path!r} is {what}; {role} a plain number "
                        "attribute (e.g. pts_bbox_head.feature_modulator.residual_weight)")


def _what_else(value: Any, scheduled: bool) -> Optional[str]:
    """What ``value`` is when it is not a plain number the hook can set (``scheduled``) or log."""
    if isinstance(value, nn.Module) or value is None:
        return type(value).__name__
    if callable(value):
        return "a method"
    if isinstance(value, nn.Parameter) and scheduled:
        return "an nn.Parameter (trained, not set)"
    if isinstance(value, torch.Tensor):
        return None if value.numel() == 1 else f"a tensor of {value.numel()} elements"
    return None if isinstance(value, (int, float)) else type(value).__name__


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


def _mmengine_lr_scale(runner: Any) -> float:
    """The factor mmengine's ``auto_scale_lr`` multiplied every group's lr by (as
    ``Runner.scale_lr`` does; the optimizer's default lr keeps the configured one)."""
    auto = getattr(runner, "auto_scale_lr", None)
    if not auto or not auto.get("enable", False):
        return 1.0
    return runner.world_size * runner.train_dataloader.batch_size / auto["base_batch_size"]


def _mmengine_custom_keys(runner: Any) -> List[str]:
    cfg = getattr(runner, "cfg", None) or {}
    keys = cfg.get("optim_wrapper", {}).get("paramwise_cfg", {}).get("custom_keys", {})
    return [str(k) for k in keys]


_ITERATIONS_ONLY = ("AQRScheduleHook: by_epoch=True, and the {} counts iterations only (no "
                    "epoch starts: nothing would be scheduled); set by_epoch=False and give the "
                    "schedules in iterations")


def _rederive_mmcv_lr(hook: Any, runner: Any) -> None:
    """An mmcv 1.x ``LrUpdaterHook``'s lr for now, from its (rescaled) bases: it caches its epoch's
    regular lr, from which its warm-up and the end of the warm-up set every iteration's."""
    hook.regular_lr = hook.get_regular_lr(runner)
    # a warm-up counted in epochs has no length in iterations before the lr hook's first epoch
    # starts (it then sets the lr itself, from these bases)
    warming = hook.warmup is not None and hook.warmup_iters is not None and \
        runner.iter < hook.warmup_iters
    hook._set_lr(runner, hook.get_warmup_lr(runner.iter) if warming else hook.regular_lr)


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
            from mmengine.runner import IterBasedTrainLoop

            if self.driver.by_epoch and isinstance(runner.train_loop, IterBasedTrainLoop):
                raise ValueError(_ITERATIONS_ONLY.format(type(runner.train_loop).__name__))
            self.driver.start(runner.model, runner.optim_wrapper.optimizer,
                              _mmengine_custom_keys(runner), _mmengine_lr_scale(runner))

        def before_train_epoch(self, runner: Any) -> None:
            if self.driver.by_epoch:
                self.driver.apply(runner.model, runner.optim_wrapper.optimizer, runner.epoch,
                                  _mmengine_lr_bases(runner))

        def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None) -> None:
            if not self.driver.by_epoch:
                self.driver.apply(runner.model, runner.optim_wrapper.optimizer, runner.iter,
                                  _mmengine_lr_bases(runner))

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
            from mmcv.runner import IterBasedRunner

            if self.driver.by_epoch and isinstance(runner, IterBasedRunner):
                raise ValueError(_ITERATIONS_ONLY.format(type(runner).__name__))
            self.driver.start(runner.model, runner.optimizer)

        def before_train_epoch(self, runner: Any) -> None:
            if self.driver.by_epoch:
                self._apply(runner, runner.epoch)

        def before_train_iter(self, runner: Any) -> None:
            if not self.driver.by_epoch:
                self._apply(runner, runner.iter)

        def _apply(self, runner: Any, t: float) -> None:
            lr_hooks = [h for h in runner.hooks if isinstance(getattr(h, "base_lr", None), list)]
            if self.driver.apply(runner.model, runner.optimizer, t, [h.base_lr for h in lr_hooks]):
                for hook in lr_hooks:  # what each lr hook would have set had the bases been these
                    _rederive_mmcv_lr(hook, runner)

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
