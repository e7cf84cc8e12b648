"""Telegram intake: messages (a channel post, a group message, a direct message, an album) → a pets post draft.

    collector = AlbumCollector(wait_s=1.5, handler=take_in)   # the messages of one album arrive one by one
    await collector.add(message)                              # → take_in([m1, m2, m3]) once, after the last one
    draft, dropped = await telegram_draft(bot, messages, max_photos=20, kind="lost")

``source_id`` is ``{chat_id}_{message_id}`` of the first message (an album is one post); the link is
``https://t.me/<channel>/<message_id>`` for public chats. Photos are the largest size of each photo, or a document
whose type is an image; a file that cannot be downloaded is left out and named in ``dropped``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sightings.solutions.pets.feeds import MAX_PHOTO_BYTES
from sightings.solutions.pets.posts import PostDraft

__all__ = ["AlbumCollector", "photo_file_id", "telegram_draft", "telegram_source_id"]

log = logging.getLogger(__name__)


def telegram_source_id(chat_id: int, message_id: int) -> str:
    return f"{int(chat_id)}_{int(message_id)}"


def photo_file_id(message: Any) -> str | None:
    """The file id of the message's photo (largest size) or image document; None when it has neither."""
    if message.photo:
        best = max(message.photo, key=lambda p: (p.width or 0) * (p.height or 0))
        return str(best.file_id)
    document = message.document
    if document is not None and str(document.mime_type or "").startswith("image/"):
        return str(document.file_id)
    return None


def _link(message: Any) -> str | None:
    username = getattr(message.chat, "username", None)
    return f"https://t.me/{username}/{message.message_id}" if username else None


async def _download(bot: Any, file_id: str) -> bytes:
    buffer = await bot.download(file_id)
    return bytes(buffer.getvalue()) if buffer is not None else b""


async def telegram_draft(
    bot: Any,
    messages: Sequence[Any],
    *,
    max_photos: int,
    max_photo_bytes: int = MAX_PHOTO_BYTES,
    file_ids: Sequence[str] | None = None,
    kind: str | None = None,
    text: str | None = None,
    point: tuple[float, float] | None = None,
    address: str | None = None,
) -> tuple[PostDraft, tuple[str, ...]]:
    """A draft from ``messages`` (one post: a single message or an album; for a conversation, ``file_ids`` collected
    over several messages). Returns the draft and the photos left out (with why)."""
    from aiogram.exceptions import TelegramAPIError
    from aiohttp import ClientError

    first = min(messages, key=lambda m: m.message_id)
    ids = list(file_ids) if file_ids is not None else [f for f in (photo_file_id(m) for m in messages) if f]
    photos: list[bytes] = []
    names: list[str] = []
    dropped: list[str] = []
    for index, file_id in enumerate(ids):
        name = f"tg{first.chat.id}_{first.message_id}-{index + 1}.jpg"
        if len(photos) >= max_photos:
            dropped.append(f"{name} (over the {max_photos}-photo limit)")
            continue
        try:
            data = await _download(bot, file_id)
        except (TelegramAPIError, ClientError, OSError) as exc:
            log.warning("Telegram %s: photo %d not downloaded: %s", first.chat.id, index + 1, exc.__class__.__name__)
            dropped.append(f"{name} (download failed)")
            continue
        if len(data) > max_photo_bytes:  # the engine would refuse the whole post for it
            dropped.append(f"{name} ({len(data) / 1e6:.0f} MB, over the {max_photo_bytes / 1e6:.0f} MB photo limit)")
            continue
        photos.append(data)
        names.append(name)
    if text is None:
        text = next(
            (m.caption or m.text for m in sorted(messages, key=lambda m: m.message_id) if m.caption or m.text), ""
        )
    if point is None:
        located = next((m.location for m in messages if m.location is not None), None)
        point = None if located is None else (float(located.latitude), float(located.longitude))
    user = first.from_user
    author = None if user is None else (f"@{user.username}" if user.username else f"telegram:{user.id}")
    draft = PostDraft(
        source="telegram",
        source_id=telegram_source_id(first.chat.id, first.message_id),
        link=_link(first),
        text=text or "",
        photos=tuple(photos),
        photo_names=tuple(names),
        author=author,
        posted_at=first.date,
        kind=kind,
        address=address,
        lat=None if point is None else point[0],
        lon=None if point is None else point[1],
    )
    return draft, tuple(dropped)


class AlbumCollector:
    """Groups the messages of a Telegram album (same ``media_group_id``): ``handler`` gets the whole album once, when
    no new part has arrived for ``wait_s``; a message outside an album goes to ``handler`` at once."""

    def __init__(self, wait_s: float, handler: Callable[[list[Any]], Awaitable[None]]) -> None:
        self.wait_s = wait_s
        self.handler = handler
        self._groups: dict[tuple[int, str], list[Any]] = {}
        self._timers: dict[tuple[int, str], asyncio.Task[None]] = {}

    async def add(self, message: Any) -> None:
        if not message.media_group_id:
            await self.handler([message])
            return
        key = (int(message.chat.id), str(message.media_group_id))
        self._groups.setdefault(key, []).append(message)
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        self._timers[key] = asyncio.create_task(self._flush_later(key))

    async def _flush_later(self, key: tuple[int, str]) -> None:
        await asyncio.sleep(self.wait_s)
        await self._flush(key)

    async def _flush(self, key: tuple[int, str]) -> None:
        self._timers.pop(key, None)
        messages = self._groups.pop(key, [])
        if not messages:
            return
        try:
            await self.handler(sorted(messages, key=lambda m: m.message_id))
        except Exception:  # a failed album must not kill the collector; the handler reports to the user
            log.exception("Telegram album %s in chat %s not taken in", key[1], key[0])

    async def drain(self) -> None:
        """Hand over every album still waiting (on shutdown)."""
        for key, task in list(self._timers.items()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._flush(key)
