"""The warm process behind `mlconf warm start`: third-party libraries imported once, one
forked child per command.

What it keeps warm is only what does not change between commands: the libraries mlconf
imports (pandas, scikit-learn, xgboost, Hydra, Optuna, skops, ...), found by a throwaway
interpreter that imports every mlconf module and lists what they pulled in. mlconf's own
modules are imported afresh by every child, because some hold per-command state made at
import (the run id) and because a user's edits must show. The process stops itself when a
file of a module it holds changes (an upgrade), when it has been idle for `--idle`
seconds, or on `mlconf warm stop`; it only forks while it runs one thread, so that no
lock is copied held.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import json
import os
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from mlconf.cli.warm_client import (
    PROTOCOL,
    apply_limits,
    import_time_environment,
    private_folder,
    receive_message,
    send_message,
    socket_path,
)

# Run in a throwaway interpreter: import every mlconf module (and what the stages import
# late), then print the modules that are not mlconf's, in the order they were imported.
_PROBE = """
import importlib, json, pkgutil, sys, mlconf
for info in pkgutil.walk_packages(mlconf.__path__, "mlconf."):
    try:
        importlib.import_module(info.name)
    except Exception:
        pass
from mlconf.ml.tuning.warm import LATER_IMPORTS
for name in [m for ms in LATER_IMPORTS.values() for m in ms] + ["optuna.visualization.matplotlib"]:
    try:
        importlib.import_module(name)
    except Exception:
        pass
