"""``aqr-sweep``: run, validate, resume and inspect sweeps; read logs; report and export.

The command line sits above ``reports/`` and ``sweeps/`` and is the only place that imports both.
A user error (:class:`sweeps.errors.UserError`) ends with a one-line ``error: ...`` (a bad space:
``file:line: field: message`` lines) and exit code 2, as does an ``OSError`` on a path (a folder
that cannot be made, a file in the way, no permission: the path named); anything else is a bug
and keeps its traceback. ``--debug`` shows the traceback of user errors too. Heavy libraries (Ray, MLflow,
Optuna, torch) are imported by the commands that need them, so ``--help`` and errors stay fast.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from sweeps.constants import R50_GPU_HOURS_PER_EPOCH
from sweeps.errors import (
    AllTrialsFailedError,
    BadOptionError,
    EmptyLogError,
    PreflightError,
    SpaceError,
    UserError,
    is_disk_full,
)
from sweeps.space import load_space
from sweeps.store.sweep_dir import SweepDir

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Tune CMT + AQR with Ray Tune, Optuna and MLflow.")
# piped output (CI logs, files) gets a wide table instead of rich's 80-column default; no markup:
# what is printed holds user data ("[AQR ERROR]", regular expressions), styled through Text
console = Console(markup=False) if sys.stdout.isatty() else Console(width=160, markup=False)
err_console = Console(stderr=True, markup=False)


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of user "
                                                              "errors too")] = False) -> None:
    """Tune CMT + AQR with Ray Tune, Optuna and MLflow."""


def main(argv: list[str] | None = None) -> None:
    """The ``aqr-sweep`` command: run one command; a user error (and a full disk) ends as one
    ``error: ...`` line (a bad space: ``file:line: field: message`` lines) with its exit code,
    unless ``--debug`` comes before the command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command_at = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), len(argv))
    debug = "--debug" in argv[:command_at]
    try:
        try:
            app(argv, prog_name="aqr-sweep")
        except Exception as err:
            if debug:
                raise
            if isinstance(err, SpaceError):
                for problem in err.problems:
                    err_console.print(str(problem), highlight=False, soft_wrap=True)
                sys.exit(err.exit_code)
            if isinstance(err, UserError):
                _print_error(str(err))
                sys.exit(err.exit_code)
            if is_disk_full(err):
                _print_error("no space left on the device of the sweep folder or the MLflow "
                             "store: free space, then run the command again")
                sys.exit(2)
            if isinstance(err, OSError) and err.filename is not None:  # a path given or made
                _print_error(f"cannot use {err.filename}: {err.strerror or err}; check the path "
                             "(its folder must exist or be creatable, and be writable); "
                             "--debug shows where")
                sys.exit(2)
            raise
    except SystemExit as done:
        if "ray._raylet" not in sys.modules:
            raise
        _exit_without_teardown(done.code)
    except BaseException:
        if "ray._raylet" not in sys.modules:
            raise
        sys.excepthook(*sys.exc_info())
        _exit_without_teardown(1)


