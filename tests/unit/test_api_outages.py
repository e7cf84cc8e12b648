"""Holding a request through a short backend outage (sightings.api.outages)."""

from __future__ import annotations

import pytest

from sightings.api.outages import retry_backend
from sightings.core.errors import BackendError, BackendUnavailableError, InputError


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _flaky(failures: list[Exception]) -> tuple[list[int], object]:
    calls = [0]

    def call() -> str:
        calls[0] += 1
        if failures:
            raise failures.pop(0)
        return "stored"

    return calls, call


def test_a_short_outage_costs_time_not_an_error() -> None:
    clock = _Clock()
    calls, call = _flaky([BackendUnavailableError("database unavailable: locked"), BackendError("vectors gone")] * 2)
    out = retry_backend(call, budget_s=20, where="test", sleep=clock.sleep, clock=lambda: clock.now)  # type: ignore[arg-type]
    assert out == "stored" and calls[0] == 5
    assert clock.sleeps == [0.2, 0.4, 0.8, 1.6]  # back-off doubling (capped at 2 s)


def test_an_outage_longer_than_the_budget_fails_with_the_backend_error() -> None:
    clock = _Clock()
    calls, call = _flaky([BackendUnavailableError("database unavailable")] * 100)
    with pytest.raises(BackendUnavailableError, match="database unavailable"):
        retry_backend(call, budget_s=5, where="test", sleep=clock.sleep, clock=lambda: clock.now)  # type: ignore[arg-type]
    assert clock.now <= 5 and calls[0] == len(clock.sleeps) + 1 and calls[0] > 3


def test_other_errors_and_a_zero_budget_are_not_retried() -> None:
    clock = _Clock()
    calls, call = _flaky([InputError("bad photo", where="photo")])
    with pytest.raises(InputError):
        retry_backend(call, budget_s=20, where="test", sleep=clock.sleep, clock=lambda: clock.now)  # type: ignore[arg-type]
    calls, call = _flaky([BackendError("down")])
    with pytest.raises(BackendError):
        retry_backend(call, budget_s=0, where="test", sleep=clock.sleep, clock=lambda: clock.now)  # type: ignore[arg-type]
    assert calls[0] == 1 and clock.sleeps == []
