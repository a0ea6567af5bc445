"""How the tool's own cost grows with a sweep: N trials x 20 epochs, no training.

Side by side in one run, each in its own process (so each one's peak memory is its own):

- **aqr-sweep**: the real driver (``run_sweep``: Ray Tune, the Optuna ask/tell searcher on the
  sweep's sqlite study, the pruning bridge, the MLflow tracker on sqlite, the event log) over the
  test kit's ``ReplayBackend`` (each trial writes its 20 validations into its work dir from a
  thread; the log follower reads them), 32 trials at once on 32 fake CPUs;
- **Ray Tune by hand**, as a Ray user wires it: ``Tuner`` + ``OptunaSearch`` + ``ASHAScheduler`` +
  ``MLflowLoggerCallback`` on the same kind of sqlite store, a function trainable reporting the
  same replayed values (``x * epoch``, ``x`` drawn by the searcher), 32 at once on 32 fake CPUs.

Then, on the finished sweep, ``aqr-sweep status``, ``report`` and ``export-best`` through the CLI
(wall time, imports included), and the sizes of the MLflow and Optuna stores.

Run: ``python benchmarks/bench_scale.py [--trials 1000] [--quick] [--root DIR]`` (``--quick``:
200 trials).
The last line: ``N-trial sweep: aqr-sweep A s vs Ray Tune by hand B s (R.Rx), status S s, report
T s`` (R = A / B).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 20
CONCURRENCY = 32
EPOCH_SECONDS = 0.05
METRIC = "NDS"


def _space(folder: Path, trials: int) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.kit.spaces import write_space

    return write_space(folder, "scale", max_epochs=EPOCHS, search={
        "sampler": "tpe", "num_trials": trials, "concurrency": CONCURRENCY},
        pruner={"type": "asha"}, stop_grace_seconds=1)


def run_ours(folder: Path, trials: int) -> dict:
    """The real driver over replayed trainings; its wall seconds."""
    sys.path.insert(0, str(ROOT))
    import ray

    from sweeps.run.driver import run_sweep
    from tests.kit.replay import ReplayBackend

    os.environ["AQR_SWEEP_ROOT"] = str(folder / "runs")
    space = _space(folder, trials)
    (folder / "config.py").write_text(f"x = 0.5\nmode = 'normal'\nepochs = {EPOCHS}\n")
    ray.init(address="local", num_cpus=CONCURRENCY, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    started = time.perf_counter()
    summary = run_sweep(space, backend=ReplayBackend(METRIC, EPOCHS, EPOCH_SECONDS),
                        view="events" if os.environ.get("BENCH_EVENTS") else "none")
    seconds = time.perf_counter() - started
    ray.shutdown()
    return {"seconds": seconds, "trials": len(summary.trials)}


def run_ray(folder: Path, trials: int) -> dict:
    """Ray Tune by hand: Tuner + OptunaSearch + ASHAScheduler + MLflowLoggerCallback."""
    import ray
    from ray import tune
    from ray.air.integrations.mlflow import MLflowLoggerCallback
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    def replay(config: dict) -> None:
        for epoch in range(1, EPOCHS + 1):
            time.sleep(EPOCH_SECONDS)
            tune.report({METRIC: config["x"] * epoch, "epoch": epoch})

    ray.init(address="local", num_cpus=CONCURRENCY, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    started = time.perf_counter()
    tuner = tune.Tuner(
        replay, param_space={"x": tune.uniform(0.1, 1.0)},
        tune_config=tune.TuneConfig(metric=METRIC, mode="max", num_samples=trials,
                                    search_alg=OptunaSearch(seed=0),
                                    scheduler=ASHAScheduler(time_attr="epoch", max_t=EPOCHS),
                                    max_concurrent_trials=CONCURRENCY),
        run_config=tune.RunConfig(storage_path=str(folder / "ray"), verbose=0, callbacks=[
            MLflowLoggerCallback(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
                                 experiment_name="by_hand")]))
    results = tuner.fit()
    seconds = time.perf_counter() - started
    ray.shutdown()
    return {"seconds": seconds, "trials": len(results)}


def _worker(mode: str, folder: Path, trials: int) -> None:
    """Run one side in this process and print its numbers as JSON."""
    out = (run_ours if mode == "ours" else run_ray)(folder, trials)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out), flush=True)


def _side(mode: str, folder: Path, trials: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, __file__, "--worker", mode, "--folder", str(folder),
                           "--trials", str(trials)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=folder)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"{mode} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


def _cli(folder: Path, *args: str) -> float:
    env = {**os.environ, "AQR_SWEEP_ROOT": str(folder / "runs"), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=folder, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"aqr-sweep {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return seconds


def _mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="200 trials")
    parser.add_argument("--root", type=Path, help="where the two runs are kept (default: a new "
                        "temporary folder)")
    parser.add_argument("--worker", choices=("ours", "ray"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    trials = 200 if args.quick else args.trials
    if args.worker:
        _worker(args.worker, args.folder, trials)
        return
    root = args.root or Path(tempfile.mkdtemp(prefix="bench_scale_"))
    print(f"{trials} trials x {EPOCHS} epochs, {CONCURRENCY} at once on {CONCURRENCY} fake CPUs, "
          f"{EPOCH_SECONDS} s an epoch, no training; in {root}", flush=True)
    ours = _side("ours", root / "ours", trials)
    print(f"aqr-sweep:         {ours['seconds']:.1f} s, driver peak memory "
          f"{ours['peak_mb']:.0f} MB", flush=True)
    ray = _side("ray", root / "ray", trials)
    print(f"Ray Tune by hand:  {ray['seconds']:.1f} s, peak memory {ray['peak_mb']:.0f} MB",
          flush=True)
    folder = root / "ours"
    status = _cli(folder, "status", "scale")
    report = _cli(folder, "report", "scale", "--out", str(folder / "report"))
    export = _cli(folder, "export-best", "scale", "-o", str(folder / "best.py"))
    print(f"on the finished sweep: status {status:.1f} s, report {report:.1f} s, export-best "
          f"{export:.1f} s")
    print(f"stores: MLflow {_mb(folder / 'mlflow.db'):.1f} MB (Ray by hand: "
          f"{_mb(root / 'ray' / 'mlflow.db'):.1f} MB), Optuna "
          f"{_mb(folder / 'runs' / 'scale' / 'optuna.db'):.1f} MB, sweep folder "
          f"{_mb(folder / 'runs' / 'scale'):.0f} MB")
    print(f"{trials}-trial sweep: aqr-sweep {ours['seconds']:.1f} s vs Ray Tune by hand "
          f"{ray['seconds']:.1f} s ({ours['seconds'] / ray['seconds']:.1f}x), status "
          f"{status:.1f} s, report {report:.1f} s")


if __name__ == "__main__":
    main()
