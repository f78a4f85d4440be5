"""`mlconf warm`: the warm process, its messages, and commands it runs for a shell."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlconf.cli import warm_client
from mlconf.cli.warm_client import (
    import_time_environment,
    private_folder,
    receive_message,
    send_message,
)
from mlconf.cli.warm_server import changed_file, module_files

LEAN = [
    "model.params.n_estimators=20",
    "metrics.bootstrap=20",
    "explore.plots=false",
    "explain.enabled=false",
]


# --- the parts -------------------------------------------------------------------------------


def test_messages_carry_descriptors_and_survive_being_split() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    read_end, write_end = os.pipe()
    big = {"env": {f"K{i}": "v" * 100 for i in range(2000)}}  # beyond one 64 KiB read
    with left, right:
        sender = threading.Thread(target=send_message, args=(left, big, [write_end]))
        sender.start()  # a message bigger than the socket's buffer: sent while it is read
        message, fds = receive_message(right, max_fds=3)
        sender.join()
        assert message == big
        assert len(fds) == 1
        os.write(fds[0], b"through the passed descriptor")
        assert os.read(read_end, 100) == b"through the passed descriptor"
        left.close()
        assert receive_message(right) == ({}, [])
    for fd in (read_end, write_end, *fds):
        os.close(fd)


def test_two_messages_in_one_segment_are_read_one_at_a_time() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    right.settimeout(5.0)  # a reader that swallowed the second message would wait forever
    with left, right:
        first, second = {"pid": 12}, {"exit": 0}
        # As a child that ends at once: its pid and its exit code arrive together.
        sender_a, sender_b = socket.socketpair()
        with sender_a, sender_b:
            send_message(sender_a, first, [])
            send_message(sender_a, second, [])
            left.sendall(sender_b.recv(1 << 16))
        assert receive_message(right) == (first, [])
        assert receive_message(right) == (second, [])


def test_only_a_private_folder_of_ones_own_holds_the_sockets(tmp_path: Path) -> None:
    folder = tmp_path / "warm"
    folder.mkdir(mode=0o700)
    assert private_folder(folder) is None
    folder.chmod(0o755)
    assert "may be entered by other users (mode 755)" in str(private_folder(folder))
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert "is not a folder" in str(private_folder(a_file))


def test_only_variables_read_at_import_decide_whether_a_caller_may_be_served() -> None:
    environ = {"OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "HOME": "/h", "MLCONF_X": "1"}
    assert import_time_environment(environ) == {"OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def test_a_touched_or_removed_module_file_is_noticed(tmp_path: Path) -> None:
    module = tmp_path / "held.py"
    module.write_text("x = 1\n")
    snapshot = {str(module): module.stat().st_mtime_ns, **module_files()}
    assert changed_file(snapshot) is None
    os.utime(module, ns=(0, module.stat().st_mtime_ns + 1_000_000))
    assert changed_file(snapshot) == str(module)
    module.unlink()
    assert changed_file({str(module): 0}) == str(module)


def _python(*lines: str) -> str:
    """What a fresh interpreter running `lines` prints."""
    script = "\n".join(lines)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_held_libraries_are_left_out_of_garbage_collection() -> None:
    printed = _python(
        "import gc, pandas",
        "from mlconf.cli.warm_server import freeze_what_is_held",
        "before = gc.get_freeze_count()",
        "freeze_what_is_held()",
        "print(before, gc.get_freeze_count())",
    )
    before, after = map(int, printed.split())
    assert before == 0 and after > 10_000  # pandas alone holds more


def test_the_key_separates_installations(monkeypatch: pytest.MonkeyPatch) -> None:
    key = warm_client.install_key()
    monkeypatch.setattr(sys, "executable", "/some/other/venv/bin/python")
    assert warm_client.install_key() != key


# --- a real warm process ---------------------------------------------------------------------


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLCONF_WARM", "MLCONF_TRACEBACK")}
    env.update({warm_client.DIR_ENV: str(folder), "COLUMNS": "200"})
    return env


def _mlconf(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlconf.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _served(cwd: Path, env: dict[str, str]) -> int:
    status = _mlconf(["warm", "status"], cwd, env)
    assert status.returncode == 0, status.stdout + status.stderr
    return int(status.stdout.split(" commands served")[0].rsplit(" ", 1)[1])


# A warm process that imports nothing first: enough to test asking, stopping and refusing.
_BARE = (
    "from mlconf.cli.warm_client import socket_path\n"
    "from mlconf.cli.warm_server import WarmServer\n"
    "server = WarmServer(socket_path(), 600)\n"
    "server.bind()\n"
    "server.serve()\n"
)


def _start(
    tmp_path: Path, command: list[str], cwd: Path | None = None
) -> tuple[dict[str, str], subprocess.Popen[str]]:
    """A warm process in the foreground, in a private socket folder of this test's own."""
    env = _environment(tmp_path / "sockets")
    server = subprocess.Popen(
        [sys.executable, *command],
        cwd=cwd or tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while _mlconf(["warm", "status"], tmp_path, env).returncode != 0:
        assert server.poll() is None, server.communicate()[1]
        assert time.monotonic() < deadline, "the warm process was not ready in 240 s"
        time.sleep(0.2)
    return env, server


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    # Started from a folder with an `mlconf/` of its own (a source checkout): the warm
    # process must still import the installed mlconf, as its callers do. (-P: the caller
    # itself does not look in its folder, as the `mlconf` command does not.)
    checkout = tmp_path / "checkout"
    (checkout / "mlconf").mkdir(parents=True)
    (checkout / "mlconf" / "__init__.py").write_text("raise ImportError('the checkout')\n")
    command = ["-P", "-m", "mlconf.cli.main", "warm", "start", "--foreground"]
    env, server = _start(tmp_path, command, cwd=checkout)
    yield env, server
    if server.poll() is None:
        server.terminate()
    server.communicate(timeout=60)


@pytest.mark.slow
def test_commands_run_warm_with_the_callers_streams_signals_folder_and_exit_code(
    warm: tuple[dict[str, str], subprocess.Popen[str]], tmp_path: Path
) -> None:
    env, server = warm
    project = tmp_path / "project"
    project.mkdir()
    # Plots in a drawing process forked from the command (the suite draws on a thread).
    done = _mlconf(["train", *LEAN], project, {**env, "MLCONF_DRAWING": "process"})
    assert done.returncode == 0, done.stderr
    assert "roc_auc" in done.stdout  # the summary, written to the caller's own stdout
    (record,) = project.glob("experiments/breast_cancer/runs/*/run.json")
    assert len(list(record.parent.glob("plots/evaluation/*.png"))) == 4
    assert "evaluate" in json.loads(record.read_text())["background"]
    assert _served(project, env) == 1

    wrong = _mlconf(["train", "model.params.n_estimatorz=3"], project, env)
    assert wrong.returncode == 2
    assert "mlconf: error:" in wrong.stderr and "n_estimatorz" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert _served(project, env) == 2

    # A variable a library read when the warm process imported it: this caller runs cold.
    threads = "3" if env.get("OMP_NUM_THREADS") != "3" else "5"
    other = _mlconf(["train", *LEAN], project, {**env, "OMP_NUM_THREADS": threads})
    assert other.returncode == 0, other.stderr
    assert _served(project, env) == 2
    assert len(list(project.glob("experiments/breast_cancer/runs/*/run.json"))) == 2

    off = _mlconf(["schema", "--help"], project, {**env, "MLCONF_WARM": "0"})
    assert off.returncode == 0
    assert _served(project, env) == 2

    # Ctrl-C reaches the command; a killed caller's command is stopped too.
    long_run = ["train", "search=xgboost", "tune.n_trials=1000", "tune.timeout=120", *LEAN]
    # The caller dies of the command's Ctrl-C, as a cold command does (a shell loop stops).
    for ending, expected in ((signal.SIGINT, -signal.SIGINT), (signal.SIGKILL, None)):
        caller = subprocess.Popen(
            [sys.executable, "-m", "mlconf.cli.main", *long_run],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for_running(project, env, 1)
        time.sleep(1.0)
        caller.send_signal(ending)
        _, err = caller.communicate(timeout=60)
        if expected is not None:
            assert caller.returncode == expected, err
        _wait_for_running(project, env, 0)  # the command ended with its caller

    # A module it holds changed on disk (an upgrade): it stops, and the command runs cold.
    held = Path(warm_client.__file__)
    before = held.stat()
    try:
        os.utime(held, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        cold = _mlconf(["schema", "--help"], project, env)
    finally:
        os.utime(held, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert cold.returncode == 0, cold.stderr
    assert "the warm process stopped:" in cold.stderr and "warm_client.py changed" in cold.stderr
    assert server.wait(timeout=60) == 0
    assert _mlconf(["warm", "status"], project, env).returncode == 3


def test_status_start_and_stop_of_a_warm_process(tmp_path: Path) -> None:
    env, server = _start(tmp_path, ["-c", _BARE])
    try:
        status = _mlconf(["warm", "status"], tmp_path, env)
        assert "0 commands served, 0 running" in status.stdout
        again = _mlconf(["warm", "start"], tmp_path, env)
        assert again.returncode == 0
        assert "already runs" in again.stdout
        stopped = _mlconf(["warm", "stop"], tmp_path, env)
        assert "stopped taking commands after 0" in stopped.stdout
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
    assert _mlconf(["warm", "status"], tmp_path, env).returncode == 3
    assert "no warm process runs" in _mlconf(["warm", "stop"], tmp_path, env).stdout
    assert not list((tmp_path / "sockets").glob("*.sock"))


def _wait_for_running(cwd: Path, env: dict[str, str], count: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        status = _mlconf(["warm", "status"], cwd, env)
        if f" {count} running" in status.stdout:
            return
        assert time.monotonic() < deadline, status.stdout
        time.sleep(0.2)


def test_a_callers_priority_and_lower_limits_are_taken() -> None:
    printed = _python(
        "import os, resource, json",
        "from mlconf.cli.warm_client import apply_limits, process_limits",
        "limits = process_limits()",
        "soft, hard = limits['RLIMIT_NOFILE']",
        "nicer = min(limits['nice'] + 3, 19)",
        "apply_limits({**limits, 'nice': nicer, 'RLIMIT_NOFILE': (soft - 1, hard)})",
        "after = process_limits()",
        "print(json.dumps([after['nice'] == nicer, soft - after['RLIMIT_NOFILE'][0]]))",
    )
    assert printed == "[true, 1]"
