"""Which custom key of an optimizer constructor's ``paramwise_cfg`` gives a parameter its
``lr_mult``, by the rules of the constructors in use: mmcv 1.x's ``DefaultOptimizerConstructor``
and mmengine's ``DefaultOptimWrapperConstructor`` both sort the keys by length, longest first,
ties alphabetically, and give each parameter the first key that is a substring of its full name,
``prefix.name`` (a parameter of the model itself is ``.name``). Each parameter gets a param group
of its own."""

from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set

from torch import nn


def sorted_keys(custom_keys: Iterable[str]) -> List[str]:
    """The keys in the order the constructors try them."""
    return sorted(sorted(custom_keys), key=len, reverse=True)


def full_name(name: str) -> str:
    """A parameter's name as the constructors match it (``named_parameters`` names, with a
    leading dot for the model's own parameters)."""
    return name if "." in name else "." + name


def matching_key(name: str, keys: Sequence[str]) -> Optional[str]:
    """The key that gives parameter ``name`` its settings (``keys`` in :func:`sorted_keys`
    order), or None."""
    qualified = full_name(name)
    return next((key for key in keys if key in qualified), None)


def keys_by_parameter(model: nn.Module, custom_keys: Iterable[str]) -> Dict[str, Optional[str]]:
    """Each parameter's name -> the custom key that wins it."""
    keys = sorted_keys(custom_keys)
    return {name: matching_key(name, keys) for name, _ in model.named_parameters()}


def group_keys(model: nn.Module, param_groups: Sequence[Mapping],
               custom_keys: Iterable[str]) -> List[Set[Optional[str]]]:
    """For each param group of an optimizer, the custom keys that win its parameters (None: no
    key). One key per group where the constructor built the groups from those keys; several
    where it did not (an optimizer without ``paramwise_cfg`` has one group for all)."""
    names = {id(p): n for n, p in model.named_parameters()}
    keys = sorted_keys(custom_keys)
    return [{matching_key(names[id(p)], keys) for p in group["params"] if id(p) in names}
            for group in param_groups]
