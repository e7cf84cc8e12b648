"""A fake VK API on 127.0.0.1 (FastAPI): walls of groups, Bots Long Poll, photos, comments — just what the pets
intake and VK bot use, every call recorded, with configurable failures (a dead token → error 5, flood control →
error 6/9, a failing long-poll server).

    fake = FakeVk(token="vk-token")
    with LocalServer(fake.app) as server:                       # VkApiClient(token, api_base=server.url)
        post = fake.add_post(1, "Пропал кот", photos=[jpeg])    # on the wall of group 1 (owner_id -1)
        fake.publish(1, "Нашли собаку", photos=[jpeg])          # a new post: also a wall_post_new long-poll event
        fake.fail(6, times=2)                                   # the next two calls answer "too many requests"
        fake.dead_token = True                                  # every call answers error 5

Photos are served at ``/photos/<name>`` in two sizes (``?size=s`` is a small different picture; the largest size is
the real one), so an intake that picks the wrong size is caught.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

__all__ = ["FakeVk", "VkCall"]

DEAD_TOKEN = {"error_code": 5, "error_msg": "User authorization failed: invalid access_token (4)."}
ERRORS = {6: "Too many requests per second", 9: "Flood control", 10: "Internal server error"}


@dataclass(frozen=True, slots=True)
class VkCall:
    method: str
    params: dict[str, str]
    error: int | None = None


class FakeVk:
    """The fake VK's state; serve :attr:`app` (e.g. with :class:`~sightings.api.local_server.LocalServer`)."""

    def __init__(self, token: str = "vk-test-token", *, thumbnail: bytes = b"thumbnail") -> None:
        self.token = token
        self.dead_token = False
        self.thumbnail = thumbnail
        self.walls: dict[int, list[dict[str, Any]]] = {}
        self.photos: dict[str, bytes] = {}
        self.calls: list[VkCall] = []
        self.comments: list[dict[str, str]] = []
        self.photo_requests: list[str] = []
        self._events: dict[int, list[dict[str, Any]]] = {}
        self._failures: list[tuple[int, str | None]] = []
        self._longpoll_failures: list[int] = []
        self._ids: dict[int, itertools.count[int]] = {}
        self._photo_ids = itertools.count(1)
        self._comment_ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._build()

    # ------------------------------------------------------------------ the test's side
    def add_photo(self, data: bytes) -> str:
        name = f"p{next(self._photo_ids)}.jpg"
        self.photos[name] = data
        return name

    def add_post(
        self,
        group_id: int,
        text: str = "",
        *,
        photos: Sequence[bytes] = (),
        date: int | None = None,
        repost_of: dict[str, Any] | None = None,
        pinned: bool = False,
        geo: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        """A post on group ``group_id``'s wall (``owner_id = -group_id``); ``repost_of``: another post (a repost)."""
        group = abs(group_id)
        with self._lock:
            counter = self._ids.setdefault(group, itertools.count(1))
            post: dict[str, Any] = {
                "id": next(counter),
                "owner_id": -group,
                "from_id": -group,
                "date": int(date if date is not None else time.time()),
                "text": text,
                "post_type": "post",
                "_photos": [self.add_photo(p) for p in photos],
            }
            if pinned:
                post["is_pinned"] = 1
            if geo is not None:
                post["geo"] = {"type": "point", "coordinates": f"{geo[0]} {geo[1]}"}
            if repost_of is not None:
                post["copy_history"] = [repost_of]
            self.walls.setdefault(group, []).append(post)
        return post

    def publish(self, group_id: int, text: str = "", **kwargs: Any) -> dict[str, Any]:
        """A new post that also arrives as a ``wall_post_new`` long-poll event."""
        post = self.add_post(group_id, text, **kwargs)
        self.push_event(group_id, post)
        return post

    def push_event(self, group_id: int, post: dict[str, Any], kind: str = "wall_post_new") -> None:
        with self._lock:
            self._events.setdefault(abs(group_id), []).append({"type": kind, "object": post, "group_id": abs(group_id)})

    def fail(self, code: int, *, times: int = 1, method: str | None = None) -> None:
        """The next ``times`` calls (of ``method``, or any) answer VK error ``code`` (6, 9, 10 ...)."""
        with self._lock:
            self._failures.extend([(code, method)] * times)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()
            self._longpoll_failures.clear()

    def fail_longpoll(self, failed: int = 2, *, times: int = 1) -> None:
        """The next long-poll checks answer ``{"failed": failed}`` (2: key expired, 3: everything expired)."""
        with self._lock:
            self._longpoll_failures.extend([failed] * times)

    def calls_of(self, method: str) -> list[VkCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    # ------------------------------------------------------------------ rendering
    def _render_photo(self, name: str, base: str) -> dict[str, Any]:
        url = f"{base}photos/{name}"
        return {
            "id": int(name[1:].split(".", maxsplit=1)[0]),
            "owner_id": -1,
            "sizes": [
                {"type": "s", "url": f"{url}?size=s", "width": 75, "height": 56},
                {"type": "x", "url": f"{url}?size=s", "width": 604, "height": 0},
                {"type": "w", "url": url, "width": 1280, "height": 960},
            ],
        }

    def render(self, post: dict[str, Any], base: str) -> dict[str, Any]:
        """A post as VK answers it (photo attachments with URLs on this server)."""
        out = {k: v for k, v in post.items() if not k.startswith("_")}
        if post.get("_photos"):
            out["attachments"] = [{"type": "photo", "photo": self._render_photo(n, base)} for n in post["_photos"]]
        if post.get("copy_history"):
            out["copy_history"] = [self.render(p, base) for p in post["copy_history"]]
        return out

    # ------------------------------------------------------------------ the server
    def _method(self, name: str, params: dict[str, str], base: str) -> Any:
        if name == "wall.get":
            group = abs(int(params.get("owner_id", "0")))
            offset, count = int(params.get("offset", "0")), min(100, int(params.get("count", "20")))
            with self._lock:
                wall = list(self.walls.get(group, []))
            ordered = [p for p in wall if p.get("is_pinned")] + sorted(
                (p for p in wall if not p.get("is_pinned")), key=lambda p: -int(p["id"])
            )
            return {"count": len(wall), "items": [self.render(p, base) for p in ordered[offset : offset + count]]}
        if name == "groups.getById":
            group = abs(int(params.get("group_id", "0")))
            return {"groups": [{"id": group, "name": f"group {group}", "screen_name": f"club{group}"}]}
        if name == "groups.getLongPollServer":
            group = abs(int(params.get("group_id", "0")))
            with self._lock:
                ts = len(self._events.get(group, []))
            return {"key": "fake-key", "server": f"{base}lp/{group}", "ts": str(ts)}
        if name == "wall.createComment":
            comment_id = next(self._comment_ids)
            with self._lock:
                self.comments.append(dict(params))
            return {"comment_id": comment_id}
        return None

    def _build(self) -> Any:
        app = FastAPI(title="fake VK API")

        @app.post("/method/{name}")
        async def method(name: str, request: Request) -> JSONResponse:
            form = await request.form()
            params = {k: str(v) for k, v in form.multi_items() if isinstance(v, str)}
            params.pop("v", None)
            token = params.pop("access_token", None)
            if self.dead_token or token != self.token:
                with self._lock:
                    self.calls.append(VkCall(name, params, 5))
                return JSONResponse({"error": {**DEAD_TOKEN, "request_params": []}})
            with self._lock:
                failure = next((f for f in self._failures if f[1] in (None, name)), None)
                if failure is not None:
                    self._failures.remove(failure)
            if failure is not None:
                with self._lock:
                    self.calls.append(VkCall(name, params, failure[0]))
                message = ERRORS.get(failure[0], "error")
                return JSONResponse({"error": {"error_code": failure[0], "error_msg": message}})
            result = self._method(name, params, str(request.base_url))
            with self._lock:
                self.calls.append(VkCall(name, params, None if result is not None else 3))
            if result is None:
                return JSONResponse({"error": {"error_code": 3, "error_msg": "Unknown method passed"}})
            return JSONResponse({"response": result})

        @app.get("/lp/{group}")
        async def longpoll(group: int, request: Request) -> JSONResponse:
            ts = int(request.query_params.get("ts", "0"))
            wait = float(request.query_params.get("wait", "0"))
            deadline = time.monotonic() + wait
            while True:
                with self._lock:
                    failed = self._longpoll_failures.pop(0) if self._longpoll_failures else None
                    events = list(self._events.get(group, []))
                if failed is not None:
                    return JSONResponse({"failed": failed, "ts": str(ts)})
                if len(events) > ts or time.monotonic() >= deadline:
                    base = str(request.base_url)
                    updates = [{**e, "object": self.render(e["object"], base)} for e in events[ts:]]
                    return JSONResponse({"ts": str(len(events)), "updates": updates})
                await asyncio.sleep(0.02)

        @app.get("/photos/{name}")
        def photo(name: str, request: Request) -> Response:
            with self._lock:
                self.photo_requests.append(name)
            if name not in self.photos:
                return Response(status_code=404)
            data = self.thumbnail if request.query_params.get("size") == "s" else self.photos[name]
            return Response(data, media_type="image/jpeg")

        return app
