"""The simulator and ``aqr-sweep simulate``: surfaces read or refused, strategies run, outcomes
scored against the surface's truth, the command's table and files."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest

from sweeps.constants import Mode
from sweeps.errors import BadOptionError, MissingFileError, SurfaceError
from sweeps.simulation import strategies as S
from sweeps.simulation.compare import Simulation
from sweeps.simulation.loop import SimEnd, Step, Trace, TrialRun, best_ranked
from sweeps.simulation.outcome import outcome
from sweeps.simulation.settings import describe, parse_pruner
from sweeps.simulation.surface import Curve, Surface, load_surface
from sweeps.space import PrunerSpec, load_space
from tests.kit.surface import KNOBS, write_surface

pytestmark = pytest.mark.xdist_group("mini_sweep")  # one worker makes mini_sweep once

DEMO = Path(__file__).resolve().parents[2] / "search_spaces" / "demo.yaml"
CLI = [sys.executable, "-m", "cli"]
POINTS = [("current", {"max_weight_clamp": 1.5, "residual_weight": 0.7, "gaussian_sigma": 1.0,
                       "aqr_lr_mult": 0.5})]


@pytest.fixture(scope="module")
def space():
    return load_space(DEMO)


@pytest.fixture()
def surface_file(tmp_path):
    return write_surface(tmp_path / "surface.csv")


def test_a_named_seed_replays_the_same_curve_only_for_the_exact_params(space, surface_file):
    """aqr-sweep names every trial's seed: an exact repeat replays its curve, another seed
    another one, and proposals the table merely rounds to the same row do not share noise."""
    surface = load_surface(surface_file, space)
    draw = surface.curve_for(space, 0)
    params = surface.as_params(surface.configs[0])

    def curve(index, p, seed):
        config, c = draw(index, p, seed)
        assert config == surface.configs[0]
        return tuple(c.values)

    assert curve(0, params, 0) == curve(7, params, 0)
    assert curve(0, params, 1) != curve(0, params, 0)
    near = [{**params, "max_weight_clamp": params["max_weight_clamp"] * (1 + i / 1000)}
            for i in range(1, 21)]
    assert len({curve(0, p, 0) for p in near}) == 2  # independent draws of the row's two seeds


def test_surface_reads_every_configuration_and_knows_the_best(space, surface_file):
    surface = load_surface(surface_file, space)
    assert len(surface.configs) == math.prod(len(v) for v in KNOBS.values())
    best, value = surface.best(Mode.MAX)
    assert surface.as_params(best) == {"max_weight_clamp": 2.0, "residual_weight": 0.6,
                                       "gaussian_sigma": 2.0, "aqr_lr_mult": 0.5}
    assert value == pytest.approx(surface.true_final(best))
    # nearest per knob, on the log scale for the log-scaled lr_mult (0.9 is nearer 1.5 in log)
    near = surface.nearest({"max_weight_clamp": 2.4, "residual_weight": 0.31,
                            "gaussian_sigma": 1.6, "aqr_lr_mult": 0.9}, space)
    assert surface.as_params(near) == {"max_weight_clamp": 2.0, "residual_weight": 0.4,
                                       "gaussian_sigma": 2.0, "aqr_lr_mult": 1.5}


def test_surface_problems_are_one_line_naming_the_fix(space, tmp_path, surface_file):
    with pytest.raises(MissingFileError, match="make_surface.py"):
        load_surface(tmp_path / "nope.csv", space)
    frame = pd.read_csv(surface_file)
    frame.drop(columns=["gaussian_sigma"]).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(SurfaceError, match="no column 'gaussian_sigma'"):
        load_surface(tmp_path / "a.csv", space)
    frame.drop(columns=["NDS"]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(SurfaceError, match="no column for the metric"):
        load_surface(tmp_path / "b.csv", space)
    pd.concat([frame.assign(batch=8), frame.assign(batch=16)]).to_csv(tmp_path / "c.csv",
                                                                       index=False)
    with pytest.raises(SurfaceError, match=r"c.csv: lines 2 and \d+ are the same configuration, "
                                           "seed and epoch with another batch: a table has one "
                                           "row each; if it varies a column the space does not "
                                           "search, add it"):
        load_surface(tmp_path / "c.csv", space)
    pd.concat([frame, frame.head(1).assign(NDS=0.99)]).to_csv(tmp_path / "c2.csv", index=False)
    with pytest.raises(SurfaceError, match=r"lines 2 and \d+ .* with another NDS: "):
        load_surface(tmp_path / "c2.csv", space)     # not "one of mAP": NDS is what differs
    frame.head(0).to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(SurfaceError, match="e.csv: no rows"):
        load_surface(tmp_path / "e.csv", space)
    (tmp_path / "d.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SurfaceError):
        load_surface(tmp_path / "d.csv", space)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda f: f.astype({"NDS": object}).assign(NDS=lambda g: g.NDS.where(g.index != 10, "abc")),
     "line 12, column 'NDS': 'abc' is not a number"),
    (lambda f: f.assign(seed=f.seed.where(f.index != 3, 0.5)),
     "line 5, column 'seed': 0.5 is not a whole number"),
    (lambda f: f.assign(epoch=f.epoch.where(f.index != 3, None)), "line 5, column 'epoch': is empty"),
    (lambda f: f.assign(gaussian_sigma=f.gaussian_sigma.where(f.index != 7, None)),
     "line 9, column 'gaussian_sigma': is empty"),
    (lambda f: pd.concat([f, f.iloc[[4]]], ignore_index=True), r"repeats line 6 exactly"),
    (lambda f: f.drop(index=2), "has no row for epoch 3; a run has one row per epoch"),
    (lambda f: f.assign(epoch=f.epoch - 1), "starts at epoch 0"),
    (lambda f: f.assign(NDS=f.NDS.where(f.index != 6, float("-inf"))),
     r"line 8, column 'NDS': -inf is not a finite number \(a run that diverged is NaN\)"),
    (lambda f: f.assign(epoch_seconds=f.epoch_seconds.where(f.index != 2, -1.0)),
     r"line 4, column 'epoch_seconds': -1.0 is negative"),
    (lambda f: f.assign(epoch_seconds=f.epoch_seconds.where(f.index != 2, float("inf"))),
     r"line 4, column 'epoch_seconds': inf is not a finite number$"),
])
def test_a_bad_cell_or_row_is_named_by_its_line(space, tmp_path, surface_file, edit, message):
    """A table's own mistakes (a word for a number, an infinite value, negative seconds, an empty
    cell, a repeated or missing row) are one line naming where, not a traceback or a silently
    shifted curve."""
    edit(pd.read_csv(surface_file)).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SurfaceError, match=message):
        load_surface(tmp_path / "bad.csv", space)


def test_a_table_longer_than_the_schedule_is_refused_or_taken_as_the_schedule(space, tmp_path):
    """A 12-epoch table against the demo's 6-epoch space: refused (its truth would be read at
    epoch 12 and its trials stopped at 6), or, for a benchmark, replayed as a 12-epoch one; a
    run that diverged (NaN) does not make its configuration's truth NaN."""
    table = pd.read_csv(write_surface(tmp_path / "long.csv", epochs=12))
    table.loc[(table.index < 12) & (table["epoch"] >= 10), "NDS"] = float("nan")
    table.to_csv(tmp_path / "long.csv", index=False)
    with pytest.raises(SurfaceError, match=r"long.csv: its curves run 12 epochs, past the "
                                           r"space's max_epochs \(6\); replay it with a space "
                                           r"whose max_epochs is 12 and whose training runs 12 "
                                           r"epochs \(for the mini task: search_spaces/"
                                           r"demo_12ep.yaml runs 12\)"):
        load_surface(tmp_path / "long.csv", space)
    surface = load_surface(tmp_path / "long.csv", space, table_schedule=True)
    assert surface.max_epochs == 12
    first = surface.configs[0]
    finals = table[(table["epoch"] == 12) & table["NDS"].notna()].groupby(list(KNOBS))["NDS"]
    assert surface.true_final(first) == pytest.approx(finals.mean()[first])
    assert len(finals.count()) == len(surface.configs) and finals.count()[first] == 1


