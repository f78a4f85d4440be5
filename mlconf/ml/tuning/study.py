"""Optuna studies opened from config: samplers and pruners by name, storage by URL.

A study in SQLite or PostgreSQL survives a killed run: opening it again by name resumes
with every finished trial, and the heartbeat marks a trial whose worker died as failed
instead of leaving it running forever. Optuna is imported only when a study is made.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconf.core.errors import MlconfError, did_you_mean, unknown_parameter
from mlconf.core.secrets import mask_text, mask_url

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage

    from mlconf.ml.tuning.space import SearchSpace

DIRECTIONS: tuple[str, ...] = ("maximize", "minimize")

# Seconds between a running trial's heartbeats, and of silence before it counts as dead.
HEARTBEAT_INTERVAL = 60
GRACE_PERIOD = 120


@dataclass(frozen=True)
class Factory:
    """How to build one named sampler or pruner: Optuna class, defaults, extra packages."""

    target: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    seeded: bool = False
    # Samplers whose random stream restarts with the process would replay the first
    # trials' parameters on resume; QMC keeps its position in the study, so it keeps its seed.
    reseed_on_resume: bool = True
    needs: tuple[str, ...] = ()
    install: str = ""

    def cls(self) -> Callable[..., Any]:
        module, _, name = self.target.rpartition(".")
        factory: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return factory

    def missing(self) -> list[str]:
        """Import names this choice needs that are not installed (Optuna imports them late)."""
        return [m for m in self.needs if importlib.util.find_spec(m) is None]


SAMPLERS: dict[str, Factory] = {
    # multivariate + group: joint TPE per group of parameters that occur together, which is
    # what conditional spaces need (each `when` branch becomes its own group).
    "tpe": Factory(
        "optuna.samplers.TPESampler",
        defaults={"multivariate": True, "group": True},
        seeded=True,
    ),
    "random": Factory("optuna.samplers.RandomSampler", seeded=True),
    "cmaes": Factory(
        "optuna.samplers.CmaEsSampler", seeded=True, needs=("cmaes",), install="cmaes"
    ),
    "qmc": Factory(
        "optuna.samplers.QMCSampler",
        defaults={"scramble": True},
        seeded=True,
        reseed_on_resume=False,
        needs=("scipy",),
        install="scipy",
    ),
    "gp": Factory(
        "optuna.samplers.GPSampler",
        seeded=True,
        needs=("torch", "scipy"),
        install="torch scipy",
    ),
}

PRUNERS: dict[str, Factory] = {
    "none": Factory("optuna.pruners.NopPruner"),
    "median": Factory("optuna.pruners.MedianPruner"),
    "percentile": Factory("optuna.pruners.PercentilePruner"),
    "successive_halving": Factory("optuna.pruners.SuccessiveHalvingPruner"),
    "hyperband": Factory("optuna.pruners.HyperbandPruner"),
}


def make_sampler(
    name: str,
    seed: int,
    params: Mapping[str, Any] | None = None,
    *,
    where: str = "config key tune.sampler",
) -> BaseSampler:
    """Build a named sampler, seeded so that a study is reproducible; `params` override."""
    sampler: BaseSampler = _build("sampler", SAMPLERS, name, params, seed, where)
    return sampler


def make_pruner(
    name: str, params: Mapping[str, Any] | None = None, *, where: str = "config key tune.pruner"
) -> BasePruner:
    """Build a named pruner; `params` are the Optuna class's keyword arguments."""
    pruner: BasePruner = _build("pruner", PRUNERS, name, params, None, where)
    return pruner


