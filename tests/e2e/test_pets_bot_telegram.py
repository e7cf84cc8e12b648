"""The Telegram bot end to end: aiogram 3 polling a fake Bot API server, talking to the real engine app (both on
127.0.0.1). Conversations, albums, matches with photos and buttons, feedback, channel posts, Russian/English,
rate limits (retry_after honoured), bad input, a dead token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pets_feeds_factories import engine_client, photo_bytes, running_engine
from sightings.api.local_server import LocalServer
from sightings.core.errors import ConfigError
from sightings.solutions.pets.posts import PostDraft
from sightings.testing.fake_telegram import FakeTelegram, TelegramCall

pytestmark = pytest.mark.e2e
pytest.importorskip("aiogram", reason="needs the pets extra (aiogram)")
pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")

TOKEN = "123456:TEST-token-abc"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from sightings.solutions.pets.bots.telegram_bot import BotThread, PetsTelegramBot

    fake = FakeTelegram(token=TOKEN)
    root = tmp_path_factory.mktemp("pets-telegram")
    with running_engine(root / "engine") as (url, service), LocalServer(fake.app) as tg:
        client = engine_client(url)
        bot = PetsTelegramBot(
            TOKEN,
            client,
            root / "state",
            api_base=tg.url,
            album_wait_s=0.3,
            notify_every_s=3600,
            polling_timeout_s=1,
        )
        thread = BotThread(bot).start()
        yield {"fake": fake, "service": service, "bot": bot, "thread": thread, "tg_url": tg.url, "client": client}
        thread.stop()
        client.close()


def _to(chat_id: int) -> Any:
    return lambda call: str(call.params.get("chat_id")) == str(chat_id)


def _said(fake: FakeTelegram, chat_id: int, count: int, method: str = "sendMessage") -> list[TelegramCall]:
    return fake.wait_for(method, count, where=_to(chat_id))


def _text(call: TelegramCall) -> str:
    return str(call.params.get("text") or call.params.get("caption") or "")


def test_start_speaks_russian_by_default_and_english_on_request(world: dict[str, Any]) -> None:
    fake = world["fake"]
    for uid, code, greeting in ((2001, "ru", "Здравствуйте!"), (2002, "en", "Hello!"), (2003, None, "Здравствуйте!")):
        fake.send_text(fake.user(uid, language_code=code), "/start")
        [call] = _said(fake, uid, 1)
        assert _text(call).startswith(greeting) and "/lost" in _text(call)


def test_lost_conversation_with_an_album_then_a_found_post_reaches_the_owner(world: dict[str, Any]) -> None:
    fake, service = world["fake"], world["service"]
    owner, finder = fake.user(3001, language_code="ru"), fake.user(3002, language_code="en")
    fake.send_text(owner, "/lost")
    assert "фотографий" in _text(_said(fake, 3001, 1)[-1])
    fake.send_photo(owner, photo_bytes(30, 0), media_group_id="album-1", thumbnail=b"tiny")
    fake.send_photo(owner, photo_bytes(30, 2), media_group_id="album-1", thumbnail=b"tiny")
    assert _text(_said(fake, 3001, 2)[-1]).startswith("Получены 2 фотографии")  # one answer for the album
    fake.send_location(owner, 55.75, 37.61)
    assert _text(_said(fake, 3001, 3)[-1]).startswith("Теперь опишите")
    text = fake.send_text(owner, "Пропал кот Барсик, рыжий, 8 916 123-45-67")
    replies = [_text(c) for c in _said(fake, 3001, 5)]
    assert replies[3:] == ["Сохранено: ваше объявление о пропаже.", "Совпадений пока нет. Мы напишем, когда появится."]
    lost = service.store.find_post("telegram", f"3001_{text['message_id']}")
    assert lost.kind == "lost" and lost.photo_count == 2 and (lost.lat, lost.lon) == (55.75, 37.61)
    assert lost.author == "telegram:3001" and lost.phones == ("+79161234567",) and not lost.privacy

    fake.send_photo(finder, photo_bytes(30, 1), caption="Нашли кота у магазина")  # a direct message: a found post
    said = [_text(c) for c in _said(fake, 3002, 2)]
    assert said == ["Saved: your post about a found pet.", "We told the owner of a lost pet that may be this one."]
    [card] = _said(fake, 3001, 1, "sendPhoto")
    caption = _text(card)
    assert caption.startswith("Возможно, это ваш питомец: уверенность ") and "Когда: " in caption
    assert card.files["photo"][:2] == b"\xff\xd8"  # the matched crop, as the engine stored it (JPEG)
    buttons = card.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Это мой", "Не мой"]
    match_id = buttons[0]["callback_data"].split(":")[2]

    fake.press(owner, buttons[0]["callback_data"], card.result)
    [answer] = fake.wait_for("answerCallbackQuery")
    assert answer.params["text"].startswith("Спасибо!")
    assert [f.verdict for f in service.store.feedback(match_id)] == ["mine"]
    assert service.store.feedback(match_id)[0].author == "telegram:3001"

    fake.send_text(owner, "/matches")
    assert _text(_said(fake, 3001, 6)[-1]) == "1 возможное совпадение"
    assert len(_said(fake, 3001, 2, "sendPhoto")) == 2
    assert world["thread"].call(world["bot"].notify_new_matches()) == 0  # nothing new: nothing sent twice

    # a found post from elsewhere (VK, a volunteer, the API) reaches the owner with the next notification round
    other = PostDraft(source="manual", kind="found", text="Кот у подъезда", photos=(photo_bytes(30, 3),))
    assert world["client"].add_post(other).sure_matches
    assert world["thread"].call(world["bot"].notify_new_matches()) == 1  # the next notification round tells the owner
    assert len(_said(fake, 3001, 3, "sendPhoto")) == 3


def test_channel_album_is_one_post_and_group_chatter_is_not_a_post(world: dict[str, Any]) -> None:
    fake, service = world["fake"], world["service"]
    first = fake.channel_post(
        -100777, username="poteryashki", data=photo_bytes(31, 0), caption="Найдена собака", media_group_id="ch-1"
    )
    for variant in (1, 2):
        fake.channel_post(-100777, username="poteryashki", data=photo_bytes(31, variant), media_group_id="ch-1")
    fake.group_message(-100888, fake.user(3101), text="Кто-нибудь видел рыжего кота?")
    source_id = f"-100777_{first['message_id']}"
    deadline = time.monotonic() + 10
    while service.store.find_post("telegram", source_id) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    post = service.store.find_post("telegram", source_id)
    assert post.photo_count == 3 and post.kind == "found"
    assert post.link == f"https://t.me/poteryashki/{first['message_id']}"
    assert [p.source_id for p in service.store.list_posts(limit=500) if p.source_id.startswith("-100888")] == []
    assert fake.texts(-100777) == []  # the bot does not talk in channels


def test_a_rate_limit_is_waited_out_for_retry_after_seconds(world: dict[str, Any]) -> None:
    fake = world["fake"]
    fake.rate_limit("sendMessage", retry_after=1)
    started = time.monotonic()
    fake.send_text(fake.user(4001, language_code="en"), "/start")
    [reply] = _said(fake, 4001, 1)
    assert time.monotonic() - started >= 1.0 and _text(reply).startswith("Hello!")
    refused = [c for c in fake.calls if c.status == 429 and str(c.params.get("chat_id")) == "4001"]
    assert len(refused) == 1 and 1.0 in world["bot"].retry.waits


def test_bad_input_in_direct_messages_is_answered_and_nothing_is_lost(world: dict[str, Any]) -> None:
    fake, service = world["fake"], world["service"]
    user = fake.user(5001, language_code="ru")
    message = fake.send_document(
        user, b"%PDF-1.4 not a photo", mime_type="image/jpeg", file_name="cat.jpg", caption="Нашли собаку у школы"
    )
    said = [_text(c) for c in _said(fake, 5001, 1)]
    assert said == ["Сохранено: ваше объявление о находке.\n1 фотография не вошла в объявление."]
    post = service.store.find_post("telegram", f"5001_{message['message_id']}")
    assert post.kind == "found" and "no_photo" in post.flags
    fake.send_text(user, "🐶🐶🐶")
    assert _text(_said(fake, 5001, 2)[-1]).startswith("Отправьте /lost или /found")
    fake.send_text(user, "/found")
    fake.send_text(user, "/matches")
    assert _text(_said(fake, 5001, 4)[-1]).startswith("У вас пока нет объявлений о пропаже")


def test_a_dead_token_is_a_config_error_that_does_not_show_the_token(world: dict[str, Any], tmp_path: Path) -> None:
    from sightings.solutions.pets.bots.telegram_bot import PetsTelegramBot

    bot = PetsTelegramBot("999:dead-token-xyz", world["client"], tmp_path, api_base=world["tg_url"])
    with pytest.raises(ConfigError) as err:
        asyncio.run(bot.run())
    assert str(err.value) == "pets.bots.telegram_token: Telegram rejected the token (401 Unauthorized)"
    assert "dead-token-xyz" not in str(err.value)


def test_cli_telegram_bot_with_a_dead_token_is_one_line_exit_3(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sightings.cli import app
    from sightings.core import config

    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__TELEGRAM_TOKEN", "999:dead-token-cli")
    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__TELEGRAM_API_BASE", world["tg_url"])
    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__STATE_DIR", str(tmp_path))
    config.set_config_file(None)
    result = CliRunner().invoke(app, ["pets", "telegram-bot"])
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines()[-1] == (
        "error: pets.bots.telegram_token: Telegram rejected the token (401 Unauthorized)"
    )
    assert "dead-token-cli" not in result.output


def test_a_photo_over_the_upload_limit_is_left_out_not_the_whole_post(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine refuses a body over its limit whole: the bot leaves the big photo out and says so, the post and
    its text are kept (as the VK intake does)."""
    fake, service = world["fake"], world["service"]
    monkeypatch.setattr(world["bot"], "max_photo_bytes", 100_000)
    big = b"\xff\xd8\xff\xe0" + bytes(200_000)
    message = fake.send_document(
        fake.user(5101, language_code="ru"), big, mime_type="image/jpeg", file_name="big.jpg", caption="Нашли собаку"
    )
    said = [_text(c) for c in _said(fake, 5101, 1)]
    assert said == ["Сохранено: ваше объявление о находке.\n1 фотография не вошла в объявление."]
    post = service.store.find_post("telegram", f"5101_{message['message_id']}")
    assert post.kind == "found" and "no_photo" in post.flags


