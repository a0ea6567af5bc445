"""The benchmarks' own checks: the shipped surfaces are whole, their recipes reach the config, and
bench_search runs end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace as NS

import pandas as pd
import pytest

from tests.kit.surface import write_surface

ROOT = Path(__file__).resolve().parents[1]
SURFACE = ROOT / "benchmarks" / "data" / "mini_surface.csv"


def _make_surface():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import make_surface
    finally:
        sys.path.pop(0)
    return make_surface


def test_the_shipped_surface_covers_the_grid_seeds_and_epochs():
    make_surface = _make_surface()
    table = pd.read_csv(SURFACE)
    configs = table.groupby(list(make_surface.GRID)).ngroups
    assert configs == len(make_surface.configurations()) >= 48
    per_run = table.groupby([*make_surface.GRID, "seed"])["epoch"].apply(sorted)
    assert len(per_run) == configs * 3 and all(e == [1, 2, 3, 4, 5, 6] for e in per_run)
    assert table["NDS"].between(0, 1).all() and table["epoch_seconds"].gt(0).all()
    assert "Spearman" in make_surface.summary(SURFACE)


def test_recipes_fit_their_spaces_and_the_base_config():
    from mmengine.config import Config

    from aqr.mini.dataset import scene_spec
    from sweeps.space import load_space

    ms = _make_surface()
    base = Config.fromfile(str(ms.CONFIG), import_custom_modules=False)
    assert base.train_cfg.max_epochs == ms.CONFIG_EPOCHS
    cosine = base.param_scheduler[ms.COSINE]
    assert cosine.type == "CosineAnnealingLR" and cosine.T_max == ms.CONFIG_EPOCHS
    mini = ms.RECIPES["mini_surface"]
    assert (mini.grid, mini.space, mini.seeds, mini.runs, mini.table, mini.metadata) == \
        (ms.GRID, ms.DEMO, 3, ms.RUNS, ms.TABLE, ms.METADATA)
    assert mini.overrides() == {} and mini.schedule == ms.CONFIG_EPOCHS and mini is ms.MINI
    data_seeds = set()
    for name, recipe in ms.RECIPES.items():
        assert recipe.name == name and recipe.about
        space = load_space(recipe.space)
        assert list(space.parameters) == list(recipe.grid)
        for knob, values in recipe.grid.items():
            param = space.parameters[knob]
            assert all(param.low <= v <= param.high for v in values), (name, knob)
        simulate = load_space(recipe.simulate_space or recipe.space)
        assert list(simulate.parameters) == list(recipe.grid)
        assert simulate.max_epochs == recipe.schedule
        scene_spec(recipe.difficulty)                     # only fields the dataset may change
        for key in recipe.overrides():                    # the keys are there (spec is new)
            if ".spec." not in key:
                node = base
                for part in key.split("."):
                    node = node[int(part)] if isinstance(node, list) else node[part]
        if not recipe.legacy:
            assert len(ms.configurations(recipe.grid)) == 24 and recipe.seeds == 2
            assert recipe.runs == ms.RUNS / name and recipe.table == ms.DATA / f"{name}.csv"
            assert recipe.data_seed not in (None, 0, *data_seeds)
            data_seeds.add(recipe.data_seed)


def _built(ms, recipe, config=None, seed=1):
    """The config the recipe's training command builds."""
    from aqr.train import build_config, parse_args

    config = config or ms.configurations(recipe.grid)[-1]
    cmd = ms.command(config, seed, "work", recipe)
    assert cmd[1:4] == ["-m", "aqr.train", str(ms.CONFIG)]
    return build_config(parse_args(cmd[3:]))


