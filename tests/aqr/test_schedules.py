import math

import pytest

from aqr.runtime.schedules import build_schedule


def test_constant_and_bare_number():
    assert build_schedule({"type": "constant", "value": 0.7}).value(13) == 0.7
    assert build_schedule(1.5).value(0) == 1.5


def test_staged():
    s = build_schedule({"type": "staged", "stages": [[0, 3.0], [9, 2.0], [17, 1.5]]})
    assert [s.value(e) for e in (0, 8, 8.99, 9, 16, 17, 30)] == [3.0, 3.0, 3.0, 2.0, 2.0, 1.5, 1.5]


def test_cosine_with_warmup():
    s = build_schedule({"type": "cosine", "start": 0.7, "end": 0.4, "warmup_epochs": 5,
                        "total_epochs": 24})
    assert s.value(0) == 0.7 and s.value(5) == 0.7
    assert s.value(14.5) == pytest.approx(0.55)  # half way: (0.7 + 0.4) / 2
    assert s.value(10) == pytest.approx(0.4 + 0.3 * 0.5 * (1 + math.cos(math.pi * 5 / 19)))
    assert s.value(24) == pytest.approx(0.4) and s.value(40) == pytest.approx(0.4)


@pytest.mark.parametrize("spec, msg", [
    ({"type": "linear"}, "schedule type must be one of"),
    ({"type": "staged", "stages": [[1, 2.0]]}, "start at epoch 0"),
    ({"type": "staged", "stages": [[0, 2.0], [0, 1.0]]}, "strictly increasing"),
    ({"type": "cosine", "start": 1, "end": 0, "warmup_epochs": 5, "total_epochs": 5},
     "total_epochs must be greater"),
    ({"type": "constant", "val": 1}, "bad arguments for the 'constant' schedule"),
])
def test_bad_specs(spec, msg):
    with pytest.raises(ValueError, match=msg):
        build_schedule(spec)
