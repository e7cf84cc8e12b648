"""The Telegram bot (aiogram 3): /lost and /found conversations, /matches, "this is mine / not mine" buttons, and
intake of channel posts, group photos and direct messages — all through the engine's HTTP API.

    bot = PetsTelegramBot(token, PetsClient(url, key), state_root)     # api_base=... for a local Bot API server
    asyncio.run(bot.run())                                             # long polling until cancelled

Conversation: ``/lost`` (or ``/found``) → photos (one or more, albums too) → the place (a Telegram location, "LAT,LON"
or an address) → the description → the post goes to the engine; the answer lists the matches the engine marks
*sure* (photo, confidence, where, when, link, two buttons) or says it will write when one appears. A background task
(every ``notify_every_s``) looks for new sure matches of every user's lost posts and sends them once each.
Found posts (from the conversation, a channel, a group or a direct message) with sure matches reach the owners who
used the bot at once. Messages come from the catalogue in the user's language (Telegram's ``language_code``).

Rate limits: a 429 answer (``TelegramRetryAfter``) is waited out for ``retry_after`` seconds and retried, up to
``max_retries`` times and never longer than ``max_retry_wait_s`` at a time (:class:`RetryAfterMiddleware`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from sightings.core.errors import BackendUnavailableError, ConfigError, InputError, SightingsError
from sightings.i18n import Translator, negotiate, translator
from sightings.solutions.pets.bots import replies
from sightings.solutions.pets.bots.telegram_runtime import BotThread, RetryAfterMiddleware
from sightings.solutions.pets.client import MatchCard, PetsClient, RemotePost
from sightings.solutions.pets.feeds import MAX_PHOTO_BYTES
from sightings.solutions.pets.feeds.deliver import Delivery, deliver
from sightings.solutions.pets.feeds.secrets import redact
from sightings.solutions.pets.feeds.state import JsonState
from sightings.solutions.pets.feeds.telegram import AlbumCollector, photo_file_id, telegram_draft
from sightings.solutions.pets.posts import parse_point

__all__ = ["BotThread", "PetsTelegramBot", "RetryAfterMiddleware"]

log = logging.getLogger(__name__)
FEEDBACK = "pm"  # callback data: "pm:y:<match id>" (mine) | "pm:n:<match id>" (not mine)


class PostFlow(StatesGroup):
    photos = State()
    place = State()
    text = State()


class PetsTelegramBot:
    """The bot; :meth:`run` polls until ``stop`` is set (or the task is cancelled)."""

    def __init__(
        self,
        token: str,
        client: PetsClient,
        state_root: Path,
        *,
        api_base: str | None = None,
        language: str = "ru",
        album_wait_s: float = 1.5,
        notify_every_s: float = 300.0,
        max_retries: int = 5,
        max_retry_wait_s: float = 60.0,
        max_photos: int = 20,
        polling_timeout_s: int = 10,
        max_photo_bytes: int = MAX_PHOTO_BYTES,
    ) -> None:
        self.token = token
        self.client = client
        self.api_base = api_base
        self.language = language
        self.notify_every_s = notify_every_s
        self.max_photos = max_photos
        self.max_photo_bytes = max_photo_bytes  # a larger photo is left out (named), not a refused post
        self.polling_timeout_s = polling_timeout_s
        self.retry = RetryAfterMiddleware(max_retries, max_retry_wait_s)
        self.state = JsonState(Path(state_root) / "telegram.json")
        self.ready = threading.Event()
        self.bot: Bot | None = None
        self.dp: Dispatcher | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self.intake = AlbumCollector(album_wait_s, self._take_in)
        self.acks = AlbumCollector(album_wait_s, self._ack_photos)

    @classmethod
    def from_settings(cls, settings: Any, client: PetsClient, **kwargs: Any) -> PetsTelegramBot:
        from sightings.solutions.pets.feeds.secrets import read_secret
        from sightings.solutions.pets.feeds.state import state_dir

        b = settings.pets.bots
        token = read_secret(b.telegram_token, b.telegram_token_file, "pets.bots.telegram_token")
        options: dict[str, Any] = {
            "api_base": b.telegram_api_base,
            "language": b.language,
            "album_wait_s": b.album_wait_s,
            "notify_every_s": b.notify_every_s,
            "max_retries": b.max_retries,
            "max_retry_wait_s": b.max_retry_wait_s,
            "max_photos": settings.pets.max_photos,
            "max_photo_bytes": settings.server.max_upload_bytes,
        }
        return cls(str(token), client, state_dir(settings), **{**options, **kwargs})

    # ------------------------------------------------------------------ helpers
    def create_bot(self) -> Bot:
        api = TelegramAPIServer.from_base(self.api_base) if self.api_base else None
        session = AiohttpSession(api=api) if api is not None else AiohttpSession()
        session.middleware(self.retry)
        return Bot(self.token, session=session)

    def _t(self, user: Any) -> Translator:
        code = getattr(user, "language_code", None)
        return translator(negotiate(code, default=self.language) if code else self.language)

    def _lock(self, chat_id: int) -> asyncio.Lock:
        return self._locks.setdefault(chat_id, asyncio.Lock())

    def _remember_lost(self, user: Any, chat_id: int, post_id: str) -> None:
        def change(d: dict[str, Any]) -> None:
            entry = d.setdefault("users", {}).setdefault(str(user.id), {"chat_id": chat_id, "lost": []})
            entry["chat_id"] = chat_id
            entry["language"] = self._t(user).language
            if post_id not in entry["lost"]:
                entry["lost"].append(post_id)

        self.state.modify(change)

    def _owner_of(self, lost_post_id: str) -> tuple[str, dict[str, Any]] | None:
        for uid, entry in self.state.read().get("users", {}).items():
            if lost_post_id in entry.get("lost", ()):
                return uid, entry
        return None

    def _fresh(self, uid: str, match_id: str) -> bool:
        return f"{uid}|{match_id}" not in self.state.read().get("notified", {})

    def _mark(self, uid: str, match_id: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        self.state.modify(lambda d: d.setdefault("notified", {}).__setitem__(f"{uid}|{match_id}", stamp))

    async def send_card(self, bot: Bot, chat_id: int, t: Translator, card: MatchCard) -> None:
        """One sure match: its photo (when the engine kept it), the caption, the two buttons."""
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text=replies.button_mine(t), callback_data=f"{FEEDBACK}:y:{card.match_id}"),
                    InlineKeyboardButton(
                        text=replies.button_not_mine(t), callback_data=f"{FEEDBACK}:n:{card.match_id}"
                    ),
                ]
            ]
        )
        caption = replies.match_caption(t, card)
        photo = None
        if card.photo_url:
            with contextlib.suppress(SightingsError):
                photo = await asyncio.to_thread(self.client.photo, card.photo_url)
        if photo:
            await bot.send_photo(chat_id, BufferedInputFile(photo, "match.jpg"), caption=caption, reply_markup=keyboard)
        else:
            await bot.send_message(chat_id, caption, reply_markup=keyboard)

    async def _send_new_cards(self, bot: Bot, uid: str, chat_id: int, t: Translator, post_id: str) -> int:
        page = await asyncio.to_thread(self.client.lost_matches, post_id, sure_only=True)
        sent = 0
        for card in page.matches:
            if card.sure and self._fresh(uid, card.match_id):
                await self.send_card(bot, chat_id, t, card)
                self._mark(uid, card.match_id)
                sent += 1
        return sent

    async def notify_new_matches(self, bot: Bot | None = None) -> int:
        """Send every user the sure matches of their lost posts not sent before; how many were sent."""
        bot = bot or self.bot
        if bot is None:
            return 0
        sent = 0
        for uid, entry in self.state.read().get("users", {}).items():
            t = translator(entry.get("language") or self.language)
            for post_id in entry.get("lost", ()):
                try:
                    sent += await self._send_new_cards(bot, uid, int(entry["chat_id"]), t, post_id)
                except (SightingsError, TelegramAPIError) as exc:
                    log.warning(
                        "Telegram: matches of lost post %s not sent: %s", post_id, redact(str(exc), [self.token])
                    )
        return sent

    async def _tell_owners(self, bot: Bot, post: RemotePost) -> int:
        """A found post with sure matches: the owners of those lost posts who use the bot hear at once."""
        told = 0
        for match in post.sure_matches:
            owner = self._owner_of(match.lost_post_id)
            if owner is None:
                continue
            uid, entry = owner
            t = translator(entry.get("language") or self.language)
            told += await self._send_new_cards(bot, uid, int(entry["chat_id"]), t, match.lost_post_id)
        return told

    # ------------------------------------------------------------------ posts into the engine
    async def _deliver(self, bot: Bot, messages: list[Message], **fields: Any) -> Delivery:
        draft, dropped = await telegram_draft(
            bot, messages, max_photos=self.max_photos, max_photo_bytes=self.max_photo_bytes, **fields
        )
        return await asyncio.to_thread(deliver, self.client, draft, max_photos=self.max_photos, dropped=dropped)

    async def _answer_post(self, bot: Bot, message: Message, delivery: Delivery) -> None:
        """Tell a user what became of their post, and the sure matches (lost) or whether the owner heard (found)."""
        t = self._t(message.from_user)
        post = delivery.post
        if post is None:
            await bot.send_message(message.chat.id, replies.refused(t, delivery.reason or "?"))
            return
        lines = [replies.saved(t, post.kind, delivery.status)]
        if delivery.dropped:
            lines.append(replies.photos_left_out(t, len(delivery.dropped)))
        await bot.send_message(message.chat.id, "\n".join(lines))
        try:
            if post.kind == "lost" and message.from_user is not None:
                await self._answer_lost(bot, message, t, post.duplicate_of or post.id)
            elif post.kind == "found" and delivery.status == "added" and await self._tell_owners(bot, post):
                await bot.send_message(message.chat.id, replies.owner_told(t))
        except SightingsError as exc:  # the post is saved; the matches come with the next notification round
            log.warning("Telegram: matches of post %s not shown: %s", post.id, exc)

    async def _answer_lost(self, bot: Bot, message: Message, t: Translator, lost_id: str) -> None:
        """Remember the user's lost post (the one kept, for a copy) and show its sure matches, or say none yet."""
        if message.from_user is None:
            return
        page = await asyncio.to_thread(self.client.lost_matches, lost_id, sure_only=True)
        self._remember_lost(message.from_user, message.chat.id, lost_id)
        uid = str(message.from_user.id)
        if not page.matches:
            await bot.send_message(message.chat.id, replies.no_match_yet(t))
            return
        await bot.send_message(message.chat.id, replies.matches_found(t, len(page.matches)))
        for card in page.matches:
            await self.send_card(bot, message.chat.id, t, card)
            self._mark(uid, card.match_id)

    async def _take_in(self, messages: list[Message]) -> None:
        """A channel post, a group photo or a direct message (an album is one post) → the engine."""
        first = messages[0]
        bot = self.bot
        if bot is None:
            return
        private = first.chat.type == "private"
        t = self._t(first.from_user)
        try:
            delivery = await self._deliver(bot, messages)
        except SightingsError as exc:
            log.warning("Telegram %s_%s not taken in: %s", first.chat.id, first.message_id, exc)
            if private:
                await bot.send_message(first.chat.id, replies.engine_busy(t))
            return
        if private:
            await self._answer_post(bot, first, delivery)
        elif delivery.post is not None and delivery.post.kind == "found" and delivery.status == "added":
            await self._tell_owners(bot, delivery.post)

    async def _ack_photos(self, messages: list[Message]) -> None:
        first = messages[0]
        if self.bot is None or self.dp is None or first.from_user is None:
            return
        context = self.dp.fsm.get_context(bot=self.bot, chat_id=first.chat.id, user_id=first.from_user.id)
        count = len((await context.get_data()).get("file_ids", ()))
        await self.bot.send_message(first.chat.id, replies.photos_received(self._t(first.from_user), count))

    # ------------------------------------------------------------------ handlers
    def router(self) -> Router:  # noqa: PLR0915 - one place that reads as the conversation
        router = Router(name="pets")
        private = F.chat.type == "private"

        @router.message(CommandStart(), private)
        async def start(message: Message, state: FSMContext) -> None:
            await state.clear()
            await message.answer(replies.start(self._t(message.from_user)))

        @router.message(Command("cancel"), private)
        async def cancel(message: Message, state: FSMContext) -> None:
            await state.clear()
            await message.answer(replies.cancelled(self._t(message.from_user)))

        @router.message(Command("lost", "found"), private)
        async def new_post(message: Message, state: FSMContext) -> None:
            kind = "lost" if (message.text or "").lstrip("/").startswith("lost") else "found"
            await state.clear()
            await state.set_state(PostFlow.photos)
            await state.update_data(kind=kind, file_ids=[])
            await message.answer(replies.ask_photos(self._t(message.from_user)))

        @router.message(Command("matches"), private)
        async def matches(message: Message, bot: Bot) -> None:
            t = self._t(message.from_user)
            uid = str(message.from_user.id) if message.from_user else ""
            lost = self.state.read().get("users", {}).get(uid, {}).get("lost", [])
            if not lost:
                await message.answer(replies.no_lost_posts(t))
                return
            cards: list[MatchCard] = []
            try:
                for post_id in lost:
                    cards += (await asyncio.to_thread(self.client.lost_matches, post_id, sure_only=True)).matches
            except SightingsError:
                await message.answer(replies.engine_busy(t))
                return
            if not cards:
                await message.answer(replies.no_match_yet(t))
                return
            await message.answer(replies.matches_found(t, len(cards)))
            for card in cards:
                await self.send_card(bot, message.chat.id, t, card)
                self._mark(uid, card.match_id)

        @router.message(PostFlow.photos, private, F.photo | F.document)
        async def photo_step(message: Message, state: FSMContext) -> None:
            file_id = photo_file_id(message)
            if file_id is None:
                await message.answer(replies.unexpected(self._t(message.from_user)))
                return
            async with self._lock(message.chat.id):
                ids = [*(await state.get_data()).get("file_ids", []), file_id]
                await state.update_data(file_ids=ids)
            await self.acks.add(message)

        @router.message(StateFilter(PostFlow.photos, PostFlow.place), private, F.location)
        async def location_step(message: Message, state: FSMContext) -> None:
            if message.location is None:  # the filter says it is there
                return
            await state.update_data(lat=message.location.latitude, lon=message.location.longitude)
            await state.set_state(PostFlow.text)
            await message.answer(replies.ask_text(self._t(message.from_user)))

        @router.message(StateFilter(PostFlow.photos, PostFlow.place), private, F.text, ~F.text.startswith("/"))
        async def place_step(message: Message, state: FSMContext) -> None:
            text = (message.text or "").strip()
            try:
                point = parse_point(text)
            except InputError:
                point = None
            if point is not None:
                await state.update_data(lat=point[0], lon=point[1])
            else:
                await state.update_data(address=text[:256])
            await state.set_state(PostFlow.text)
            await message.answer(replies.ask_text(self._t(message.from_user)))

        @router.message(PostFlow.text, private, F.text, ~F.text.startswith("/"))
        async def text_step(message: Message, state: FSMContext, bot: Bot) -> None:
            async with self._lock(message.chat.id):
                data = await state.get_data()
                await state.clear()
            point = (data["lat"], data["lon"]) if data.get("lat") is not None else None
            try:
                delivery = await self._deliver(
                    bot,
                    [message],
                    file_ids=data.get("file_ids", []),
                    kind=data.get("kind"),
                    text=message.text or "",
                    point=point,
                    address=data.get("address"),
                )
            except SightingsError as exc:
                log.warning("Telegram: post of chat %s not saved: %s", message.chat.id, exc)
                await message.answer(replies.engine_busy(self._t(message.from_user)))
                return
            await self._answer_post(bot, message, delivery)

        @router.message(StateFilter(PostFlow), private)
        async def off_script(message: Message) -> None:
            await message.answer(replies.unexpected(self._t(message.from_user)))

        @router.message(private, F.photo | F.document)
        async def direct_post(message: Message) -> None:
            await self.intake.add(message)

        @router.message(private)
        async def anything_else(message: Message) -> None:
            await message.answer(replies.help_text(self._t(message.from_user)))

        @router.message(F.chat.type.in_({"group", "supergroup"}), F.photo | F.document)
        async def group_post(message: Message) -> None:
            await self.intake.add(message)

        @router.channel_post()
        async def channel_post(message: Message) -> None:
            await self.intake.add(message)

        @router.callback_query(F.data.startswith(f"{FEEDBACK}:"))
        async def feedback(query: CallbackQuery) -> None:
            t = self._t(query.from_user)
            _, code, match_id = (query.data or "::").split(":", 2)
            verdict = "mine" if code == "y" else "not_mine"
            try:
                await asyncio.to_thread(
                    self.client.feedback, match_id, verdict, author=f"telegram:{query.from_user.id}"
                )
            except SightingsError as exc:
                log.warning("Telegram: feedback on match %s not stored: %s", match_id, exc)
                await query.answer(replies.engine_busy(t))
                return
            await query.answer(replies.thanks(t))
            if isinstance(query.message, Message):
                with contextlib.suppress(TelegramAPIError):
                    await query.message.edit_reply_markup(reply_markup=None)

        return router

    # ------------------------------------------------------------------ running
    async def _notify_loop(self) -> None:
        while True:
            await asyncio.sleep(self.notify_every_s)
            try:
                await self.notify_new_matches()
            except Exception as exc:  # the loop must outlive one bad round; the next round tries again
                log.warning("Telegram: notification round failed: %s", redact(str(exc), [self.token]))

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Check the token, then poll for updates until ``stop`` is set; albums still waiting are taken in."""
        from aiogram.utils.token import TokenValidationError

        try:
            bot = self.create_bot()
        except TokenValidationError:  # not even shaped like one (digits:letters): said without aiogram's traceback
            raise ConfigError(
                "not a Telegram bot token (expected 123456:ABC…)", where="pets.bots.telegram_token"
            ) from None
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            await bot.session.close()
            raise ConfigError(
                "Telegram rejected the token (401 Unauthorized)", where="pets.bots.telegram_token"
            ) from None
        except (TelegramNetworkError, TelegramAPIError) as exc:
            await bot.session.close()
            raise BackendUnavailableError(redact(str(exc), [self.token]), where="Telegram Bot API") from None
        log.info("Telegram bot @%s polling", me.username)
        self.bot = bot
        self.dp = dp = Dispatcher()
        dp.include_router(self.router())
        dp.startup.register(self.ready.set)
        polling = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=self.polling_timeout_s)
        )
        notifier = asyncio.create_task(self._notify_loop())
        waiters: set[asyncio.Task[Any]] = {polling}
        if stop is not None:
            waiters.add(asyncio.create_task(stop.wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not polling.done():
                with contextlib.suppress(RuntimeError):
                    await dp.stop_polling()
                await polling
            for task in (notifier, *waiters):
                task.cancel()
            await self.acks.drain()
            await self.intake.drain()
            await bot.session.close()
            self.ready.clear()
        if polling.exception() is not None:
            raise BackendUnavailableError(redact(str(polling.exception()), [self.token]), where="Telegram polling")