def test_recipe_commands_reach_the_config(tmp_path):
    from mmengine.config import Config

    from aqr.mini.dataset import MiniNuScenesDataset, scene_spec
    from sweeps.space import load_space

    ms = _make_surface()
    mini = _built(ms, ms.MINI)
    assert mini.train_dataloader.dataset.seed == mini.val_dataloader.dataset.seed == 0
    assert "spec" not in mini.train_dataloader.dataset and mini.train_cfg.max_epochs == 6
    assert mini.model.pts_bbox_head.renderer_config.gaussian_sigma == 2.0
    assert mini.randomness.seed == 1

    seed7 = _built(ms, ms.RECIPES["seed7"])
    assert seed7.train_dataloader.dataset.seed == seed7.val_dataloader.dataset.seed == 7
    assert seed7.optim_wrapper.paramwise_cfg.custom_keys.aqr_weight_generator.lr_mult == 1.5

    hard = _built(ms, ms.RECIPES["hard_seed11"])
    assert hard.train_dataloader.dataset.seed == hard.val_dataloader.dataset.seed == 11
    for split in (hard.train_dataloader, hard.val_dataloader):
        assert split.dataset.spec.to_dict() == ms.HARD
    kwargs = {k: v for k, v in hard.val_dataloader.dataset.items() if k != "type"}
    dataset = MiniNuScenesDataset(**{**kwargs, "num_scenes": 2})
    assert dataset.spec == scene_spec(ms.HARD) != scene_spec()

    lr = _built(ms, ms.RECIPES["transformer_lr"])
    keys = lr.optim_wrapper.paramwise_cfg.custom_keys
    assert keys.transformer.lr_mult == 1.6 and keys.aqr_weight_generator.lr_mult == 1.5
    assert lr.model.pts_bbox_head.renderer_config.gaussian_sigma == 1.0   # the config's
    assert lr.train_dataloader.dataset.seed == 5

    # 12 epochs: max_epochs and the cosine's T_max by --cfg-options, the same config as the
    # demo_12ep space's fixed keys give a trial (its config file inherits the base and sets them)
    long12 = ms.RECIPES["long12_seed3"]
    built = _built(ms, long12)
    assert built.train_cfg.max_epochs == built.param_scheduler[ms.COSINE].T_max == 12
    assert built.train_dataloader.dataset.seed == built.val_dataloader.dataset.seed == 3
    fixed = load_space(long12.simulate_space).fixed
    trial = tmp_path / "trial_config.py"
    trial.write_text(f"_base_ = [{str(ms.CONFIG)!r}]\n"
                     + "".join(f"{k.split('.')[0]} = {_nested(k, v)!r}\n" for k, v in fixed.items()))
    from_space = Config.fromfile(str(trial), import_custom_modules=False)
    assert from_space.train_cfg.to_dict() == built.train_cfg.to_dict()
    assert [dict(s) for s in from_space.param_scheduler] == \
        [dict(s) for s in built.param_scheduler]


def _nested(key: str, value):
    """``a.b.c`` = v as the value of ``a``: ``{'b': {'c': v}}``."""
    for part in reversed(key.split(".")[1:]):
        value = {part: value}
    return value


def test_write_table_gathers_a_recipes_runs_with_how_it_was_made(tmp_path, monkeypatch):
    ms = _make_surface()
    monkeypatch.setattr(ms, "DATA", tmp_path)
    monkeypatch.setattr(ms, "RUNS", tmp_path / "surface_runs")
    recipe = ms.RECIPES["hard_seed11"]
    recipe.runs.mkdir(parents=True)
    configs = ms.configurations(recipe.grid)
    for seed in range(2):
        for i, config in enumerate(configs):
            rows = [{**config, "seed": seed, "epoch": e, "NDS": 0.1 + 0.01 * i + e / 100,
                     "mAP": 0.05, "epoch_seconds": 9.0} for e in range(1, 7)]
            (recipe.runs / f"{ms.run_name(config, seed)}.json").write_text(json.dumps(rows))
    (recipe.runs / "calls.jsonl").write_text('{"seconds": 100}\n{"seconds": 20}\n')
    assert ms.write_table(0.0, 2, 2, recipe) == 24 * 2 * 6
    table = pd.read_csv(tmp_path / "hard_seed11.csv")
    assert list(table.columns) == [*recipe.grid, "seed", "epoch", "NDS", "mAP", "epoch_seconds"]
    meta = json.loads((tmp_path / "hard_seed11.json").read_text())
    assert meta["made_by"].endswith("python benchmarks/make_surface.py --surface hard_seed11 "
                                    "--seeds 2 --jobs 2")
    assert meta["grid"] == recipe.grid and meta["seeds"] == [0, 1] and meta["runs"] == 48
    assert meta["difficulty"] == ms.HARD and meta["scene_spec"]["clutter"] == 10
    assert meta["overrides"]["val_dataloader.dataset.spec.lidar_falloff"] == 14.0
    assert meta["data_seed"] == 11 and meta["epochs"] == 6
    assert "shared machine" in meta["epoch_seconds"] and meta["generation_seconds_all_calls"] == 120
    assert meta["targets"]["aqr_lr_mult"][0].endswith("aqr_weight_generator.lr_mult")
    assert "Spearman" in ms.summary(tmp_path / "hard_seed11.csv")


