"""Plots and the report are written beside the stages, and a run is still whole or failed.

The summary (`on_metrics`) comes when the stages end; `run` returns, and run.json says
succeeded, only once every artifact is written. A failing background job fails the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import FAST, compose_train, quiet_console

from mlconf.run_state import Background
from mlconf.runner import RunResult, run


def test_background_keeps_the_order_and_raises_the_first_error_on_wait() -> None:
    done: list[int] = []
    worker = Background()
    for i in range(3):
        worker.submit("explore", done.append, i)
    worker.submit("explain", _fail)
    worker.submit("explain", done.append, 99)
    with pytest.raises(RuntimeError, match="drawing failed"):
        worker.wait()
    worker.close()
    assert done[:3] == [0, 1, 2]
    assert set(worker.seconds) == {"explore", "explain"}


@pytest.fixture
def drawing_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw in the background process (the suite draws in a thread: tests/conftest.py)."""
    monkeypatch.setenv("MLCONF_DRAWING", "process")


@pytest.mark.usefixtures("drawing_process")
def test_a_thread_job_waits_for_the_drawing_handed_in_before_it(tmp_path: Path) -> None:
    """Drawing runs in another process; the report (a thread job) sees every plot."""
    worker = Background()
    assert worker._lane == "process"
    plot = tmp_path / "plot.txt"
    worker.draw("explain", _slow_write, plot, "drawn")
    seen: list[bool] = []
    worker.submit("report", lambda: seen.append(plot.is_file()))
    worker.wait()
    worker.close()
    assert seen == [True] and plot.read_text() == "drawn"
    assert worker.seconds["explain"] >= 0.3
    worker = Background()
    worker.draw("explain", _fail)
    with pytest.raises(RuntimeError, match="drawing failed"):
        worker.wait()
    worker.close()


def test_closing_drops_queued_work_and_waits_for_the_running_job() -> None:
    started, release = threading.Event(), threading.Event()
    done: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(5)
        done.append("slow")

    worker = Background()
    worker.submit("report", slow)
    for _ in range(5):
        worker.submit("report", done.append, "queued")
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    worker.close()  # returns after the running job; the queued ones never run
    assert done == ["slow"]


def _fail(*args: Any) -> None:
    raise RuntimeError("drawing failed")


def _slow_write(path: Path, text: str) -> None:
    time.sleep(0.3)
    path.write_text(text)


def _train(run_dir: Path, on_metrics: Any = None) -> RunResult:
    overrides = [*FAST, f"deploy.registry_url=sqlite:///{run_dir.parent / 'mlconf.db'}"]
    return run(
        compose_train(overrides), run_dir=run_dir, console=quiet_console(), on_metrics=on_metrics
    )


def test_metrics_come_first_and_the_run_returns_with_every_artifact(tmp_path: Path) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def on_metrics(result: RunResult) -> None:
        seen.append((result.record.status, result.metrics))

    result = _train(tmp_path / "run", on_metrics)
    assert len(seen) == 1 and seen[0][0] == "running" and seen[0][1]["test"]
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["status"] == "succeeded"
    timing = record["timing"]
    assert 0 < timing["to_metrics"] <= timing["to_last_artifact"]
    assert {"explore", "explain", "report"} <= set(record["background"])
    assert set(record["samples"]) >= {"explore", "explain", "reference"}
    for name in ("report.html", "model_card.md", "interpretation.json", "data/profile.json"):
        assert (result.run_dir / name).is_file(), name
    for name in ("interpretation.json", "data/profile.json"):
        document = json.loads((result.run_dir / name).read_text())
        assert document["plots"], name
        assert all((result.run_dir / p["path"]).is_file() for p in document["plots"]), name
    assert document["sample"]["rows"] == document["rows"]  # profile.json: 569 of 569 rows


