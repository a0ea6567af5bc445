"""The preflight's knob probe: does changing a knob change what the training computes?

Run inside the training environment by ``aqr-sweep preflight``::

    python -m aqr.runtime.probe --config TRIAL_CONFIG --plan PLAN.json --out RESULT.json

For each target of the plan, at two of its values (its low and high, or two choices):

* a config key that builds or drives the model: the model is built twice from the config with
  the key set to each value, with the same seed, and run on the same batch; the loss, the
  gradients and (when the builder gives a prediction) the predictions are compared. A key whose
  two values compute the same everywhere is dead: the training never reads it, or reads it on a
  path that does not run (an error swallowed in the forward);
* an ``lr_mult`` of an optimizer constructor's ``custom_keys``: the optimizer is built twice by
  the environment's own constructor (mmcv 1.x ``build_optimizer``, mmengine
  ``build_optim_wrapper``) and the parameters whose learning rate changes are the ones the key
  wins. A key that wins none is dead: no parameter name holds it, or a longer key wins the
  parameters that do (it is shadowed);
* a key of the optimizer (its ``lr``, ``weight_decay``, ``type``, a ``paramwise_cfg`` multiplier):
  the optimizer is built twice by the environment's constructor and each parameter's settings
  (learning rate, weight decay, momentum...) are compared. A key that changes none is dead;
* a model attribute that a schedule drives (``pts_bbox_head.feature_modulator.residual_weight``):
  set on one built model to each value, then compared as a config key is.

The model, batch and optimizer come from the environment's own registries and config: mmengine's
``Runner`` for configs with ``train_dataloader``, mmdet3d 1.0.x (``build_model``,
``build_dataset``) for mmcv 1.x configs, or the plan's ``builder`` (``module:function``, called
with the config, returning a :class:`Probe` or a dict of its fields).

This module runs on Python 3.8 with torch and, as the config needs, mmengine or mmcv 1.x.
"""

import argparse
import copy
import importlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from torch import nn

from aqr.runtime.param_groups import full_name, matching_key, sorted_keys

#: differences below these are rounding (non-deterministic kernels), not an effect
RTOL, ATOL = 1e-6, 1e-9


class Probe:
    """What the probe needs of a built training: the model, its loss on one fixed batch, its
    prediction on that batch (optional), its optimizer as the environment builds it (optional),
    and how to build the model alone from another config (optional: without it, a key under
    ``model`` rebuilds everything, batch included)."""

    def __init__(self, model: nn.Module, loss: Callable[[nn.Module], torch.Tensor],
                 predict: Optional[Callable[[nn.Module], Any]] = None,
                 optimizer: Optional[Callable[[nn.Module, Any], Any]] = None,
                 build_model: Optional[Callable[[Any], nn.Module]] = None) -> None:
        self.model, self.loss, self.predict, self.optimizer = model, loss, predict, optimizer
        self.build_model = build_model

    def with_model(self, model: nn.Module) -> "Probe":
        """The same batch, loss and prediction on another model."""
        return Probe(model, self.loss, self.predict, self.optimizer, self.build_model)


# --- building ---------------------------------------------------------------------------------

def load_config(path: str) -> Any:
    """The config as the environment reads it (mmengine's ``Config``, else mmcv 1.x's), with
    its custom imports and a fork-style ``plugin``/``plugin_dir`` imported."""
    try:
        from mmengine.config import Config
    except ImportError:
        from mmcv import Config
    cfg = Config.fromfile(path)
    if cfg.get("plugin") and cfg.get("plugin_dir"):
        module = os.path.dirname(cfg.plugin_dir).replace("/", ".").strip(".")
        importlib.import_module(module)
    return cfg


def _seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy

        numpy.random.seed(seed)
    except ImportError:
        pass


