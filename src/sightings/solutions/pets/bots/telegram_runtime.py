"""Running the Telegram bot: Telegram's 429 ``retry_after`` honoured on every Bot API call, and a thread that runs
the bot on its own event loop (tests, benchmarks, embedding in another program).

    session.middleware(RetryAfterMiddleware(max_retries=5, max_wait_s=60))
    thread = BotThread(PetsTelegramBot(...)).start(); ...; thread.stop()
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import Response, TelegramMethod, TelegramType

from sightings.core.errors import BackendUnavailableError

__all__ = ["BotThread", "RetryAfterMiddleware"]

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Honours Telegram's 429 ``retry_after``: waits that long and sends the request again (bounded)."""

    def __init__(
        self, max_retries: int = 5, max_wait_s: float = 60.0, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    ) -> None:
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s
        self.sleep = sleep
        self.waits: list[float] = []

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        attempt = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                name = type(method).__name__
                if attempt >= self.max_retries or exc.retry_after > self.max_wait_s:
                    log.warning("Telegram %s: rate limited (retry after %d s); giving up", name, exc.retry_after)
                    raise
                log.warning("Telegram %s: rate limited; retrying in %d s", name, exc.retry_after)
                self.waits.append(float(exc.retry_after))
                await self.sleep(float(exc.retry_after))
                attempt += 1


class BotThread:
    """Runs a ``PetsTelegramBot`` (anything with ``run(stop)`` and a ``ready`` event) on its own event loop in a
    thread."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="pets-telegram-bot", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._stop = asyncio.Event()
        try:
            self.loop.run_until_complete(self.bot.run(self._stop))
        except BaseException as exc:  # handed to the caller by stop()/start()
            self.error = exc
        finally:
            self.loop.close()

    def start(self, timeout_s: float = 10.0) -> BotThread:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.bot.ready.wait(0.05):
            if self.error is not None or not self._thread.is_alive():
                raise self.error or BackendUnavailableError("the bot stopped", where="Telegram")
            if time.monotonic() > deadline:
                raise BackendUnavailableError("the bot did not start in time", where="Telegram")
        return self

    def call(self, coro: Awaitable[Any], timeout_s: float = 30.0) -> Any:
        """Run ``coro`` on the bot's loop (e.g. ``bot.notify_new_matches()``) and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)  # type: ignore[arg-type]

    def stop(self, timeout_s: float = 15.0) -> None:
        if self._stop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)
        if self.error is not None:
            raise self.error
