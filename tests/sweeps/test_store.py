"""The sweep folder: a sweep's name is one safe folder under the sweeps' root."""

from __future__ import annotations

import pytest

from sweeps.errors import BadNameError, UserError
from sweeps.store.sweep_dir import SweepDir, name_problem


@pytest.mark.parametrize("name", [".", "..", "../x", "a/../../x", "/tmp/x", "a/b", "", " a",
                                  "a b", "-x", ".hidden", "x" * 101, "café", "a\nb", "a\0b"])
def test_a_name_that_is_not_one_safe_folder_is_refused(tmp_path, name):
    with pytest.raises(BadNameError, match="must be one folder name") as err:
        SweepDir(name, tmp_path)
    assert isinstance(err.value, UserError) and "pick a name like my_sweep" in str(err.value)
    assert name_problem(name) is not None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["demo", "cmt_aqr_r50", "sweep-2.v1", "0", "A" * 100])
def test_safe_names_stay_under_the_root(tmp_path, name):
    sweep = SweepDir(name, tmp_path)
    assert sweep.path == tmp_path / name and sweep.path.parent == tmp_path
    assert name_problem(name) is None


def test_a_name_that_is_not_a_string_is_refused():
    assert "but got None" in name_problem(None)