def _mmengine_probe(cfg: Any, work_dir: str) -> Probe:
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.experiment_name = f"probe_{time.time_ns()}"
    cfg.pop("load_from", None)
    cfg.resume = False
    cfg.log_level = "WARNING"
    runner = Runner.from_cfg(cfg)
    loader = runner.build_dataloader(cfg.train_dataloader, seed=0)
    batch = next(iter(loader))
    model = runner.model

    def loss(m: nn.Module) -> torch.Tensor:
        m.train()
        data = m.data_preprocessor(copy.deepcopy(batch), True)
        losses = m._run_forward(data, mode="loss")
        return m.parse_losses(losses)[0]

    def predict(m: nn.Module) -> Any:
        m.eval()
        with torch.no_grad():
            data = m.data_preprocessor(copy.deepcopy(batch), False)
            return m._run_forward(data, mode="predict")

    return Probe(model, loss, predict,
                 lambda m, c: build_optim_wrapper(m, c.optim_wrapper).optimizer,
                 lambda c: runner.build_model(c.model))


def _mmcv1_probe(cfg: Any, work_dir: str) -> Probe:
    from mmcv.parallel import scatter
    from mmcv.runner import build_optimizer
    from mmdet.datasets import build_dataloader
    from mmdet3d.datasets import build_dataset
    from mmdet3d.models import build_model

    model = build_model(cfg.model, train_cfg=cfg.get("train_cfg"), test_cfg=cfg.get("test_cfg"))
    dataset = build_dataset(cfg.data.train)
    loader = build_dataloader(dataset, cfg.data.samples_per_gpu, 0, dist=False, shuffle=False,
                              seed=0)
    device = [0] if torch.cuda.is_available() else [-1]
    model = model.cuda() if torch.cuda.is_available() else model
    batch = scatter(next(iter(loader)), device)[0]

    def loss(m: nn.Module) -> torch.Tensor:
        m.train()
        return m._parse_losses(m(return_loss=True, **copy.deepcopy(batch)))[0]

    def rebuild(c: Any) -> nn.Module:
        built = build_model(c.model, train_cfg=c.get("train_cfg"), test_cfg=c.get("test_cfg"))
        return built.cuda() if torch.cuda.is_available() else built

    return Probe(model, loss, None, lambda m, c: build_optimizer(m, c.optimizer), rebuild)


def builder_of(name: Optional[str], cfg: Any) -> Callable[[Any, str], Probe]:
    """The space's builder (``module:function``), else the environment's."""
    if name:
        module, _, function = name.partition(":")
        build = getattr(importlib.import_module(module), function)

        def custom(c: Any, work_dir: str) -> Probe:
            built = build(c)
            return built if isinstance(built, Probe) else Probe(**built)
        return custom
    if "train_dataloader" in cfg:
        return _mmengine_probe
    return _mmcv1_probe


# --- comparing --------------------------------------------------------------------------------

def _set(cfg: Any, key: Sequence[str], value: Any) -> Any:
    out = copy.deepcopy(cfg)
    node = out
    for part in key[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(key[-1])] = value
    else:
        node[key[-1]] = value
    return out


def _flat(value: Any) -> List[torch.Tensor]:
    """Every tensor and number inside a model's output, in a fixed order: copies (torch < 2.0's
    ``zero_grad`` zeroes the gradients in place, which a view would follow)."""
    if isinstance(value, torch.Tensor):
        return [value.detach().float().cpu().flatten().clone()]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [torch.tensor([float(value)])]
    if isinstance(value, dict):
        return [t for k in sorted(value, key=str) for t in _flat(value[k])]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _flat(v)]
    items = getattr(value, "items", None)  # mmengine's data elements
    if callable(items):
        return [t for k, v in sorted(items(), key=lambda kv: str(kv[0])) for t in _flat(v)]
    return []


