"""How tune_search picks a setting: each family of tuning surfaces weighs the same in the
objective; objectives within the noise (TIE) of the best are a tie, broken by the share of the
budget until within 0.01, then by the regret over all budgets; aqr-sweep's winner must confirm;
--near-best re-runs only the settings that can still win (within FINALISTS; those it never ran
among them), on fresh repetitions when told where to start; --new only those with no result on
the repetitions run (a grown grid's first stage, or a second stage's new finalists, the choice
then read off the whole stage); --tied only those the last stage tied; and the shipped spaces state
the winner."""

from __future__ import annotations

import json

import pytest

from benchmarks.contenders import OURS, Arena, Contender, ours_space, run_all
from benchmarks.tune_search import (
    FINALISTS,
    OURS_GRID,
    OUT,
    SPACES,
    TIE,
    TUNING,
    Row,
    all_budgets,
    confirms,
    describe,
    merged_grid,
    near_best,
    not_run,
    objective,
    stage_rows,
    tied,
    to_target,
    winner,
)
from sweeps.space import SweepSpace, load_space
from sweeps.space.specs import ConfirmSpec


def row(objective: float, share: float, over_all: float, **settings) -> Row:
    return Row(objective, share, over_all, Contender(str(settings), None, settings))


def test_each_family_of_surfaces_weighs_the_same_whatever_its_size():
    sizes = {family: len(pairs) for family, pairs in TUNING.items()}
    assert len(sizes) == 2 and sizes["mini task"] < sizes["LCDB"]
    mini = {surface.name for _, surface in TUNING["mini task"]}
    regrets = {surface.name: (0.08, 0.04, 0.02, 0.01) if surface.name in mini else (0, 0, 0, 0)
               for pairs in TUNING.values() for _, surface in pairs}
    assert objective(regrets) == pytest.approx((0.04 + 0.02) / 2)
    assert all_budgets(regrets) == pytest.approx(0.15 / 2)
    shares = {surface.name: 0.8 if surface.name in mini else 0.4
              for pairs in TUNING.values() for _, surface in pairs}
    assert to_target(shares) == pytest.approx((0.8 + 0.4) / 2)


def test_a_tie_within_the_noise_goes_to_the_soonest_within_target_then_over_all_budgets():
    on = {"top_k": 2, "seeds": 1}
    rows = [row(0.0200, 0.3, 0.050, confirm={"top_k": 0, "seeds": 0}),  # best, does not confirm
            row(0.0229, 0.50, 0.054, confirm=on, pruner="a"),
            row(0.0229 + TIE / 2, 0.45, 0.060, confirm=on, pruner="b"),  # a tie, sooner
            row(0.0229 + TIE / 2, 0.45, 0.058, confirm=on, pruner="d"),  # as soon, lower overall
            row(0.0229 + 2 * TIE, 0.20, 0.030, confirm=on, pruner="c")]  # sooner, but no tie
    assert winner(rows, confirms).contender.settings["pruner"] == "d"
    assert winner(rows, lambda _: True).contender.settings["confirm"]["top_k"] == 0


def test_tied_reruns_only_the_settings_the_last_stage_tied():
    grid = [{"g": 1}, {"g": 2}, {"g": 3}, {"g": 4}]
    chosen = {"p": {"repetitions": [40, 160], "grid": [
        {"settings": {"g": 1}, "objective": 0.030, "repetitions": [40, 160]},
        {"settings": {"g": 2}, "objective": 0.030 + TIE / 2, "repetitions": [40, 160]},
        {"settings": {"g": 3}, "objective": 0.030 + 2 * TIE, "repetitions": [40, 160]},
        {"settings": {"g": 4}, "objective": 0.020, "repetitions": [0, 40]}]}}  # stage 1 only
    assert tied("p", grid, chosen) == [{"g": 1}, {"g": 2}]
    assert tied("p", grid, chosen, lambda s: s["g"] != 1) == [{"g": 2}]   # the best eligible


def test_near_best_keeps_only_the_settings_that_can_still_win():
    grid = [{"g": 1}, {"g": 2}, {"g": 3}]
    chosen = {"p": {"grid": [{"settings": {"g": 1}, "objective": 0.030},
                             {"settings": {"g": 2}, "objective": 0.030 + FINALISTS / 2},
                             {"settings": {"g": 3}, "objective": 0.030 + 2 * FINALISTS}]}}
    assert near_best("p", grid, chosen) == [{"g": 1}, {"g": 2}]
    assert near_best("p", [*grid, {"g": 4}], chosen) == [{"g": 1}, {"g": 2}, {"g": 4}]  # new
    assert near_best("q", grid, chosen) == grid   # never run: the whole grid