def test_a_table_that_is_not_a_whole_grid_replays_the_nearest_configuration(space, tmp_path,
                                                                          surface_file):
    """24 configurations drawn from a grid (not every combination): a proposal whose per-knob
    nearest combination has no curve replays the tabulated configuration nearest over all knobs,
    and the notes say the table is not a whole grid."""
    frame = pd.read_csv(surface_file)
    whole = load_surface(surface_file, space)
    index = {k: {v: i for i, v in enumerate(vs)} for k, vs in whole.knob_values.items()}
    kept = [c for c in whole.configs  # a checkerboard: half of every knob's values' rows
            if sum(index[k][v] for k, v in zip(whole.knobs, c, strict=True)) % 2 == 0]
    frame[frame[list(KNOBS)].apply(tuple, axis=1).isin(kept)].to_csv(tmp_path / "part.csv",
                                                                     index=False)
    part = load_surface(tmp_path / "part.csv", space)
    assert sorted(part.configs) == sorted(kept)
    (note,) = part.notes(space)
    assert note.endswith(f"part.csv: {len(kept)} configurations of the {len(whole.configs)} "
                         "combinations of its knobs' values (not a whole grid): a proposal "
                         "replays the nearest tabulated configuration")
    for config in whole.configs:
        params = whole.as_params(config)
        near = part.nearest(params, space)
        assert near == config if config in kept else near in kept
    # the gap: a missing row's nearest is the kept one one step away on the fewest knobs
    missing = next(c for c in whole.configs if c not in kept)
    near = part.nearest(whole.as_params(missing), space)
    assert sum(a != b for a, b in zip(near, missing, strict=True)) == 1


