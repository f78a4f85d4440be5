"""The run state: typed fields, and a clear error for a stage input no stage has made."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import compose_train, quiet_console

from mlconf.config import ModelConfig
from mlconf.core.errors import MlconfError
from mlconf.run_state import RunState, Stage
from mlconf.runner import typed
from mlconf.store.runs import RunRecord


def state(tmp_path: Path) -> RunState:
    conf = typed(compose_train([]))
    record = RunRecord(run_dir=tmp_path, experiment="t", seed=0)
    return RunState(conf=conf, run_dir=tmp_path, record=record, console=quiet_console())


def test_a_stage_input_read_before_any_stage_made_it_names_the_stage_order(
    tmp_path: Path,
) -> None:
    run = state(tmp_path)
    assert not RunState.frame.made(run)
    with pytest.raises(MlconfError) as info:
        _ = run.frame
    assert "'frame' was not produced by an earlier stage" in info.value.what
    assert info.value.where == "config key stages"


def test_a_made_field_reads_back_and_each_run_has_its_own(tmp_path: Path) -> None:
    first, second = state(tmp_path / "a"), state(tmp_path / "b")
    frame = pd.DataFrame({"x": [1, 2]})
    first.frame = frame
    assert RunState.frame.made(first) and first.frame is frame
    assert not RunState.frame.made(second)


def test_the_model_starts_as_configured_and_stages_change_the_state_not_the_config(
    tmp_path: Path,
) -> None:
    run = state(tmp_path)
    configured = run.conf.model
    assert run.model == configured
    run.model = ModelConfig(name="dummy")
    assert run.conf.model == configured


def test_a_stage_checks_the_config_and_runs_over_the_state(tmp_path: Path) -> None:
    seen: list[str] = []
    stage = Stage(run=lambda s: seen.append("run"), check=lambda conf: seen.append("check"))
    run = state(tmp_path)
    stage.check(run.conf)
    stage(run)
    assert seen == ["check", "run"]
    Stage(run=lambda s: None).check(run.conf)  # a stage without a check accepts any config


def test_a_warning_is_shown_recorded_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = state(tmp_path)
    with caplog.at_level("WARNING", logger="mlconf.run"):
        run.warn("only 12 positive rows")
    assert run.record.warnings == ["only 12 positive rows"]
    assert "only 12 positive rows" in run.console.export_text()
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("mlconf.run", "WARNING", "only 12 positive rows")
    ]