def _build(
    kind: str,
    table: Mapping[str, Factory],
    name: str,
    params: Mapping[str, Any] | None,
    seed: int | None,
    where: str,
) -> Any:
    if name not in table:
        raise MlconfError(
            f"unknown {kind} {name!r}.{did_you_mean(str(name), table)} "
            f"Known {kind}s: {', '.join(table)}",
            where=where,
            fix=f"use one of: {', '.join(table)}",
        )
    factory = table[name]
    missing = factory.missing()
    if missing:
        raise MlconfError(
            f"{kind} {name!r} needs the package(s) {', '.join(missing)}, which are not installed",
            where=where,
            fix=f"pip install {factory.install}",
        )
    kwargs = dict(factory.defaults)
    if factory.seeded and seed is not None:
        kwargs["seed"] = seed
    kwargs.update(dict(params or {}))
    cls = factory.cls()
    accepted = inspect.signature(cls).parameters
    for key in kwargs:
        if key not in accepted:
            known = [p for p in accepted if p != "self"]
            raise unknown_parameter(f"{kind} {name!r}", str(key), known, where=where)
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError as exc:
        raise MlconfError(
            f"{kind} {name!r}: {exc}", where=where, fix=f"give the {kind} its required parameters"
        ) from exc
    try:
        with _quiet_experimental():
            return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise MlconfError(
            f"{kind} {name!r} rejected its parameters {kwargs}: {exc}",
            where=where,
            fix=f"correct the {kind} parameters",
        ) from exc


def open_study(
    *,
    name: str,
    storage: str | None,
    direction: str,
    sampler: str | BaseSampler = "tpe",
    pruner: str | BasePruner = "none",
    seed: int = 0,
    sampler_params: Mapping[str, Any] | None = None,
    pruner_params: Mapping[str, Any] | None = None,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
) -> optuna.Study:
    """Create the study, or resume it with every finished trial if it already exists.

    `storage` is None or "memory" (in this process only), "sqlite:///path.db" (its folder
    is created), or any SQLAlchemy URL such as "postgresql://user:pw@host/db".

    A sampler given by name is seeded with `seed` for a new study, and with a seed derived
    from `seed` and the number of trials already stored when resuming, so a resumed study
    continues reproducibly instead of replaying the first trials' parameters (QMC keeps
    its seed: it stores its position in the study). Database studies get a heartbeat, so a
    trial whose worker died is marked FAIL by the next worker after `grace_period` seconds
    of silence (default GRACE_PERIOD; beats every `heartbeat_interval`, HEARTBEAT_INTERVAL).
    """
    import optuna

    if not isinstance(name, str) or not name.strip():
        raise MlconfError(
            f"a study needs a non-empty name, got {name!r}",
            where="search.study_name",
            fix="set a study name, e.g. the experiment name",
        )
    if direction not in DIRECTIONS:
        raise MlconfError(
            f"unknown direction {direction!r}.{did_you_mean(str(direction), DIRECTIONS)}",
            where="search.direction",
            fix="use maximize (accuracy, AUC, R2) or minimize (errors, losses)",
        )
    backend = _storage(storage, heartbeat_interval, grace_period)
    shown = _safe_url(storage)
    with _storage_errors(storage):
        stored = _stored_trials(backend, name)
        if isinstance(sampler, str):
            factory = SAMPLERS.get(sampler)
            if factory is not None and factory.reseed_on_resume:
                seed = _resume_seed(seed, stored)
            sampler = make_sampler(sampler, seed, sampler_params)
        if isinstance(pruner, str):
            pruner = make_pruner(pruner, pruner_params)
        study = optuna.create_study(
            study_name=name,
            storage=backend,
            sampler=sampler,
            pruner=pruner,
            direction=direction,  # type: ignore[arg-type]
            load_if_exists=True,
        )
    if len(study.directions) != 1 or study.direction.name.lower() != direction:
        existing = ", ".join(d.name.lower() for d in study.directions)
        raise MlconfError(
            f"study {name!r} in {shown} was created to {existing}, not to {direction}",
            where="config key tune.study_name",
            fix=f"use another tune.study_name, or a primary metric to {existing}",
        )
    return study


