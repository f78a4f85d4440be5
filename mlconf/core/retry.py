"""Trying an action again after a passing failure, and waiting for a condition: one helper
for every such loop in mlconf, on tenacity (maintained, no dependencies of its own) rather
than a hand-written loop per call site with its own counting and sleeping.

tenacity is imported inside the functions: `mlconf --help` never pays for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retry_call(
    action: Callable[[], T],
    *,
    retry_if: Callable[[BaseException], bool],
    attempts: int,
    first_wait: float,
) -> T:
    """Call `action` until it returns. An exception for which `retry_if` is true is tried
    again, up to `attempts` calls in all, waiting `first_wait`, then twice as long each
    time; any other exception, or the last one, is raised as it was (the caller words it)."""
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

    retrying = Retrying(
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait_exponential(multiplier=first_wait),
        retry=retry_if_exception(retry_if),
        reraise=True,
    )
    return retrying(action)


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float) -> bool:
    """Ask `condition` every `interval` seconds until it is true (True) or `timeout` seconds
    have passed (False). An exception from `condition` is raised at once, never retried."""
    from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda ready: not ready),
        retry_error_callback=lambda _state: False,
    )
    return bool(retrying(condition))
