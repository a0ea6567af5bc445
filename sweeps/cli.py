"""``aqr-sweep``: run, validate, resume and inspect sweeps; read logs; report and export.

Bad input ends with a one-line ``error: ...`` (a bad space: ``file:line: field: message`` lines)
and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sweeps.space import SpaceError, load_space

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Tune CMT + AQR with Ray Tune, Optuna and MLflow.")
console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _guard(fn, *args, **kwargs):
    """Call ``fn``; turn user errors into one clear message and exit code 2."""
    from sweeps.driver import SweepExistsError

    try:
        return fn(*args, **kwargs)
    except SpaceError as err:
        for problem in err.problems:
            err_console.print(str(problem), highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except (FileNotFoundError, SweepExistsError, ValueError, KeyError) as err:
        _fail(str(err).strip("'\""))


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("ray", "mlflow", "alembic", "optuna"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def run(space: Annotated[Path, typer.Argument(help="search space YAML")],
        name: Annotated[str | None, typer.Option(help="sweep name (default: the space's)")] = None,
        address: Annotated[str | None, typer.Option(help="Ray cluster address")] = None) -> None:
    """Run a sweep: launch trials, prune hopeless ones, record everything in MLflow."""
    _setup_logging()
    from sweeps.driver import run_sweep

    summary = _guard(run_sweep, space, name=name, address=address, console=console)
    _print_summary(summary)


@app.command()
def resume(name: Annotated[str, typer.Argument(help="sweep name")],
           address: Annotated[str | None, typer.Option(help="Ray cluster address")] = None) -> None:
    """Continue a sweep whose driver died: finished trials are kept, the rest run."""
    _setup_logging()
    from sweeps.driver import run_sweep

    summary = _guard(run_sweep, name=name, address=address, resume=True, console=console)
    _print_summary(summary)


@app.command()
def validate(space: Annotated[Path, typer.Argument(help="search space YAML")]) -> None:
    """Check a space; print the number of trials and the first trial's command line."""
    from sweeps.driver import resolve_base_config

    spec = _guard(load_space, space)
    config = _guard(resolve_base_config, spec, space)
    params = _first_params(spec)
    from sweeps.backends import CommandBackend
    from sweeps.overrides import cfg_options, flat_overrides
    from sweeps.store import SweepDir

    backend = CommandBackend(spec.command, str(config), spec.resume_args, cwd=".",
                             num_gpus=math.ceil(spec.resources.gpu))
    work_dir = SweepDir(spec.name).trials_dir / "0000"
    argv = backend.argv(work_dir, cfg_options(flat_overrides(spec, params)), False, "<port>")
    console.print(f"{space}: ok: {spec.num_trials()} trials, {spec.search.sampler} sampler, "
                  f"{spec.pruner.type} pruner, {spec.search.concurrency} at a time",
                  highlight=False)
    console.print("first trial: " + " ".join(argv), highlight=False, soft_wrap=True)


def _first_params(spec) -> dict:
    """The first trial's params: the first enqueued point, else the sampler's first proposal."""
    import optuna

    from sweeps.samplers import build_sampler, distributions

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=build_sampler(spec))
    if spec.search.enqueue:
        study.enqueue_trial(spec.search.enqueue[0].params)
    return study.ask(distributions(spec)).params


@app.command()
def status(name: Annotated[str, typer.Argument(help="sweep name")],
           as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False
           ) -> None:
    """Per trial: state, epochs run, params, last and best metric."""
    import optuna

    from sweeps.status import trial_statuses
    from sweeps.store import SweepDir

    sweep = SweepDir(name)
    _guard(sweep.read)
    spec = _guard(load_space, sweep.space_file)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=sweep.study_storage)
    rows = trial_statuses(study, spec)
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, default=str))
        return
    table = Table(title=f"{name}: {spec.metric} ({spec.mode})")
    for column in ("trial", "state", "epochs", *spec.parameters, "last", "best"):
        table.add_column(column)
    for r in rows:
        state = r.state + (f"@{r.pruned_at_epoch}" if r.pruned_at_epoch else "")
        table.add_row(f"{r.number}" + (f" {r.label}" if r.label else ""), state,
                      f"{r.epochs_run}/{spec.max_epochs}",
                      *(_fmt(r.params.get(p)) for p in spec.parameters), _fmt(r.last),
                      _fmt(r.best))
    console.print(table)


@app.command()
def logs(file: Annotated[Path, typer.Argument(help="training log: scalars.json, *.log.json "
                                                    "or a text log")],
         as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
         metric: Annotated[list[str] | None, typer.Option(help="metrics to show")] = None
         ) -> None:
    """Print the validation records of a training log."""
    from sweeps.logs import read_log

    records = _guard(read_log, file)
    if as_json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
        return
    if not records:
        _fail(f"{file}: no validation records found (is it a training log of mmengine or "
              "mmcv 1.x?)", code=1)
    shown = metric or [k for k in ("pts_bbox_NuScenes/NDS", "pts_bbox_NuScenes/mAP")
                       if k in records[0].metrics] or sorted(records[0].metrics)[:4]
    table = Table(title=str(file))
    table.add_column("epoch")
    for key in shown:
        table.add_column(key)
    for r in records:
        table.add_row(str(r.epoch), *(_fmt(r.metrics.get(k)) for k in shown))
    console.print(table)


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _print_summary(summary) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.counts().items())) or "no new trials"
    console.print(f"\nsweep [bold]{summary.name}[/bold]: {counts}", highlight=False)
    if summary.best_number is None:
        console.print("no completed trial yet.")
    else:
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in summary.best_params.items())
        console.print(f"best: trial {summary.best_number}, value {summary.best_value:.4f} "
                      f"({params})", highlight=False)
    console.print("next:", highlight=False)
    for line in (f"aqr-sweep status {summary.name}", f"aqr-sweep report {summary.name}",
                 f"aqr-sweep export-best {summary.name} -o best.py",
                 f"aqr-sweep ui {summary.name}"):
        console.print(f"  {line}", highlight=False)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
