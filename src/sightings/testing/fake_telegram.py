"""A fake Telegram Bot API on 127.0.0.1 (FastAPI): just the methods the pets bot uses, every call recorded, and
configurable failures (a wrong token → 401, a rate limit → 429 with ``retry_after``).

    fake = FakeTelegram(token="123456:TEST")
    with LocalServer(fake.app) as server:                       # the bot: AiohttpSession(api=from_base(server.url))
        user = fake.user(1001, language_code="ru")
        fake.send_text(user, "/lost")
        fake.send_photo(user, jpeg_bytes, media_group_id="a1")  # an album: several photos, one media_group_id
        fake.rate_limit("sendMessage", retry_after=1)           # the next sendMessage answers 429
        fake.wait_for("sendMessage", count=2)                   # → the recorded calls

Methods: getMe, getUpdates (long poll: waits up to ``timeout`` for updates), deleteWebhook, sendMessage, sendPhoto,
answerCallbackQuery, editMessageReplyMarkup, getFile, and file downloads (``/file/bot<token>/<path>``). Others answer
404 (and are recorded), as Telegram does for an unknown method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

__all__ = ["FakeTelegram", "TelegramCall"]


@dataclass(frozen=True, slots=True)
class TelegramCall:
    """One recorded Bot API call: method, parameters (JSON fields decoded), uploaded files by field name."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    result: Any = None
    """what the fake answered (for sendMessage/sendPhoto: the message, to press its buttons with :meth:`press`)"""