def test_a_partial_grid_with_a_categorical_knob_counts_a_choice_as_one_step():
    from sweeps.space import SweepSpace

    space = SweepSpace.model_validate({"name": "t", "base_config": "c.py", "max_epochs": 2,
                                       "parameters": {
        "a": {"type": "categorical", "choices": ["x", "y"], "targets": ["a"]},
        "b": {"type": "float", "low": 0.1, "high": 1.0, "log": True, "targets": ["b"]}}})
    curve = Curve([0.1, 0.2], [1, 1])
    surface = Surface(["a", "b"], {("x", 0.1): {0: curve}, ("y", 1.0): {0: curve}}, 2, "t")
    assert surface.nearest({"a": "x", "b": 0.9}, space) == ("x", 0.1)   # the span's 0.95 < 1
    assert surface.nearest({"a": "y", "b": 0.11}, space) == ("y", 1.0)


def test_knob_values_a_space_cannot_use(space, tmp_path, surface_file):
    """A knob's cell that is not a number is named by its line; float noise in a value is the
    grid's value; a value 0 or below on a log-scaled knob is never replayed (not NaN-nearest to
    everything), and the note says so."""
    frame = pd.read_csv(surface_file)
    frame.astype({"max_weight_clamp": object}).assign(
        max_weight_clamp=lambda f: f.max_weight_clamp.where(f.index != 4, "1.5x")).to_csv(
        tmp_path / "word.csv", index=False)
    with pytest.raises(SurfaceError, match=r"line 6, column 'max_weight_clamp': '1.5x' is not a "
                                           "number"):
        load_surface(tmp_path / "word.csv", space)
    value = frame.loc[3, "residual_weight"]
    frame.assign(residual_weight=frame.residual_weight.where(frame.index != 3, value + 1e-13)) \
        .to_csv(tmp_path / "noise.csv", index=False)
    assert sorted(load_surface(tmp_path / "noise.csv", space).configs) == \
        sorted(load_surface(surface_file, space).configs)
    low = min(KNOBS["aqr_lr_mult"])
    for bad in (0.0, -1.0):
        frame.assign(aqr_lr_mult=frame.aqr_lr_mult.replace(low, bad)).to_csv(
            tmp_path / "neg.csv", index=False)
        surface = load_surface(tmp_path / "neg.csv", space)
        (note,) = surface.notes(space)
        assert "aqr_lr_mult" in note and note.endswith("never replayed)"), note
        for config in surface.configs:
            params = {**surface.as_params(config), "aqr_lr_mult": 0.1}  # the space's low end
            assert surface.as_params(surface.nearest(params, space))["aqr_lr_mult"] > 0