def _difference(a: List[torch.Tensor], b: List[torch.Tensor]) -> float:
    """The largest relative difference between two lists of tensors (inf when shapes differ)."""
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return math.inf
    worst = 0.0
    for x, y in zip(a, b):
        if not x.numel():
            continue
        gap = (x - y).abs()
        scale = torch.maximum(x.abs(), y.abs()).clamp_min(ATOL / RTOL)
        both_nan = torch.isnan(x) & torch.isnan(y)
        rel = torch.where(both_nan, torch.zeros_like(gap), gap / scale)
        worst = max(worst, float(torch.nan_to_num(rel, nan=math.inf).max()))
    return worst


def _computed(probe: Probe, seed: int) -> Dict[str, List[torch.Tensor]]:
    """Loss, gradients and prediction of a built training on its batch."""
    model = probe.model
    _seed(seed)
    model.zero_grad()
    loss = probe.loss(model)
    loss.backward()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p)
             for _, p in sorted(model.named_parameters())]
    out = {"loss": _flat(loss), "grads": _flat(grads)}
    if probe.predict is not None:
        _seed(seed)
        out["prediction"] = _flat(probe.predict(model))
    return out


def _verdict(a: Dict[str, List[torch.Tensor]], b: Dict[str, List[torch.Tensor]]) -> Dict:
    diffs = {k: _difference(a[k], b[k]) for k in a if k in b}
    live = any(d > RTOL for d in diffs.values())
    return {"effect": "live" if live else "dead",
            "loss": [float(a["loss"][0][0]), float(b["loss"][0][0])],
            "differences": {k: (d if math.isfinite(d) else "shape") for k, d in diffs.items()}}


def _until_different(values: Sequence[Any], run_at: Callable[[Any], Dict]) -> Dict:
    """Compare the training at the first two values; when they compute the same, at the first
    and the third too (an effect symmetric about an optimum can give two equal losses)."""
    first = run_at(values[0])
    verdict = _verdict(first, run_at(values[1]))
    if verdict["effect"] == "dead" and len(values) > 2:
        third = _verdict(first, run_at(values[2]))
        if third["effect"] == "live":
            return {**third, "compared": [values[0], values[2]]}
    return {**verdict, "compared": list(values[:2])}


def probe_config_key(build: Callable[[Any, str], Probe], base: Probe, cfg: Any, target: Dict,
                     seed: int, work_dir: str) -> Dict:
    """Build and run the training at the key's values (a key of the model: the model alone, on
    the same batch)."""
    def run_at(value: Any) -> Dict:
        changed = _set(cfg, target["key"], value)
        _seed(seed)
        if target["key"][0] == "model" and base.build_model is not None:
            probe = base.with_model(base.build_model(changed))
        else:
            probe = build(changed, work_dir)
        return _computed(probe, seed)

    return _until_different(target["values"], run_at)


def probe_attribute(probe: Probe, target: Dict, seed: int) -> Dict:
    """Run one built training with a model attribute at each of two values."""
    owner: Any = getattr(probe.model, "module", probe.model)
    *parents, leaf = target["attribute"].split(".")
    for part in parents:
        owner = getattr(owner, part)
    before = getattr(owner, leaf)

    def run_at(value: Any) -> Dict:
        setattr(owner, leaf, value)
        return _computed(probe, seed)

    try:
        return _until_different(target["values"], run_at)
    finally:
        setattr(owner, leaf, before)


def _changed(probe: Probe, cfg: Any, target: Dict, setting: Callable[[Any, Dict], Any]
             ) -> List[str]:
    """The parameters whose ``setting`` (of the optimizer and a parameter's group) differs
    between the optimizers the environment builds at the target's first two values."""
    settings = []
    for value in target["values"][:2]:
        optimizer = probe.optimizer(probe.model, _set(cfg, target["key"], value))
        settings.append({id(param): setting(optimizer, group) for group in optimizer.param_groups
                         for param in group["params"]})
    names = {id(p): n for n, p in probe.model.named_parameters()}
    return sorted(names[i] for i in names if settings[0].get(i) != settings[1].get(i))


