"""mmengine hook that drives the AQR knobs by schedule and logs the AQR diagnostics."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from torch import nn

from aqr.diagnostics import flatten_stats
from aqr.modulator import FeatureModulator
from aqr.renderer import WeightRenderer
from aqr.schedules import Schedule, build_schedule


@HOOKS.register_module()
class AQRScheduleHook(Hook):
    """Apply schedules at each epoch start and log AQR diagnostics every ``interval`` iterations.

    Args:
        residual_weight: Schedule spec for every :class:`FeatureModulator`'s ``residual_weight``.
        max_weight_clamp: Schedule spec for every :class:`WeightRenderer`'s ``max_weight_clamp``.
        lr_mult: ``{custom_key: schedule spec}``: the ``lr_mult`` of the param groups whose
            parameter names contain ``custom_key`` (matched as mmengine's ``paramwise_cfg`` does:
            the longest matching key wins).
        interval: Log the diagnostics every this many training iterations.

    Logged scalars (``aqr/...``) reach ``vis_data/scalars.json`` and the text log:
    ``aqr/{bev,pers}_{pre,post}_{max,mean,std}``, ``aqr/*_frac_clamped``,
    ``aqr/*_queries_dropped``, ``aqr/*_relative_change`` and the scheduled values.
    """

    priority = "NORMAL"

    def __init__(self, residual_weight: Any = None, max_weight_clamp: Any = None,
                 lr_mult: Mapping[str, Any] | None = None, interval: int = 10) -> None:
        if interval < 1:
            raise ValueError(f"interval must be >= 1, but got interval={interval}")
        self.residual_weight = build_schedule(residual_weight) if residual_weight is not None \
            else None
        self.max_weight_clamp = build_schedule(max_weight_clamp) if max_weight_clamp is not None \
            else None
        self.lr_mult: dict[str, Schedule] = {k: build_schedule(v) for k, v in
                                             (lr_mult or {}).items()}
        self.interval = interval
        self._group_keys: list[str | None] = []
        self._current_mult: dict[str, float] = {}

    def before_train(self, runner) -> None:
        if not self.lr_mult:
            return
        model = _unwrap(runner.model)
        names = {id(p): n for n, p in model.named_parameters()}
        keys = sorted(self.lr_mult, key=len, reverse=True)
        self._group_keys = []
        for group in runner.optim_wrapper.optimizer.param_groups:
            param_names = [names.get(id(p), "") for p in group["params"]]
            match = next((k for k in keys if any(k in n for n in param_names)), None)
            self._group_keys.append(match)
        # The multiplier in force, read off the optimizer (so a resumed run starts from the
        # multipliers it had, not from the config's).
        optimizer = runner.optim_wrapper.optimizer
        base_lr = optimizer.defaults["lr"]
        self._current_mult = {}
        for group, key in zip(optimizer.param_groups, self._group_keys, strict=True):
            if key is not None and key not in self._current_mult:
                self._current_mult[key] = group.get("initial_lr", group["lr"]) / base_lr
        missing = sorted(set(keys) - set(self._current_mult))
        if missing:
            raise ValueError(f"AQRScheduleHook lr_mult keys {missing} match no parameter name of "
                             "the model; use names of its submodules, e.g. 'transformer'")

    def before_train_epoch(self, runner) -> None:
        epoch = runner.epoch
        model = _unwrap(runner.model)
        if self.residual_weight is not None:
            value = self.residual_weight.value(epoch)
            for module in _modules_of(model, FeatureModulator):
                module.residual_weight = value
        if self.max_weight_clamp is not None:
            value = self.max_weight_clamp.value(epoch)
            for module in _modules_of(model, WeightRenderer):
                module.max_weight_clamp = value
        for key, schedule in self.lr_mult.items():
            self._set_lr_mult(runner, key, schedule.value(epoch))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        model = _unwrap(runner.model)
        scalars: dict[str, float] = {}
        for module in _modules_of(model, WeightRenderer):
            scalars.update(flatten_stats(module.last_stats))
            scalars["aqr/max_weight_clamp"] = module.max_weight_clamp
        for module in _modules_of(model, FeatureModulator):
            scalars.update(flatten_stats(module.last_stats))
            scalars["aqr/residual_weight"] = module.residual_weight
        for key, mult in self._current_mult.items():
            scalars[f"aqr/lr_mult/{key}"] = mult
        for name, value in scalars.items():
            runner.message_hub.update_scalar(f"train/{name}", value)

    def _set_lr_mult(self, runner, key: str, mult: float) -> None:
        ratio = mult / self._current_mult[key]
        if ratio == 1.0:
            return
        groups = runner.optim_wrapper.optimizer.param_groups
        for index, group in enumerate(groups):
            if self._group_keys[index] != key:
                continue
            group["lr"] *= ratio
            if "initial_lr" in group:
                group["initial_lr"] *= ratio
            for scheduler in runner.param_schedulers or []:
                base = getattr(scheduler, "base_values", None)
                if getattr(scheduler, "param_name", "lr") == "lr" and base:
                    base[index] *= ratio
        self._current_mult[key] = mult


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def _modules_of(model: nn.Module, kind: type) -> Iterator[nn.Module]:
    return (m for m in model.modules() if isinstance(m, kind))
