"""The peers' libraries come with the ``bench`` extra: a test that needs one skips, naming it,
where the extra is not installed (CI installs it, so there these tests run)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def or_skip(make: Callable[[], T]) -> T:
    """``make()``, or a skip with its ImportError's message (which says to install the extra)."""
    try:
        return make()
    except ImportError as err:
        pytest.skip(str(err))
