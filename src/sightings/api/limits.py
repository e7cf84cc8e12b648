"""Per-client rate limits (token buckets, 429 + ``Retry-After``) and the audit of writes: one ASGI middleware.

    install_security(app)        # create_app() does it; settings.security.rate_limit_per_s / rate_limit_burst

A client is its API key (hashed: the key never leaves this module in clear) or, without one, its address. Each has
a bucket of ``rate_limit_burst`` requests refilled at ``rate_limit_per_s``; an empty bucket answers 429 with the
seconds until the next request is allowed. ``/health`` is never limited. After the answer, a request that needed
a write or admin key is written to the audit log (key id, method, path, status) — refused ones too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread

from sightings.api.auth import AUDIT_SCOPE, Principal, key_store

__all__ = ["TokenBuckets", "install_security"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_UNLIMITED_PATHS = ("/health",)


class TokenBuckets:
    """One token bucket per client, in memory (the least recently seen clients are dropped past ``max_clients``)."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client → (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0.0 when the request may go, else the seconds to wait before the next one may."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def client_of(scope: Scope) -> str:
    """The rate-limit identity: a hash of the API key, else the client address."""
    key = _header(scope, b"x-api-key")
    if key:
        return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    client = scope.get("client")
    return f"addr:{client[0]}" if client else "addr:unknown"


class SecurityMiddleware:
    """Rate limit first; after the answer, audit requests that needed a write/admin key."""

    def __init__(self, app: ASGIApp, *, settings: Any) -> None:
        self.app = app
        self.settings = settings
        sec = settings.security
        self.buckets = TokenBuckets(sec.rate_limit_per_s, sec.rate_limit_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if not path.startswith(_UNLIMITED_PATHS):
            wait = self.buckets.take(client_of(scope))
            if wait > 0:
                await _too_many(send, wait)
                return
        audit: dict[str, Any] = {}
        scope[AUDIT_SCOPE] = audit
        status = {"code": 500}

        async def send_and_watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            if audit.get("role_needed") and self.settings.security.audit:
                # a thread: a busy audit database must not stall the event loop
                await anyio.to_thread.run_sync(self._audit, scope, audit, status["code"])

    def _audit(self, scope: Scope, audit: dict[str, Any], status: int) -> None:
        principal: Principal | None = audit.get("principal")
        client = scope.get("client")
        try:
            key_store(self.settings).audit(
                key_id=principal.key_id if principal else audit.get("claimed_key_id"),
                role=principal.role if principal else None,
                method=str(scope.get("method", "")),
                path=str(scope.get("path", "")),
                status=status,
                client=client[0] if client else None,
            )
        except Exception as err:  # the answer is sent; a full disk must not turn it into an error
            log.warning("audit log write failed: %s", err)


async def _too_many(send: Send, wait_s: float) -> None:
    retry = max(1, math.ceil(wait_s))
    body = json.dumps({"error": f"rate limit: retry in {retry} s", "type": "RateLimited"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(retry).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_security(app: Any) -> None:
    """Add the rate limiter and the audit to a FastAPI ``app`` (its ``state.settings`` must be set)."""
    app.add_middleware(SecurityMiddleware, settings=app.state.settings)