def test_a_table_whose_runs_all_diverged_says_so(space, tmp_path, surface_file):
    pd.read_csv(surface_file).assign(NDS=float("nan")).to_csv(tmp_path / "nan.csv", index=False)
    with pytest.raises(SurfaceError, match=r"nan.csv: no run reaches epoch \d+ \(the schedule\) "
                                           "with a number, so nothing is known to be best: every "
                                           "run's final value is NaN or empty"):
        load_surface(tmp_path / "nan.csv", space)


def test_pruner_settings_parse_and_refuse_clearly():
    assert describe(parse_pruner("median:warmup_epochs=2")) == \
        "median:warmup_epochs=2,startup_trials=2"
    assert parse_pruner("asha:reduction_factor=2").options == {"reduction_factor": 2}
    with pytest.raises(BadOptionError, match="type"):
        parse_pruner("medain")
    with pytest.raises(BadOptionError, match="not KEY=VALUE"):
        parse_pruner("median:2")


def test_pruning_strategies_stop_trials_and_ours_tells_optuna_pruned(space, surface_file):
    space = space.model_copy(update={"pruner": PrunerSpec(type="median")})
    surface = load_surface(surface_file, space)
    strategy = S.aqr_sweep(space, POINTS)
    searcher, scheduler = strategy.build(0)
    sim = Simulation(surface, space, slots=1, max_trials=12)
    trace = sim.run(S.Strategy("probe", lambda r: (searcher, scheduler), strategy.recommend), 0)
    stopped = [t for t in trace.trials if t.end == SimEnd.STOPPED]
    assert stopped, "the median pruner stopped nothing"
    states = [t.state for t in searcher.study.trials]
    assert states.count(optuna.trial.TrialState.PRUNED) == len(stopped)
    assert states.count(optuna.trial.TrialState.COMPLETE) == len(trace.trials) - len(stopped)


def test_outcome_scores_against_the_truth_not_the_lucky_seed():
    curves = {("good",): {0: Curve([0.1, 0.5], [1, 1]), 1: Curve([0.1, 0.5], [1, 1])},
              ("lucky",): {0: Curve([0.1, 0.6], [1, 1]), 1: Curve([0.1, 0.2], [1, 1])}}
    surface = Surface(["k"], curves, 2, "test")
    lucky = TrialRun(0, {}, ("lucky",), curves[("lucky",)][0], 0.0, [0.1, 0.6], SimEnd.COMPLETED, 2.0)
    good = TrialRun(1, {}, ("good",), curves[("good",)][0], 2.0, [0.1], SimEnd.STOPPED, 3.0)
    trace = Trace([lucky, good], [Step(1, 1, None), Step(2, 2, ("lucky",)),
                                  Step(3, 3, ("lucky",))])
    scored = outcome(trace, surface, Mode.MAX)
    assert scored.recommended == ("lucky",)
    assert scored.regret == pytest.approx(0.5 - 0.4)         # its mean over seeds is 0.4
    assert scored.epochs_to_target is None and scored.stopped_best
    early = outcome(trace, surface, Mode.MAX, budget=1)
    assert early.recommended is None and math.isnan(early.regret) and not early.stopped_best