print(json.dumps([n for n in sys.modules if n.split(".")[0] not in ("mlconf", "__main__")]))
"""
_STOPPING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_NOT_PRELOADED = ("mlconf", "__main__", "__mp_main__", "hydra_plugins")


def third_party_modules() -> list[str]:
    """What mlconf's modules import, in import order (from a throwaway interpreter that,
    like the warm process, does not look in the working folder: -P)."""
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-P", "-c", _PROBE], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"listing mlconf's imports failed:\n{done.stderr[-2000:]}")
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return [n for n in names if n.split(".")[0] not in _NOT_PRELOADED]


def preload(names: list[str]) -> int:
    """Import `names`; the number imported (a module that fails to import is left to the
    command that needs it, which reports it as a cold run would)."""
    imported = 0
    for name in names:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
            imported += 1
        except Exception:  # noqa: S112 - optional backends of libraries, private test modules
            continue
    return imported


def freeze_what_is_held() -> None:
    """Leave the preloaded libraries' objects (about 370,000) out of every later garbage
    collection, in this process and in each forked command. Otherwise a command's
    collections scan them again and again: the first config composition in a child took
    0.4-0.6 s instead of 0.2 s. They live as long as the process anyway, and a collection
    would also write to their pages, which the children share until written."""
    import gc

    gc.collect()
    gc.freeze()


def module_files() -> dict[str, int]:
    """Every loaded module's file and its modification time: a changed one means the
    code this process holds is not the code on disk."""
    files: dict[str, int] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path not in files:
            try:
                files[path] = Path(path).stat().st_mtime_ns
            except OSError:
                continue
    return files


def changed_file(snapshot: dict[str, int]) -> str | None:
    for path, mtime in snapshot.items():
        try:
            if Path(path).stat().st_mtime_ns != mtime:
                return path
        except OSError:
            return path
    return None


class WarmServer:
    """Accepts commands on a Unix socket and runs each in a forked child."""

    def __init__(self, path: Path, idle_seconds: float) -> None:
        self.path = path
        self.idle_seconds = idle_seconds
        self.started = time.time()
        self.served = 0
        self.children: dict[int, socket.socket] = {}
        self.stopping = False
        self.environment = import_time_environment(dict(os.environ))
        self.preload_seconds = 0.0
        self.snapshot: dict[str, int] = {}
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._wake_read, self._wake_write = os.pipe()
        self.pid = os.getpid()
        self.last_activity = time.monotonic()
        self.added_environment: dict[str, str] = {}  # variables the imports set (KMP_*)
        self._stop_asked = False
        self._socket_id: tuple[int, int] | None = None

    def warm_up(self) -> None:
        began = time.perf_counter()
        before = dict(os.environ)
        preload(third_party_modules())
        self.added_environment = {k: v for k, v in os.environ.items() if k not in before}
        self.preload_seconds = time.perf_counter() - began
        threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        if threads:
            raise RuntimeError(
                f"importing the libraries started threads ({', '.join(threads)}); a process "
                "that forks must run one thread"
            )
        self.snapshot = module_files()
        freeze_what_is_held()

    def bind(self) -> None:
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        refused = private_folder(folder)
        if refused:
            raise RuntimeError(f"{refused}; remove it or set MLCONF_WARM_DIR to a private folder")
        if self.path.exists():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(self.path))
                raise RuntimeError(f"another warm process answers on {self.path}")
            except ConnectionRefusedError:
                self.path.unlink()  # left by a process that was killed
            finally:
                probe.close()
        self.listener.bind(str(self.path))
        self.listener.listen(16)
        info = self.path.stat()
        self._socket_id = (info.st_dev, info.st_ino)

    def serve(self) -> None:
        for fd in (self._wake_read, self._wake_write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self._wake_write)
        signal.signal(signal.SIGCHLD, lambda _n, _f: None)
        for number in _STOPPING:  # acted on in the loop, never inside a handler
            signal.signal(number, lambda _n, _f: setattr(self, "_stop_asked", True))
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        while not (self.stopping and not self.children):
            idle_left = self.idle_seconds - (time.monotonic() - self.last_activity)
            if not self.stopping and (self._stop_asked or (not self.children and idle_left <= 0)):
                self.stop()
                continue
            for key, _events in self.selector.select(timeout=max(idle_left, 0.1)):
                try:
                    self._handle(key.data)
                except Exception:  # one bad request must not end the commands running
                    traceback.print_exc()
            self._reap()

    def _handle(self, what: Any) -> None:
        if what == "accept":
            if not self.stopping:
                connection, _ = self.listener.accept()
                self._answer(connection)
        elif what == "wake":
            _drain(self._wake_read)
        else:  # a caller's connection: it went away while its command runs
            self._caller_gone(what)

    def stop(self) -> None:
        """Take no more commands; the ones running finish and get their exit codes."""
        if self.stopping or os.getpid() != self.pid:
            return
        self.stopping = True
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self.listener)
        self.listener.close()
        with contextlib.suppress(OSError):  # only its own socket: another may have replaced it
            info = self.path.stat()
            if (info.st_dev, info.st_ino) == self._socket_id:
                self.path.unlink()

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "started": self.started,
            "served": self.served,
            "running": len(self.children),
            "idle_seconds": self.idle_seconds,
            "modules": len(self.snapshot),
            "preload_seconds": round(self.preload_seconds, 2),
        }

    def _answer(self, connection: socket.socket) -> None:
        try:
            if not _same_user(connection):
                connection.close()
                return
            connection.settimeout(5.0)
            request, fds = receive_message(connection, max_fds=3)
        except (OSError, ValueError):
            connection.close()
            return
        command = request.get("command")
        if command == "status":
            self._reply_and_close(connection, self.status(), fds)
        elif command == "stop":
            self._reply_and_close(connection, {"stopped": True, **self.status()}, fds)
            self.stop()
        elif command == "run" and len(fds) == 3:
            refusal = self._refusal(request)
            if refusal:
                self._reply_and_close(connection, refusal, fds)
                if refusal.get("stopped"):
                    self.stop()
            else:
                self._fork(connection, request, fds)
        else:
            self._reply_and_close(connection, {"refused": f"unknown request {command!r}"}, fds)

    def _refusal(self, request: dict[str, Any]) -> dict[str, Any] | None:
        if request.get("protocol") != PROTOCOL:
            return {"refused": "another version of mlconf asked"}
        differs = sorted(
            set(self.environment.items()) ^ set(import_time_environment(request["env"]).items())
        )
        if differs:
            return {"refused": f"environment differs ({', '.join(k for k, _ in differs)})"}
        changed = changed_file(self.snapshot)
        if changed:
            return {"stopped": True, "reason": f"{changed} changed since it started"}
        return None

    def _reply_and_close(
        self, connection: socket.socket, reply: dict[str, Any], fds: list[int]
    ) -> None:
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            send_message(connection, reply, [])
        connection.close()

    def _fork(self, connection: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        # Signals wait until the child has dropped the server's handlers: a SIGTERM meant
        # for the child must not run the server's stop() in it.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {*_STOPPING, signal.SIGCHLD})
        try:
            pid = os.fork()
        except OSError as exc:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            self._reply_and_close(connection, {"refused": f"fork failed: {exc}"}, fds)
            return
        if pid == 0:
            self._run_child(connection, request, fds, mask)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for fd in fds:
            os.close(fd)
        self.served += 1
        self.children[pid] = connection
        try:
            send_message(connection, {"pid": pid}, [])
        except OSError:
            os.kill(pid, signal.SIGTERM)
        self.selector.register(connection, selectors.EVENT_READ, connection)

    def _run_child(
        self, connection: socket.socket, request: dict[str, Any], fds: list[int], mask: Any
    ) -> NoReturn:
        code, death = 1, None
        try:
            self._become_command(connection, request, fds, mask)
            from mlconf.cli.main import run_command

            code = run_command(list(request["argv"]))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except KeyboardInterrupt:  # as the interpreter does: the traceback, then die of it
            traceback.print_exc()
            death = signal.SIGINT
        except BaseException:
            traceback.print_exc()
        finally:
            _exit_child(code, death)

    def _become_command(
        self, connection: socket.socket, request: dict[str, Any], fds: list[int], mask: Any
    ) -> None:
        """Drop the server's signals and sockets; take the caller's terminal, folder,
        environment, umask, priority and limits, module path and arguments."""
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self.selector.close()
        for held in (self.listener, connection, *self.children.values()):
            held.close()
        os.close(self._wake_read)
        os.close(self._wake_write)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdout.reconfigure(line_buffering=sys.stdout.isatty())  # type: ignore[union-attr]
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        apply_limits(request.get("limits", {}))
        os.environ.clear()
        os.environ.update(request["env"])
        for key, value in self.added_environment.items():
            os.environ.setdefault(key, value)
        tempfile.tempdir = None  # the caller's TMPDIR
        time.tzset()  # the caller's TZ
        sys.path[:] = list(request["path"])
        sys.argv = ["mlconf", *request["argv"]]
        random.seed()

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection = self.children.pop(pid, None)
            self.last_activity = time.monotonic()
            if connection is None:
                continue
            with contextlib.suppress(KeyError):  # unregistered already if the caller went
                self.selector.unregister(connection)
            with contextlib.suppress(OSError):
                send_message(connection, {"exit": os.waitstatus_to_exitcode(status)}, [])
            connection.close()

    def _caller_gone(self, connection: socket.socket) -> None:
        """The caller closed its end (killed, terminal closed): end its command too."""
        try:
            if connection.recv(1, socket.MSG_PEEK):
                return
        except OSError:
            pass
        self.selector.unregister(connection)
        for pid, held in self.children.items():
            if held is connection:
                os.kill(pid, signal.SIGTERM)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _same_user(connection: socket.socket) -> bool:
    """Only the user who started the process may hand it commands (the folder is private
    too; this also holds where it is not)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid == os.getuid()


def _exit_child(code: int, death: int | None = None) -> NoReturn:
    """End a child as the interpreter would (exit hooks, flushed streams; killed by the
    signal that interrupted it) without unwinding into the server's loop."""
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        if death is not None:
            signal.signal(death, signal.SIG_DFL)
            os.kill(os.getpid(), death)
    finally:
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlconf.cli.warm_server")
    parser.add_argument("--idle", type=float, default=1800.0, help="stop after this many idle s")
    ns = parser.parse_args(argv)
    server = WarmServer(socket_path(), ns.idle)
    try:
        server.warm_up()
        server.bind()
    except (RuntimeError, OSError) as exc:
        sys.stderr.write(f"mlconf warm: could not start: {exc}\n")
        return 1
    sys.stderr.write(f"mlconf warm: ready, pid {os.getpid()}, {json.dumps(server.status())}\n")
    sys.stdout.flush()  # nothing an import printed may reach a command's stdout
    sys.stderr.flush()
    server.serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
