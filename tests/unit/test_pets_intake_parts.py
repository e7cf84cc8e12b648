"""Parts of the pets intake and bots: VK post → draft, photo sizes, resume state, secrets, the engine client's error
mapping and the delivery rules (an HTTP-level stand-in for the engine: httpx.MockTransport), bot wording, the
Telegram retry-after middleware."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sightings.core.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InputError,
    IntegrityError,
    MediaError,
    NotFoundError,
)
from sightings.solutions.pets.client import MatchCard, PetsClient
from sightings.solutions.pets.feeds.deliver import deliver
from sightings.solutions.pets.feeds.secrets import read_secret, redact
from sightings.solutions.pets.feeds.state import JsonState, VkGroupState
from sightings.solutions.pets.posts import PostDraft

pytest.importorskip("vk_api", reason="needs the pets extra (vk-api)")


def _post_body(**extra: Any) -> dict[str, Any]:
    body = {
        "id": "p1",
        "status": "added",
        "source": "vk",
        "source_id": "-1_1",
        "kind": "lost",
        "posted_at": "2025-01-05T12:00:00+00:00",
        "flags": [],
        "matches": [],
    }
    return {**body, **extra}


def _client(handler: Any) -> PetsClient:
    return PetsClient("http://engine.test", "key", transport=httpx.MockTransport(handler))


def test_a_vk_repost_becomes_a_draft_with_link_text_of_both_place_and_repost_of() -> None:
    from sightings.solutions.pets.feeds.vk import vk_draft

    original = {"id": 7, "owner_id": -5, "date": 1736078400, "text": "Пропал кот", "geo": {"coordinates": "55.7 37.6"}}
    item = {"id": 9, "owner_id": -3, "from_id": 42, "date": 1736164800, "text": "Репост", "copy_history": [original]}
    draft = vk_draft(item, (b"x",), ("vk-3_9-1.jpg",))
    assert draft.source == "vk" and draft.source_id == "-3_9" and draft.link == "https://vk.com/wall-3_9"
    assert draft.repost_of == "-5_7" and draft.text == "Репост\n\nПропал кот" and draft.author == "vk:42"
    assert (draft.lat, draft.lon) == (55.7, 37.6) and draft.posted_at == datetime(2025, 1, 6, 12, tzinfo=UTC)
    assert vk_draft({"id": 1, "owner_id": -3, "date": 0, "geo": {"coordinates": "bad"}}).lat is None


def test_the_largest_photo_size_is_chosen_by_pixels_then_by_letter() -> None:
    from sightings.solutions.pets.feeds.vk import largest_photo_url

    sized = {
        "sizes": [
            {"type": "w", "url": "w", "width": 100, "height": 80},
            {"type": "x", "url": "x", "width": 604, "height": 453},
        ]
    }
    assert largest_photo_url(sized) == "x"
    lettered = {"sizes": [{"type": "z", "url": "z"}, {"type": "w", "url": "w"}, {"type": "m", "url": "m"}]}
    assert largest_photo_url(lettered) == "w"
    assert largest_photo_url({"sizes": []}) is None
    assert largest_photo_url({"orig_photo": {"url": "o"}}) == "o"


def test_the_vk_session_sends_api_calls_to_the_configured_base() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from sightings.solutions.pets.feeds.vk import vk_session

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/vk"
        assert vk_session(base).post("https://api.vk.ru/method/wall.get", data={"x": "1"}, timeout=5).ok
    finally:
        server.shutdown()
    assert seen == ["/vk/method/wall.get"]
    assert type(vk_session(None).get_adapter("https://api.vk.ru/")).__name__ == "HTTPAdapter"


def test_state_files_are_atomic_json_and_the_resume_point_only_moves_forward(tmp_path: Path) -> None:
    group = VkGroupState(tmp_path, -42)
    assert group.last_id == 0
    group.advance(10)
    group.advance(7)
    group.refuse(12, "text: too long")
    assert group.last_id == 12 and group.refused == {"12": "text: too long"}
    on_disk = json.loads((tmp_path / "vk" / "group-42.json").read_text(encoding="utf-8"))
    assert on_disk == {"group_id": 42, "last_id": 12, "refused": {"12": "text: too long"}}
    assert VkGroupState(tmp_path, 42).last_id == 12  # another process reads it back
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IntegrityError, match="not valid JSON"):
        JsonState(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    with pytest.raises(IntegrityError, match="JSON object"):
        JsonState(tmp_path / "list.json")


def test_secrets_come_from_the_value_or_a_file_and_errors_never_show_them(tmp_path: Path) -> None:
    assert read_secret(SecretStr(" tok "), None, "pets.bots.vk_token") == "tok"
    (tmp_path / "token").write_text("from-file\n", encoding="utf-8")
    assert read_secret(None, tmp_path / "token", "pets.bots.vk_token") == "from-file"
    with pytest.raises(ConfigError, match="SIGHTINGS_PETS__BOTS__VK_TOKEN"):
        read_secret(None, None, "pets.bots.vk_token")
    assert read_secret(None, None, "pets.bots.api_key", required=False) is None
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty"):
        read_secret(None, tmp_path / "empty", "pets.bots.vk_token")
    with pytest.raises(ConfigError, match="cannot read"):
        read_secret(None, tmp_path / "missing", "pets.bots.vk_token")
    assert redact("GET /bot123:ABC/getMe failed", ["123:ABC", None]) == "GET /bot***/getMe failed"


def test_bot_tokens_are_settings_secrets_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    from sightings.core.config import load_settings

    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__TELEGRAM_TOKEN", "123:secret")
    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__VK_GROUPS", "[1, 2]")
    loaded = load_settings()
    assert loaded.settings.pets.bots.vk_groups == [1, 2] and loaded.settings.pets.bots.vk_comment_dry_run
    assert "secret" not in json.dumps(loaded.values, default=str)
    assert loaded.sources["pets.bots.telegram_token"] == "env SIGHTINGS_PETS__BOTS__TELEGRAM_TOKEN"


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (422, {"error": "photo-2.jpg: not an image", "type": "MediaError"}, MediaError, "photo-2.jpg: not an image"),
        (422, {"detail": [{"loc": ["body", "text"], "msg": "too long"}]}, InputError, "text: too long"),
        (404, {"error": "post x: no such post", "type": "NotFoundError"}, NotFoundError, "no such post"),
        (401, {"detail": "missing or wrong X-API-Key header"}, ConfigError, "pets.bots.api_key"),
        (503, {"error": "down"}, BackendUnavailableError, "down"),
        (500, "oops", BackendError, "HTTP 500"),
    ],
)
def test_engine_answers_become_our_errors(status: int, body: Any, error: type[Exception], text: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, text=body)

    with _client(handler) as client, pytest.raises(error, match=text):
        client.get_post("x")


def test_no_engine_is_backend_unavailable_with_a_hint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with _client(handler) as client, pytest.raises(BackendUnavailableError, match="sightings serve"):
        client.lost_matches("x")
    assert not _client(handler).health()


def test_delivery_drops_photos_the_engine_refuses_and_caps_the_count() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        names = [
            part.split('filename="')[1].split('"')[0]
            for part in request.content.decode("latin-1").split("\r\n")
            if 'filename="' in part
        ]
        sent.append(names)
        if "b.jpg" in names:
            return httpx.Response(
                422, json={"error": "b.jpg: not an image (unrecognised content)", "type": "MediaError"}
            )
        if len(names) == 0 and len(sent) > 2:
            return httpx.Response(422, json={"error": "text: too long", "type": "InputError"})
        return httpx.Response(200, json=_post_body(photo_count=len(names)))

    draft = PostDraft(
        source="vk", source_id="-1_1", photos=(b"a", b"b", b"c", b"d"), photo_names=("a.jpg", "b.jpg", "c.jpg", "d.jpg")
    )
    with _client(handler) as client:
        out = deliver(client, draft, max_photos=3, dropped=("x.jpg (download failed)",))
        assert out.status == "added" and out.post is not None and out.post.photo_count == 2
        assert sent == [["a.jpg", "b.jpg", "c.jpg"], ["a.jpg", "c.jpg"]]
        assert out.dropped == (
            "x.jpg (download failed)",
            "d.jpg (over the 3-photo limit)",
            "b.jpg: not an image (unrecognised content)",
        )
        refused = deliver(client, PostDraft(source="vk", source_id="-1_2"), max_photos=3)
        assert refused.status == "refused" and refused.reason == "text: too long" and refused.post is None


def test_match_cards_and_vk_comments_are_worded_from_the_catalogue() -> None:
    from sightings.i18n import translator
    from sightings.solutions.pets.bots import replies

    card = MatchCard(
        "m1",
        "post",
        "f1",
        0.934,
        True,
        datetime(2025, 1, 6, 10, 30, tzinfo=UTC),
        place="ул. Ленина 5",
        district="Выхино",
        link="https://vk.com/wall-1_2",
        distance_km=1.234,
    )
    ru = replies.match_caption(translator("ru"), card).splitlines()
    assert ru == [
        "Возможно, это ваш питомец: уверенность 93%",
        "Где: ул. Ленина 5, Выхино",
        "1.2 км от места пропажи",
        "Когда: 06.01.2025 10:30 UTC",
        "Ссылка: https://vk.com/wall-1_2",
    ]
    camera = MatchCard("m2", "sighting", "s1", 0.95, True, datetime(2025, 1, 6, tzinfo=UTC), place="camera yard-1")
    en = replies.match_caption(translator("en"), camera)
    assert en.splitlines()[:2] == ["Possibly your pet: 95% sure", "Seen by a street camera"]
    assert replies.vk_comment_for_sighting(translator("ru"), camera).startswith("Уличная камера видела похожее")
    assert replies.photos_received(translator("ru"), 5).startswith("Получено 5 фотографий")
    assert replies.matches_found(translator("ru"), 2) == "2 возможных совпадения"


def test_the_retry_after_middleware_waits_as_told_and_gives_up_when_bounded() -> None:
    from aiogram.exceptions import TelegramRetryAfter
    from aiogram.methods import SendMessage

    from sightings.solutions.pets.bots.telegram_bot import RetryAfterMiddleware

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def flaky(failures: int, retry_after: int) -> Any:
        left = [failures]

        async def make_request(bot: Any, method: Any) -> str:
            if left[0] > 0:
                left[0] -= 1
                raise TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=retry_after)
            return "sent"

        return make_request

    method = SendMessage(chat_id=1, text="hi")
    middleware = RetryAfterMiddleware(max_retries=3, max_wait_s=30, sleep=sleep)
    assert asyncio.run(middleware(flaky(2, 4), None, method)) == "sent"  # type: ignore[arg-type]
    assert slept == [4.0, 4.0] and middleware.waits == [4.0, 4.0]
    with pytest.raises(TelegramRetryAfter):
        asyncio.run(middleware(flaky(9, 1), None, method))  # type: ignore[arg-type]
    with pytest.raises(TelegramRetryAfter):
        asyncio.run(middleware(flaky(1, 120), None, method))  # type: ignore[arg-type]  # over max_wait_s


def test_crop_photos_are_fetched_from_this_engine_only() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, content=b"\xff\xd8jpeg")

    with _client(handler) as client:
        assert client.photo("/v1/pets/photos/e1") == b"\xff\xd8jpeg"
        assert client.photo("http://engine.test/v1/pets/photos/e2") == b"\xff\xd8jpeg"
        with pytest.raises(InputError, match="not a photo URL of this engine"):
            client.photo("http://elsewhere.test/v1/pets/photos/e3")
    assert asked == ["http://engine.test/v1/pets/photos/e1", "http://engine.test/v1/pets/photos/e2"]


def test_the_engine_rate_limit_is_waited_out_then_reported_as_unavailable() -> None:
    answers = [429, 429, 200]
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = answers.pop(0) if answers else 429
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "rate limit: retry in 2 s"})
        return httpx.Response(200, json=_post_body())

    client = PetsClient("http://engine.test", "k", transport=httpx.MockTransport(handler), sleep=slept.append)
    assert client.get_post("p1").id == "p1" and slept == [2.0, 2.0]
    with pytest.raises(BackendUnavailableError, match="rate limit"):
        client.get_post("p1")
    assert slept == [2.0, 2.0, 2.0, 2.0, 2.0]