def _decode(value: str) -> Any:
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeTelegram:
    """The fake Bot API's state; serve :attr:`app` (e.g. with :class:`~sightings.api.local_server.LocalServer`)."""

    def __init__(self, token: str = "123456:TEST-token", *, bot_username: str = "pets_test_bot") -> None:
        self.token = token
        bot_id = int(token.split(":", maxsplit=1)[0])
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "Pets", "username": bot_username}
        self.calls: list[TelegramCall] = []
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self._failures: dict[str, list[int]] = {}
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._build()

    # ------------------------------------------------------------------ the test's side
    def user(
        self, user_id: int = 1001, *, language_code: str | None = "ru", first_name: str = "Анна"
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def add_file(self, data: bytes) -> str:
        """Register ``data`` as a file the bot may download; its ``file_id``."""
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = data
        return file_id

    def _photo_sizes(self, data: bytes, thumbnail: bytes | None) -> list[dict[str, Any]]:
        big = self.add_file(data)
        small = self.add_file(thumbnail if thumbnail is not None else data[: max(1, len(data) // 50)])
        return [
            {"file_id": small, "file_unique_id": f"u{small}", "width": 90, "height": 67, "file_size": 1000},
            {"file_id": big, "file_unique_id": f"u{big}", "width": 800, "height": 600, "file_size": len(data)},
        ]

    def _message(self, chat: dict[str, Any], sender: dict[str, Any] | None, **content: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": next(self._ids), "date": int(time.time()), "chat": chat}
        if sender is not None:
            message["from"] = sender
        message.update({k: v for k, v in content.items() if v is not None})
        return message

    def _push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.updates.append({"update_id": next(self._update_ids), kind: payload})
        return payload

    @staticmethod
    def private_chat(user: dict[str, Any]) -> dict[str, Any]:
        return {"id": user["id"], "type": "private", "first_name": user.get("first_name", "")}

    def send_text(self, user: dict[str, Any], text: str) -> dict[str, Any]:
        """A direct message (``/lost`` and the like are commands)."""
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}]
            if text.startswith("/")
            else None
        )
        return self._push("message", self._message(self.private_chat(user), user, text=text, entities=entities))

    def send_photo(
        self,
        user: dict[str, Any],
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        thumbnail: bytes | None = None,
    ) -> dict[str, Any]:
        photo = self._photo_sizes(data, thumbnail)
        message = self._message(
            self.private_chat(user), user, photo=photo, caption=caption, media_group_id=media_group_id
        )
        return self._push("message", message)

    def send_document(
        self, user: dict[str, Any], data: bytes, *, mime_type: str, file_name: str, caption: str | None = None
    ) -> dict[str, Any]:
        file_id = self.add_file(data)
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name, "mime_type": mime_type}
        return self._push("message", self._message(self.private_chat(user), user, document=document, caption=caption))

    def send_location(self, user: dict[str, Any], lat: float, lon: float) -> dict[str, Any]:
        location = {"latitude": lat, "longitude": lon}
        return self._push("message", self._message(self.private_chat(user), user, location=location))

    def channel_post(
        self,
        chat_id: int,
        *,
        username: str | None = None,
        data: bytes | None = None,
        caption: str | None = None,
        text: str | None = None,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": "Потеряшки"}
        if username:
            chat["username"] = username
        photo = self._photo_sizes(data, None) if data is not None else None
        message = self._message(chat, None, photo=photo, caption=caption, text=text, media_group_id=media_group_id)
        return self._push("channel_post", message)

    def group_message(
        self, chat_id: int, user: dict[str, Any], *, data: bytes | None = None, text: str | None = None
    ) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": "Потеряшки района"}
        photo = self._photo_sizes(data, None) if data is not None else None
        caption = text if photo is not None else None
        body = None if photo is not None else text
        return self._push("message", self._message(chat, user, photo=photo, caption=caption, text=body))

    def press(self, user: dict[str, Any], data: str, message: dict[str, Any]) -> dict[str, Any]:
        """The user presses an inline button with callback ``data`` under the bot's ``message``."""
        query = {"id": str(next(self._ids)), "from": user, "chat_instance": "ci", "data": data, "message": message}
        return self._push("callback_query", query)

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer 429 with ``retry_after`` seconds."""
        with self._lock:
            self._failures.setdefault(method.lower(), []).extend([retry_after] * times)

    def calls_of(self, method: str) -> list[TelegramCall]:
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower() and c.status == 200]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        timeout_s: float = 10.0,
        where: Callable[[TelegramCall], bool] | None = None,
    ) -> list[TelegramCall]:
        """Wait until ``count`` successful calls of ``method`` (matching ``where``) were made; they are returned."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [c for c in self.calls_of(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} {method} calls after {timeout_s} s: {self.texts()}")
            time.sleep(0.02)

    def texts(self, chat_id: int | None = None) -> list[str]:
        """What the bot said (messages and photo captions), optionally to one chat."""
        out = []
        for call in self.calls_of("sendMessage") + self.calls_of("sendPhoto"):
            if chat_id is None or str(call.params.get("chat_id")) == str(chat_id):
                out.append(str(call.params.get("text") or call.params.get("caption") or ""))
        return out

    # ------------------------------------------------------------------ the bot's side
    def _sent(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "first_name": "x"}
        markup = params.get("reply_markup")
        return self._message(chat, self.bot_user, reply_markup=markup if isinstance(markup, dict) else None, **content)

    async def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self._lock:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.02)

    async def _answer(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:  # noqa: PLR0911
        name = method.lower()
        if name == "getme":
            return self.bot_user
        if name == "getupdates":
            return await self._updates(params)
        if name in ("deletewebhook", "answercallbackquery"):
            return True
        if name == "sendmessage":
            return self._sent(params, text=params.get("text"))
        if name == "sendphoto":
            photo = self._photo_sizes(files.get("photo", b"photo"), None)
            return self._sent(params, photo=photo, caption=params.get("caption"))
        if name == "editmessagereplymarkup":
            return True
        if name == "getfile":
            file_id = str(params.get("file_id"))
            if file_id not in self.files:
                raise KeyError(file_id)
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"photos/{file_id}.jpg",
            }
        raise LookupError(method)

    def _build(self) -> Any:
        app = FastAPI(title="fake Telegram Bot API")

        def error(code: int, description: str, **parameters: Any) -> JSONResponse:
            body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
            if parameters:
                body["parameters"] = parameters
            return JSONResponse(body, status_code=code)

        @app.post("/bot{token}/{method}")
        async def call(token: str, method: str, request: Request) -> JSONResponse:
            form = await request.form()
            params: dict[str, Any] = {}
            files: dict[str, bytes] = {}
            for key, value in form.multi_items():
                if isinstance(value, str):
                    params[key] = _decode(value)
                else:
                    files[key] = await value.read()
            for key, value in list(params.items()):  # aiogram sends uploads as "attach://<part name>"
                if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
                    files[key] = files.pop(value[9:])
            if token != self.token:
                with self._lock:
                    self.calls.append(TelegramCall(method, params, files, 401))
                return error(401, "Unauthorized")
            with self._lock:
                pending = self._failures.get(method.lower())
                retry_after = pending.pop(0) if pending else None
            if retry_after is not None:
                with self._lock:
                    self.calls.append(TelegramCall(method, params, files, 429))
                return error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
            try:
                result = await self._answer(method, params, files)
            except KeyError:
                return error(400, "Bad Request: invalid file_id")
            except LookupError:
                with self._lock:
                    self.calls.append(TelegramCall(method, params, files, 404))
                return error(404, "Not Found")
            if method.lower() != "getupdates":
                with self._lock:
                    self.calls.append(TelegramCall(method, params, files, result=result))
            return JSONResponse({"ok": True, "result": result})

        @app.get("/file/bot{token}/photos/{name}")
        def download(token: str, name: str) -> Response:
            file_id = name.rsplit(".", 1)[0]
            if token != self.token or file_id not in self.files:
                return Response(status_code=404)
            return Response(self.files[file_id], media_type="application/octet-stream")

        return app