def _storage(
    storage: str | None, heartbeat_interval: int | None = None, grace_period: int | None = None
) -> BaseStorage | None:
    """None for in-memory, else an RDBStorage with a heartbeat (its folder made for SQLite)."""
    if storage is None or storage.strip().lower() in ("", "memory"):
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    shown = _safe_url(storage)
    try:
        url = make_url(storage)
    except ArgumentError as exc:
        raise MlconfError(
            f"storage {shown!r} is not a database URL",
            where="config key tune.storage",
            fix="use memory, sqlite:///path/to/study.db, or postgresql://user:pw@host/db",
        ) from exc
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MlconfError(
                f"cannot create the folder {folder} of the study database {shown}: {exc}",
                where="config key tune.storage",
                fix="choose a writable path for the SQLite file",
            ) from exc
    with _storage_errors(storage), _quiet_experimental():
        # The heartbeat lets the next worker mark a dead worker's trial FAIL after the grace
        # period; no callback is needed for that (a callback only adds retries).
        return _open_rdb(storage, heartbeat_interval, grace_period)


def _open_rdb(
    storage: str,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    attempts: int = 5,
) -> BaseStorage:
    """Open the storage; workers starting together race to create its tables, so retry."""
    from optuna.storages import RDBStorage
    from sqlalchemy.exc import IntegrityError, OperationalError

    from mlconf.core.retry import retry_call
    from mlconf.ml.tuning.sqlite_study import serialize_transactions

    def racing(exc: BaseException) -> bool:
        words = ("already exists", "locked", "UNIQUE")
        return isinstance(exc, (OperationalError, IntegrityError)) and any(
            word in str(exc) for word in words
        )

    def open_storage() -> BaseStorage:
        opened = RDBStorage(
            storage,
            heartbeat_interval=heartbeat_interval or HEARTBEAT_INTERVAL,
            grace_period=grace_period or GRACE_PERIOD,
        )
        serialize_transactions(storage, opened.engine)
        return opened

    return retry_call(open_storage, retry_if=racing, attempts=attempts, first_wait=0.2)


def fail_stale(study: optuna.Study) -> None:
    """Mark the running trials whose worker stopped beating (past the grace period) FAIL.

    Optuna only fails a trial that has beaten once; a worker killed between creating a trial
    and its first beat (the beat waits on the database lock) would leave it RUNNING forever,
    so such a trial is failed once it started longer ago than the grace period.
    """
    import optuna

    with _quiet_experimental():
        optuna.storages.fail_stale_trials(study)
    _fail_unbeaten(study)


def _fail_unbeaten(study: optuna.Study) -> None:
    from datetime import datetime, timedelta

    import optuna
    import sqlalchemy as sa

    storage = getattr(study._storage, "_backend", study._storage)
    if not isinstance(storage, optuna.storages.RDBStorage) or not storage.heartbeat_interval:
        return
    grace = timedelta(seconds=storage.grace_period or 2 * storage.heartbeat_interval)
    running = storage.get_all_trials(
        study._study_id, deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
    )
    old = {
        t._trial_id: t
        for t in running
        if t.datetime_start is not None and datetime.now() - t.datetime_start > grace
    }
    if not old:
        return
    query = sa.text("SELECT trial_id FROM trial_heartbeats WHERE trial_id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    with storage.engine.connect() as conn:
        beaten = {row[0] for row in conn.execute(query, {"ids": list(old)})}
    for trial_id in set(old) - beaten:
        try:
            storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)
        except RuntimeError:  # another worker failed it first
            continue


def _stored_trials(backend: BaseStorage | None, name: str) -> int:
    if backend is None:
        return 0
    try:
        study_id = backend.get_study_id_from_name(name)
    except KeyError:
        return 0
    return len(backend.get_all_trials(study_id, deepcopy=False))


def _resume_seed(seed: int, stored: int) -> int:
    if stored == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([seed, stored]).generate_state(1)[0])