@pytest.mark.parametrize("name", ["seed7", "hard_seed11", "long12_seed3", "long12_seed13",
                                  "transformer_lr", "seed17"])
def test_a_shipped_recipe_surface_is_whole_and_replays(name):
    from sweeps.simulation.surface import load_surface
    from sweeps.space import load_space

    ms = _make_surface()
    recipe = ms.RECIPES[name]
    if not recipe.table.exists():
        pytest.skip(f"{recipe.table.name} not generated yet (make_surface.py --surface {name})")
    table = pd.read_csv(recipe.table)
    assert list(table.columns) == [*recipe.grid, "seed", "epoch", "NDS", "mAP", "epoch_seconds"]
    per_run = table.groupby([*recipe.grid, "seed"])["epoch"].apply(sorted)
    assert len(per_run) == len(ms.configurations(recipe.grid)) * recipe.seeds
    assert all(e == list(range(1, recipe.schedule + 1)) for e in per_run)
    assert table["NDS"].between(0, 1).all() and table["epoch_seconds"].gt(0).all()
    meta = json.loads(recipe.metadata.read_text())
    assert meta["surface"] == name and meta["grid"] == recipe.grid
    space = load_space(recipe.simulate_space or recipe.space)
    assert load_surface(recipe.table, space).max_epochs == recipe.schedule


@pytest.mark.slow
def test_bench_search_prints_its_tables_and_last_line(tmp_path):
    """... on a surface where one run diverged (NaN from its last epochs on), and one
    configuration is missing (not a whole grid: proposals replay the nearest one there is)."""
    surface = write_surface(tmp_path / "surface.csv")
    table = pd.read_csv(surface)
    table.loc[(table.index < 6) & (table["epoch"] >= 4), "NDS"] = float("nan")
    table = table[~((table["max_weight_clamp"] == 2.0) & (table["residual_weight"] == 0.6)
                    & (table["gaussian_sigma"] == 1.0) & (table["aqr_lr_mult"] == 1.5))]
    table.to_csv(surface, index=False)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_search.py"),
                           "--surface", str(surface), "--repetitions", "4", "--jobs", "1",
                           "--peers", "ray-optuna-asha", "optuna-tpe-hyperband"],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    number = r"[+-]\d\.\d{3}"
    hours = r"(?:\d+|never)"
    assert re.fullmatch(
        rf"aqr-sweep vs best peer (ray-optuna-asha|optuna-tpe-hyperband): regret@1/4 {number} "
        rf"\[{number}, {number}\], regret@1/2 {number} \[{number}, {number}\], GPU-hours to "
        rf"regret<=0\.01: {hours} vs {hours} \((?:\d+\.\d|inf)x\)", lines[-1]), lines[-1]
    for strategy in ("aqr-sweep", "ray-optuna-asha", "optuna-tpe-hyperband"):
        assert f"| {strategy} |" in done.stdout
    assert "note: " in done.stdout and " configurations of the 36 combinations of its knobs' " \
        "values (not a whole grid)" in done.stdout
    passing = []
    for peer, other in (("ray-optuna-asha", "optuna-tpe-hyperband"),
                        ("optuna-tpe-hyperband", "ray-optuna-asha")):  # the bar: each vs the other
        row = re.search(rf"\| {peer} vs {other} \| {number} \[{number}, {number}\] \| {number} "
                        rf"\[{number}, {number}\] \| (?:\d+\.\dx|infx) \| (holds|fails) \|",
                        done.stdout)
        assert row, done.stdout
        passing += [peer] if row[1] == "holds" else []
    assert lines[-4] == bar_summary_line(passing, 2), lines[-4]


