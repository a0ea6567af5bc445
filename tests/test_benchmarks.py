"""The benchmarks' own checks: the shipped surface is whole, and bench_search runs end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.kit.surface import write_surface

ROOT = Path(__file__).resolve().parents[1]
SURFACE = ROOT / "benchmarks" / "data" / "mini_surface.csv"


def test_the_shipped_surface_covers_the_grid_seeds_and_epochs():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import make_surface
    finally:
        sys.path.pop(0)
    table = pd.read_csv(SURFACE)
    configs = table.groupby(list(make_surface.GRID)).ngroups
    assert configs == len(make_surface.configurations()) >= 48
    per_run = table.groupby([*make_surface.GRID, "seed"])["epoch"].apply(sorted)
    assert len(per_run) == configs * 3 and all(e == [1, 2, 3, 4, 5, 6] for e in per_run)
    assert table["NDS"].between(0, 1).all() and table["epoch_seconds"].gt(0).all()
    assert "Spearman" in make_surface.summary(SURFACE)


@pytest.mark.slow
def test_bench_search_quick_prints_its_tables_and_last_line(tmp_path):
    surface = write_surface(tmp_path / "surface.csv")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_search.py"),
                           "--surface", str(surface), "--quick"], capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith("aqr-sweep vs Ray OptunaSearch+ASHA, epochs to within 0.005 of "
                                "best: ") and lines[-1].endswith("x")
    for strategy in ("Ray OptunaSearch+ASHA", "Ray random+ASHA", "Optuna TPE, no pruning",
                     "random, full budget", "guide grid (clamp x residual)"):
        assert done.stdout.count(f"| {strategy} |") == 4        # one row per budget
