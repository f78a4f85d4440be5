"""kill -9 at random moments: whatever a killed mlconf command leaves behind is whole or absent.

One harness (`kill_at_random`) starts real commands, waits until they are doing the work under
test, kills them with SIGKILL after a seeded random delay, and the checks that follow hold
DESIGN.md property 5 to account after training, registry promotion, batch scoring and tuning
with SQLite storage: the registry opens and passes SQLite's integrity check, every registered
version points to a model folder that loads (sha256 verified), no output is half-written,
and a resumed study keeps every finished trial.

Each scenario repeats rounds of kills until its planned number of kills has landed (a process
ended by SIGKILL while doing the work under test; one that finished first does not count), so
the count printed at the end of the module ("kill -9 trials survived: 20") is exact: the
scenarios assert that every planned kill landed and passed its checks.

These kills end mlconf's processes, never a database server or the machine: they check
atomic writes and transactions, not that committed data reaches the disk (fsync).
"""

from __future__ import annotations

import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import pytest
from helpers import FAST, ROOT, promotions, run_train

import mlconf
from mlconf.store.model_registry import ModelRegistry, open_model

pytestmark = pytest.mark.slow

# Kills per scenario, 20 in all: enough to hit several moments of each, few enough that the
# module takes a couple of minutes on a loaded 2-core machine. At most 2 processes at a time.
TRAIN_KILLS = 4
PROMOTION_ROUNDS = 5  # two promoting processes killed per round
BATCH_KILLS = 4
TUNE_KILLS = 2
MAX_ROUNDS = 6  # rounds a scenario may take to land its kills (a process may finish first)

SURVIVED: Counter[str] = Counter()  # kill -9 trials whose aftermath passed every check
KILLS_SURVIVED = "kill9_survived"  # where conftest.py finds the count (see _report_kills)