def _simulate(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "simulate", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.mark.slow
def test_simulate_command_prints_each_setting_and_writes_table_and_plot(tmp_path, surface_file):
    """... and says which of the table's values the space cannot propose."""
    frame = pd.read_csv(surface_file)
    frame.loc[frame["aqr_lr_mult"] == 1.5, "aqr_lr_mult"] = 3.0  # the space: [0.1, 2.0]
    frame.to_csv(surface_file, index=False)
    done = _simulate(str(DEMO), "--surface", str(surface_file), "--repetitions", "2",
                     "--pruner", "none", "--pruner", "asha:reduction_factor=2",
                     "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "note: " in done.stdout and "aqr_lr_mult: must be in [0.1, 2.0], but got 3.0" in \
        done.stdout.replace("\n", " ").replace("  ", " ")
    for setting in ("(the space's)", "none", "asha:warmup_epochs=1,reduction_factor=2"):
        assert setting in done.stdout
    table = pd.read_csv(tmp_path / "out" / "settings.csv")
    assert list(table["setting"])[1:] == ["none", "asha:warmup_epochs=1,reduction_factor=2"]
    none = table.iloc[1]
    assert none["gpu_hours"] == 10 * 6 * 16.0            # 10 trials, all trained in full
    assert none["stopped_winner"] == 0.0
    assert (tmp_path / "out" / "settings.png").stat().st_size > 10_000


@pytest.mark.parametrize("args, message", [
    ([], "either SPACE --surface TABLE, or --from-sweep NAME"),
    (["--surface", "x.csv"], "needs the SPACE"),
    ([str(DEMO), "--surface", "missing.csv"], "surface table not found: missing.csv"),
    ([str(DEMO), "--surface", "{surface}", "--pruner", "median:foo=1"],
     "--pruner 'median:foo=1': MedianPruner"),
    (["--from-sweep", "nothing"], "nothing"),
    ([str(DEMO), "--surface", "{short}"], "no run reaches epoch 6 (the schedule) with a number, "
                                          "so nothing is known to be best: its curves run 2 "
                                          "epochs; replay it with a space whose max_epochs is 2"),
    ([str(DEMO), "--surface", "{empty}"], "not a CSV table"),
    ([str(DEMO), "--surface", str(DEMO)], "demo.yaml: not a CSV table (Error tokenizing data."),
    ([str(DEMO), "--surface", "{surface}", "--gpu-hours-per-epoch", "inf"],
     "--gpu-hours-per-epoch must be a finite number of hours, but got inf"),
])
def test_simulate_refuses_bad_input_in_one_line(tmp_path, surface_file, args, message):
    frame = pd.read_csv(surface_file)
    frame[frame["epoch"] < 3].to_csv(tmp_path / "short.csv", index=False)
    (tmp_path / "empty.csv").write_text("")
    files = {"{surface}": surface_file, "{short}": tmp_path / "short.csv",
             "{empty}": tmp_path / "empty.csv"}
    for key, path in files.items():
        args = [str(path) if a == key else a for a in args]
    done = _simulate(*args, cwd=tmp_path, env={"AQR_SWEEP_ROOT": str(tmp_path / "runs")})
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.slow
def test_simulate_from_a_finished_sweep_replays_its_trials_in_order(tmp_path, monkeypatch):
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    from sweeps.constants import TrialAttr
    from sweeps.store.create import create_sweep
    from sweeps.store.study import open_study
    from tests.kit.spaces import write_space

    monkeypatch.setenv("AQR_SWEEP_ROOT", str(tmp_path / "runs"))
    space = write_space(tmp_path, "done", max_epochs=3, pruner={
        "type": "median", "warmup_epochs": 0, "startup_trials": 1})
    sweep, spec, _ = create_sweep(space, check_base_config=False)
    study = open_study(spec, sweep)
    dist = {"x": FloatDistribution(0.1, 1.0)}
    for x, values, state in ((0.5, [0.5, 1.0, 1.5], "COMPLETE"), (0.9, [0.9, 1.8, 2.7], "COMPLETE"),
                             (0.1, [0.1], "PRUNED"), (0.8, [0.8, 1.6, 2.4], "COMPLETE")):
        study.add_trial(create_trial(
            params={"x": x}, distributions=dist, state=optuna.trial.TrialState[state],
            value=values[-1] if state == "COMPLETE" else None,
            intermediate_values=dict(enumerate(values, start=1)),
            user_attrs={TrialAttr.PRUNED_AT_EPOCH: 1} if state == "PRUNED" else {}))
    done = _simulate("--from-sweep", "done", "--pruner", "none", "--gpu-hours-per-epoch", "1",
                     "--out", str(tmp_path / "out"), cwd=tmp_path,
                     env={"AQR_SWEEP_ROOT": str(tmp_path / "runs")})
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(tmp_path / "out" / "settings.csv").set_index("setting")
    own = table.loc["median:warmup_epochs=0,startup_trials=1 (the space's)"]
    assert own["gpu_hours"] == 3 + 3 + 1 + 3 and own["best_NDS"] == pytest.approx(2.7)
    assert own["past_data"] == 0
    none = table.loc["none"]       # goes on with the pruned trial: at least 10, at most 12
    assert none["gpu_hours"] == 10 and none["gpu_hours_unknown"] == 2 and none["past_data"] == 1
    assert "10 to 12" in done.stdout


@pytest.mark.slow
def test_simulate_runs_on_the_shipped_surface_and_on_a_real_finished_sweep(tmp_path, mini_sweep):
    shipped = DEMO.parents[1] / "benchmarks" / "data" / "mini_surface.csv"
    done = _simulate(str(DEMO), "--surface", str(shipped), "--repetitions", "2", "--pruner",
                     "none", "--out", str(tmp_path / "surface"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    flat = " ".join(done.stdout.split())
    assert "gaussian_sigma=2," in flat and "aqr_lr_mult=1.5 (NDS 0.3501)" in flat   # the winner
    env = {"AQR_SWEEP_ROOT": str(mini_sweep["root"] / "runs")}
    done = _simulate("--from-sweep", "mini", "--pruner", "none", "--out", str(tmp_path / "sweep"),
                     cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    table = pd.read_csv(tmp_path / "sweep" / "settings.csv")
    assert list(table["setting"])[1] == "none" and (tmp_path / "sweep" / "settings.png").exists()


def test_the_simulated_answer_is_export_bests_over_every_run_so_far():
    def run(index: int, x: float, values: list[float], end: SimEnd | None) -> TrialRun:
        return TrialRun(index, {"x": x}, (x,), Curve(values, [1.0] * len(values)), 0.0,
                        values=values, end=end)

    done = run(0, 0.1, [0.1, 0.2, 0.30], SimEnd.COMPLETED)
    stopped = run(1, 0.2, [0.1, 0.25], SimEnd.STOPPED)
    assert best_ranked([stopped], 3, Mode.MAX) is None        # nothing completed: no answer
    assert best_ranked([done, stopped], 3, Mode.MAX) == (0.1,)
    leading = run(2, 0.3, [0.2, 0.33], None)                  # running, already above 0.30
    assert best_ranked([done, stopped, leading], 3, Mode.MAX) == (0.3,)


def test_the_simulated_answer_ranks_with_the_spaces_pessimism(space):
    def run(index: int, x: float, final: float) -> TrialRun:
        return TrialRun(index, {"x": x}, (x,), Curve([final], [1.0]), 0.0, values=[final],
                        end=SimEnd.COMPLETED)

    trials = [run(0, 0.2, 0.30), run(1, 0.2, 0.34), run(2, 0.7, 0.335)]   # a twice, b once
    for pessimism, answer in ((1.5, (0.7,)), (2.0, (0.2,))):
        confirm = space.confirm.model_copy(update={"pessimism": pessimism})
        sp = space.model_copy(update={"search": space.search.model_copy(
            update={"confirm": confirm})})
        assert S.aqr_sweep(sp, []).recommend(trials, 1, Mode.MAX) == answer
