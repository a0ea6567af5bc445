"""The command backend with real subprocesses: ports, env templates, and stops that leave no
process of the trial behind (ranks in sessions of their own, a killed parent)."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sweeps.backends import CommandBackend
from sweeps.backends.processes import JOB_MARKER, job_processes, processes_under
from sweeps.errors import WorkDirBusyError

# A "launcher" that starts two "ranks" in sessions of their own (as newer torch launchers do),
# ignores SIGTERM itself for a while (as a launcher forwarding slowly would), and records pids.
SCRIPT = """
import json, os, subprocess, sys, time, signal
from pathlib import Path
wd = Path(sys.argv[1])
signal.signal(signal.SIGTERM, signal.SIG_IGN)
ranks = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                          start_new_session=True) for _ in range(2)]
(wd / "env.json").write_text(json.dumps({k: os.environ.get(k) for k in
                                         ("PORT", "MASTER_PORT", "PYTHONPATH", "OMP_NUM_THREADS")}
                                        | {"argv": sys.argv[2:], "cwd": os.getcwd()}))
(wd / "ranks.json").write_text(json.dumps([r.pid for r in ranks]))
print("line one"); print("line two", flush=True)
if "--fail" in sys.argv: sys.exit(3)
time.sleep(120)
"""


def backend(tmp_path: Path, **kw) -> CommandBackend:
    script = tmp_path / "fake_launcher.py"
    script.write_text(SCRIPT)
    return CommandBackend([sys.executable, str(script), "{work_dir}", "{config}", "{resume}"],
                          resume_args=["--resume"], cwd=str(tmp_path), **kw)


def wait_for(path: Path, seconds: float = 20) -> None:
    end = time.time() + seconds
    while not path.exists() and time.time() < end:
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_stop_ends_every_process_whatever_its_session(tmp_path):
    work = tmp_path / "trial"
    job = backend(tmp_path, env={"PYTHONPATH": "{cwd}", "OMP_NUM_THREADS": "1"},
                  grace=1).start(work, tmp_path / "trial_config.py", resume=True)
    wait_for(work / "ranks.json")
    env = json.loads((work / "env.json").read_text())
    assert env["PORT"] == env["MASTER_PORT"] and int(env["PORT"]) > 0
    assert env["PYTHONPATH"] == str(tmp_path) and env["OMP_NUM_THREADS"] == "1"
    assert env["argv"] == [str(tmp_path / "trial_config.py"), "--resume"]
    ranks = json.loads((work / "ranks.json").read_text())
    assert job.poll() is None and all(alive(p) for p in ranks)
    assert len(job.processes()) == 4          # supervisor, launcher, two ranks
    started = time.time()
    job.stop()
    assert job.poll() is not None and time.time() - started < 8
    assert not any(alive(p) for p in ranks) and job.processes() == []


def test_a_killed_trial_process_takes_its_training_with_it(tmp_path):
    """The process that started the job (a Ray actor) is SIGKILLed: nothing of the job stays."""
    script = tmp_path / "starter.py"
    script.write_text(
        "import sys, time\nfrom pathlib import Path\nfrom sweeps.backends import CommandBackend\n"
        f"b = CommandBackend([sys.executable, {str(tmp_path / 'fake_launcher.py')!r}, "
        "'{work_dir}', '{config}'], [], cwd='.', grace=1)\n"
        f"job = b.start(Path({str(tmp_path / 'w')!r}), Path('c.py'), False)\n"
        "print(job.marker, flush=True)\ntime.sleep(120)\n")
    backend(tmp_path)  # writes the fake launcher
    starter = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    marker = starter.stdout.readline().strip()
    wait_for(tmp_path / "w" / "ranks.json")
    ranks = json.loads((tmp_path / "w" / "ranks.json").read_text())
    starter.send_signal(signal.SIGKILL)
    starter.wait()
    end = time.time() + 15
    while job_processes(marker) and time.time() < end:
        time.sleep(0.2)
    assert job_processes(marker) == [] and not any(alive(p) for p in ranks)


def test_failure_keeps_the_tail_and_the_code(tmp_path):
    job = backend(tmp_path, grace=0.5).start(tmp_path / "t", Path("--fail"), resume=False)
    while job.poll() is None:
        time.sleep(0.05)
    assert job.poll() == 3
    assert job.tail().splitlines()[-2:] == ["line one", "line two"]
    job.stop()
    assert job.processes() == []       # the ranks the failed launcher left were ended too


def test_the_tail_of_a_flood_is_its_last_lines_cut_short(tmp_path):
    """A 20 MB line (a progress bar redrawn with \\r and no newline) does not become a 20 MB
    failure reason: the tail reads the output's end, shows a redrawn line as it last showed and
    cuts a long one."""
    from sweeps.backends.command import TAIL_LINE_CHARS, CommandJob

    job = CommandJob.__new__(CommandJob)
    job.output = tmp_path / "train.out"
    job.output.write_text("start\n" + "x" * 20_000_000 + "\n" + "\r".join(
        f"epoch 1: {i}%" for i in range(101)) + "\nTraceback: boom\n")
    assert job.tail().splitlines() == ["epoch 1: 100%", "Traceback: boom"]
    job.output.write_text("y" * 20_000_000)
    assert job.tail() == "..." + "y" * TAIL_LINE_CHARS


def test_the_marker_is_in_the_training_environment(tmp_path):
    job = backend(tmp_path, grace=0.5).start(tmp_path / "t", Path("c.py"), resume=False)
    wait_for(tmp_path / "t" / "ranks.json")
    rank = psutil.Process(json.loads((tmp_path / "t" / "ranks.json").read_text())[0])
    assert rank.environ()[JOB_MARKER] == job.marker
    job.stop()


def test_a_sigkilled_supervisor_s_reaper_ends_the_training(tmp_path):
    """Ray ends a worker by SIGKILLing its direct children, the supervisor among them: the
    supervisor's reaper, in a session of its own, ends the training within the grace."""
    job = backend(tmp_path, grace=1).start(tmp_path / "t", Path("c.py"), resume=False)
    wait_for(tmp_path / "t" / "ranks.json")
    ranks = json.loads((tmp_path / "t" / "ranks.json").read_text())
    job.proc.send_signal(signal.SIGKILL)
    job.proc.wait()
    end = time.time() + 10
    while processes_under(tmp_path / "t") and time.time() < end:
        time.sleep(0.1)
    assert job_processes(job.marker) == [] and not any(alive(p) for p in ranks)
    assert processes_under(tmp_path / "t") == []        # the reaper is gone too