def test_cli_telegram_bot_with_a_malformed_token_is_one_line_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sightings.cli import app
    from sightings.core import config

    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__TELEGRAM_TOKEN", "garbage")
    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__STATE_DIR", str(tmp_path))
    config.set_config_file(None)
    result = CliRunner().invoke(app, ["pets", "telegram-bot"])
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "error: pets.bots.telegram_token: not a Telegram bot token (expected 123456:ABC…)"
    )


def test_sigterm_stops_the_bot_as_ctrl_c_does(tmp_path: Path) -> None:
    """systemd and `docker stop` send SIGTERM: the bot stops polling and exits 0 (it used to die mid-message)."""
    import os
    import signal
    import subprocess
    import sys

    fake = FakeTelegram(token=TOKEN)  # its own: the module's bot polls the shared one
    with LocalServer(fake.app) as tg:
        env = {
            **os.environ,
            "SIGHTINGS_PETS__BOTS__TELEGRAM_TOKEN": TOKEN,
            "SIGHTINGS_PETS__BOTS__TELEGRAM_API_BASE": tg.url,
            "SIGHTINGS_PETS__BOTS__STATE_DIR": str(tmp_path),
            "SIGHTINGS_PETS__BOTS__API_URL": "http://127.0.0.1:9",  # never reached: nobody writes
        }
        command = [sys.executable, "-m", "sightings", "pets", "telegram-bot", "--polling-timeout", "1"]
        proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            # the token check, then the dispatcher's own getMe: polling has begun
            while len(fake.calls_of("getMe")) < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert err.strip().splitlines()[-1] == "stopped" and "Polling stopped" in err