def test_a_later_stage_keeps_the_first_stages_result_for_choosing_finalists():
    def entry(g: int, value: float, reps: list[int]) -> dict:
        return {"settings": {"g": g}, "objective": value, "repetitions": reps}

    first = [entry(1, 0.030, [0, 40]), entry(2, 0.031, [0, 40]), entry(3, 0.040, [0, 40])]
    second = merged_grid(first, [entry(1, 0.036, [40, 160]), entry(2, 0.033, [40, 160])])
    assert [g["settings"]["g"] for g in second] == [1, 2, 3]
    assert second[0]["stage_1"] == {"objective": 0.030, "repetitions": [0, 40]}
    third = merged_grid(second, [entry(1, 0.035, [160, 280])])
    assert third[0]["stage_1"]["objective"] == 0.030   # the first stage's, not the second's
    assert "stage_1" not in merged_grid(first, [entry(3, 0.039, [0, 40])])[0]   # same stage
    grown = [*third, entry(4, 0.030 + FINALISTS / 2, [0, 40])]
    assert near_best("p", [{"g": g} for g in (1, 2, 3, 4)], {"p": {"grid": grown}}) == [
        {"g": 1}, {"g": 2}, {"g": 4}]   # judged on the first stage: 2 stays, 3 was never near


def test_new_runs_only_what_these_repetitions_lack_and_a_grown_stage_chooses_over_all_of_it():
    def entry(g: int, value: float, reps: list[int], **more) -> dict:
        return {"settings": {"g": g}, "objective": value, "repetitions": reps,
                "to_target": 0.5, "all_budgets": 0.07, **more}

    grid = [{"g": g} for g in (1, 2, 3)]
    chosen = {"p": {"repetitions": [160, 280], "grid": [
        entry(1, 0.031, [160, 280], stage_1={"objective": 0.030, "repetitions": [0, 40]}),
        entry(2, 0.032, [0, 40])]}}
    assert not_run("p", grid, chosen, [0, 40]) == [{"g": 3}]   # 1's first stage is kept
    assert not_run("p", grid, chosen, [160, 280]) == [{"g": 2}, {"g": 3}]
    stage = [entry(2, 0.030, [160, 280]), *chosen["p"]["grid"]]
    rows = stage_rows("p", stage, [160, 280])
    assert [r.contender.settings["g"] for r in rows] == [2, 1]   # the stage's, not stage 1's
    assert winner(rows, lambda _: True).contender.settings == {"g": 2}


def test_a_second_stage_draws_the_repetitions_it_names_afresh():
    arena = Arena(SPACES / "demo.yaml", OUT.parent / "seed7.csv")
    ours = [Contender(OURS)]
    whole = run_all(arena, ours, 3, jobs=1)[OURS]
    later = run_all(arena, ours, 1, jobs=1, first=2)[OURS]
    assert later == whole[2:]   # repetition 2 is the same sweep whichever run it is in
    assert len({s.regrets for s in whole}) > 1   # and the repetitions differ


def test_every_setting_states_its_pessimism_and_the_file_holds_the_grid_it_names():
    """A setting that left its pessimism to the default would be relabelled when the default
    moves (the settings run before it was 1.5 ran at 1, which they state)."""
    assert all("pessimism" in s["confirm"] for s in OURS_GRID)
    stored = json.loads(OUT.read_text())[OURS]["grid"]
    assert all("pessimism" in g["settings"]["confirm"] for g in stored)
    assert len({describe(s) for s in OURS_GRID}) == len(OURS_GRID)   # no setting twice
    assert {describe(g["settings"]) for g in stored} == {describe(s) for s in OURS_GRID}


def test_the_shipped_spaces_state_the_chosen_default():
    chosen = json.loads(OUT.read_text())[OURS]["settings"]
    for name in ("demo.yaml", "demo_12ep.yaml", "lcdb.yaml", "lcdb_12sizes.yaml"):
        space = load_space(SPACES / name)
        assert {k: getattr(space.pruner, k) for k in chosen["pruner"]} == chosen["pruner"], name
        assert space.confirm == ConfirmSpec(**chosen["confirm"]), name
        assert space.search.sampler == chosen.get("sampler", "tpe"), name


def test_a_space_that_names_no_search_settings_runs_the_chosen_default():
    """A space without ``pruner`` or ``search.confirm`` (its command takes ``{seed}``) gets what
    the tuning chose, not an untuned neighbour (the schema confirmed from the first trial)."""
    chosen = json.loads(OUT.read_text())[OURS]["settings"]
    space = SweepSpace.model_validate({
        "name": "s", "base_config": "c.py", "max_epochs": 6,
        "parameters": {"x": {"type": "float", "low": 0, "high": 1, "targets": ["x"]}}})
    assert space.pruner.model_dump(exclude_defaults=False, include=set(chosen["pruner"])) \
        == chosen["pruner"]
    assert space.confirm == ConfirmSpec(**chosen["confirm"])
    assert space.search.sampler == chosen.get("sampler", "tpe")


def test_a_grid_setting_without_after_confirms_from_the_first_trial_as_it_ran():
    """The grid's settings that leave ``after`` out ran when 0 was the default: a new default
    must not relabel their results."""
    space = load_space(SPACES / "demo.yaml")
    without = [s for s in OURS_GRID if s["confirm"].get("when") == "leading"
               and "after" not in s["confirm"]]
    assert without
    for settings in without:
        assert ours_space(space, settings).confirm.after == 0
    stated = next(s for s in OURS_GRID if s["confirm"].get("after") == 3)
    assert ours_space(space, stated).confirm.after == 3
