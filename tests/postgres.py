"""A throwaway PostgreSQL server for the tests that need a real database server.

`postgres_server` (one per test session) runs initdb in a temporary folder, starts the
server on a free loopback port with pg_ctl and yields its SQLAlchemy URL; at the end it
stops the server and removes the folder. `postgres_url` gives each test a fresh database
on that server. With MLCONF_TEST_POSTGRES_URL set (a user allowed to CREATE DATABASE),
that server is used instead and nothing is started.

The binaries are looked up on PATH and in Debian's /usr/lib/postgresql/*/bin. When they
are missing the tests fail (they do not skip) and say how to install them. PostgreSQL
refuses to run as root, so as root the server runs as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ENV_URL = "MLCONF_TEST_POSTGRES_URL"
USER = "mlconf"
INSTALL = (
    "install PostgreSQL's server binaries (Debian/Ubuntu: `apt-get install postgresql`; "
    "macOS: `brew install postgresql`), or point MLCONF_TEST_POSTGRES_URL at a server, e.g. "
    "postgresql+psycopg://user:pw@127.0.0.1:5432/postgres"
)


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then Debian's versioned folders."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "pg_ctl").is_file() and (folder / "initdb").is_file():
            return folder
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL will not run as root: run it as `postgres` then."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *command]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(map(str, command))]


def _run(command: list[str], what: str) -> None:
    proc = subprocess.run(
        _as_server_user(command), capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"PostgreSQL {what} failed ({proc.returncode}): {proc.stderr or proc.stdout}")


@contextmanager
def server() -> Iterator[str]:
    """Start a throwaway server; yield the URL of its `postgres` database; stop and remove it."""
    folder = binaries()
    if folder is None:
        pytest.fail(f"PostgreSQL is not installed, and {ENV_URL} is not set: {INSTALL}")
    root = Path(tempfile.mkdtemp(prefix="mlconf-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
    data, port = root / "data", free_port()
    try:
        _run(
            [str(folder / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "--no-sync"],
            "initdb",
        )
        # fsync=off: a throwaway server for speed. The tests kill mlconf's processes, never this
        # server, so they check transactions, not durability across a crash (kill -9 in
        # docs/reference/errors.md).
        options = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = [str(folder / "pg_ctl"), "-D", str(data)]
        _run([*pg_ctl, "-o", options, "-l", str(root / "log"), "-w", "start"], "start")
        try:
            yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
        finally:
            _run([*pg_ctl, "-m", "fast", "-w", "stop"], "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _admin(url: str, statement: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a running PostgreSQL server's maintenance database (see module doc)."""
    external = os.environ.get(ENV_URL)
    if external:
        yield external
        return
    with server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped after the test."""
    import sqlalchemy as sa

    name = f"mlconf_test_{uuid.uuid4().hex[:12]}"
    _admin(postgres_server, f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(postgres_server).set(database=name)
    yield url.render_as_string(hide_password=False)
    _admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
