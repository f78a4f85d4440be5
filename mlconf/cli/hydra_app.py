"""Running a Hydra app (`mlconf train`) with mlconf's config, schemas and error handling."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError
from mlconf.core.secrets import MaskedStream, mask_text, remember, secrets_in

if TYPE_CHECKING:
    from omegaconf import DictConfig

_RUN_ID = uuid.uuid4().hex[:6]
# One stamp per command, so that the sweep folder can be found again after the sweep.
_SWEEP_STAMP = f"{time.strftime('%Y-%m-%d_%H-%M-%S')}-{_RUN_ID}"


class _RefusedName(BaseException):
    """Carries an MlconfError out of Hydra: OmegaConf and Hydra wrap or reformat every
    Exception raised while a path is resolved (losing the message), not a BaseException."""

    def __init__(self, error: MlconfError) -> None:
        super().__init__(str(error))
        self.error = error


def _experiment_folder_name(value: Any) -> str:
    """The `mlconf_name` resolver: experiment_name, checked before Hydra makes its folder."""
    from mlconf.core.names import check_name

    try:
        return check_name(value, "config key experiment_name", kind="experiment name")
    except MlconfError as exc:
        raise _RefusedName(exc) from None


# A command's job: the composed config in, an exit code out (None: 0), or for train the
# metrics (the job's return value, which a sweeper such as mlconf_optuna scores).
# MlconfErrors it raises are reported by run_hydra_app; in a multirun the other jobs go on.
Job = Callable[["DictConfig"], Any]


def run_hydra_app(config_name: str, args: list[str], job: Job | None = None) -> int:
    """Compose `config_name` with the overrides and run every job; the worst exit code."""
    import hydra
    from omegaconf import OmegaConf

    from mlconf.config import store_schemas
    from mlconf.config.aliases import expand
    from mlconf.config.command_line import (
        check_overrides,
        flags_first,
        open_free_form,
        searchpath_folders,
    )
    from mlconf.config.compose_errors import translate
    from mlconf.config.dict_overrides import install as install_dict_overrides
    from mlconf.core.paths import conf_dir, project_conf

    store_schemas()
    install_dict_overrides()
    OmegaConf.register_new_resolver("mlconf_run_id", lambda: _RUN_ID, replace=True)
    OmegaConf.register_new_resolver("mlconf_sweep_stamp", lambda: _SWEEP_STAMP, replace=True)
    # The run folder is experiments/<experiment_name>/...: Hydra makes it before the run
    # starts, so the name is checked while the folder's path is resolved.
    OmegaConf.register_new_resolver("mlconf_name", _experiment_folder_name, replace=True)
    failures: list[str] = []
    codes: list[int] = []
    show_traceback = _show_traceback()  # asked by the user (mlconf sets HYDRA_FULL_ERROR below)
    work = job or _train_job

    @hydra.main(config_path=str(conf_dir()), config_name=config_name, version_base="1.3")
    def app(cfg: DictConfig) -> Any:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        remember(_secrets(cfg))  # also for a traceback printed after Hydra lets go
        sys.path.insert(0, str(Path.cwd()))
        multirun = HydraConfig.get().mode == RunMode.MULTIRUN
        try:
            code = work(cfg)
        except MlconfError as exc:
            if show_traceback:
                raise
            sys.stderr.write(f"mlconf: error: {mask_text(exc.render(), _secrets(cfg))}\n")
            if not multirun:
                raise SystemExit(exc.exit_code) from None
            failures.append(HydraConfig.get().job.override_dirname)
            if job is None:
                _record_failure(Path(HydraConfig.get().runtime.output_dir), cfg, exc)
            return None
        codes.append(code if isinstance(code, int) else 0)
        return code

    args = _rerun_folders(expand(config_name, args))
    check_overrides(args)
    project = project_conf()  # joins the search path first (hydra_plugins/mlconf_project_conf)
    folders = [conf_dir(), *([project] if project else []), *searchpath_folders(args)]
    argv = sys.argv
    hydra_args = flags_first(open_free_form(args))
    sys.argv = [f"mlconf {config_name}", *hydra_args]
    stderr = sys.stderr
    sys.stderr = MaskedStream(stderr)
    try:
        with _hydra_raises():
            _start(app, hydra_args)
    except _RefusedName as refused:
        raise refused.error from None
    except Exception as exc:
        translated = None if show_traceback else translate(exc, folders, config_name)
        if translated is None:
            raise
        raise translated from exc
    finally:
        sys.stderr = stderr
        sys.argv = argv  # Hydra reads its arguments from sys.argv; an in-process caller's stay
    # Jobs of a parallel launcher fail in other processes: the sweep summary counts them too.
    failed = _summarize_sweeps() if job is None else 0
    if failures:
        sys.stderr.write(f"mlconf: {len(failures)} job(s) failed: {', '.join(failures)}\n")
    return max([1 if failures or failed else 0, *codes])


def _start(app: Callable[[], Any], hydra_args: list[str]) -> None:
    """Hydra's app, with one composition instead of two where the command line allows
    (mlconf.cli.one_composition)."""
    from mlconf.cli.one_composition import HydrasOwnWay, composed_once, plain_run

    if not plain_run(hydra_args):
        app()
        return
    try:
        with composed_once():
            app()
    except HydrasOwnWay:
        app()


def _train_job(cfg: DictConfig) -> dict[str, Any]:
    """`mlconf train`: one run of the stages, its summary on the console; its metrics."""
    from rich.console import Console

    from mlconf.cli.summary import print_summary
    from mlconf.runner import run

    console = Console(stderr=True)

    # The summary is printed as soon as the stages have run; plots and the report may still
    # be in the making (the run waits for them before it records success).
    result = run(cfg, console=console, on_metrics=lambda done: print_summary(done, Console()))
    timing = result.record.timing
    if timing.get("to_last_artifact", 0.0) > timing.get("to_metrics", 0.0) + 0.05:
        console.print(
            f"metrics after {timing['to_metrics']:.2f}s, last artifact after "
            f"{timing['to_last_artifact']:.2f}s (run.json: timing)"
        )
    return result.metrics


# The run and sweep folders of conf/train.yaml, for a config that has no hydra section:
# the config.yaml a run saved, fed back with --config-dir RUN --config-name config.
_RUN_FOLDERS = {
    "hydra.run.dir": "experiments/${mlconf_name:${experiment_name}}/runs/"
    "${now:%Y-%m-%d_%H-%M-%S}-${mlconf_run_id:}",
    "hydra.sweep.dir": "experiments/${mlconf_name:${experiment_name}}/multirun/"
    "${mlconf_sweep_stamp:}",
}


def _rerun_folders(args: list[str]) -> list[str]:
    """A rerun from a saved config.yaml writes its run where `mlconf train` would."""
    if not any(a in ("--config-name", "-cn") or a.startswith("--config-name=") for a in args):
        return args
    given = {a.partition("=")[0].lstrip("+") for a in args}
    return [*args, *(f"{k}='{v}'" for k, v in _RUN_FOLDERS.items() if k not in given)]


def _show_traceback() -> bool:
    return os.environ.get("MLCONF_TRACEBACK") == "1" or os.environ.get("HYDRA_FULL_ERROR") == "1"


@contextlib.contextmanager
def _hydra_raises() -> Iterator[None]:
    """Hydra prints a composition error and exits unless HYDRA_FULL_ERROR is set; set, it
    raises, so that mlconf can tell the user what, where and how to fix."""
    before = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["HYDRA_FULL_ERROR"]
        else:
            os.environ["HYDRA_FULL_ERROR"] = before


def _summarize_sweeps() -> int:
    """After a multirun, rank its jobs in sweep_summary.csv and sweep_report.html, print the
    ranking, point `candidate` at the best job; count failed jobs."""
    from rich.console import Console

    from mlconf.cli.sweep import print_summary, summarize
    from mlconf.cli.sweep_candidate import point_candidates
    from mlconf.report import build_sweep_report

    failed = 0
    for sweep_dir in sorted(Path().glob(f"experiments/*/multirun/{_SWEEP_STAMP}")):
        frame = summarize(sweep_dir)
        if len(frame):
            print_summary(frame, sweep_dir, Console())
            for line in point_candidates(frame):
                Console().print(f"best job: {line}", soft_wrap=True)
            report = build_sweep_report(sweep_dir)
            Console().print(f"comparison report: {report}", soft_wrap=True)
            failed += int((frame["status"] != "succeeded").sum())
    return failed


def _secrets(cfg: Any) -> list[str]:
    """The credentials of a composed config (its URLs and secret-named values), as typed."""
    from omegaconf import OmegaConf

    return secrets_in(OmegaConf.to_container(cfg, resolve=False))


def _record_failure(job_dir: Path, cfg: Any, exc: MlconfError) -> None:
    """A job that failed before its run started still leaves a run.json for the summary."""
    from mlconf.store.runs import RunRecord

    if (job_dir / "run.json").is_file():
        return  # the runner recorded it
    record = RunRecord(
        run_dir=job_dir,
        experiment=str(cfg.get("experiment_name")),
        seed=int(cfg.get("seed", 0)),
        secrets=_secrets(cfg),
    )
    record.finish("failed", exc.render())
