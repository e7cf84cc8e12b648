"""Holding a request through a short backend outage instead of failing it.

    outcome = hold_through_outage(lambda: service.add_post(draft), request, where="POST /v1/pets/posts")

A store that is briefly unavailable — the catalog locked or restarting, the vector store unreadable for a few
seconds — makes a service call raise :class:`~sightings.core.errors.BackendError` (or its subclass
``BackendUnavailableError``). Every service write is all-or-nothing (a failed one undoes itself), so the call is
simply made again, with back-off (0.2 s doubling to 2 s), until it succeeds or ``server.hold_on_outage_s`` (20 s)
has passed; only then does the client get the 502/503. Outages shorter than the budget cost the client latency,
not an error (docs/reliability.md). ``hold_on_outage_s: 0`` turns holding off.

Reads are held the same way, without wrapping each call: a router made with ``route_class=HeldReadsRoute`` runs
a GET or HEAD endpoint again after a backend error (a safe request has no body to re-read and changes nothing).
A PostgreSQL restart drops every pooled connection, so reads meet it as often as writes do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from sightings.core.errors import BackendError

__all__ = ["HeldReadsRoute", "hold_through_outage", "retry_backend"]

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_DELAY_S = 0.2
MAX_DELAY_S = 2.0


def retry_backend(
    call: Callable[[], T],
    *,
    budget_s: float,
    where: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``call()``, made again after a :class:`BackendError` until it succeeds or ``budget_s`` is spent.

    Other errors (bad input, not found, integrity) are raised at once: only a backend can come back.
    """
    backoff = _Backoff(budget_s, where, clock)
    while True:
        try:
            return call()
        except BackendError as err:
            sleep(backoff.next_delay(err))


class _Backoff:
    """The delays between tries (0.2 s doubling to 2 s) within a budget; re-raises the error once it is spent."""

    def __init__(self, budget_s: float, where: str, clock: Callable[[], float]) -> None:
        self.deadline = clock() + max(0.0, budget_s)
        self.where = where
        self.clock = clock
        self.delay = FIRST_DELAY_S
        self.tries = 1

    def next_delay(self, err: BackendError) -> float:
        """Seconds to wait before the next try; raises ``err`` (from the caller's ``except``) when out of time."""
        delay = self.delay
        if self.clock() + delay > self.deadline:
            if self.tries > 1:
                log.warning("%s: backend still failing after %d tries: %s", self.where, self.tries, err)
            raise err
        log.warning("%s: backend failed (%s); trying again in %.1f s", self.where, err, delay)
        self.delay = min(delay * 2, MAX_DELAY_S)
        self.tries += 1
        return delay


def hold_through_outage(call: Callable[[], T], request: Any, *, where: str) -> T:
    """:func:`retry_backend` with the app's ``server.hold_on_outage_s`` budget."""
    budget = float(request.app.state.settings.server.hold_on_outage_s)
    return retry_backend(call, budget_s=budget, where=where)


class HeldReadsRoute(APIRoute):
    """An API route whose GET/HEAD requests are held through a backend outage, like the writes that call
    :func:`hold_through_outage` (the endpoint runs again after a :class:`BackendError`, within the budget)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.methods or not self.methods <= {"GET", "HEAD"}:
            return handler
        where = f"GET {self.path}"

        async def held(request: Request) -> Response:
            budget = float(request.app.state.settings.server.hold_on_outage_s)
            backoff = _Backoff(budget, where, time.monotonic)
            while True:
                try:
                    return await handler(request)
                except BackendError as err:
                    await asyncio.sleep(backoff.next_delay(err))

        return held
