"""Handing a command to the warm process (`mlconf warm start`), and what both sides share.

A cold `mlconf train` spends about 2.5 s of a 6 s default run importing pandas,
scikit-learn, xgboost, Hydra and their kin before its first stage. The warm process has
imported them once; for each command it forks a child that runs the command with the
caller's terminal, folder, environment and umask, and the caller waits for its exit code.
This module is the caller's side: standard library only, so that asking costs
milliseconds, and a caller that finds no warm process (or one that cannot serve it)
runs the command itself, as if there were none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import stat
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

PROTOCOL = 1
DIR_ENV = "MLCONF_WARM_DIR"  # where the sockets live (default: the user's runtime folder)
SWITCH_ENV = "MLCONF_WARM"  # "0": never use a warm process
# Commands a warm process runs. `serve` and `warm` itself always run in the caller.
WARM_COMMANDS = frozenset({"train", "predict", "monitor", "report", "models", "schema"})
# Variables that libraries read once, when imported (thread pools, allocators, the
# interpreter's own settings): a caller whose values differ from the warm process's
# runs the command itself, because the warm imports would not see them.
IMPORT_TIME_PREFIXES = (
    "OMP_",
    "GOMP_",
    "KMP_",
    "MKL_",
    "OPENBLAS_",
    "BLIS_",
    "VECLIB_",
    "NUMEXPR_",
    "PYTHON",
    "LD_",
    "LC_",
    "LANG",
    "TZ",
    "MALLOC_",
    "MPL",
    "SKLEARN_",
    "XGBOOST_",
    "ARROW_",
)
_HEADER = struct.Struct("!I")
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def socket_folder() -> Path:
    """The user's private folder of warm-process sockets (mode 0700)."""
    chosen = os.environ.get(DIR_ENV)
    if chosen:
        return Path(chosen)
    runtime = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(runtime) / f"mlconf-warm-{os.getuid()}"


def install_key() -> str:
    """One warm process per interpreter and mlconf installation: a caller from another
    virtual environment or another checkout never reaches this one."""
    package = Path(__file__).resolve().parents[1]
    text = "\0".join((sys.executable, sys.version, str(package)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def socket_path() -> Path:
    return socket_folder() / f"{install_key()}.sock"


def private_folder(folder: Path) -> str | None:
    """Why `folder` may not hold the sockets (another owner, others may enter), or None."""
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode):
        return f"{folder} is not a folder"
    if info.st_uid != os.getuid():
        return f"{folder} belongs to another user (uid {info.st_uid})"
    if info.st_mode & 0o077:
        return f"{folder} may be entered by other users (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def process_limits() -> dict[str, Any]:
    """This process's priority and resource limits (`nice`, `ulimit`), which a command run
    by the warm process takes as its own."""
    import resource

    limits: dict[str, Any] = {"nice": os.getpriority(os.PRIO_PROCESS, 0)}
    seen = set()
    for name in sorted(dir(resource)):
        number = getattr(resource, name)
        if name.startswith("RLIMIT_") and number not in seen:  # OFILE is NOFILE
            seen.add(number)
            limits[name] = resource.getrlimit(number)
    return limits


def apply_limits(limits: dict[str, Any]) -> None:
    """Take a caller's priority and limits (process_limits) where this process may: an
    unprivileged process may lower its priority and its limits, not raise them."""
    import resource

    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, int(limits["nice"]))
    for name, value in limits.items():
        if name.startswith("RLIMIT_") and hasattr(resource, name):
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(getattr(resource, name), tuple(value))


def import_time_environment(environ: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k.startswith(IMPORT_TIME_PREFIXES)}


def send_message(connection: socket.socket, message: dict[str, Any], fds: list[int]) -> None:
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    sent = socket.send_fds(connection, [payload], fds) if fds else connection.send(payload)
    if sent < len(payload):
        connection.sendall(payload[sent:])