@contextmanager
def _storage_errors(storage: str | None) -> Iterator[None]:
    """Turn database and driver failures into an error naming the URL (password hidden)."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except MlconfError:
        raise
    except (
        SQLAlchemyError,
        ImportError,
        RuntimeError,
        OSError,
        ValueError,
        optuna.exceptions.StorageInternalError,
    ) as exc:
        shown = _safe_url(storage)
        detail = mask_text(str(exc).strip().splitlines()[0] if str(exc).strip() else "", [storage])
        if isinstance(exc, ImportError):
            fix = f"install the database driver: pip install {_driver_package(exc, storage)}"
        elif "Can't load plugin" in str(exc):
            fix = "use sqlite:///path/to/study.db or postgresql://user:password@host/db"
        elif "upgrade" in str(exc):
            fix = f"run `optuna storage upgrade --storage {shown}` (back the database up first)"
        elif shown.startswith("sqlite"):
            fix = "check that the path names a file (not a folder) you can write"
        else:
            fix = "check that the database server is running and the URL, user and password"
        raise MlconfError(
            f"cannot open the study storage {shown}: {type(exc).__name__}: {detail}",
            where="config key tune.storage",
            fix=fix,
        ) from exc


# Import name of a database driver -> the package that provides it.
_DRIVERS = {
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg[binary]",
    "pg8000": "pg8000",
    "asyncpg": "asyncpg",
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
    "mysql": "mysql-connector-python",
    "oracledb": "oracledb",
    "pyodbc": "pyodbc",
}


def _driver_package(exc: ImportError, storage: str | None) -> str:
    """The pip package of the driver SQLAlchemy failed to import (Optuna hides its name)."""
    cause: BaseException | None = exc
    while cause is not None:
        name = getattr(cause, "name", None)
        if isinstance(name, str) and name:
            return _DRIVERS.get(name.split(".")[0], name.split(".")[0])
        cause = cause.__cause__ or cause.__context__
    backend = (storage or "").split(":", 1)[0].split("+")[0]
    return {"postgresql": "psycopg2-binary", "mysql": "PyMySQL"}.get(backend, "<driver>")


def _safe_url(storage: str | None) -> str:
    return "memory" if storage is None else str(mask_url(storage))


@contextmanager
def _quiet_experimental() -> Iterator[None]:
    """Optuna flags `group`, QMC and the heartbeat as experimental; the config chose them."""
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        yield


def trials_frame(study: optuna.Study, space: SearchSpace | None = None) -> pd.DataFrame:
    """One row per trial that ran, for reports: number, state, value, duration_s, param_*,
    user_attr_*.

    With `space`, parameter columns follow its order and choices stored as JSON text
    (lists, mappings) are shown as the values.
    """
    import pandas as pd

    rows = []
    # WAITING: enqueued starts the budget left unused (a resumed study still runs them)
    ran = [t for t in study.get_trials(deepcopy=False) if t.state.name != "WAITING"]
    for trial in sorted(ran, key=lambda t: t.number):
        params = space.decode(trial.params) if space is not None else trial.params
        duration = trial.duration.total_seconds() if trial.duration is not None else math.nan
        value = trial.values[0] if trial.values else math.nan
        row: dict[str, Any] = {
            "number": trial.number,
            "state": trial.state.name,
            "value": value,
            "duration_s": duration,
        }
        row.update({f"param_{k}": v for k, v in params.items()})
        row.update({f"user_attr_{k}": v for k, v in trial.user_attrs.items()})
        rows.append(row)
    columns: dict[str, None] = dict.fromkeys(["number", "state", "value", "duration_s"])
    if space is not None:
        columns.update(dict.fromkeys(f"param_{n}" for n in space.names))
    for prefix in ("param_", "user_attr_"):
        for row in rows:
            columns.update(dict.fromkeys(k for k in row if k.startswith(prefix)))
    return pd.DataFrame(rows, columns=list(columns))
