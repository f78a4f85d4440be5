"""Work nothing later in a run reads (plots, their JSON, the report), done beside the stages.

Two lanes, one order. `draw` jobs (plots: a module-level function and picklable
arguments) run in one worker *process* (started early by `start_drawing`), so they draw
on another core while the stages work: matplotlib is pure Python under the GIL, and a
thread would only take turns with the stages. `submit` jobs (the report) run on one
worker *thread* in this process, and each first waits for the drawing handed in before
it (and for the drawing process to have started), so a report always sees its plots.
`warm` imports what later stages need on a thread of its own, queued behind nothing, and
`while_waiting` does there, once the stages have ended, what a `submit` job can do before
its plots exist. Once the stages have ended, this process also draws, from the back of the
queue, what the drawing process has not started. The drawing process is spawned, or forked
where that is known to be safe (`allow_forked_drawing`).

The runner waits for both lanes before it records the run as finished, so a finished run
has every artifact. A failed run closes them: queued jobs are dropped and the running
ones finish; every file is written atomically, so a run folder never holds half a file.
If the run's process is killed, the drawing process sees it within half a second and
exits; a file it was writing stays under its hidden temporary name.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any


def _exit_with(parent: int) -> None:
    """In the drawing process: end it when the run's process is gone (killed), instead of
    waiting on its queue for ever (the queue's pipe stays open in this process too)."""
    import os

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="mlconf-watch-run", daemon=True).start()


def _timed(job: Callable[..., Any], *args: Any) -> float:
    """Run the job (in the drawing process); its seconds."""
    start = time.perf_counter()
    job(*args)
    return time.perf_counter() - start


# Whether the next run (its Background) may fork its drawing process (allow_forked_drawing).
_fork_allowed = False


def allow_forked_drawing() -> None:
    """Let the next run (one only) fork its drawing process and draw its last plots itself.

    For the command line's `train`, before its first run: no model has run in the process
    yet, so there is no OpenMP pool whose threads a fork would lose. The next run takes the
    permission whether it draws or not, so a later run of the process (a sweep's next job,
    after a model has run) never forks; library callers spawn. The fork is taken where the
    child inherits matplotlib (a warm process's command): it then skips an interpreter
    start and every import, and its first plot comes about 0.6 s sooner."""
    global _fork_allowed
    _fork_allowed = True


def _take_fork_permission() -> bool:
    """The permission of allow_forked_drawing, used up by the run that asks."""
    global _fork_allowed
    allowed, _fork_allowed = _fork_allowed, False
    return allowed


def _start_method(allowed: bool) -> str:
    """'fork' when allowed, safe (Linux, one thread in this process) and worth it
    (matplotlib imported here), else 'spawn'."""
    import multiprocessing

    # A cold process's fork still imports matplotlib: it measured no faster than a spawn.
    inherits = _matplotlib_here()
    forkable = sys.platform.startswith("linux") and threading.active_count() == 1 and inherits
    if allowed and forkable and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _matplotlib_here() -> bool:
    """Whether pyplot is imported in this process (a warm process's command has it): only
    then do a fork and drawing here pay, as neither imports it."""
    return "matplotlib.pyplot" in sys.modules


@dataclass
class _Queued:
    """A drawing job handed to the process: its future there, the run's own (what the report
    waits for), and whether this process took it back to draw it itself."""

    there: Future[float]
    drawn: Future[float]
    stage: str
    job: Callable[..., Any]
    args: tuple[Any, ...]
    taken: bool = False


def _main_process() -> bool:
    """Whether this is the interpreter's main process, which may start a child of its own."""
    import multiprocessing

    return multiprocessing.parent_process() is None


# Where plots are drawn: `auto` (a process when there is a second core and the run may
# start one), `process` or `thread`. `thread` suits a machine whose every core already runs
# a job of its own (a test runner's workers, a batch farm): a drawing process would only add
# its start-up (a Python interpreter and matplotlib) and take turns for the same cores.
DRAWING_ENV = "MLCONF_DRAWING"
DRAWING_CHOICES = ("auto", "process", "thread")