def _exit_without_teardown(code: int | str | None) -> None:
    """End a process that loaded Ray's core as ``sys.exit(code)`` would, without the
    interpreter's teardown: once everything is saved and said, Ray's C++ threads (gRPC,
    opencensus) can hold that teardown for minutes (ray-project/ray#29431), and a stopped
    sweep must end when it says it has."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    import ray

    ray.shutdown()  # a no-op after the driver's own; else what its atexit hook would do
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


def _print_error(message: str) -> None:
    err_console.print(Text.assemble(("error:", "red"), f" {message}"), highlight=False,
                      soft_wrap=True)


#: what the sweep's own view already says (a failed trial, in one line with its reason, and in
#: MLflow with Ray's traceback), or says nothing to the user, by logger
_QUIET = {"ray.tune.execution.tune_controller": "Trial task failed",
          "ray.tune.tune": "Trials did not complete",
          # Ray's result grid, which the driver does not read, on a trial stopped before Ray
          # wrote its first result
          "ray.tune.analysis.experiment_analysis": "Failed to fetch metrics",
          "ray._private.authentication.authentication_token_setup":
              "Token authentication is enabled"}


def _setup_logging() -> None:
    """Warnings of the libraries, our own progress at INFO, without what the view says."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # mlflow sets its level on import
    os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")  # a failed trial's error, again
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("ray", "mlflow", "alembic", "optuna"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name, start in _QUIET.items():
        logging.getLogger(name).addFilter(lambda record, start=start:
                                          not record.getMessage().startswith(start))
    # MLflow's store logs a database error with its whole traceback, then raises it (a full disk:
    # the driver says so in one line naming the next command)
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


@app.command()
def run(space: Annotated[Path, typer.Argument(help="search space YAML")],
        name: Annotated[str | None, typer.Option(help="sweep name (default: the space's)")] = None,
        address: Annotated[str | None, typer.Option(help="Ray cluster address")] = None,
        preflight: Annotated[bool, typer.Option(help="check the first trial's command and every "
                                                     "knob before the first trial")] = True
        ) -> None:
    """Run a sweep: preflight, then launch trials, prune hopeless ones, record everything in
    MLflow."""
    _setup_logging()
    from sweeps.run.driver import run_sweep

    if not preflight:
        _say("preflight: skipped (--no-preflight): the first trial's command and the knobs are "
             "not checked before the sweep")
    _print_summary(run_sweep(space, name=name, address=address, console=console,
                             preflight=preflight, progress=_say))


@app.command("preflight")
def preflight_command(space: Annotated[Path, typer.Argument(help="search space YAML")],
                      name: Annotated[str | None, typer.Option(
                          help="sweep name (default: the space's)")] = None) -> None:
    """Check a sweep before it spends a GPU-hour: run the first trial's exact command until it
    has trained a few iterations, then probe in the training environment whether each knob
    changes the loss and gradients (lr_mult keys: the parameters they reach)."""
    from sweeps.config.base import load_base_config
    from sweeps.preflight.check import preflight_message, run_preflight

    spec = load_space(space)
    base = load_base_config(spec, space)
    sweep = SweepDir(name or spec.name)
    record = sweep.read() if sweep.exists() else None
    if record is not None:  # the verdict goes to its MLflow run: a lost one is said first
        from sweeps.tracking.runs import check_parent_run

        check_parent_run(sweep, record)
    result = run_preflight(spec, base, sweep.preflight_dir, progress=_say)
    for line in result.report:
        _say(line)
    if record is not None:
        from mlflow.tracking import MlflowClient

        from sweeps.tracking.runs import record_preflight

        record_preflight(MlflowClient(record.tracking_uri), record.parent_run_id,
                         result.summary(), sweep.preflight_dir)
    if not result.passed:
        raise PreflightError(preflight_message(result, sweep.preflight_dir))
    _say(f"preflight {result.summary()}; the report: {sweep.preflight_dir / 'report.txt'}")


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


@app.command()
def resume(name: Annotated[str, typer.Argument(help="sweep name")],
           address: Annotated[str | None, typer.Option(help="Ray cluster address")] = None) -> None:
    """Continue a sweep whose driver died: finished trials are kept, interrupted ones go on from
    their checkpoints, the rest run."""
    _setup_logging()
    from sweeps.run.driver import run_sweep

    _print_summary(run_sweep(name=name, address=address, resume=True, console=console))


@app.command()
def validate(space: Annotated[Path, typer.Argument(help="search space YAML")]) -> None:
    """Check a space against its base config; show each knob's current value and the first
    trial's config file, environment and command line."""
    from sweeps.config.base import enqueued_points, load_base_config
    from sweeps.config.keys import MISSING, parse_key
    from sweeps.space.schedule import TARGET_ROOT, schedule_value

    spec = load_space(space)
    base = load_base_config(spec, space)
    points = enqueued_points(spec, base)

    from sweeps.backends import CommandBackend
    from sweeps.config.overrides import flat_overrides
    from sweeps.config.writer import config_text
    from sweeps.constants import TRIAL_CONFIG_FILE
    from sweeps.run.pruners import check_pruner

    check_pruner(spec)
    out = lambda text: console.print(text, highlight=False, soft_wrap=True)  # noqa: E731
    pruner = "no" if spec.pruner.type == "none" else spec.pruner.type
    out(f"{space}: ok: {spec.num_trials()} trials, {spec.search.sampler} sampler, "
        f"{pruner} pruner, {spec.search.concurrency} at a time")
    out(f"base config: {base.path}")
    for name, param in spec.parameters.items():
        for key in param.targets:
            parts = parse_key(key)
            if parts[0] == TARGET_ROOT:
                out(f"  {name}: {key} = {schedule_value(parts, spec.schedules)!r} (schedules "
                    "section)")
                continue
            value = base.get(key)
            out(f"  {name}: {key} = " + ("(created: not in the base config)" if value is MISSING
                                         else repr(value)))
    from sweeps.run.samplers import first_trial

    label, params = first_trial(spec, points)
    work_dir = SweepDir(spec.name).trials_dir / "0000"
    config = work_dir / TRIAL_CONFIG_FILE
    backend = CommandBackend(spec.command, spec.resume_args, cwd=str(Path.cwd()), env=spec.env,
                             num_gpus=math.ceil(spec.resources.gpu),
                             runtime=SweepDir(spec.name).path / "aqr_runtime")
    out(f"first trial{f' ({label})' if label else ''}: {config}:")
    for line in config_text(base, flat_overrides(spec, params, base), config,
                            "").splitlines():
        out(f"  {line}")
    env = backend.environment(work_dir, "<port>")
    out("environment: " + (" ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) or "-"))
    out("command: " + shlex.join(backend.argv(work_dir, config, False, "<port>")))
    out("not checked here: whether the training reads each key it has, and whether the command "
        f"runs; `aqr-sweep preflight {space}` runs it briefly and probes every knob")


@app.command()
def status(name: Annotated[str, typer.Argument(help="sweep name")],
           as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False
           ) -> None:
    """Per trial: state, epochs run, params, last and best metric."""
    sweep = SweepDir(name)
    sweep.read()
    spec = load_space(sweep.space_file)
    from sweeps.run.repeats import is_repeat
    from sweeps.store.lock import DriverLock
    from sweeps.store.status import trial_statuses
    from sweeps.store.study import load_study
    from sweeps.view.table import trials_table

    alive = DriverLock(sweep.path, sweep.name).holder() is not None
    study = load_study(sweep)
    rows = trial_statuses(study, spec, driver_alive=alive)
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, default=str))
        return
    console.print(trials_table(rows, spec, width=console.width, title=sweep.name))
    repeats = sum(is_repeat(t) for t in study.get_trials(deepcopy=False))
    if repeats:
        console.print(f"{repeats} proposal(s) repeated a run already made and were not trained "
                      "(the sampler was asked again)", highlight=False)
    for row in rows:
        if row.error:
            console.print(f"trial {row.number} failed: {row.error}", highlight=False,
                          soft_wrap=True)


@app.command()
def logs(file: Annotated[Path, typer.Argument(help="training log: scalars.json, *.log.json "
                                                    "or a text log; or a trial's work dir")],
         as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
         metric: Annotated[list[str] | None, typer.Option(help="metrics to show")] = None
         ) -> None:
    """Print the validation records of a training log (of every log in a work dir)."""
    from sweeps.constants import DEFAULT_SHOWN_METRICS
    from sweeps.logs import logged_records, read_log
    from sweeps.view.table import format_value

    records = logged_records(file) if file.is_dir() else read_log(file)
    if as_json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
        return
    if not records:
        raise EmptyLogError(f"{file}: no validation records found (is it a training log of "
                            "mmengine or mmcv 1.x, or a work dir that holds one?)")
    from rich.table import Table

    logged = {k for r in records for k in r.metrics}
    if unknown := [m for m in metric or [] if m not in logged]:
        import difflib

        near = difflib.get_close_matches(unknown[0], sorted(logged), n=3, cutoff=0.5) \
            or sorted(logged)[:3]
        raise BadOptionError(f"--metric {', '.join(unknown)}: never logged in {file} (it logged "
                             f"{len(logged)} key{'s' if len(logged) > 1 else ''}; nearest: {', '.join(near)})")
    shown = metric or [k for k in DEFAULT_SHOWN_METRICS if k in records[0].metrics] \
        or sorted(records[0].metrics)[:4]
    table = Table(title=str(file))
    table.add_column("epoch")
    for key in shown:
        table.add_column(key)
    for r in records:
        table.add_row(str(r.epoch), *(format_value(r.metrics.get(k)) for k in shown))
    console.print(table)


@app.command()
def report(name: Annotated[str, typer.Argument(help="sweep name")],
           out: Annotated[Path | None, typer.Option(help="output folder (default "
                                                         "reports/NAME)")] = None) -> None:
    """Tuning matrix, trials table, quick reference, plots and an offline index.html."""
    SweepDir(name).read()
    if out is not None and out.exists() and not out.is_dir():
        raise BadOptionError(f"--out {out} is a file; give a folder for the report's files, "
                             f"such as reports/{name}")
    from reports.report import write_report
    from reports.sweep_data import load_sweep

    data = load_sweep(name, show_progress=sys.stderr.isatty())
    files = write_report(data, out or Path("reports") / name)
    from mlflow.tracking import MlflowClient

    from sweeps.tracking.runs import log_report

    log_report(MlflowClient(data.record.tracking_uri), data.record.parent_run_id, files.out_dir,
               files.tuning_matrix.read_text())
    console.print(f"wrote {len(files.matrices) // 2} matrices (the tuning matrix first), "
                  f"{len(files.images)} plots, "
                  f"{files.trials_csv} and {files.index}; logged them to the sweep's MLflow run "
                  f"{data.record.parent_run_id} (report/)", highlight=False, soft_wrap=True)


@app.command("export-best")
def export_best(name: Annotated[str, typer.Argument(help="sweep name")],
                output: Annotated[Path, typer.Option("-o", "--output", help="file to write (its "
                                                     "folder is created)")],
                fmt: Annotated[str, typer.Option("--format", help="py (config with _base_) "
                                                                  "or yaml (bare params)")] = "py"
                ) -> None:
    """Write the best trial as a config that tools/train.py (or python -m aqr.train) takes."""
    SweepDir(name).read()
    from reports.export import describe_mean, latest_checkpoint
    from reports.export import export_best as write_best
    from reports.sweep_data import load_sweep

    data = load_sweep(name, show_progress=False)
    best, options = write_best(data, output, fmt)
    console.print(f"wrote {output}: trial {best.number}, {data.space.metric} = "
                  f"{describe_mean(best)}", highlight=False)
    if best.tied_with:
        err_console.print(f"note: trials {best.tied_with} are tied with it within noise (95% "
                          f"intervals); exported trial {best.number}", highlight=False)
    if best.versus_current:
        console.print(best.versus_current, highlight=False)
    console.print("as --cfg-options: " + (shlex.join(options) if options is not None else
                  "(not expressible: a key holds a dot; use the config file)"),
                  highlight=False, soft_wrap=True)
    partial = "" if best.at_epoch is None else f" (of epoch {best.at_epoch}: not a final one)"
    console.print(f"checkpoint: {latest_checkpoint(best.work_dir) or 'none kept'}{partial}",
                  highlight=False)


@app.command("import-log")
def import_log(logs: Annotated[list[Path], typer.Argument(help="training logs")],
               sweep: Annotated[str, typer.Option(help="sweep to import into")],
               param: Annotated[list[str] | None, typer.Option(help="name=value of the run's "
                                                                    "knobs (repeat)")] = None,
               space: Annotated[Path | None, typer.Option(help="space to create the sweep "
                                                               "from if it does not exist")] = None,
               baseline: Annotated[bool, typer.Option(help="a run without AQR (takes no "
                                                           "--param)")] = False
               ) -> None:
    """Bring past training runs into a sweep as references (MLflow runs; the sampler does not
    learn from them: they ran their own schedules)."""
    from sweeps.import_log import (
        already_imported,
        check_baseline,
        open_or_create,
        parse_params,
        scored_records,
        target_space,
    )
    from sweeps.import_log import import_log as add_log

    spec = target_space(sweep, space)
    params = parse_params(param or [], spec)
    check_baseline(params, baseline)
    for log in logs:  # all of them, before anything is written
        scored_records(log, spec)
    _, spec, record, study = open_or_create(sweep, space)
    for log in logs:
        earlier = already_imported(log, study)
        if earlier is not None:
            console.print(f"{log}: already imported as trial {earlier} (same bytes); skipped",
                          highlight=False)
            continue
        number, run_id = add_log(log, params, spec, record, study, baseline)
        console.print(f"{log}: trial {number}, MLflow run {run_id}", highlight=False)


@app.command()
def simulate(space: Annotated[Path | None, typer.Argument(help="search space YAML (with "
                                                              "--surface)")] = None,
             surface: Annotated[Path | None, typer.Option(help="surface table (CSV) to replay, "
                                                               "e.g. benchmarks/data/"
                                                               "mini_surface.csv")] = None,
             from_sweep: Annotated[str | None, typer.Option(help="replay this finished sweep's "
                                                                 "own curves instead")] = None,
             pruner: Annotated[list[str] | None, typer.Option(
                 help="pruner setting TYPE[:KEY=VALUE,...] to compare, e.g. median:"
                      "warmup_epochs=2 (repeat; default: a standard set)")] = None,
             repetitions: Annotated[int, typer.Option(min=1, help="simulated sweeps per setting "
                                                      "(--surface)")] = 10,
             gpu_hours_per_epoch: Annotated[float, typer.Option(
                 min=0.0, help="GPU-hours of one epoch (default: the real R50 run, 2 h on 8 "
                               "GPUs)")] = R50_GPU_HOURS_PER_EPOCH,
             out: Annotated[Path | None, typer.Option(help="output folder (default "
                                                           "reports/simulate_NAME)")] = None
             ) -> None:
    """Replay learning curves under other pruner settings: GPU-hours spent, best found, and
    whether the eventual winner would have been stopped."""
    from sweeps.simulation import replay
    from sweeps.simulation.settings import DEFAULT_SETTINGS

    if (from_sweep is None) == (surface is None):
        raise BadOptionError("give either SPACE --surface TABLE, or --from-sweep NAME")
    if not math.isfinite(gpu_hours_per_epoch):
        raise BadOptionError(f"--gpu-hours-per-epoch must be a finite number of hours, but got "
                             f"{gpu_hours_per_epoch}")
    if surface is not None and space is None:
        raise BadOptionError("--surface needs the SPACE whose sweeps to simulate (e.g. "
              "search_spaces/demo.yaml)")
    texts = list(pruner) if pruner else list(DEFAULT_SETTINGS)
    if from_sweep is not None:
        simulation, settings = replay.sweep_simulation(from_sweep, texts)
        repetitions, name = 1, from_sweep
    else:
        simulation, settings = replay.surface_simulation(space, surface, texts)
        name = simulation.space.name
        for line in simulation.surface.notes(simulation.space):
            console.print(f"note: {line}", highlight=False, soft_wrap=True)
    metric = simulation.space.metric.rsplit("/", 1)[-1]
    with console.status("simulating") as status:
        results = replay.run_settings(simulation, settings, repetitions,
                         lambda setting: status.update(f"simulating {setting}"))
    rows = [r.row(gpu_hours_per_epoch, metric) for r in results]
    _print_simulation(rows, simulation, metric, repetitions)
    console.print(f"GPU-hours count {gpu_hours_per_epoch:g} per trial-epoch"
                  + (" (the real R50 run: 2 h on 8 GPUs; --gpu-hours-per-epoch to change)"
                     if gpu_hours_per_epoch == R50_GPU_HOURS_PER_EPOCH else ""),
                  highlight=False, soft_wrap=True)
    from reports.simulation import plot_found_vs_spent, write_table

    folder = out or Path("reports") / f"simulate_{name}"
    table = write_table(rows, folder / "settings.csv")
    plot = plot_found_vs_spent(results, gpu_hours_per_epoch, metric,
                               f"{name}: {simulation.surface.source}", folder / "settings.png")
    console.print(f"wrote {table} and {plot}", highlight=False, soft_wrap=True)


def _print_simulation(rows: list[dict], simulation, metric: str, repetitions: int) -> None:
    from rich.table import Table

    surface, space = simulation.surface, simulation.space
    best, value = surface.best(space.mode)
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in simulation.params_of(best).items())
    winner = f"trial {best[0]} ({shown})" if surface.knobs == ["trial"] else shown
    table = Table(title=f"{surface.source}: {repetitions} simulated sweep(s) a setting, "
                        f"{simulation.slots} at once; the winner: {winner} "
                        f"({metric} {value:.4f})", title_justify="left")
    for column in ("setting", "GPU-hours", f"best {metric} found", "trials", "stopped winner"):
        table.add_column(column, justify="left" if column == "setting" else "right")
    for row in rows:
        low, high = row["gpu_hours_range"]
        blow, bhigh = row["best_range"]
        spent = f"{row['gpu_hours']:,.0f}" + (f" ({low:,.0f}-{high:,.0f})" if low != high else "")
        if row["past_data"]:
            spent = f"{row['gpu_hours']:,.0f} to {row['gpu_hours'] + row['gpu_hours_unknown']:,.0f}"
        found = f"{row[f'best_{metric}']:.4f}" + (f" ({blow:.4f}-{bhigh:.4f})"
                                                  if blow != bhigh else "")
        table.add_row(row["setting"], spent, found, f"{row['trials']:g}",
                      f"{row['stopped_winner']:.0%}")
    console.print(table)
    if any(row["past_data"] for row in rows):
        console.print("A range X to Y: the setting would have gone on with trials the sweep "
                      "pruned; what they would have spent (at most Y, trained in full) and reached "
                      "is not known, so they are not counted as found", highlight=False,
                      soft_wrap=True)


