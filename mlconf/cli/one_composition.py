"""A plain run composes its config once.

Hydra's `@hydra.main` composes the whole config twice for every command: once to read
`hydra.mode` (run or multirun, which a config file may set), then again for the run.
With mlconf's groups a composition costs 0.3-0.5 s, paid by every `mlconf train`,
`predict` or `monitor` before any work starts.

When the command line holds only overrides and none of them sweeps (no `-m`, no flag,
no `a=1,2`), the mode can only come from the config itself. Then Hydra is told "run"
without composing, and the one composition the run makes is checked instead. A config
that asks for a multirun, or one that fails to compose for a run, stops it before any job
starts (`HydrasOwnWay`), and the command is run again the way Hydra always does. A config
that leaves the mode unset gets what Hydra's own run gives it (`hydra.mode=RUN`, recorded
among the hydra overrides). The config a job sees is the same either way (tests compare
them).

This reaches into `hydra._internal` (hydra-core is pinned to 1.3.x in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any


class HydrasOwnWay(BaseException):
    """Run the command the way Hydra does: the config asks for a multirun, or composing it
    for a run failed (Hydra's mode check composes for a multirun, which lets a sweeper fill
    a `???` default; a real error then comes again, with Hydra's own message).

    A BaseException, so that Hydra's `run_and_report` (which catches Exception and exits)
    lets it through."""


def plain_run(args: Sequence[str]) -> bool:
    """Whether the command line is overrides only, none of them a sweep."""
    if any(arg.startswith("-") for arg in args):
        return False
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(list(args))
    except Exception:  # Hydra reports it, the usual way
        return False
    return not any(override.is_sweep_override() for override in parsed)


@contextmanager
def composed_once() -> Iterator[None]:
    """While Hydra's app runs: its mode check answers "run" without composing, and the run's
    own composition is checked for a mode the config sets. Both act once, then Hydra is
    itself again (a job may compose configs of its own)."""
    from hydra._internal.hydra import Hydra
    from hydra.types import RunMode

    get_mode, compose_config = Hydra.get_mode, Hydra.compose_config

    def run_mode(self: Any, *args: Any, **kwargs: Any) -> RunMode:
        Hydra.get_mode = get_mode  # type: ignore[method-assign]
        return RunMode.RUN

    def compose_and_check(self: Any, *args: Any, **kwargs: Any) -> Any:
        Hydra.compose_config = compose_config  # type: ignore[method-assign]
        try:
            cfg = compose_config(self, *args, **kwargs)
        except Exception:
            raise HydrasOwnWay from None
        if cfg.hydra.mode == RunMode.MULTIRUN:
            raise HydrasOwnWay
        if cfg.hydra.mode is None:  # as if Hydra had added its `hydra.mode=RUN` override
            cfg.hydra.mode = RunMode.RUN
            cfg.hydra.overrides.hydra.append("hydra.mode=RUN")
        return cfg

    Hydra.get_mode = run_mode  # type: ignore[method-assign]
    Hydra.compose_config = compose_and_check  # type: ignore[method-assign]
    try:
        yield
    finally:
        Hydra.get_mode, Hydra.compose_config = get_mode, compose_config  # type: ignore[method-assign]
