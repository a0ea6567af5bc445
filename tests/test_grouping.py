"""The xdist scheduler of ``tests/conftest.py`` groups test modules by the ``xdist_group`` it reads
from their source: it must read the group every collected test is marked with."""

from __future__ import annotations

from tests.conftest import group_of


def test_every_test_s_xdist_group_is_the_one_the_scheduler_reads(request):
    root = request.config.rootpath
    for item in request.session.items:
        names = {mark.args[0] if mark.args else mark.kwargs.get("name", "default")
                 for mark in item.iter_markers("xdist_group")}
        path = item.nodeid.split("::", 1)[0]
        if names:
            assert {group_of(root, path)} == names, item.nodeid
        else:
            assert group_of(root, path) == path, item.nodeid
