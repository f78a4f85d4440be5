"""mlconf.core.retry: the one helper behind every retry and wait loop (webhooks, the model
registry's lock and version races, the prediction log's flush)."""

from __future__ import annotations

import time

import pytest

from mlconf.core.retry import retry_call, wait_until


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses asked for, without sleeping them."""
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    return asked


def test_a_passing_failure_is_retried_with_doubling_waits(waits: list[float]) -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("not yet")
        return "done"

    assert retry_call(flaky, retry_if=lambda e: isinstance(e, OSError), attempts=5, first_wait=0.5)
    assert len(calls) == 3 and waits == [0.5, 1.0]


def test_the_last_failure_is_raised_as_it_was_after_all_attempts(waits: list[float]) -> None:
    calls = []

    def down() -> None:
        calls.append(1)
        raise ConnectionError(f"down {len(calls)}")

    with pytest.raises(ConnectionError, match="down 3"):
        retry_call(down, retry_if=lambda e: True, attempts=3, first_wait=0.1)
    assert len(calls) == 3 and waits == [0.1, 0.2]


def test_a_failure_not_worth_retrying_is_raised_at_once(waits: list[float]) -> None:
    calls = []

    def refused() -> None:
        calls.append(1)
        raise ValueError("bad payload")

    with pytest.raises(ValueError, match="bad payload"):
        retry_call(refused, retry_if=lambda e: isinstance(e, OSError), attempts=5, first_wait=1)
    assert calls == [1] and waits == []


def test_wait_until_true_false_and_errors() -> None:
    answers = iter([False, False, True])
    assert wait_until(lambda: next(answers), timeout=5, interval=0.001) is True
    assert wait_until(lambda: False, timeout=0.05, interval=0.01) is False

    def broken() -> bool:
        raise RuntimeError("the process exited")

    with pytest.raises(RuntimeError, match="exited"):
        wait_until(broken, timeout=5, interval=0.01)
