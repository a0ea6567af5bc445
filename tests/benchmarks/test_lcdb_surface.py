"""The surface nobody here designed: LCDB's learning curves as a table (the learner one
categorical knob, training-set size the fidelity), and every strategy replaying it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.contenders import OURS, Arena, Contender, build
from benchmarks.make_lcdb_surface import DRAWN, LONG_DRAWN, TUNING_DRAWN, draw
from benchmarks.peers import PEERS, make_peer, run_peer
from sweeps.simulation.compare import Simulation
from sweeps.simulation.surface import load_surface
from sweeps.space import CategoricalParameter, load_space
from tests.kit.bench_extra import or_skip

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "search_spaces" / "lcdb.yaml"
SHIPPED = ROOT / "benchmarks" / "data" / "lcdb_1087.csv"
LEARNERS = list(load_space(SPACE).parameters["learner"].choices)
SIZES = [16, 23, 32, 45, 64, 91, 128, 181, 256, 362]


def lcdb_table(path: Path) -> Path:
    """An LCDB-format accuracy table: dataset 1 has every learner at 10 sizes under outer seeds
    0 and 1 (and an inner seed 1 to leave out); dataset 2 misses a learner; dataset 3 has one
    learner fail (NaN) at the two largest sizes."""
    rows = []
    for openmlid in (1, 2, 3):
        for k, learner in enumerate(LEARNERS):
            if openmlid == 2 and k == 0:
                continue
            for outer in (0, 1, 2):
                for inner in (0, 1):
                    for i, size in enumerate(SIZES):
                        score = 0.5 + 0.02 * k + 0.01 * i + 0.001 * outer
                        if openmlid == 3 and k == 5 and i >= 8:
                            score = float("nan")
                        rows.append((openmlid, f"sklearn.x.{learner}", size, 100, outer, inner,
                                     0.01 * size, 1.0, score, score))
    pd.DataFrame(rows, columns=["openmlid", "learner", "size_train", "size_test", "outer_seed",
                                "inner_seed", "traintime", "score_train", "score_valid",
                                "score_test"]).to_csv(path, index=False)
    return path


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_lcdb_surface.py"),
                           *args], capture_output=True, text=True, cwd=ROOT)


def test_a_dataset_becomes_a_surface_of_the_largest_common_sizes(tmp_path):
    source = lcdb_table(tmp_path / "database-accuracy.csv")
    done = make("--source", str(source), "--openmlid", "1", "3", "--anchors", "8",
                "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "lcdb_1.csv")
    assert list(table.columns) == ["learner", "seed", "epoch", "accuracy", "epoch_seconds"]
    assert set(table.learner) == set(LEARNERS) and set(table.seed) == {0, 1}
    assert len(table) == len(LEARNERS) * 2 * 8
    meta = json.loads((tmp_path / "lcdb_1.json").read_text())
    assert meta["epochs"] == {str(k + 1): s for k, s in enumerate(SIZES[2:])}  # the 8 largest
    assert meta["best"] == LEARNERS[-1]
    # dataset 3: a learner failed at the two largest sizes, so the 8 common ones end at 181
    assert json.loads((tmp_path / "lcdb_3.json").read_text())["epochs"]["8"] == 181
    surface = load_surface(tmp_path / "lcdb_1.csv", load_space(SPACE))
    assert surface.knob_values["learner"] == sorted(LEARNERS)


def test_a_dataset_without_every_learner_is_refused_by_name(tmp_path):
    source = lcdb_table(tmp_path / "database-accuracy.csv")
    done = make("--source", str(source), "--openmlid", "2", "--out", str(tmp_path))
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("--openmlid 2: not all 20 learners")
    missing = make("--source", str(tmp_path / "nope.csv"), "--out", str(tmp_path))
    assert "--source: no such file" in missing.stderr


@pytest.fixture(scope="module")
def arena():
    space, points, whole = Arena(SPACE, SHIPPED).load()
    assert isinstance(space.parameters["learner"], CategoricalParameter)
    return space, points, Simulation(whole.surface, space, slots=2, budget_epochs=48)


@pytest.mark.parametrize("name", [OURS, *(p for p in PEERS if p != "guide-grid")])
def test_every_strategy_searches_the_categorical_knob(arena, name):
    """Each peer's own space conversion takes the one categorical knob, and every trial replays
    a tabulated learner."""
    space, points, sim = arena
    strategy = or_skip(lambda: build(Contender(name, None if name == OURS else name), space,
                                     points))
    trace = run_peer(strategy, sim, 0)
    assert trace.epochs == 48
    assert {t.config for t in trace.trials} <= set(sim.surface.curves)
    assert len({t.params["learner"] for t in trace.trials}) >= 3
    assert trace.steps[-1].recommended in sim.surface.curves


def test_the_guides_grid_says_it_needs_the_aqr_knobs(arena):
    space, points, _ = arena
    with pytest.raises(ValueError, match="the guide's grid needs the numeric parameter "
                                         "'max_weight_clamp'"):
        make_peer("guide-grid", space, points, {})


def test_the_tuning_draw_is_fixed_and_apart_from_the_test_one(tmp_path):
    pool = list(range(100, 175))
    test, _ = draw(pool, tuning=False, base_pool=pool)
    tuning, how = draw(pool, tuning=True, base_pool=pool)
    assert len(test) == DRAWN and len(tuning) == TUNING_DRAWN and not set(test) & set(tuning)
    assert draw(pool, tuning=True, base_pool=pool)[0] == tuning and f"test ones {test}" in how
    # a longer fidelity: fewer datasets qualify; the extra tuning ones are none of the above
    longer = [i for i in pool if i % 3]
    extra, how = draw(longer, tuning=True, base_pool=pool)
    assert len(extra) == LONG_DRAWN and set(extra) <= set(longer)
    assert not set(extra) & (set(test) | set(tuning)) and "at 8 anchors" in how
    both = make("--openmlid", "1", "--tuning", "--out", str(tmp_path))
    assert both.returncode != 0 and "not allowed with argument" in both.stderr