def drawing_lane() -> str:
    """'process' or 'thread', from MLCONF_DRAWING and the machine (module constants)."""
    import os

    from mlconf.core.errors import MlconfError

    chosen = os.environ.get(DRAWING_ENV, "auto").strip().lower() or "auto"
    if chosen not in DRAWING_CHOICES:
        raise MlconfError(
            f"{DRAWING_ENV}={os.environ[DRAWING_ENV]!r} is not a drawing lane",
            where=f"environment variable {DRAWING_ENV}",
            fix=f"set it to one of {', '.join(DRAWING_CHOICES)}, or unset it (auto)",
        )
    if chosen == "thread" or not _main_process():  # a worker process cannot start its own
        return "thread"
    if chosen == "process":
        return "process"
    return "process" if usable_cores() >= 2 else "thread"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def import_quietly(modules: list[str]) -> None:
    """Import each module now; a failure is left for the job that needs the module to report."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - the job's own import says what is wrong
            continue


class Background:
    """The run's background lanes (module doc); `seconds` is worker time per stage."""

    def __init__(self) -> None:
        self._thread: ThreadPoolExecutor | None = None
        self._warming: ThreadPoolExecutor | None = None
        self._process: ProcessPoolExecutor | None = None
        self._futures: list[Future[Any]] = []
        self._drawn: list[Future[float]] = []
        self._queued: list[_Queued] = []
        # Set by the command line for its first run only (allow_forked_drawing).
        self._command_line_run = _take_fork_permission()
        self._lock = threading.Lock()
        self._lane = drawing_lane()  # a wrong MLCONF_DRAWING fails before any stage
        self._when_waiting: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = []
        self.seconds: dict[str, float] = {}

    def _count(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = round(self.seconds.get(stage, 0.0) + seconds, 4)

    def draw(self, stage: str, job: Callable[..., Any], *args: Any) -> None:
        """Run `job(*args)` in the drawing process, after the drawing handed in before (or
        in this process, once the stages have ended: `_draw_the_rest_here`).

        With a single usable core there is no other core to draw on, a run inside a worker
        process (a sweep's joblib/loky launcher) cannot spawn one of its own, and
        MLCONF_DRAWING=thread asks for it: the thread draws."""
        if self._lane == "thread":
            self.submit(stage, job, *args)
            return
        queued = _Queued(
            self._drawing_process().submit(_timed, job, *args), Future(), stage, job, args
        )

        def settle(there: Future[float]) -> None:
            if there.cancelled():  # by close(), unless this process took it back to draw
                if not queued.taken:
                    queued.drawn.cancel()
                return
            error = there.exception()
            if error is not None:
                queued.drawn.set_exception(error)
                return
            self._count(stage, there.result())
            queued.drawn.set_result(there.result())

        self._queued.append(queued)
        queued.there.add_done_callback(settle)
        self._drawn.append(queued.drawn)
        self._futures.append(queued.drawn)

    def _drawing_process(self) -> ProcessPoolExecutor:
        if self._process is None:
            import multiprocessing
            import os

            # spawn, unless a fork is known to be safe: a fork of a process whose OpenMP
            # (xgboost) threads have run can hang.
            context = multiprocessing.get_context(_start_method(self._command_line_run))
            self._process = ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=_exit_with,
                initargs=(os.getpid(),),
            )
        return self._process

    def start_drawing(self, job: Callable[..., Any], *args: Any) -> None:
        """Start the drawing process now with `job(*args)` (importing matplotlib and the plot
        modules): its start-up (1-2 s of CPU) then overlaps the first stages instead of
        delaying the first plot. Nothing happens when the thread draws: the imports would
        only take turns with the stages for the one interpreter lock."""
        if self._lane == "thread" or self._process is not None:
            return
        future = self._drawing_process().submit(job, *args)
        self._drawn.append(future)
        self._futures.append(future)

    def warm(self, stage: str, modules: list[str]) -> None:
        """Import `modules` (what later stages need: skops, SQLAlchemy) on a thread of its own,
        now: not queued behind the drawing as `submit` jobs are, so that the imports run
        while the model fits (xgboost releases the interpreter lock) and not in the stage
        that needs them. Its time counts for `stage`."""
        self._futures.append(
            self._warm_thread().submit(self._quietly, stage, import_quietly, modules)
        )

    def while_waiting(self, stage: str, job: Callable[..., Any], *args: Any) -> None:
        """Run `job(*args)` on the warming thread once the run waits for this work (`wait`),
        before the drawing ends: what a `submit` job can do ahead of its plots (compiling
        the report's templates). Not sooner: a thread working beside a stage takes the
        interpreter lock from it, and a stage that makes many small I/O calls (register's
        SQLite writes) then waits up to 5 ms for the lock after each. A failure is left
        for the later job to meet and report; its time counts for `stage`."""
        self._when_waiting.append((stage, job, args))

    def _start_waiting_jobs(self) -> None:
        jobs, self._when_waiting = self._when_waiting, []
        for stage, job, args in jobs:
            self._futures.append(self._warm_thread().submit(self._quietly, stage, job, *args))

    def _warm_thread(self) -> ThreadPoolExecutor:
        if self._warming is None:
            self._warming = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlconf-warm")
        return self._warming

    def _quietly(self, stage: str, job: Callable[..., Any], *args: Any) -> None:
        start = time.perf_counter()
        try:
            job(*args)
        except Exception:  # noqa: S110 - the job that needs it meets the same error
            pass
        finally:
            self._count(stage, time.perf_counter() - start)

    def submit(self, stage: str, job: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `job(*args, **kwargs)` on the worker thread once the drawing handed in before
        it is done; its time counts for `stage`."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlconf-later")
        before = list(self._drawn)

        def timed() -> None:
            for drawing in before:
                drawing.result()
            start = time.perf_counter()
            try:
                job(*args, **kwargs)
            finally:
                self._count(stage, time.perf_counter() - start)

        self._futures.append(self._thread.submit(timed))

    def wait(self) -> None:
        """Block until every job has run; the first failed job's error is raised here."""
        self._start_waiting_jobs()
        self._draw_the_rest_here()
        futures, self._futures, self._drawn = self._futures, [], []
        for future in futures:
            future.result()

    def _draw_the_rest_here(self) -> None:
        """Draw here what the drawing process has not started, from the back of its queue.

        The stages have ended, so this process would only wait: the two share the last
        plots on two cores. Only in the command line's run (a library caller's matplotlib
        state is its own), and only where matplotlib is imported already (a warm process's
        command): importing it here would cost about what it saves. A job that fails ends
        the sharing; its error is raised by `wait` as the process's would be."""
        queued, self._queued = self._queued, []
        if not self._command_line_run or not _matplotlib_here():
            return
        for entry in reversed(queued):
            # The process takes its queue from the front: once it has this job (drawn, or
            # running, or on its way), it has every one before it too.
            entry.taken = True
            if not entry.there.cancel():
                entry.taken = False
                return
            try:
                seconds = _timed(entry.job, *entry.args)
            except BaseException as exc:  # Ctrl-C too: nothing may wait for it for ever
                entry.drawn.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                return  # raised by wait(), as one failing in the process is
            self._count(entry.stage, seconds)
            entry.drawn.set_result(seconds)

    def close(self) -> None:
        """Drop queued jobs and wait for the running ones (the run failed or ended)."""
        pools: list[Executor | None] = [self._thread, self._warming, self._process]
        self._thread = self._warming = self._process = None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def abandon(self) -> None:
        """End the drawing process at once, then close (the run failed before its first
        stage: the process has only been importing, and has nothing of the run to write)."""
        if self._process is not None:
            end_workers(self._process)
        self.close()


def end_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate a process pool's workers (Python 3.14 has the method; before, its table)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