@pytest.fixture(scope="module", autouse=True)
def _report_kills(request: pytest.FixtureRequest) -> Iterator[None]:
    """Hand the count to conftest.py, which prints it after the run, past pytest's output
    capture; an xdist worker sends its count to the controller, which adds them up."""
    yield
    workeroutput = getattr(request.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[KILLS_SURVIVED] = dict(SURVIVED)
    else:
        setattr(request.config, KILLS_SURVIVED, Counter(SURVIVED))


def _at_once(_: int) -> bool:
    return True


def kill_at_random(
    commands: Sequence[Sequence[str]],
    cwd: Path,
    delays: Sequence[float],
    *,
    ready: Callable[[int], bool] = _at_once,
    timeout: float = 120.0,
) -> list[int]:
    """Start every command (a list of arguments after `python`); once `ready(i)` holds for
    command i, SIGKILL it `delays[i]` seconds later unless it has ended. The exit codes
    (-9 for a killed one); a command that ends before it is ready is not killed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLCONF_TRACEBACK", None)
    # Each command's stderr is kept: one that fails by itself (not killed) shows why.
    with ExitStack() as files:
        errors = [files.enter_context(tempfile.TemporaryFile()) for _ in commands]
        try:
            codes = _run_and_kill(commands, cwd, env, errors, delays, ready, timeout)
        except AssertionError as failure:  # never ready, or still running: say what they said
            raise AssertionError(f"{failure}\n{_tails(errors)}") from failure
        _fail_on_own_errors(commands, codes, errors)
        return codes


def _tails(errors: Sequence[IO[bytes]], size: int = 4000) -> str:
    """The end of each command's stderr."""
    tails = []
    for i, error in enumerate(errors):
        error.seek(0)
        tails.append(f"--- command {i} stderr ---\n{error.read().decode(errors='replace')[-size:]}")
    return "\n".join(tails)


def _run_and_kill(
    commands: Sequence[Sequence[str]],
    cwd: Path,
    env: dict[str, str],
    errors: Sequence[IO[bytes]],
    delays: Sequence[float],
    ready: Callable[[int], bool],
    timeout: float,
) -> list[int]:
    procs = [
        subprocess.Popen(
            [sys.executable, *command],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=error,
        )
        for command, error in zip(commands, errors, strict=True)
    ]
    deadline = time.monotonic() + timeout
    kill_at: dict[int, float] = {}
    try:
        while any(p.poll() is None for p in procs):
            now = time.monotonic()
            if now > deadline:
                raise AssertionError(f"still running after {timeout}s: {commands}")
            for i, proc in enumerate(procs):
                if proc.poll() is not None:
                    continue
                if i not in kill_at and ready(i):
                    kill_at[i] = now + delays[i]
                if now >= kill_at.get(i, math.inf):
                    proc.send_signal(signal.SIGKILL)
            time.sleep(0.01)
        return [proc.wait() for proc in procs]
    finally:
        for proc in procs:  # an assertion above must not leave a process behind
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _fail_on_own_errors(
    commands: Sequence[Sequence[str]], codes: Sequence[int], errors: Sequence[IO[bytes]]
) -> None:
    """A command exits 0 or is killed (-9); any other code is a bug its stderr explains."""
    for command, code, error in zip(commands, codes, errors, strict=True):
        if code not in (0, -signal.SIGKILL):
            raise AssertionError(f"exit code {code} (not killed): {command}\n{_tails([error])}")


def killed(codes: Sequence[int]) -> int:
    return sum(code == -signal.SIGKILL for code in codes)


def kill_in_rounds(target: int, kill_round: Callable[[int, int], list[int]]) -> int:
    """Call `kill_round(round, processes)` (which starts that many processes, kills them and
    returns their exit codes) until `target` kills have landed, starting no more processes
    than kills still wanted; the number landed, which is `target` unless MAX_ROUNDS ran out."""
    landed = 0
    for number in range(MAX_ROUNDS):
        if landed == target:
            break
        landed += killed(kill_round(number, min(2, target - landed)))
    return landed


def check_registry(url: str) -> ModelRegistry:
    """The registry opens, SQLite finds no corruption, and every version loads, verified."""
    registry = ModelRegistry(url)
    database = url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for version in registry.versions():
        model, found = open_model(version.ref, url)  # checks the registered sha256 too
        assert found is not None and model.input_columns
    return registry


def mlconf_cli(*args: str) -> list[str]:
    return ["-m", "mlconf.cli.main", *args]


# --- training ---------------------------------------------------------------------------------

# Every stage that saves or registers, without the slow optional ones.
LEAN = [*FAST, "explain.enabled=false", "explore.enabled=false", "report.enabled=false"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A project folder where concurrent `mlconf train` runs were killed mid-run, then a
    clean run trained and registered breast_cancer: (folder, kills that landed)."""
    folder = tmp_path_factory.mktemp("train")
    runs = folder / "experiments" / "breast_cancer" / "runs"
    pick = random.Random(7)

    def kill_round(number: int, processes: int) -> list[int]:
        dirs = [runs / f"killed-{number}-{i}" for i in range(processes)]
        return kill_at_random(
            [mlconf_cli("train", *LEAN, f"hydra.run.dir={run_dir}") for run_dir in dirs],
            folder,
            [pick.uniform(0.0, 2.0) for _ in dirs],  # the stages take about 2 s
            ready=lambda i: (dirs[i] / "run.json").exists(),  # the run has started its stages
        )

    landed = kill_in_rounds(TRAIN_KILLS, kill_round)
    run_train(
        [*LEAN, f"deploy.registry_url=sqlite:///{folder / 'experiments' / 'mlconf.db'}"],
        runs / "clean",
    )
    return folder, landed


def test_training_killed_at_random_moments_leaves_nothing_partial(
    trained: tuple[Path, int],
) -> None:
    folder, landed = trained
    assert landed == TRAIN_KILLS  # each one killed a run mid-way
    runs = folder / "experiments" / "breast_cancer" / "runs"
    for run in runs.iterdir():
        model = run / "model"
        if model.exists():  # a model folder appears whole (renamed into place) or not at all
            assert mlconf.load_model(model).predict_proba is not None
        # half-built folders and files keep their hidden temporary names
        assert all(p.name.startswith(".") for p in run.rglob("*.tmp")), run
    # After the kills a clean run still trains and registers, and every version loads.
    registry = check_registry(f"sqlite:///{folder / 'experiments' / 'mlconf.db'}")
    assert registry.resolve("breast_cancer").model_dir == (runs / "clean" / "model").resolve()
    SURVIVED["train"] += landed


# --- registry promotion -----------------------------------------------------------------------

PROMOTER = textwrap.dedent(
    """
    import random, sys
    from mlconf.cli.main import main

    url, worker = sys.argv[1], sys.argv[2]
    pick = random.Random(worker)
    while True:  # the CLI's own code path, without paying for a process start per promotion
        version = str(pick.randint(1, 3))
        main(["models", "promote", "bc", version, "production", "--registry-url", url,
              "--actor", worker])
    """
)


def _promote_rows(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_promotion_killed_at_random_moments_loses_no_update(
    trained: tuple[Path, int], tmp_path: Path
) -> None:
    model_dir = trained[0] / "experiments" / "breast_cancer" / "runs" / "clean" / "model"
    database = tmp_path / "registry.db"
    url = f"sqlite:///{database}"
    registry = ModelRegistry(url)
    for _ in range(3):
        registry.register(
            "bc", model_dir.parent, model_dir, alias=None, forced=False, metrics={},
            criteria_passed=True,
        )  # fmt: skip
    script = tmp_path / "promoter.py"
    script.write_text(PROMOTER)
    pick = random.Random(11)
    total = 0
    for _ in range(PROMOTION_ROUNDS):
        before = _promote_rows(database)
        codes = kill_at_random(
            [[str(script), url, f"worker{i}"] for i in (1, 2)],
            tmp_path,
            [pick.uniform(0.0, 0.4) for _ in range(2)],
            ready=lambda _, before=before: _promote_rows(database) >= before + 4,
        )
        assert killed(codes) == 2, codes  # the promoters never stop by themselves
        registry = check_registry(url)
        moves = promotions(registry, "bc")
        assert len(moves) >= 4
        assert registry.resolve("bc@production").version == moves[-1]["to_version"]
        total += 2
    # No lock is left behind by the dead writers: a promotion right after goes through.
    target = 1 if registry.resolve("bc@production").version != 1 else 2
    registry.promote("bc", target, "production", actor="after")
    assert promotions(registry, "bc")[-1]["who"] == "after"
    SURVIVED["promote"] += total


# --- batch scoring ----------------------------------------------------------------------------

BAD_ROWS = (5, 777, 20_000)  # rows (1-based) with text in a numeric column: quarantined


@pytest.fixture(scope="module")
def scoring_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A CSV of breast_cancer features repeated to 34,140 rows (scoring takes about a second
    in chunks of 500), three of them invalid; (path, rows)."""
    import pandas as pd
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.drop(columns=["target"])
    frame = pd.concat([frame] * 60, ignore_index=True).astype({"mean radius": object})
    for row in BAD_ROWS:
        frame.loc[row - 1, "mean radius"] = "not a number"
    path = tmp_path_factory.mktemp("batch") / "input.csv"
    frame.to_csv(path, index=False, float_format="%.5g")
    return path, len(frame)


def _check_outputs(folder: Path, names: Sequence[str], rows: int) -> None:
    """Each output is absent or complete; its quarantine file too; the rest is hidden *.tmp."""
    import pandas as pd

    for name in names:
        out = folder / name
        quarantine = folder / f"{name}.quarantine.csv"
        if out.exists():
            scored = pd.read_csv(out)
            assert len(scored) == rows - len(BAD_ROWS), name
            assert scored["row"].is_monotonic_increasing and scored["prediction"].notna().all()
            assert quarantine.exists(), name  # renamed into place before the output
        if quarantine.exists():
            assert sorted(pd.read_csv(quarantine)["row"]) == list(BAD_ROWS), name
    visible = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    allowed = {"input.csv", *names, *(f"{n}.quarantine.csv" for n in names)}
    assert visible <= allowed, visible - allowed
    assert all(p.name.endswith(".tmp") for p in folder.iterdir() if p.name.startswith("."))


def test_batch_scoring_killed_at_random_moments_leaves_whole_outputs_or_none(
    trained: tuple[Path, int], scoring_input: tuple[Path, int]
) -> None:
    from mlconf.deploy.batch import predict_file

    model_dir = trained[0] / "experiments" / "breast_cancer" / "runs" / "clean" / "model"
    path, rows = scoring_input
    folder = path.parent
    names: list[str] = []
    pick = random.Random(5)

    def kill_round(number: int, processes: int) -> list[int]:
        mine = [f"scored{number}-{i}.csv" for i in range(processes)]
        names.extend(mine)
        return kill_at_random(
            [
                mlconf_cli("predict", f"model={model_dir}", f"input={path}", f"output={name}",
                           "chunk_rows=500")
                for name in mine
            ],
            folder,
            [pick.uniform(0.0, 1.0) for _ in mine],
            ready=lambda i: any(folder.glob(f".{mine[i]}.*.tmp")),  # it has begun to score
        )  # fmt: skip

    landed = kill_in_rounds(BATCH_KILLS, kill_round)
    _check_outputs(folder, names, rows)
    assert landed == BATCH_KILLS, names
    # The same command again completes where a killed one left nothing.
    for name in names:
        if not (folder / name).exists():
            predict_file(str(model_dir), str(path), folder / name, chunk_rows=5000,
                         registry_url=f"sqlite:///{folder / 'none.db'}")  # fmt: skip
    _check_outputs(folder, names, rows)
    assert all((folder / name).exists() for name in names)
    SURVIVED["predict"] += landed


# --- tuning with SQLite storage ---------------------------------------------------------------

TUNE = [
    *FAST,
    "search=xgboost",
    # Trials long against the database work between them (no pruning, a few hundred
    # trees), so a kill a random moment after two finished trials lands inside one.
    "search.space.n_estimators.value=300",
    "search.space.early_stopping_rounds.value=null",
    "search.space.max_depth.high=4",
    "tune.pruner=none",
    "tune.folds=2",
    "tune.study_name=crash",
    "stages=[load,prepare,split,tune]",
]


def _trials(database: Path, state: str) -> dict[int, float | None]:
    """{number: value} of the study's trials in `state`, read straight from the database.

    Read-write on purpose: a worker killed inside a write leaves a hot journal that only a
    writable connection rolls back (a read-only one fails with SQLITE_READONLY_ROLLBACK)."""
    with sqlite3.connect(database, timeout=30) as conn:
        rows = conn.execute(
            "SELECT t.number, v.value FROM trials t LEFT JOIN trial_values v "
            "ON v.trial_id = t.trial_id WHERE t.state = ?",
            (state,),
        ).fetchall()
    return {int(number): value for number, value in rows}


def _finished_while_running(database: Path) -> int:
    """Finished trials while workers write: 0 while the study is not there or is locked."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM trials WHERE state = 'COMPLETE'"
            ).fetchone()
    except sqlite3.Error:
        return 0
    return int(count)


def test_tuning_killed_at_random_moments_resumes_with_every_finished_trial(
    tmp_path: Path,
) -> None:
    database = tmp_path / "study.db"
    storage = f"tune.storage=sqlite:///{database}"
    pick = random.Random(3)
    # Workers sharing the study, killed once they have finished two trials between them.
    codes = kill_at_random(
        [mlconf_cli("train", *TUNE, storage, "tune.n_trials=100") for _ in range(TUNE_KILLS)],
        tmp_path,
        [pick.uniform(0.0, 1.0) for _ in range(TUNE_KILLS)],
        ready=lambda _: _finished_while_running(database) >= 2,
    )
    assert killed(codes) == TUNE_KILLS, codes
    finished = _trials(database, "COMPLETE")
    running = set(_trials(database, "RUNNING"))
    # A kill may land inside a trial (left RUNNING: the heartbeat must fail it) or between
    # two (waiting on SQLite's lock in ask/tell): both must leave a consistent study.
    # tests/tuning/test_study.py fails a killed trial deterministically.
    # The heartbeat's grace period passes (the killed trials' last beat an hour ago) ...
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE trial_heartbeats SET heartbeat = datetime(heartbeat, '-1 hour')")
        # (a trial killed before its first beat has none: it counts from its start)
        conn.execute("UPDATE trials SET datetime_start = datetime(datetime_start, '-1 hour')")
    # ... and the same study, resumed, keeps every finished trial and adds its own.
    before = max([*finished, *running])
    run_train([*TUNE, storage, "tune.n_trials=2"], tmp_path / "resumed")
    after = _trials(database, "COMPLETE")
    assert finished.items() <= after.items()
    assert set(_trials(database, "FAIL")) >= running  # the dead workers' trials
    assert not _trials(database, "RUNNING")
    new = {n for n in (*after, *_trials(database, "PRUNED")) if n > before}
    assert len(new) == 2, new
    import optuna

    assert len(optuna.load_study(study_name="crash", storage=f"sqlite:///{database}").trials)
    SURVIVED["tune"] += killed(codes)