def probe_lr_mult(probe: Probe, cfg: Any, target: Dict) -> Dict:
    """Which parameters the custom key's lr_mult reaches, by the environment's constructor."""
    if probe.optimizer is None:
        return {"effect": "unknown", "detail": "the builder gives no optimizer"}
    names = {id(p): n for n, p in probe.model.named_parameters()}
    matched = _changed(probe, cfg, target, lambda optimizer, group: group["lr"])
    key = target["custom_key"]
    out = {"effect": "live" if matched else "dead", "matched": len(matched),
           "examples": matched[:3]}
    if not matched:
        holders = [n for n in names.values() if key in full_name(n)]
        keys = sorted_keys(target.get("custom_keys", [key]))
        winners = sorted({matching_key(n, keys) for n in holders} - {None, key})
        out["detail"] = ("a longer key wins the parameters it matches: {}".format(
            ", ".join(repr(w) for w in winners)) if holders else "no parameter name holds it")
        out["shadowed_by"] = winners
    return out


def probe_optimizer(probe: Probe, cfg: Any, target: Dict) -> Dict:
    """Which parameters' optimizer settings the key changes, by the environment's constructor."""
    if probe.optimizer is None:
        return {"effect": "unknown", "detail": "the builder gives no optimizer"}
    changed = _changed(probe, cfg, target, lambda optimizer, group: (
        type(optimizer).__name__, repr(sorted((k, v) for k, v in group.items() if k != "params"))))
    out = {"effect": "live" if changed else "dead", "matched": len(changed),
           "examples": changed[:3], "compared": list(target["values"][:2])}
    if not changed:
        out["detail"] = "the optimizer is built the same at both values"
    return out


def run(config: str, plan: Dict, work_dir: str) -> Dict:
    """Probe every target of the plan; the results, in the plan's order. A target ``with``
    config values (what makes a conditional knob apply) is probed on that config."""
    seed = int(plan.get("seed", 0))
    loaded = load_config(config)
    build = builder_of(plan.get("builder"), loaded)
    _seed(seed)
    built = {"[]": build(loaded, work_dir)}  # by the config values a target is probed with
    results = []
    for target in plan["targets"]:
        if target["kind"] == "skip":
            results.append(target)
            continue
        started = time.time()
        cfg = loaded
        for key, value in target.get("with") or []:
            cfg = _set(cfg, key, value)
        condition = json.dumps(target.get("with") or [], default=str)
        if condition not in built:
            _seed(seed)
            built[condition] = build(cfg, work_dir)
        base = built[condition]
        if target["kind"] == "lr_mult":
            verdict = probe_lr_mult(base, cfg, target)
        elif target["kind"] == "optimizer":
            verdict = probe_optimizer(base, cfg, target)
        elif target["kind"] == "attribute":
            verdict = probe_attribute(base, target, seed)
        else:
            verdict = probe_config_key(build, base, cfg, target, seed, work_dir)
        verdict["seconds"] = round(time.time() - started, 2)
        results.append({**target, **verdict})
        print("probe: {} -> {}".format(target.get("label", target["parameter"]),
                                       verdict["effect"]), flush=True)
    return {"targets": results}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aqr.runtime.probe")
    parser.add_argument("--config", required=True, help="the trial's config file")
    parser.add_argument("--plan", required=True, help="JSON: the targets to probe")
    parser.add_argument("--out", required=True, help="JSON: where the results go")
    parser.add_argument("--work-dir", help="scratch folder (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    with open(args.plan) as f:
        plan = json.load(f)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="aqr_probe_")
    try:
        result = run(args.config, plan, work_dir)
    except Exception as err:  # noqa: BLE001 - reported whole to the sweep side
        result = {"error": f"{type(err).__name__}: {err}",
                  "traceback": traceback.format_exc()}
        traceback.print_exc()
    finally:
        if args.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2, default=str)
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
