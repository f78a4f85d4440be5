"""Atomic writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux's
    /proc), so that another thread creating a file meanwhile is not affected."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes the file private (0600); the published file gets the mode any new file
    # gets under the user's umask.
    tmp.chmod(0o666 & ~current_umask())
    try:
        yield tmp
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        tmp.replace(target)
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(target: Path | str, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: Path | str, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: Path | str, obj: Any, *, reasons_key: str | None = None) -> None:
    """Strict JSON (mlconf.core.strict_json): non-finite numbers become null, listed under
    `reasons_key` when one is given, never the invalid `NaN`/`Infinity` literals."""
    from mlconf.core.strict_json import dumps

    write_text(target, dumps(obj, indent=2, reasons_key=reasons_key) + "\n")


def write_with(target: Path | str, writer: Callable[[Path], None]) -> None:
    """Let `writer` fill a temporary file (e.g. DataFrame.to_csv), then publish it."""
    with atomic_path(target) as tmp:
        writer(tmp)


@contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it into place when complete."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.chmod(0o777 & ~current_umask())
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
        _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
