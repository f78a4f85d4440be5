"""`mlconf warm start|stop|status`: the warm process seen from the shell."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mlconf.cli.warm_client import (
    DIR_ENV,
    WARM_COMMANDS,
    connect,
    private_folder,
    receive_message,
    send_message,
    socket_folder,
    socket_path,
)
from mlconf.core.errors import MlconfError

START_TIMEOUT_S = 180.0


def warm_command(rest: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mlconf warm",
        description=(
            "Keep a process with mlconf's libraries imported; "
            f"`mlconf {'/'.join(sorted(WARM_COMMANDS))}` then start in a fraction of a second. "
            "Set MLCONF_WARM=0 to run a command without it."
        ),
    )
    sub = parser.add_subparsers(dest="action", required=True)
    start = sub.add_parser("start", help="start the warm process in the background")
    start.add_argument(
        "--idle", type=float, default=30.0, help="minutes without commands before it stops"
    )
    start.add_argument(
        "--foreground", action="store_true", help="run it here (logs on stderr) until stopped"
    )
    sub.add_parser("stop", help="stop it (commands it is running finish first)")
    sub.add_parser("status", help="whether it runs, since when, and how many commands it ran")
    ns = parser.parse_args(rest)
    if ns.action == "start":
        return _start(ns.idle, ns.foreground)
    if ns.action == "stop":
        return _stop()
    return _status()


def ask(command: str) -> dict[str, Any] | None:
    """Send `command` (status, stop) to the warm process: its reply, or None if none runs."""
    connection = connect(timeout=10.0)
    if connection is None:
        return None
    try:
        with connection:
            send_message(connection, {"command": command}, [])
            reply, _ = receive_message(connection)
    except OSError as exc:
        raise MlconfError(
            f"the warm process did not answer '{command}' ({exc})",
            where=str(socket_path()),
            fix="it may be busy or hung: try again, or end it (its pid is in its log)",
        ) from None
    return reply or None


def _start(idle_minutes: float, foreground: bool) -> int:
    if idle_minutes <= 0:
        raise MlconfError(
            f"--idle {idle_minutes:g} is not a positive number of minutes",
            where="mlconf warm start --idle",
            fix="give the minutes without commands after which it stops, e.g. --idle 30",
        )
    running = ask("status")
    if running:
        sys.stdout.write(f"the warm process already runs (pid {running['pid']})\n")
        return 0
    folder = socket_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    refused = private_folder(folder)
    if refused:
        raise MlconfError(
            refused,
            where="the warm process's folder",
            fix=f"set {DIR_ENV} to a private folder",
        )
    # -P: `-m` would put the working folder first on the module path, and an `mlconf/`
    # there (a source checkout) would be imported instead of this installation, whose
    # commands would then never find it. (Each command gets its caller's module path.)
    idle = str(idle_minutes * 60)
    command = [sys.executable, "-P", "-m", "mlconf.cli.warm_server", "--idle", idle]
    if foreground:  # this process becomes the warm process (same pid, same streams)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, command)  # noqa: S606 - this interpreter, mlconf's module
    log = folder / f"{socket_path().stem}.log"
    began = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, mlconf's module
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,  # Ctrl-C in this terminal does not reach it
            close_fds=True,
        )
    return _wait_until_ready(process, log, began, idle_minutes)


def _wait_until_ready(
    process: subprocess.Popen[bytes], log: Path, began: float, idle_minutes: float
) -> int:
    while time.monotonic() - began < START_TIMEOUT_S:
        status = ask("status")
        if status:
            sys.stdout.write(
                f"warm process ready in {time.monotonic() - began:.1f} s (pid {status['pid']}, "
                f"{status['modules']} modules); it stops after {idle_minutes:g} min without "
                "commands or on `mlconf warm stop`\n"
            )
            return 0
        if process.poll() is not None:
            raise MlconfError(
                f"the warm process exited with code {process.returncode} while starting",
                where=str(log),
                fix=f"read the end of {log}; MLCONF_WARM=0 runs commands without it",
            )
        time.sleep(0.1)
    process.terminate()
    raise MlconfError(
        f"the warm process was not ready after {START_TIMEOUT_S:.0f} s",
        where=str(log),
        fix="the machine may be busy: try again, or read the log",
    )


def _stop() -> int:
    reply = ask("stop")
    if reply is None:
        sys.stdout.write("no warm process runs\n")
        return 0
    sys.stdout.write(
        f"the warm process (pid {reply['pid']}) stopped taking commands after "
        f"{reply['served']}; it ends when its {reply['running']} running command(s) end\n"
    )
    return 0


def _status() -> int:
    status = ask("status")
    if status is None:
        sys.stdout.write(f"no warm process runs (socket {socket_path()})\n")
        return 3
    uptime = time.time() - float(status["started"])
    sys.stdout.write(
        f"warm process pid {status['pid']}, up {uptime / 60:.1f} min, {status['served']} "
        f"commands served, {status['running']} running, {status['modules']} modules "
        f"imported in {status['preload_seconds']} s, stops after "
        f"{float(status['idle_seconds']) / 60:g} min idle\n"
    )
    return 0