@app.command()
def slurm(space: Annotated[Path, typer.Argument(help="search space YAML")],
          nodes: Annotated[int, typer.Option(help="nodes per allocation")] = 1,
          gpus_per_node: Annotated[int, typer.Option(help="GPUs of each node")] = 0,
          cpus_per_node: Annotated[int | None, typer.Option(
              help="CPUs of each node (default: whole nodes, --exclusive)")] = None,
          time: Annotated[str, typer.Option(help="each allocation's time limit")] = "24:00:00",
          partition: Annotated[str | None, typer.Option(help="Slurm partition")] = None,
          account: Annotated[str | None, typer.Option(help="Slurm account")] = None,
          name: Annotated[str | None, typer.Option(help="sweep name (default: the "
                                                        "space's)")] = None,
          output: Annotated[Path | None, typer.Option("-o", "--output", help="script to write "
                            "(default: $AQR_SWEEP_ROOT/slurm/NAME.sbatch)")] = None,
          submit: Annotated[bool, typer.Option(help="also sbatch it")] = False,
          preflight: Annotated[bool, typer.Option(help="the first job preflights the sweep "
                                                       "before its first trial")] = True) -> None:
    """Write an sbatch script that runs the sweep on a Ray cluster over the allocation's nodes;
    near the time limit it stops the trainings and requeues itself, and the next allocation
    resumes the sweep."""
    from sweeps.config.base import enqueued_points, load_base_config
    from sweeps.run import slurm as batch

    spec = load_space(space)
    enqueued_points(spec, load_base_config(spec, space))
    job = batch.SlurmJob(nodes, gpus_per_node, cpus_per_node, time, partition, account)
    if problem := batch.time_problem(job, spec):
        raise BadOptionError(problem)
    if spec.resources.gpu > gpus_per_node or (cpus_per_node or math.inf) < spec.resources.cpu:
        raise BadOptionError(
            f"a trial takes resources gpu={spec.resources.gpu:g}, cpu={spec.resources.cpu:g} "
            f"(the space), but a node has --gpus-per-node {gpus_per_node}"
            + (f", --cpus-per-node {cpus_per_node}" if cpus_per_node else "")
            + ": no trial would ever start; give the nodes' real size")
    sweep = SweepDir(name or spec.name)
    problems = batch.shared_paths_problems(spec, sweep, Path.cwd())
    if problems:
        raise BadOptionError(problems[0])
    script = (output or sweep.path.parent / "slurm" / f"{sweep.name}.sbatch").absolute()
    log = script.parent / f"{sweep.name}-%j.out"
    script.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(batch.sbatch_script(space.absolute(), spec, sweep, job, Path.cwd(), log,
                                          preflight))
    script.chmod(0o755)
    out = lambda text: console.print(text, highlight=False, soft_wrap=True)  # noqa: E731
    out(f"wrote {script}: sweep {sweep.name} on {nodes} node(s) x {gpus_per_node} GPU(s), "
        f"{time} an allocation, requeued {batch.signal_lead(spec)} s before its end")
    if not submit:
        out(f"submit it: sbatch {script}")
        return
    job_id = batch.submit(script)
    out(f"submitted job {job_id}; watch it: squeue -j {job_id}; "
        f"tail -f {str(log).replace('%j', job_id)}; aqr-sweep status {sweep.name}")