def bar_summary_line(passing: list[str], peers: int) -> str:
    return (f"the bar: {len(passing)} of {peers} peers pass the check against the best of the "
            f"others{': ' + ', '.join(passing) if passing else ''}")


def test_the_bars_line_names_the_peers_that_pass():
    from benchmarks.bench_search import bar_summary

    held, failed = (NS(holds=True), NS(holds=False))
    faced = {"a": ("b", failed), "b": ("a", held), "c": ("b", held)}
    assert bar_summary(faced) == bar_summary_line(["b", "c"], 3)
    assert bar_summary({"a": ("b", failed), "b": ("a", failed)}) == bar_summary_line([], 2)
    assert bar_summary({}) == "the bar: fewer than two peers apply, none to judge against another"


@pytest.mark.parametrize(("args", "says"), [
    (["--surface", "nope.csv"], "error: surface table not found: nope.csv (make one with `python "
     "benchmarks/make_surface.py`, or replay a finished sweep with `aqr-sweep simulate "
     "--from-sweep NAME`)"),
    (["--surface", "one.csv"], "error: one.csv: one configuration; a search benchmark needs at "
     "least 2 to choose between (vary a knob of the space)"),
    (["--repetitions", "1"], "argument --repetitions: must be at least 2, got 1"),
    (["--peers", "ray-tune"], "argument --peers: invalid choice: 'ray-tune'"),
    (["--space", str(ROOT / "search_spaces" / "lcdb.yaml"), "--surface",
      str(ROOT / "benchmarks" / "data" / "lcdb_12.csv"), "--peers", "guide-grid"],
     "error: --peers: none of guide-grid applies to lcdb.yaml and lcdb_12.csv (said above); name "
     "another peer, or leave --peers out for all"),
    (["--settings", "nope.json"], "error: --settings nope.json: No such file or directory; make "
     "it with `python benchmarks/tune_search.py`, or leave --settings out for the shipped "
     "benchmarks/data/tuned_settings.json"),
    (["--settings", "bad.json"], "error: --settings bad.json: not JSON (Expecting property name"),
    (["--settings", "list.json"], "error: --settings list.json: must map each peer to its "
     'settings, as {"ray-random-asha": {"settings": {"grace_period": 3, "reduction_factor": 2}}'),
])
def test_bench_search_refuses_bad_input_in_one_line(tmp_path, args, says):
    table = pd.read_csv(write_surface(tmp_path / "surface.csv"))
    table[(table["max_weight_clamp"] == 2.0) & (table["residual_weight"] == 0.6)
          & (table["gaussian_sigma"] == 2.0) & (table["aqr_lr_mult"] == 0.5)].to_csv(
        tmp_path / "one.csv", index=False)
    (tmp_path / "bad.json").write_text("{bad")
    (tmp_path / "list.json").write_text("[1, 2]")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_search.py"), *args],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert says in done.stderr.strip().splitlines()[-1], done.stderr[-2000:]


