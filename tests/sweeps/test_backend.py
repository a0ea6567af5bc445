"""The command backend with real subprocesses."""

import os
import sys
import time
from pathlib import Path

from sweeps.backends import CommandBackend, has_checkpoint

SCRIPT = """
import os, subprocess, sys, time
from pathlib import Path
wd = Path(sys.argv[1])
(wd / "env.txt").write_text(os.environ["PORT"] + " " + os.environ["MASTER_PORT"] + " " + " ".join(sys.argv[2:]))
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
(wd / "child.pid").write_text(str(child.pid))
print("line one"); print("line two", flush=True)
if "--fail" in sys.argv: sys.exit(3)
time.sleep(60)
"""


def backend(tmp_path: Path) -> CommandBackend:
    script = tmp_path / "fake_train.py"
    script.write_text(SCRIPT)
    return CommandBackend([sys.executable, str(script), "{work_dir}", "{resume}", "{cfg_options}"],
                          config="c.py", resume_args=["--resume"], cwd=str(tmp_path))


def wait_for(path: Path, seconds: float = 20) -> None:
    end = time.time() + seconds
    while not path.exists() and time.time() < end:
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_stop_ends_the_whole_process_group_and_port_is_set(tmp_path):
    work = tmp_path / "trial"
    job = backend(tmp_path).start(work, ["a=1"], resume=True)
    wait_for(work / "child.pid")
    port, master, *args = (work / "env.txt").read_text().split()
    assert port == master and int(port) > 0 and args == ["--resume", "a=1"]
    child = int((work / "child.pid").read_text())
    assert job.poll() is None and alive(child)
    job.stop(grace=2)
    assert job.poll() is not None
    time.sleep(0.2)
    assert not alive(child)


def test_failure_keeps_the_tail(tmp_path):
    job = backend(tmp_path).start(tmp_path / "t", ["--fail"], resume=False)
    while job.poll() is None:
        time.sleep(0.05)
    assert job.poll() == 3
    assert job.tail().splitlines()[-2:] == ["line one", "line two"]
    job.stop()


def test_has_checkpoint(tmp_path):
    assert not has_checkpoint(tmp_path)
    (tmp_path / "epoch_1.pth").write_bytes(b"")
    assert has_checkpoint(tmp_path)
