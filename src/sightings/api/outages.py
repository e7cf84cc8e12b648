"""Holding a request through a short backend outage instead of failing it.

    outcome = hold_through_outage(lambda: service.add_post(draft), request, where="POST /v1/pets/posts")

A store that is briefly unavailable — the catalog locked or restarting, the vector store unreadable for a few
seconds — makes a service call raise :class:`~sightings.core.errors.BackendError` (or its subclass
``BackendUnavailableError``). Every service write is all-or-nothing (a failed one undoes itself), so the call is
simply made again, with back-off (0.2 s doubling to 2 s), until it succeeds or ``server.hold_on_outage_s`` (20 s)
has passed; only then does the client get the 502/503. Outages shorter than the budget cost the client latency,
not an error (docs/reliability.md). ``hold_on_outage_s: 0`` turns holding off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sightings.core.errors import BackendError

__all__ = ["hold_through_outage", "retry_backend"]

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
    deadline = clock() + max(0.0, budget_s)
    delay = FIRST_DELAY_S
    tries = 1
    while True:
        try:
            return call()
        except BackendError as err:
            if clock() + delay > deadline:
                if tries > 1:
                    log.warning("%s: backend still failing after %d tries: %s", where, tries, err)
                raise
            log.warning("%s: backend failed (%s); trying again in %.1f s", where, err, delay)
            sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
            tries += 1


def hold_through_outage(call: Callable[[], T], request: Any, *, where: str) -> T:
    """:func:`retry_backend` with the app's ``server.hold_on_outage_s`` budget."""
    budget = float(request.app.state.settings.server.hold_on_outage_s)
    return retry_backend(call, budget_s=budget, where=where)
