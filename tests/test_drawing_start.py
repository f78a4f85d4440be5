"""What keeps a run's drawing off its wait: figures drawn once per save, the drawing process
started before the checks (and ended at once when they fail), none for a run that draws
nothing, and the report's templates compiled while the plots are drawn."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import FAST, compose_train, quiet_console

from mlconf import runner
from mlconf.core.background import Background
from mlconf.core.errors import MlconfError


def test_a_saved_figure_is_drawn_once(tmp_path: Path) -> None:
    """tight_layout left a placeholder layout engine, and savefig drew such a figure twice."""
    from mlconf.report.figures import pyplot, save_figure

    figure, axes = pyplot().subplots(figsize=(4, 3))
    axes.plot([0, 1, 2], [1, 0, 2], label="line")
    axes.set_title("a title")
    axes.legend(loc="best")
    draws: list[int] = []
    draw = figure.draw

    def counted(renderer: Any) -> None:
        draws.append(1)
        draw(renderer)

    figure.draw = counted  # type: ignore[method-assign]
    path = save_figure(figure, tmp_path / "plot.png")
    assert len(draws) == 1
    assert path.read_bytes().startswith(b"\x89PNG")


def test_abandoning_ends_the_drawing_process_without_waiting_for_its_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLCONF_DRAWING", "process")
    worker = Background()
    worker.start_drawing(time.sleep, 120)
    start = time.monotonic()
    worker.abandon()
    assert time.monotonic() - start < 60
    assert multiprocessing.active_children() == []


def test_the_drawing_starts_before_the_checks_and_a_failed_check_ends_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Its start-up overlaps the checks' imports; a config error does not wait for it."""
    monkeypatch.setenv("MLCONF_DRAWING", "process")
    drawing: list[bool] = []

    def failing_check(conf: Any, table: Any = None) -> Any:
        drawing.append(bool(multiprocessing.active_children()))
        raise MlconfError("a misspelled model parameter", where="config key model.params")

    monkeypatch.setattr(runner, "preflight", failing_check)
    with pytest.raises(MlconfError, match="misspelled"):
        runner.run(compose_train(FAST), run_dir=tmp_path / "run", console=quiet_console())
    assert drawing == [True]
    assert multiprocessing.active_children() == []


def test_a_run_that_draws_nothing_starts_no_drawing_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLCONF_DRAWING", "process")  # the tests' conftest draws on a thread
    every = runner.drawing_modules(runner.typed(compose_train()))
    assert every == [
        "mlconf.ml.explore.plots",
        "mlconf.report.evaluation_plots",
        "mlconf.ml.interpret.plots",
    ]
    lean = runner.typed(compose_train(["explore.plots=false", "explain.enabled=false"]))
    assert runner.drawing_modules(lean) == ["mlconf.report.evaluation_plots"]
    stages = "stages=[load,validate,privacy,explore,prepare,split,select,train,save]"
    undrawn = runner.typed(compose_train([stages, "explore.plots=false"]))
    assert runner.drawing_modules(undrawn) == []
    worker = Background()
    runner._start_drawing(worker, undrawn, runner.stage_table(undrawn))
    assert worker._process is None
    worker.close()
    drawing = Background()  # and one that draws does start it
    runner._start_drawing(drawing, lean, runner.stage_table(lean))
    assert drawing._process is not None
    drawing.abandon()


def test_a_wait_job_runs_only_while_the_run_waits_and_never_fails_it() -> None:
    """Background.while_waiting: not beside the stages (it would take the interpreter lock
    from them), but once the run waits, before the drawing ends; a failure there is not
    the run's: the job that needs it meets it."""
    released = threading.Event()
    worker = Background()
    worker.draw("explain", released.wait, 30)  # drawing that waits for the job
    worker.while_waiting("report", released.set)
    worker.while_waiting("report", _fail)
    time.sleep(0.2)
    assert not released.is_set()  # the stages go on alone
    start = time.monotonic()
    worker.wait()
    worker.close()
    assert released.is_set() and time.monotonic() - start < 20
    assert "report" in worker.seconds


def test_a_prepared_report_compiles_no_template_when_rendered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from report_fixtures import add_stage_artifacts, minimal_run

    from mlconf.report import html

    html._environment.cache_clear()  # an earlier test's report compiled them already
    html.prepare_report()
    env = html._environment()
    compiled: list[str] = []
    compile_ = env.compile

    def counted(source: Any, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(name))
        return compile_(source, name, *args, **kwargs)

    monkeypatch.setattr(env, "compile", counted)
    run_dir = minimal_run(tmp_path / "run")
    add_stage_artifacts(run_dir)
    page, _ = html.render_report(run_dir)
    assert compiled == []
    assert "<html" in page


def _fail() -> None:
    raise RuntimeError("not the run's failure")
