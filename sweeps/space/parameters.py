"""The knobs a space searches: float, int and categorical parameters, their ranges and grids, and
whether a value fits one."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from sweeps.space.checks import Found, Strict, is_scalar, kind, raise_found

#: Optuna keeps parameter values as floats: a larger integer would not come back exact
MAX_INT = 2**53
#: ``when: {other: value or [values]}``: a parameter that applies only while a categorical
#: parameter takes one of those values (a schedule's arguments, with the schedule's kind)
Condition = dict[str, Any]


class FloatParameter(Strict):
    """A float knob in ``[low, high]``, optionally log-scaled or on a grid of ``step``."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None
    targets: list[str]
    create: bool = False
    when: Condition | None = None

    @model_validator(mode="after")
    def _check_range(self) -> FloatParameter:
        check_bounds(self.low, self.high, self.log, self.step)
        return self

    def grid(self) -> list[float]:
        """``low, low + step, ..., high`` (the bounds checks made sure ``step`` divides the
        range)."""
        if self.step is None:
            raise ValueError("a float parameter needs a step to be put on a grid")
        return [float(round(self.low + i * self.step, 10)) for i in range(self.grid_size())]

    def grid_size(self) -> int:
        """Points of :meth:`grid`, counted without building it (0 without a step)."""
        return 0 if self.step is None else round((self.high - self.low) / self.step) + 1


class IntParameter(Strict):
    """An integer knob in ``[low, high]``."""

    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = 1
    targets: list[str]
    create: bool = False
    when: Condition | None = None

    @model_validator(mode="after")
    def _check_range(self) -> IntParameter:
        if max(abs(self.low), abs(self.high)) > MAX_INT:
            raise ValueError(f"low and high must be within -2**53..2**53 (Optuna keeps values as "
                             f"floats), but got low={self.low}, high={self.high}; narrow the range")
        check_bounds(self.low, self.high, self.log, None if self.step == 1 else self.step)
        return self

    def grid(self) -> list[int]:
        """``low, low + step, ..., high``."""
        return list(range(self.low, self.high + 1, self.step))

    def grid_size(self) -> int:
        """Points of :meth:`grid`, counted without building it."""
        return (self.high - self.low) // self.step + 1


class CategoricalParameter(Strict):
    """A knob that takes one of ``choices``."""

    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)
    targets: list[str]
    create: bool = False
    when: Condition | None = None

    @field_validator("choices")
    @classmethod
    def _check_choices(cls, choices: list[Any]) -> list[Any]:
        """Optuna's ``CategoricalDistribution`` takes distinct hashable scalars; a choice also
        goes into a config file, so it must be finite."""
        found: list[Found] = []
        seen: dict[Any, int] = {}
        for i, choice in enumerate(choices):
            if not is_scalar(choice):
                what = kind(choice)
                found.append(((i,), f"must be a scalar (a string, number, true/false or null), but "
                                    f"got a {what}; Optuna's choices must be hashable scalars: "
                                    f"tune the parts of a {what} as parameters of their own"))
            elif isinstance(choice, float) and not math.isfinite(choice):
                found.append(((i,), f"must be a finite number, but got {choice}; a config file "
                                    "cannot hold it: give a number"))
            elif choice in seen:
                found.append(((i,), f"{choice!r} equals choice {seen[choice]} "
                                    f"({choices[seen[choice]]!r}): choices must be distinct "
                                    "(Python takes 1, 1.0 and true as equal); remove one"))
            else:
                seen[choice] = i
        raise_found(found)
        return choices

    def grid(self) -> list[Any]:
        """Every choice."""
        return list(self.choices)

    def grid_size(self) -> int:
        """Number of choices."""
        return len(self.choices)


Parameter = Annotated[FloatParameter | IntParameter | CategoricalParameter,
                      Field(discriminator="type")]


def check_bounds(low: float, high: float, log: bool, step: float | None) -> None:
    """Refuse a range Optuna cannot sample (``low < high``, finite, ``log`` needs ``low > 0``,
    ``step`` dividing the range and not with ``log``)."""
    if not low < high:
        raise ValueError(f"low must be < high, but got low={low}, high={high}")
    if not math.isfinite(high - low):
        raise ValueError(f"high - low must be a finite number, but got low={low}, high={high}; "
                         "narrow the range")
    if log and low <= 0:
        raise ValueError(f"log=true needs low > 0, but got low={low}")
    if step is not None:
        if step <= 0:
            raise ValueError(f"step must be > 0, but got step={step}")
        if log:
            raise ValueError("step and log=true cannot be combined (Optuna's constraint); "
                             "drop one of them")
        steps = (high - low) / step
        if not math.isclose(steps, round(steps), rel_tol=0, abs_tol=1e-9):
            fitted = low + math.floor(steps) * step
            raise ValueError(f"step must divide high - low, but got low={low}, high={high}, "
                             f"step={step}; use high={fitted:.10g} or a step that divides "
                             f"{high - low:.10g}")


def out_of_range(param: Any, value: Any) -> str | None:
    """Why ``value`` cannot be taken by ``param``, or None."""
    if isinstance(param, CategoricalParameter):
        return None if any(same_choice(value, c) for c in param.choices) else \
            f"{value!r} is not one of the choices {param.choices}"
    if not isinstance(value, int | float) or isinstance(value, bool):
        return f"must be a number, but got {value!r}"
    if isinstance(param, IntParameter) and isinstance(value, float) and not value.is_integer():
        return f"must be an integer, but got {value!r}"
    if not param.low <= value <= param.high:
        return f"must be in [{param.low}, {param.high}], but got {value}"
    step = getattr(param, "step", None)
    if step is not None and not math.isclose((value - param.low) / step,
                                             round((value - param.low) / step), abs_tol=1e-9):
        return f"must be on the grid {param.low} + k * {step}, but got {value}"
    return None


def same_choice(value: Any, choice: Any) -> bool:
    """``value == choice``, except that a boolean never equals a number (Optuna would take
    ``true`` for the choice ``1``)."""
    return isinstance(value, bool) == isinstance(choice, bool) and bool(value == choice)
