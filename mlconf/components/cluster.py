"""A Dask cluster for a run, a batch job or a monitor run: started, reached, closed.

`cluster_client(conf)` is a context manager giving a `distributed.Client` (or None when no
cluster is configured). `kind: local` starts a `distributed.LocalCluster` of worker
processes and closes it when the block ends, also on error; `address` connects to an
existing scheduler and fails fast when it cannot be reached. dask and distributed are
imported inside the functions: they are an optional extra (`mlconf[scale]`).

`map_ordered` runs one function over chunks on the workers, a bounded number at a time,
and gives the results back in the chunks' order: batch scoring and drift use it.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mlconf.config import ClusterConfig
from mlconf.core.distribution import install_hint
from mlconf.core.errors import MlconfError

if TYPE_CHECKING:
    from rich.console import Console

KINDS = ("none", "local")
INSTALL = install_hint("scale")
START_HINT = (
    "start one with `dask scheduler` (it prints tcp://HOST:8786) and `dask worker "
    "tcp://HOST:8786` on each machine, or use cluster=local to start one for this run"
)


def require_distributed(where: str) -> Any:
    """The `distributed` module, or an error naming the extra that installs it."""
    try:
        import dask.dataframe  # noqa: F401  (the dataframe extra: pandas partitions)
        import distributed
    except ImportError as exc:
        raise MlconfError(
            f"a Dask cluster needs dask[dataframe] and distributed, which are not installed "
            f"({exc.name} is missing)",
            where=where,
            fix=f"install the scale extra: {INSTALL}",
        ) from exc
    return distributed


def parse_cluster(spec: str | None) -> ClusterConfig:
    """A cluster from one setting: none/empty, `local`, or a scheduler address."""
    text = (spec or "").strip()
    if text.lower() in ("", "none", "null", "false"):
        return ClusterConfig()
    if text.lower() == "local":
        return ClusterConfig(kind="local")
    return ClusterConfig(address=text)


def configured(conf: ClusterConfig) -> bool:
    return bool(conf.address) or conf.kind == "local"


@contextlib.contextmanager
def cluster_client(
    conf: ClusterConfig, console: Console | None = None, where: str = "config key cluster"
) -> Iterator[Any]:
    """A connected `distributed.Client` for the block (None without a cluster).

    A cluster started here (kind local) is closed when the block ends, whatever happens in
    it. The dashboard link is printed to `console`.
    """
    if conf.kind not in KINDS:
        raise MlconfError(
            f"unknown cluster kind '{conf.kind}'",
            where=f"{where}.kind",
            fix="use cluster=none, cluster=local, or set cluster.address=tcp://host:port",
        )
    if conf.address and conf.kind == "local":
        raise MlconfError(
            "both a local cluster and an existing cluster's address are configured",
            where=f"{where}.address",
            fix="drop cluster=local to use the cluster at the address, or "
            "cluster.address=null to start a local one",
        )
    if not configured(conf):
        yield None
        return
    require_distributed(where)
    with contextlib.ExitStack() as stack:
        # Hydra sets the root logger to INFO: without this, every worker start, heartbeat
        # and close of the scheduler's chatter lands between the stage lines.
        _quiet("distributed", stack)
        if conf.address:
            client = _connect(conf, where)
        else:
            cluster = _start_local(conf, where)
            stack.callback(cluster.close)
            client = _connect(conf, where, cluster=cluster)
        stack.callback(client.close)
        _say(console, client, conf)
        yield client


def _quiet(prefix: str, stack: contextlib.ExitStack) -> None:
    """Raise the `prefix` loggers (distributed sets a level on several) to WARNING for the
    block, and put their levels back after it."""
    import distributed  # noqa: F401 - its import sets up the loggers to quiet

    names = [prefix, *(n for n in logging.root.manager.loggerDict if n.startswith(prefix + "."))]
    for logger in map(logging.getLogger, names):
        stack.callback(logger.setLevel, logger.level)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def _start_local(conf: ClusterConfig, where: str) -> Any:
    distributed = require_distributed(where)
    if conf.n_workers < 1 or conf.threads_per_worker < 1:
        raise MlconfError(
            f"a local cluster needs at least one worker and one thread per worker, got "
            f"n_workers={conf.n_workers}, threads_per_worker={conf.threads_per_worker}",
            where=f"{where}.n_workers",
            fix="set cluster.n_workers and cluster.threads_per_worker to 1 or more",
        )
    memory: Any = conf.memory_limit
    if str(memory).strip() in ("0", "none", "None"):
        memory = 0
    try:
        return distributed.LocalCluster(
            n_workers=conf.n_workers,
            threads_per_worker=conf.threads_per_worker,
            processes=True,
            memory_limit=memory,
            host="127.0.0.1",
            dashboard_address=conf.dashboard_address,
        )
    except ValueError as exc:  # e.g. a memory_limit dask cannot parse
        raise MlconfError(
            f"the local cluster did not start: {exc}",
            where=f"{where}.memory_limit",
            fix="use e.g. cluster.memory_limit=auto, 4GiB or 0 (no limit)",
        ) from exc


def _connect(conf: ClusterConfig, where: str, cluster: Any = None) -> Any:
    distributed = require_distributed(where)
    target = cluster if cluster is not None else conf.address
    try:
        return distributed.Client(target, timeout=conf.timeout, set_as_default=True)
    except (OSError, TimeoutError) as exc:
        raise MlconfError(
            f"no Dask scheduler answered at '{conf.address}' within {conf.timeout:g} s "
            f"({type(exc).__name__})",
            where=f"{where}.address",
            fix=START_HINT,
        ) from exc


def _say(console: Console | None, client: Any, conf: ClusterConfig) -> None:
    if console is None:
        return
    workers = worker_count(client)
    what = f"cluster {client.scheduler.address}" if conf.address else "local cluster"
    console.print(f"  {what}: {workers} worker(s)")
    link = dashboard_link(client, conf)
    if link:
        console.print(f"  dashboard: {link}")


def dashboard_link(client: Any, conf: ClusterConfig) -> str | None:
    """The dashboard's URL; its pages need bokeh, which the link's note says when missing."""
    if not conf.address and conf.dashboard_address is None:
        return None
    try:
        link = str(client.dashboard_link)
    except (KeyError, AttributeError):
        return None
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return f"{link} (its pages need bokeh: pip install bokeh)"
    return link


def worker_count(client: Any) -> int:
    return len(client.scheduler_info().get("workers", {})) or 1


def current_client(where: str) -> Any:
    """The client of the cluster this run started or joined, or an error saying how to get one."""
    distributed = require_distributed(where)
    try:
        return distributed.default_client()
    except ValueError as exc:
        raise MlconfError(
            "this model trains on a Dask cluster, but none is configured",
            where=where,
            fix="add cluster=local (starts one for the run) or cluster.address=tcp://host:port",
        ) from exc


def map_ordered(
    client: Any,
    function: Callable[..., Any],
    chunks: Iterable[Any],
    *args: Any,
    in_flight: int | None = None,
) -> Iterator[Any]:
    """`function(chunk, *args)` for each chunk on the workers, results in the chunks' order.

    At most `in_flight` chunks (default two per worker) are out at a time, so a long input
    is never all in memory; constant `args` (a model, settings) go to the workers once.
    """
    limit = in_flight or 2 * worker_count(client)
    shared = [client.scatter([a], broadcast=True, hash=False)[0] if _big(a) else a for a in args]
    pending: deque[Any] = deque()
    for chunk in chunks:
        pending.append(client.submit(function, chunk, *shared, pure=False))
        if len(pending) >= limit:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _big(value: Any) -> bool:
    """Values worth sending once rather than with every task."""
    if isinstance(value, bytes | bytearray):
        return len(value) > 100_000
    if isinstance(value, dict):
        return any(_big(v) for v in value.values())
    return False