@pytest.mark.usefixtures("drawing_process")
def test_a_failing_plot_fails_the_run_and_leaves_no_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlconf.ml.interpret import plots

    # The drawing process finds the job by name: test_background._fail (tests/ is on the
    # path it is given).
    monkeypatch.setattr(plots, "importance_bars", _fail)
    summaries: list[RunResult] = []
    with pytest.raises(RuntimeError, match="drawing failed"):
        _train(tmp_path / "run", summaries.append)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "crashed" and "drawing failed" in record["error"]
    assert not (tmp_path / "run" / "report.html").exists()
    assert not list((tmp_path / "run").rglob("*.tmp"))


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_killed_while_drawing_leaves_whole_files_and_no_drawing_process(tmp_path: Path) -> None:
    """kill -9 of `mlconf train` after explain handed its plots over: the drawing process
    exits by itself, and every file in the run folder is whole (or hidden as *.tmp)."""
    import os
    import signal
    import subprocess
    import sys

    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "mlconf.cli.main", "train", *FAST]
    command += [f"hydra.run.dir={run_dir}", f"deploy.registry_url=sqlite:///{tmp_path / 'r.db'}"]
    proc = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MLCONF_DRAWING": "process"},
    )
    drawing: list[int] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        drawing = [c for c in _children(proc.pid) if _alive(c)]
        record = run_dir / "run.json"
        stages = json.loads(record.read_text())["stages"] if record.is_file() else {}
        if "explain" in stages and drawing:
            break
        time.sleep(0.05)
    assert proc.poll() is None and drawing, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while any(_alive(c) for c in drawing) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(c) for c in drawing), "the drawing process outlived the run"
    for path in run_dir.rglob("*"):
        if path.suffix == ".tmp":
            assert path.name.startswith("."), path
        elif path.suffix == ".png":
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82"), path
        elif path.suffix == ".json":
            json.loads(path.read_text())  # whole


def test_with_one_core_the_thread_draws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlconf.core import background

    monkeypatch.setattr(background, "usable_cores", lambda: 1)
    monkeypatch.setenv("MLCONF_DRAWING", "auto")
    worker = Background()
    worker.draw("explain", _slow_write, tmp_path / "plot.txt", "drawn")
    assert worker._process is None
    worker.wait()
    worker.close()
    assert (tmp_path / "plot.txt").read_text() == "drawn"


def test_the_drawing_lane_is_chosen_by_mlconf_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlconf.core import background
    from mlconf.core.errors import MlconfError

    monkeypatch.setattr(background, "usable_cores", lambda: 4)
    for value, lane in (("auto", "process"), ("", "process"), ("Thread", "thread")):
        monkeypatch.setenv("MLCONF_DRAWING", value)
        assert background.drawing_lane() == lane, value
    monkeypatch.setenv("MLCONF_DRAWING", "thread")
    worker = Background()
    worker.draw("explain", _fail)  # on the thread: no process is started for it
    assert worker._process is None
    with pytest.raises(RuntimeError, match="drawing failed"):
        worker.wait()
    worker.close()
    monkeypatch.setenv("MLCONF_DRAWING", "gpu")
    with pytest.raises(MlconfError, match="MLCONF_DRAWING") as refused:
        Background()
    assert "auto, process, thread" in str(refused.value)


def _write_pid(path: Path, wait: float) -> None:
    time.sleep(wait)
    path.write_text(str(os.getpid()))


@pytest.fixture
def command_line_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A run the command line allowed to share the drawing (allow_forked_drawing), with
    matplotlib imported as in a warm process's command; its drawing process is spawned
    here all the same (no fork of a test worker)."""
    import matplotlib.pyplot  # noqa: F401

    from mlconf.core import background

    monkeypatch.setenv("MLCONF_DRAWING", "process")
    monkeypatch.setattr(background, "_start_method", lambda allowed: "spawn")
    background.allow_forked_drawing()
    yield
    background._take_fork_permission()  # a test that made no Background leaves none behind


def _interrupt(*args: Any) -> None:
    raise KeyboardInterrupt


def _closes_within(worker: Background, seconds: float) -> bool:
    closing = threading.Thread(target=worker.close, daemon=True)
    closing.start()
    closing.join(seconds)
    return not closing.is_alive()


@pytest.mark.usefixtures("command_line_run")
def test_once_the_stages_end_the_run_draws_what_the_process_has_not_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The run's process takes queued plots from the back; the report still sees them all."""
    worker = Background()
    plots = [tmp_path / f"plot{i}.txt" for i in range(6)]
    worker.draw("explain", _write_pid, plots[0], 1.0)  # the process is busy with this one
    for plot in plots[1:]:
        worker.draw("explain", _write_pid, plot, 0.0)
    seen: list[bool] = []
    worker.submit("report", lambda: seen.append(all(p.is_file() for p in plots)))
    worker.wait()
    worker.close()
    assert seen == [True]
    drawn_by = [int(p.read_text()) for p in plots]
    assert drawn_by[0] != os.getpid()  # the drawing process's
    assert drawn_by[-1] == os.getpid()  # taken back: at most two are handed to the process
    assert worker.seconds["explain"] >= 1.0  # both processes' time is counted
    # Every plot drawn there before the wait: nothing is taken back, and nothing logged.
    from mlconf.core import background

    background.allow_forked_drawing()
    worker = Background()
    worker.draw("explain", _write_pid, plots[0], 0.0)
    worker.draw("explain", _write_pid, plots[1], 0.0)
    deadline = time.monotonic() + 60
    while not all(q.there.done() for q in worker._queued) and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.wait()
    worker.close()
    assert {int(p.read_text()) for p in plots[:2]} != {os.getpid()}
    assert not [r for r in caplog.records if r.levelname == "CRITICAL"], caplog.text