@pytest.mark.parametrize("mode", ["max", "min"])
def test_bench_search_describes_a_surface_whose_runs_diverged(tmp_path, mode):
    """A configuration whose every run diverged (NaN at the end) is said, not read as the best;
    the runner-up and the share within 0.01 follow the space's mode."""
    from benchmarks.bench_search import surface_line
    from sweeps.constants import Mode
    from sweeps.simulation.compare import Simulation
    from sweeps.simulation.surface import load_surface
    from sweeps.space import load_space

    surface = write_surface(tmp_path / "surface.csv")
    table = pd.read_csv(surface)
    dead = (table["max_weight_clamp"] == 1.5) & (table["residual_weight"] == 0.4) \
        & (table["gaussian_sigma"] == 1.0) & (table["aqr_lr_mult"] == 0.5)
    table.loc[dead & (table["epoch"] == 6), "NDS"] = float("nan")
    table.to_csv(surface, index=False)
    space = load_space(ROOT / "search_spaces" / "demo.yaml")
    space = space.model_copy(update={"mode": Mode(mode)})
    sim = Simulation(load_surface(surface, space), space, slots=2, budget_epochs=216)
    line = surface_line("surface.csv", sim)
    assert "nan" not in line, line
    assert re.search(rf"runner-up 0\.\d{{4}} {'below' if mode == 'max' else 'above'}", line), line
    assert "(1 with no completed run: never the best)" in line, line
    best = sim.surface.best(sim.space.mode)[1]
    assert f"best mean {best:.4f}" in line, line


def test_a_table_value_the_space_cannot_propose_is_said(tmp_path):
    from sweeps.simulation.surface import load_surface
    from sweeps.space import load_space

    space = load_space(ROOT / "search_spaces" / "demo.yaml")
    table = pd.read_csv(write_surface(tmp_path / "surface.csv"))
    assert load_surface(tmp_path / "surface.csv", space).notes(space) == []
    table.loc[table["max_weight_clamp"] == 3.0, "max_weight_clamp"] = 6.0  # the space: [1, 4]
    table.to_csv(tmp_path / "wide.csv", index=False)
    lines = load_surface(tmp_path / "wide.csv", space).notes(space)
    assert len(lines) == 1 and "max_weight_clamp: must be in [1.0, 4.0], but got 6.0" in lines[0]
    assert "replayed only by the proposals nearest to it" in lines[0]
    lcdb = load_space(ROOT / "search_spaces" / "lcdb.yaml")
    table = pd.read_csv(ROOT / "benchmarks" / "data" / "lcdb_1087.csv")
    table.loc[table["learner"] == "BernoulliNB", "learner"] = "Perceptron2"
    table.to_csv(tmp_path / "learners.csv", index=False)
    lines = load_surface(tmp_path / "learners.csv", lcdb).notes(lcdb)
    assert len(lines) == 1 and "learner: 'Perceptron2' is not one of the choices" in lines[0] \
        and "never replayed" in lines[0], lines


def test_the_gpu_hours_ratio_reads_never_as_never():
    from benchmarks.protocol import gpu_hours_ratio

    inf = float("inf")
    assert gpu_hours_ratio(100.0, 150.0) == 1.5
    assert gpu_hours_ratio(inf, 150.0) == 0.0       # only the peer gets there: we lose
    assert gpu_hours_ratio(100.0, inf) == inf       # only we do
    assert gpu_hours_ratio(inf, inf) == 1.0         # neither does
    # the answer before any training was within the target already (the current config): a
    # ratio, not a ZeroDivisionError after the whole run
    assert gpu_hours_ratio(0.0, 0.0) == 1.0 and gpu_hours_ratio(0.0, 150.0) == inf
    assert gpu_hours_ratio(0.0, inf) == inf


def test_peers_epoch_settings_fit_a_short_schedule(tmp_path):
    """A 3-epoch table: settings tuned on 6 and 12 epochs are brought within it and said (DEHB
    asserted min_fidelity < max_fidelity after every other peer had run; Ray's ASHA, grace <=
    max_t), and the run ends with its last line."""
    table = pd.read_csv(write_surface(tmp_path / "surface.csv"))
    table[table["epoch"] <= 3].to_csv(tmp_path / "short.csv", index=False)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_search.py"),
                           "--surface", "short.csv", "--repetitions", "2", "--jobs", "1",
                           "--peers", "dehb", "ray-optuna-asha"],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "dehb: min_fidelity 3 -> 2 (the table's schedule is 3 epochs)" in done.stdout
    assert "ray-optuna-asha: grace_period 3 -> 2 (the table's schedule is 3 epochs)" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("aqr-sweep vs best peer ")


