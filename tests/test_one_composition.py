"""A plain command composes its config once; the job sees what Hydra's two compositions
give it, and a config that asks for a multirun still gets one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from omegaconf import OmegaConf

import mlconf.cli.one_composition as one_composition
from mlconf.cli.hydra_app import run_hydra_app
from mlconf.cli.one_composition import plain_run


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """Hydra configures logging for the job it runs here, in the test's own process (the
    `mlconf` logger writes to the run's run.log and stops propagating): put it back, so
    that later tests in this worker log as before."""
    import logging

    def loggers() -> dict[str | None, logging.Logger]:
        names = [name for name, lg in logging.root.manager.loggerDict.items()
                 if isinstance(lg, logging.Logger)]  # fmt: skip
        return {None: logging.root, **{name: logging.getLogger(name) for name in names}}

    saved = {
        name: (list(lg.handlers), lg.level, lg.propagate, lg.disabled)
        for name, lg in loggers().items()
    }
    yield
    for name, lg in loggers().items():
        handlers, level, propagate, disabled = saved.get(name, ([], logging.NOTSET, True, False))
        for handler in lg.handlers:
            if handler not in handlers:
                handler.close()
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate, lg.disabled = propagate, disabled


def capture(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> tuple[list[dict[str, Any]], int]:
    """Run `mlconf train ARGS` with a job that records its config and Hydra's node; the
    jobs' records and how many times the config was composed."""
    from hydra.core.hydra_config import HydraConfig

    compositions = [0]
    load = ConfigLoaderImpl.load_configuration

    def counted(self: Any, *a: Any, **kw: Any) -> Any:
        compositions[0] += 1
        return load(self, *a, **kw)

    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", counted)
    jobs: list[dict[str, Any]] = []

    def job(cfg: Any) -> int:
        hydra = HydraConfig.get()
        jobs.append(
            {
                "config": OmegaConf.to_yaml(cfg),
                "hydra": OmegaConf.to_yaml(hydra),
                "mode": str(hydra.mode),
            }
        )
        return 0

    assert run_hydra_app("train", args, job=job) == 0
    return jobs, compositions[0]


def test_a_plain_run_composes_once_and_its_job_sees_what_hydra_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["model=logistic", "seed=3", f"hydra.run.dir={tmp_path / 'run'}"]
    once, composed = capture(monkeypatch, args)
    assert composed == 1
    monkeypatch.setattr(one_composition, "plain_run", lambda _args: False)  # Hydra's own way
    twice, composed_twice = capture(monkeypatch, args)
    assert composed_twice == 2
    assert once == twice
    assert once[0]["mode"] == "RunMode.RUN" and "hydra.mode=RUN" in once[0]["hydra"]


def test_a_config_that_asks_for_a_multirun_still_gets_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["hydra.mode=MULTIRUN", f"hydra.sweep.dir={tmp_path / 'sweep'}", "model=logistic"]
    jobs, composed = capture(monkeypatch, args)
    assert [job["mode"] for job in jobs] == ["RunMode.MULTIRUN"]
    assert (tmp_path / "sweep").is_dir() and not (tmp_path / "experiments").exists()
    monkeypatch.setattr(one_composition, "plain_run", lambda _args: False)  # Hydra's own way
    hydras, composed_by_hydra = capture(monkeypatch, args)
    assert hydras == jobs
    assert composed == composed_by_hydra + 1  # the run's composition, checked and dropped


def test_a_config_that_fails_to_compose_fails_as_hydra_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's composition failing sends the command Hydra's way (whose mode check may
    succeed where a run's composition fails): the error is Hydra's own."""
    from mlconf.core.errors import MlconfError

    monkeypatch.chdir(tmp_path)
    messages = []
    for plain in (True, False):
        monkeypatch.setattr(one_composition, "plain_run", lambda _args, p=plain: p)
        with pytest.raises(MlconfError) as caught:
            capture(monkeypatch, ["model=nope"])
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "nope" in messages[0]


@pytest.mark.parametrize(
    ("args", "plain"),
    [
        (["model=logistic", "seed=3", "+data.note='a, b'"], True),
        ([], True),
        (["-m", "model=logistic"], False),
        (["--cfg", "job"], False),
        (["model=logistic,dummy"], False),
        (["seed=range(1,3)"], False),
        (["model=glob(*)"], False),
        (["seed=="], False),  # not an override: Hydra says so, its usual way
    ],
)
def test_only_overrides_without_a_sweep_are_a_plain_run(args: list[str], plain: bool) -> None:
    assert plain_run(args) is plain