@pytest.mark.usefixtures("command_line_run")
def test_a_plot_taken_back_that_fails_or_is_interrupted_leaves_nothing_waiting(
    tmp_path: Path,
) -> None:
    from mlconf.core import background

    for failure, raised in ((_fail, RuntimeError), (_interrupt, KeyboardInterrupt)):
        background.allow_forked_drawing()
        worker = Background()
        worker.draw("explain", _write_pid, tmp_path / "a.txt", 1.0)
        worker.draw("explain", _write_pid, tmp_path / "b.txt", 0.0)
        worker.draw("explain", failure)  # taken back and drawn here
        worker.submit("report", _write_pid, tmp_path / "report.txt", 0.0)
        with pytest.raises(raised):
            worker.wait()
        assert _closes_within(worker, 30), "the report still waits for the failed plot"


def test_a_library_callers_run_neither_forks_nor_draws_in_its_process(tmp_path: Path) -> None:
    """Only the command line's first run may: a library caller's matplotlib is its own, and
    a sweep's later job has run a model (its OpenMP threads) before."""
    import matplotlib.pyplot  # noqa: F401

    from mlconf.core import background

    background.allow_forked_drawing()
    first, second = Background(), Background()  # the first takes it, drawing or not
    assert first._command_line_run and not second._command_line_run
    assert background._start_method(False) == "spawn"
    second._lane = "process"
    plots = [tmp_path / f"plot{i}.txt" for i in range(4)]
    for plot in plots:
        second.draw("explain", _write_pid, plot, 0.2)
    second.wait()
    second.close()
    first.close()
    assert os.getpid() not in {int(p.read_text()) for p in plots}


@pytest.mark.usefixtures("drawing_process")
def test_a_drawing_process_ended_at_once_ends_a_report_waiting_for_its_plots(
    tmp_path: Path,
) -> None:
    """The report waits for the run's futures of the plots: they end when the process's do."""
    worker = Background()
    worker.draw("explain", _write_pid, tmp_path / "a.txt", 1.0)
    worker.draw("explain", _write_pid, tmp_path / "b.txt", 0.0)
    worker.draw("explain", _write_pid, tmp_path / "c.txt", 0.0)  # queued, then dropped
    worker.submit("report", _write_pid, tmp_path / "report.txt", 0.0)
    # as a run whose start failed; a report left waiting would keep this from returning
    abandoning = threading.Thread(target=worker.abandon, daemon=True)
    abandoning.start()
    abandoning.join(30)
    assert not abandoning.is_alive(), "the report still waits for a plot that never comes"
    assert not list(tmp_path.glob("*.txt"))


def test_a_drawing_process_is_forked_only_when_it_is_safe_and_pays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlconf.core import background

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", types.ModuleType("matplotlib.pyplot"))
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert background._start_method(False) == "spawn"  # not allowed
    assert background._start_method(True) == "fork"
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert background._start_method(True) == "spawn"  # another thread might hold a lock
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.delitem(sys.modules, "matplotlib.pyplot")
    assert background._start_method(True) == "spawn"  # the child would import it all again


_FORKED = """
import sys, xml.dom.minidom
import matplotlib.pyplot
from mlconf.core.background import Background, allow_forked_drawing
allow_forked_drawing()
for _ in range(2):
    worker = Background()
    worker.draw("explain", exec, "import sys; assert 'xml.dom.minidom' in sys.modules")
    try:
        worker._queued[0].there.result()  # drawn there, not taken back by this process
        worker.wait()
        print("inherited")
    except AssertionError:
        print("fresh")
    worker.close()
"""


def test_a_forked_drawing_process_inherits_the_imports_and_draws() -> None:
    env = {**os.environ, "MLCONF_DRAWING": "process"}
    done = subprocess.run(
        [sys.executable, "-c", _FORKED], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["inherited", "fresh"]  # forked once, then spawned