@pytest.mark.slow
@pytest.mark.integration
def test_bench_scale_runs_both_sides_and_prints_its_last_line(tmp_path):
    """A small run of the scale benchmark: the real driver and Ray Tune by hand over the same
    replayed results, then status and report on the finished sweep."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_scale.py"),
                           "--trials", "6", "--root", str(tmp_path / "scale")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    seconds = r"\d+\.\d"
    assert re.fullmatch(rf"6-trial sweep: aqr-sweep {seconds} s vs Ray Tune by hand {seconds} s "
                        rf"\({seconds}x\), status {seconds} s, report {seconds} s", last), last
    assert "driver peak memory" in done.stdout and "stores: MLflow" in done.stdout


@pytest.mark.slow
def test_criterion_on_tuning_judges_the_default_and_its_ties_as_bench_search_judges_a_test():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "criterion_on_tuning.py"),
                           "--surfaces", "lcdb_12", "--repetitions", "3", "--finalists", "1",
                           "--first-repetition", "300",
                           "--jobs", "1", "--peers", "ray-random-asha", "guide-grid",
                           "optuna-tpe-hyperband"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "repetitions 300-302; aqr-sweep settings:" in out
    assert "guide-grid left out: the guide's grid needs" in out  # LCDB has no AQR knobs
    assert re.search(r"### lcdb_12 \(LCDB\): best peer ray-random-asha, regret@1/4 \d\.\d{4}", out)
    number = r"[+-]\d\.\d{3}"
    for name in ("default", "tied 1"):
        assert re.search(rf"\| {name} \| {number} \[{number}, {number}\] \| {number} \[{number}, "
                         rf"{number}\] \| (?:\d+\.\d\d|inf)x \| \d+% \| (?:holds|fails) \|", out)
        assert re.search(rf"\| {name} \| 0 of 0 \| [01] of 1 \|", out)
    summary = re.search(r"the bar: [0-2] of 2 peers pass the check against the best of the "
                        r"others(?:: (.*))?\n", out)
    assert summary, out
    passing = (summary[1] or "").split(", ")
    for peer in ("ray-random-asha", "optuna-tpe-hyperband"):  # the tally agrees with the line
        assert (f"| {peer} (the bar: against the best of the other peers) | 0 of 0 | "
                f"{int(peer in passing)} of 1 |") in out
    assert "| guide-grid (the bar: against the best of the other peers) | 0 of 0 | 0 of 0 |" in out


@pytest.mark.slow
def test_criterion_on_tuning_with_one_peer_that_applies_has_no_bar():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "criterion_on_tuning.py"),
                           "--surfaces", "lcdb_12", "--repetitions", "2", "--finalists", "0",
                           "--first-repetition", "300", "--jobs", "1",
                           "--peers", "ray-random-asha", "guide-grid", "ray-random-asha"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "the bar: fewer than two peers apply, none to judge against another" in done.stdout
    assert "| ray-random-asha (the bar: against the best of the other peers) | 0 of 0 | 0 of 0 |" \
        in done.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["--surfaces", "lcdb_12.csv"], "argument --surfaces: invalid choice: 'lcdb_12.csv'"),
    (["--first-repetition", "100"], "--first-repetition 100 draws repetitions the tuning stages "
     "chose on (they drew up to 279): start at 280 or later"),
    (["--surfaces", "hard_seed11"], "invalid choice: 'hard_seed11'"),  # a test surface
])
def test_criterion_on_tuning_refuses_bad_input_in_one_line(args, says):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "criterion_on_tuning.py"),
                           *args], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert says in done.stderr.strip().splitlines()[-1], done.stderr[-2000:]