def test_a_work_dir_still_trained_by_an_earlier_launch_is_not_trained_twice(tmp_path):
    b = backend(tmp_path, grace=0.2)
    first = b.start(tmp_path / "t", Path("c.py"), resume=False)
    wait_for(tmp_path / "t" / "ranks.json")
    b.leftover_margin = 0.5
    with pytest.raises(WorkDirBusyError, match="still being trained by pid"):
        b.start(tmp_path / "t", Path("c.py"), resume=True)
    first.stop()
    second = b.start(tmp_path / "t", Path("c.py"), resume=True)
    assert second.poll() is None
    second.stop()


# A launcher whose ranks drop the job's marker: one under `env -i`, one double-forked into a
# session of its own with an empty environment (a daemon); it exits at once with "--exit".
DETACHING = """
import json, os, subprocess, sys, time
from pathlib import Path
wd = Path(sys.argv[1]); wd.mkdir(parents=True, exist_ok=True)
SLEEP = "import time; time.sleep(120)"
DAEMON = ("import os, sys, time\\nif os.fork(): os._exit(0)\\n"
          "open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)")
clean = subprocess.Popen(["env", "-i", sys.executable, "-c", SLEEP])
subprocess.Popen([sys.executable, "-c", DAEMON, str(wd / "daemon.pid")], env={},
                 start_new_session=True).wait()
while not (wd / "daemon.pid").exists() or not (wd / "daemon.pid").read_text():
    time.sleep(0.05)
(wd / "pids.json").write_text(json.dumps([clean.pid, int((wd / "daemon.pid").read_text())]))
if "--exit" not in sys.argv: time.sleep(120)
"""


def detaching(tmp_path: Path, *args: str) -> tuple[object, list[int]]:
    """A job of the detaching launcher, and the pids of its two unmarked processes (checked
    alive and unmarked)."""
    script = tmp_path / "detaching.py"
    script.write_text(DETACHING)
    b = CommandBackend([sys.executable, str(script), "{work_dir}", *args], [], cwd=str(tmp_path),
                       grace=1)
    job = b.start(tmp_path / "t", tmp_path / "c.py", resume=False)
    wait_for(tmp_path / "t" / "pids.json")
    pids = json.loads((tmp_path / "t" / "pids.json").read_text())
    return job, pids


def gone(pids: list[int], seconds: float = 15) -> bool:
    end = time.time() + seconds
    while any(alive(p) for p in pids) and time.time() < end:
        time.sleep(0.1)
    return not any(alive(p) for p in pids)


def test_stop_ends_processes_that_dropped_the_marker(tmp_path):
    """`env -i`, `sudo` or a daemon's double fork leave no marker: they are found under the
    supervisor (a subreaper) all the same."""
    job, pids = detaching(tmp_path)
    for pid in pids:
        assert alive(pid) and JOB_MARKER not in psutil.Process(pid).environ()
    job.stop()
    assert gone(pids, seconds=1)


def test_what_an_exited_command_detached_is_ended_too(tmp_path):
    job, pids = detaching(tmp_path, "--exit")
    end = time.time() + 20
    while job.poll() is None and time.time() < end:
        time.sleep(0.1)
    assert job.poll() == 0 and gone(pids, seconds=1)


def test_a_sigkilled_supervisor_s_reaper_ends_what_dropped_the_marker(tmp_path):
    from sweeps.run.reaper import LOOK_EVERY

    job, pids = detaching(tmp_path)
    time.sleep(LOOK_EVERY * 2)  # the reaper has looked under the supervisor since
    job.proc.send_signal(signal.SIGKILL)
    job.proc.wait()
    assert gone(pids)
