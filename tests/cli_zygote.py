"""A warm `mlconf` command for the tests' CLI calls.

`python -m mlconf.cli.main ARGS` spends most of a small run's CPU importing scikit-learn,
pandas, xgboost, matplotlib, skops, SQLAlchemy and Hydra. Here one process per test worker
imports them once, then *forks* a child per command: the child is still a process of its
own (its own working folder, environment, standard streams, exit code and interpreter
exit, with atexit handlers), started the way `python -m` starts a module, but without the
imports. Only what an interpreter reads at start-up is shared, so a call whose environment
changes that (PYTHON*, OMP_*, locale) runs as a fresh subprocess instead (tests/helpers.py).

Protocol (one JSON line each way, on this process's stdin/stdout): a request
{"args", "cwd", "env", "out", "err"}; the answers {"pid": N} once forked and
{"returncode": N} once the child is gone.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys
import threading
import warnings

# What a `mlconf train` / `predict` / `monitor` run imports sooner or later.
WARM = (
    "numpy",
    "pandas",
    "scipy.stats",
    "sklearn.pipeline",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.inspection",
    "xgboost",
    "matplotlib",
    "skops.io",
    "sqlalchemy",
    "alembic.config",
    "alembic.runtime.migration",
    "alembic.script",
    "optuna",
    "jinja2",
    "rich.console",
    "hydra",
    "omegaconf",
    "mlconf.cli.main",
    "mlconf.runner",
)


def start_up_differs(env: dict[str, str], base: dict[str, str]) -> bool:
    """Whether `env` changes a variable the warm process read when it started: the same
    list `mlconf warm` holds its callers to (a request that differs is refused here, and
    the caller starts a fresh process)."""
    from mlconf.cli.warm_client import import_time_environment

    return import_time_environment(env) != import_time_environment(base)


def _warm_up() -> None:
    import matplotlib

    matplotlib.use("Agg")
    for name in WARM:
        importlib.import_module(name)


def _child(request: dict[str, object]) -> None:
    """In the forked child: become `python -m mlconf.cli.main ARGS` in the request's folder
    and environment. Never returns: the interpreter exits with the command's code."""
    cwd = str(request["cwd"])
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(request["env"])  # type: ignore[arg-type]
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["out"]), (2, request["err"])):
        target = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    module = importlib.import_module("mlconf.cli.main")
    sys.argv = [str(module.__file__), *request["args"]]  # type: ignore[misc]
    sys.path[0] = cwd  # `python -m` puts the working folder first
    # runpy warns that the module it runs is imported already, which a fresh `python -m`
    # never is: here it is, by the warm-up. Said on stderr, it would fail the tests that
    # read a command's stderr whenever the warm process serves them.
    warnings.filterwarnings(
        "ignore",
        message=r".*found in sys\.modules after import of package",
        category=RuntimeWarning,
    )
    runpy.run_module("mlconf.cli.main", run_name="__main__", alter_sys=True)
    sys.exit(0)


def serve() -> None:
    """Answer requests until stdin closes."""
    _warm_up()
    answers = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        if threading.active_count() != 1:  # a fork would copy a thread's held locks
            answers.write(json.dumps({"refused": "threads running"}) + "\n")
            answers.flush()
            continue
        answers.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve()