@app.command()
def ui(name: Annotated[str | None, typer.Argument(help="sweep name")] = None,
       host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
       port: Annotated[int, typer.Option(help="port")] = 5000,
       tracking_uri: Annotated[str | None, typer.Option(help="store (default: the sweep's, "
                                                             "else ./mlflow.db)")] = None,
       dry_run: Annotated[bool, typer.Option(help="print the command and URL only")] = False
       ) -> None:
    """Start the MLflow UI on the sweep's tracking store; print the URL of the sweep's runs view
    (its runs, the best first) and of its parent run (the answer, the tuning matrix)."""
    import subprocess

    from sweeps.store.sweep_dir import default_tracking_uri

    url = f"http://{host}:{port}/"
    if name is not None:
        from sweeps.tracking.runs import check_parent_run, run_page_url, runs_view_url

        sweep = SweepDir(name)
        record = sweep.read()
        if tracking_uri is None:  # `mlflow ui` would create a store that is gone
            check_parent_run(sweep, record)
        spec = load_space(sweep.space_file)
        tracking_uri = tracking_uri or record.tracking_uri
        console.print(f"sweep {name}'s parent run: "
                      f"{run_page_url(url, record.experiment_id, record.parent_run_id)}",
                      highlight=False, soft_wrap=True)
        url = runs_view_url(url, record.experiment_id, name, spec.metric, spec.mode)
    tracking_uri = tracking_uri or default_tracking_uri()
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracking_uri,
               "--host", host, "--port", str(port), "--workers", "1"]
    console.print(f"MLflow UI: {url}", highlight=False, soft_wrap=True)
    if dry_run:
        console.print(" ".join(command), highlight=False, soft_wrap=True)
        return
    server = subprocess.Popen(command, start_new_session=True)

    def end(signum: int, frame: object) -> None:  # the server and its workers end with us
        os.killpg(server.pid, signal.SIGTERM)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, end)
    try:
        code = server.wait()
    finally:
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    raise typer.Exit(code)