def receive_message(
    connection: socket.socket, max_fds: int = 0
) -> tuple[dict[str, Any], list[int]]:
    """One message and the descriptors sent with it; ({}, []) when the other side closed.
    Reads exactly one message, never into the next (a {"pid"} and an {"exit"} may arrive
    in one segment)."""
    fds: list[int] = []
    if max_fds:
        head, fds, _flags, _address = socket.recv_fds(connection, _HEADER.size, max_fds)
    else:
        head = connection.recv(_HEADER.size)
    if not head:
        return {}, fds
    head += _read_exactly(connection, _HEADER.size - len(head))
    (length,) = _HEADER.unpack(head)
    message: dict[str, Any] = json.loads(_read_exactly(connection, length))
    return message, fds


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = connection.recv(min(size - len(data), 1 << 20))
        if not more:
            raise ConnectionError("the warm process closed the connection mid-message")
        data += more
    return data


def connect(timeout: float | None = None) -> socket.socket | None:
    """A connection to this installation's warm process, or None when there is none."""
    path = socket_path()
    try:
        if private_folder(path.parent) is not None:
            return None
    except OSError:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        return None
    return connection


def run_warm(argv: list[str]) -> int | None:
    """Run `mlconf <argv>` in the warm process: its exit code, or None when the caller
    should run it itself (no warm process, or one that cannot serve this caller)."""
    if os.environ.get(SWITCH_ENV) == "0" or not hasattr(socket, "send_fds"):
        return None
    connection = connect(timeout=5.0)
    if connection is None:
        return None
    with connection:
        try:
            request = _request(argv)
            sys.stdout.flush()
            sys.stderr.flush()
            send_message(connection, request, [0, 1, 2])
        except OSError:
            return None  # nothing was handed over: run it here
        try:
            connection.settimeout(60.0)
            reply, _ = receive_message(connection)
        except OSError:
            reply = {}
        if not reply:  # it may have started the command: never run it a second time
            sys.stderr.write(
                "mlconf: the warm process took the command but did not answer; it may have "
                "stopped. Check `mlconf warm status`; MLCONF_WARM=0 runs commands without it.\n"
            )
            return 1
        if "pid" not in reply:
            _explain_refusal(reply)
            return None
        connection.settimeout(None)
        return _wait_for(connection, int(reply["pid"]))


def _request(argv: list[str]) -> dict[str, Any]:
    umask = os.umask(0)
    os.umask(umask)
    return {
        "protocol": PROTOCOL,
        "command": "run",
        "argv": argv,
        "cwd": str(Path.cwd()),
        "env": dict(os.environ),
        "path": sys.path,
        "umask": umask,
        "limits": process_limits(),
    }


def _explain_refusal(reply: dict[str, Any]) -> None:
    """A warm process that stopped (its code changed) says so once; other refusals
    (another environment) are silent: the command simply runs cold."""
    if reply.get("stopped"):
        sys.stderr.write(
            f"mlconf: the warm process stopped: {reply.get('reason', 'no reason given')}. "
            "This command runs without it; `mlconf warm start` starts a new one.\n"
        )


def _wait_for(connection: socket.socket, pid: int) -> int:
    """Forward the caller's signals (Ctrl-C, a closed terminal) to the child running the
    command, and return its exit code. A command that died of signal N ends its caller
    with the same signal, so that a shell script's loop stops on Ctrl-C as it would cold."""
    previous = {}
    for number in _FORWARDED:
        previous[number] = signal.signal(number, lambda n, _f: _forward(pid, n))
    try:
        while True:
            try:
                reply, _ = receive_message(connection)
                break
            except InterruptedError:
                continue
        if "exit" not in reply:
            sys.stderr.write("mlconf: the warm process ended without the command's exit code\n")
            return 1
        code = int(reply["exit"])
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if code < 0:  # the command died of a signal: so does its caller, as a shell expects
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code
    return code


def _forward(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)
