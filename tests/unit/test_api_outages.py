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


def _app(hold_s: float, failures: list[Exception]) -> tuple[object, list[str]]:
    """A tiny app: a GET and a POST on a HeldReadsRoute router, both failing with ``failures`` first."""
    from types import SimpleNamespace

    from fastapi import APIRouter, FastAPI

    from sightings.api.app import create_app
    from sightings.api.outages import HeldReadsRoute

    calls: list[str] = []
    router = APIRouter(route_class=HeldReadsRoute)

    def answer(kind: str) -> dict[str, str]:
        calls.append(kind)
        if failures:
            raise failures.pop(0)
        return {"answer": kind}

    router.add_api_route("/thing", lambda: answer("read"), methods=["GET"])
    router.add_api_route("/thing", lambda: answer("write"), methods=["POST"])
    app: FastAPI = create_app()
    app.include_router(router)
    app.state.settings = SimpleNamespace(server=SimpleNamespace(hold_on_outage_s=hold_s))
    return app, calls


def test_reads_are_held_through_a_short_outage_and_writes_are_not_rerun() -> None:
    from fastapi.testclient import TestClient

    app, calls = _app(5.0, [BackendUnavailableError("database unavailable: restarting")] * 2)
    with TestClient(app) as client:  # type: ignore[arg-type]
        r = client.get("/thing")
        assert r.status_code == 200 and r.json() == {"answer": "read"} and calls == ["read"] * 3
    app, calls = _app(5.0, [BackendUnavailableError("database unavailable: restarting")])
    with TestClient(app) as client:  # type: ignore[arg-type]
        r = client.post("/thing")  # a write is held only where its endpoint asks (hold_through_outage)
        assert r.status_code == 503 and "restarting" in r.json()["error"] and calls == ["write"]


def test_a_read_outage_longer_than_the_budget_is_a_503_and_bad_input_is_not_retried() -> None:
    from fastapi.testclient import TestClient

    app, calls = _app(0.0, [BackendUnavailableError("database unavailable")] * 5)
    with TestClient(app) as client:  # type: ignore[arg-type]
        r = client.get("/thing")
        assert r.status_code == 503 and calls == ["read"]
    app, calls = _app(5.0, [InputError("bad id", where="thing")])
    with TestClient(app) as client:  # type: ignore[arg-type]
        assert client.get("/thing").status_code == 422 and calls == ["read"]