def _print_summary(summary) -> None:
    """How the whole sweep stands after a run; exit 1 when every trial this run ran failed."""
    from sweeps.constants import TrialState
    from sweeps.view.table import format_value

    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.counts().items())) or "no trials"
    ran = "" if len(summary.ran) == len(summary.trials) else \
        f"; this run ran {len(summary.ran)}" if summary.ran else "; nothing was left to run"
    console.print(Text.assemble("\nsweep ", (summary.name, "bold"), f": {counts}{ran}"),
                  highlight=False)
    console.print(f"sweep folder: {summary.sweep_dir} (space, optuna.db, trials/NNNN work dirs)",
                  highlight=False, soft_wrap=True)
    console.print(f"MLflow: {summary.tracking_uri}, parent run {summary.parent_run_id}",
                  highlight=False, soft_wrap=True)
    if (best := summary.best) is None:
        console.print("no completed trial yet.")
    else:
        from sweeps.run.ranking import describe

        params = ", ".join(f"{k}={format_value(v)}" for k, v in summary.best_params.items())
        value = describe(best.mean, best.runs, best.half_width, best.at_epoch, best.noise_dof)
        console.print(f"best: trial {summary.best_number}, {value} ({params})", highlight=False)
    console.print("next:", highlight=False)
    for line in (f"aqr-sweep status {summary.name}", f"aqr-sweep report {summary.name}",
                 f"aqr-sweep export-best {summary.name} -o best.py",
                 f"aqr-sweep ui {summary.name}"):
        console.print(f"  {line}", highlight=False)
    failed = [e for e in summary.ran if e.state == TrialState.FAILED]
    if summary.ran and len(failed) == len(summary.ran):
        raise AllTrialsFailedError(
            f"every trial of this run failed ({len(failed)}); their reasons: "
            f"`aqr-sweep status {summary.name}` and the aqr.error tag of each MLflow run")
