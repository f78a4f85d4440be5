"""The test side of tests/cli_zygote.py: run `mlconf ARGS` in a child forked from a warm
process, with subprocess.run's answer (CompletedProcess, TimeoutExpired), or None when the
call needs a fresh interpreter (its environment changes what an interpreter reads at start,
MLCONF_TEST_FRESH_CLI is set, or the warm process is gone)."""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cli_zygote import start_up_differs

_lock = threading.Lock()
_warm: subprocess.Popen[bytes] | None = None
_warm_env: dict[str, str] = {}
_pending = b""


def run_warm(
    command: list[str], args: list[str], cwd: str, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str] | None:
    if os.environ.get("MLCONF_TEST_FRESH_CLI"):
        return None
    with _lock:
        warm = _start(env)
        if warm is None or start_up_differs(env, _warm_env):
            return None
        with tempfile.TemporaryDirectory(prefix="mlconf-cli-") as folder:
            out, err = Path(folder) / "out", Path(folder) / "err"
            request = {"args": args, "cwd": cwd, "env": env, "out": str(out), "err": str(err)}
            try:
                assert warm.stdin is not None
                warm.stdin.write(json.dumps(request).encode() + b"\n")
                warm.stdin.flush()
                forked = _answer(warm, 60.0)
                if "pid" not in forked:
                    return None
                try:
                    ended = _answer(warm, timeout)
                except TimeoutError:
                    os.kill(forked["pid"], signal.SIGKILL)
                    _answer(warm, 30.0)
                    raise subprocess.TimeoutExpired(
                        command, timeout, _read(out), _read(err)
                    ) from None
            except (OSError, EOFError, ValueError):
                _stop()
                return None
            return subprocess.CompletedProcess(
                command, int(ended["returncode"]), _read(out), _read(err)
            )


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _start(env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    global _warm, _warm_env
    if _warm is not None and _warm.poll() is None:
        return _warm
    if _warm is not None:  # it died: no second try in this test process
        return None
    _warm_env = dict(env)
    _warm = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("cli_zygote.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # each child writes to its own files
        env=env,
    )
    atexit.register(_stop)
    return _warm


def _stop() -> None:
    global _warm
    if _warm is not None and _warm.poll() is None:
        assert _warm.stdin is not None
        _warm.stdin.close()
        try:
            _warm.wait(10)
        except subprocess.TimeoutExpired:
            _warm.kill()


def _answer(warm: subprocess.Popen[bytes], timeout: float) -> dict[str, int]:
    """The warm process's next answer line; TimeoutError after `timeout` seconds."""
    global _pending
    assert warm.stdout is not None
    fd = warm.stdout.fileno()
    deadline = time.monotonic() + timeout
    while b"\n" not in _pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError("the warm mlconf process is gone")
            _pending += chunk
    line, _pending = _pending.split(b"\n", 1)
    answer: dict[str, int] = json.loads(line)
    return answer
