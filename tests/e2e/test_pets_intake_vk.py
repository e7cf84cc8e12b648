"""VK intake and the VK bot end to end: the real engine app (uvicorn, 127.0.0.1) + a fake VK API server.

wall.get pulls with since-id resume, photos (largest size), reposts, privacy mode, bad input (no photo, a file that
is not an image, 50 photos, emoji-only text, a refused post), flood control, a dead token (CLI: one line, exit 3,
state untouched), the same post through wall.get and long poll at once, and VK comments only on sure matches.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pets_factories import API_KEY
from pets_feeds_factories import engine_client, photo_bytes, running_engine
from sightings.api.local_server import LocalServer
from sightings.core.errors import BackendUnavailableError
from sightings.testing.fake_vk import FakeVk

pytestmark = pytest.mark.e2e
pytest.importorskip("vk_api", reason="needs the pets extra (vk-api)")
pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    fake = FakeVk(token="vk-token-123")
    with running_engine(tmp_path_factory.mktemp("pets-vk")) as (url, service), LocalServer(fake.app) as vk_server:
        client = engine_client(url)
        yield {"url": url, "service": service, "fake": fake, "vk_url": vk_server.url, "client": client}
        client.close()


def _intake(world: dict[str, Any], root: Path, *, commenter: Any = None, **vk_options: Any) -> Any:
    from sightings.solutions.pets.feeds.vk import VkApiClient, VkIntake

    options = {"api_base": world["vk_url"], "rps_delay_s": 0.0, "backoff_s": 0.01, **vk_options}
    vk = VkApiClient(world["fake"].token, **options)
    hook = None if commenter is None else commenter.on_delivery
    return VkIntake(vk, world["client"], root, max_photos=20, page_size=2, on_delivery=hook)


def test_pull_takes_posts_in_with_link_photos_privacy_reposts_and_resumes(
    world: dict[str, Any], tmp_path: Path
) -> None:
    fake, service = world["fake"], world["service"]
    fake.add_post(11, "Объявление группы: правила", pinned=True)
    fake.add_post(11, "Нашли кошку у подъезда, ищем хозяина", photos=[photo_bytes(1, 1)], geo=(55.76, 37.60))
    lost = fake.add_post(11, "Пропал кот Рыжик, 8 916 123-45-67", photos=[photo_bytes(1, 0)])
    fake.add_post(11, "🐱🐱🐱 ❤️")
    fake.add_post(11, "Репост: помогите найти!", repost_of=lost)
    intake = _intake(world, tmp_path)

    report = intake.pull_group(11)
    assert report.fetched == 5 and report.statuses == {"added": 4, "duplicate": 1} and report.dropped_photos == 0
    assert report.wall_calls == 3 and report.last_id == 5  # pages of 2, oldest handled first
    stored = service.store.find_post("vk", "-11_3")
    assert stored.kind == "lost" and stored.link == "https://vk.com/wall-11_3" and stored.phones == ("+79161234567",)
    assert stored.privacy and stored.text is None and stored.author is None and stored.photo_count == 1
    found = service.store.find_post("vk", "-11_2")
    assert (found.lat, found.lon) == (55.76, 37.60) and found.kind == "found"
    repost = service.store.find_post("vk", "-11_5")
    assert repost.repost_of == "-11_3" and repost.duplicate_of == stored.id and repost.duplicate_reason == "repost"
    emoji = service.store.find_post("vk", "-11_4")
    assert emoji.kind == "other" and "no_photo" in emoji.flags
    sure = world["client"].lost_matches(stored.id).matches  # the largest photo size was taken: a sure match
    assert [m.target_id for m in sure] == [found.id]
    state = json.loads((tmp_path / "vk" / "group-11.json").read_text(encoding="utf-8"))
    assert state["last_id"] == 5

    again = intake.pull_group(11)  # nothing new: the pinned old post does not stop the walk or come back
    assert again.fetched == 0 and again.wall_calls == 1
    fake.add_post(11, "Нашли собаку в парке", photos=[photo_bytes(5, 0)])
    third = _intake(world, tmp_path).pull_group(11)  # a new process: the resume point comes from the file
    assert third.fetched == 1 and third.statuses == {"added": 1} and third.last_id == 6


def test_bad_photos_fifty_photos_and_a_refused_post_lose_nothing(world: dict[str, Any], tmp_path: Path) -> None:
    fake, service = world["fake"], world["service"]
    fake.add_post(12, "Нашли собаку", photos=[b"<html>not an image</html>", photo_bytes(7, 0)])
    fake.add_post(12, "Нашли кошку, много фото", photos=[photo_bytes(8, v % 3) for v in range(50)])
    fake.add_post(12, "x" * 20001)  # over the API's text limit: refused as bad input, recorded, passed
    fake.add_post(12, "Пропала собака", photos=[b""])
    before = len(fake.photo_requests)

    report = _intake(world, tmp_path).pull_group(12)
    assert report.statuses == {"added": 3, "refused": 1} and report.last_id == 4
    assert report.dropped_photos == 1 + 30 + 1
    assert service.store.find_post("vk", "-12_1").photo_count == 1
    assert service.store.find_post("vk", "-12_2").photo_count == 20
    assert len(fake.photo_requests) - before == 2 + 20 + 1  # photos over the limit are not even downloaded
    empty = service.store.find_post("vk", "-12_4")
    assert empty.kind == "lost" and "no_photo" in empty.flags
    state = json.loads((tmp_path / "vk" / "group-12.json").read_text(encoding="utf-8"))
    assert list(state["refused"]) == ["3"] and "20000" in state["refused"]["3"]


def test_flood_control_is_waited_out_then_gives_up_with_state_kept(world: dict[str, Any], tmp_path: Path) -> None:
    fake = world["fake"]
    fake.add_post(13, "Нашли кота", photos=[photo_bytes(9, 0)])
    fake.fail(6, times=2, method="wall.get")
    fake.fail(9, times=1, method="wall.get")
    intake = _intake(world, tmp_path)
    assert intake.pull_group(13).statuses == {"added": 1}
    assert intake.vk.retries == 3

    fake.add_post(13, "Нашли кошку", photos=[photo_bytes(10, 0)])
    fake.fail(9, times=5, method="wall.get")
    state_file = tmp_path / "vk" / "group-13.json"
    before = state_file.read_bytes()
    with pytest.raises(BackendUnavailableError, match="error 9"):
        _intake(world, tmp_path, max_retries=2).pull_group(13)
    assert state_file.read_bytes() == before
    fake.clear_failures()
    assert _intake(world, tmp_path).pull_group(13).statuses == {"added": 1}


def test_cli_pull_then_a_dead_token_is_one_line_exit_3_and_state_unchanged(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sightings.cli import app
    from sightings.core import config

    world["fake"].add_post(14, "Пропала кошка Муся", photos=[photo_bytes(11, 0)])
    env = {
        "SIGHTINGS_PETS__BOTS__API_URL": world["url"],
        "SIGHTINGS_PETS__BOTS__API_KEY": API_KEY,
        "SIGHTINGS_PETS__BOTS__VK_TOKEN": world["fake"].token,
        "SIGHTINGS_PETS__BOTS__VK_API_BASE": world["vk_url"],
        "SIGHTINGS_PETS__BOTS__STATE_DIR": str(tmp_path),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config.set_config_file(None)
    ok = CliRunner().invoke(app, ["pets", "vk-pull", "--group", "14", "--json"])
    assert ok.exit_code == 0, ok.output
    body = json.loads(ok.stdout[ok.stdout.index("[") :])
    assert body[0]["group_id"] == 14 and body[0]["statuses"] == {"added": 1}
    state_file = tmp_path / "vk" / "group-14.json"
    before = state_file.read_bytes()

    world["fake"].add_post(14, "Нашли кошку", photos=[photo_bytes(12, 0)])
    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__VK_TOKEN", "dead-token-456")
    config.set_config_file(None)
    dead = CliRunner().invoke(app, ["pets", "vk-pull", "--group", "14"])
    assert dead.exit_code == 3
    errors = [line for line in dead.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: pets.bots.vk_token: VK rejected the token (error 5: User authorization failed: "
        "invalid access_token (4).)"
    ]
    assert "dead-token-456" not in dead.output
    assert state_file.read_bytes() == before


def test_the_same_post_through_wall_get_and_long_poll_at_once_is_one_post(
    world: dict[str, Any], tmp_path: Path
) -> None:
    from sightings.solutions.pets.feeds.vk import VkLongPollListener

    fake, service = world["fake"], world["service"]
    intake = _intake(world, tmp_path)
    listener = VkLongPollListener(intake.vk, intake, 15, wait_s=1)
    fake.fail_longpoll(2)  # the first check says "key expired": the listener gets a new key and goes on
    stop = threading.Event()
    thread = threading.Thread(target=listener.run, args=(stop,), kwargs={"max_events": 1}, daemon=True)
    thread.start()
    fake_calls = fake.calls_of
    for _ in range(500):  # connected (it has its long-poll key) before the post appears
        if fake_calls("groups.getLongPollServer"):
            break
        threading.Event().wait(0.01)
    post = fake.publish(15, "Нашли пса у метро", photos=[photo_bytes(13, 0)])
    report = intake.pull_group(15)
    thread.join(10)
    stop.set()
    statuses = sorted([*report.statuses] + [d.status for d in listener.deliveries])
    assert statuses == ["added", "exists"]
    assert service.store.find_post("vk", f"-15_{post['id']}") is not None

    copy = fake.add_post(15, "Пропала собака Жучка, помогите", photos=[photo_bytes(14, 0)])
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(intake.deliver_item(fake.render(copy, f"{world['vk_url']}/")).status)

    workers = [threading.Thread(target=deliver) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(20)
    assert sorted(outcomes) == ["added", "exists", "exists", "exists"]


def test_vk_bot_comments_only_on_sure_matches_once_and_dry_run_only_logs(
    world: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sightings.solutions.pets.bots.vk_bot import VkCommenter

    fake = world["fake"]
    fake.add_post(16, "Пропала кошка Дуся", photos=[photo_bytes(20, 0)])
    intake = _intake(world, tmp_path)
    dry = VkCommenter(intake.vk, world["client"], tmp_path, dry_run=True)
    intake.on_delivery = dry.on_delivery
    assert intake.pull_group(16).statuses == {"added": 1}
    fake.add_post(16, "Нашли кошку во дворе", photos=[photo_bytes(20, 1)])  # the same cat: a sure match
    fake.add_post(16, "Нашли другую кошку", photos=[photo_bytes(21, 1)])  # another cat: never a comment
    with caplog.at_level(logging.INFO, logger="sightings.solutions.pets.bots.vk_bot"):
        assert intake.pull_group(16).statuses == {"added": 2}
    would = [r.getMessage() for r in caplog.records if "would comment" in r.getMessage()]
    assert len(would) == 2 and fake.comments == []  # under the found post and under the lost post
    assert any("wall-16_2" in m and "хозяин ищет" in m and "https://vk.com/wall-16_1" in m for m in would)

    live = VkCommenter(intake.vk, world["client"], tmp_path, dry_run=False)
    said = live.sweep()  # the dry run turned off: both comments the dry run logged go out, under each post
    assert [c.source_id for c in said] == ["-16_1", "-16_2"]
    assert live.sweep() == []  # never twice for the same post and match
    under_lost, under_found = fake.comments
    assert under_lost["owner_id"] == "-16" and under_lost["post_id"] == "1" and under_lost["from_group"] == "16"
    assert under_lost["message"].startswith("Возможно, этого питомца нашли: https://vk.com/wall-16_2 (уверенность")
    assert under_found["post_id"] == "2" and "https://vk.com/wall-16_1" in under_found["message"]


def test_cli_listen_takes_a_new_post_in_as_it_appears(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sightings.cli import app
    from sightings.core import config

    fake = world["fake"]
    for key, value in {
        "API_URL": world["url"],
        "API_KEY": API_KEY,
        "VK_TOKEN": fake.token,
        "VK_API_BASE": world["vk_url"],
        "STATE_DIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(f"SIGHTINGS_PETS__BOTS__{key}", value)
    config.set_config_file(None)

    def publish_when_listening() -> None:
        for _ in range(500):
            if any(c.params.get("group_id") == "17" for c in fake.calls_of("groups.getLongPollServer")):
                fake.publish(17, "Нашли кота на остановке", photos=[photo_bytes(40, 0)])
                return
            threading.Event().wait(0.01)

    publisher = threading.Thread(target=publish_when_listening, daemon=True)
    publisher.start()
    args = ["pets", "vk-listen", "--group", "17", "--wait", "1", "--max-events", "1", "--duration", "120"]
    result = CliRunner().invoke(app, args)
    publisher.join(5)
    assert result.exit_code == 0, result.output
    # --max-events ended it: the --duration timer is cancelled (its thread ends at once), not left to run 120 s
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
    for timer in timers:
        timer.join(2)
    assert not [t for t in timers if t.is_alive()]
    assert "VK group 17: 1 post(s): added 1" in result.stdout
    assert world["service"].store.find_post("vk", "-17_1").kind == "found"


def test_an_unreachable_vk_is_named_by_its_address() -> None:
    from sightings.core.errors import BackendUnavailableError
    from sightings.solutions.pets.feeds.vk import VkApiClient

    vk = VkApiClient("token", api_base="http://127.0.0.1:9", rps_delay_s=0.0)
    with pytest.raises(BackendUnavailableError, match=r"VK wall.get: cannot reach VK at http://127.0.0.1:9: "):
        vk.call("wall.get", owner_id=-1)


def test_the_listener_waits_out_an_engine_restart(world: dict[str, Any], tmp_path: Path) -> None:
    """The engine unreachable while a post comes in: the listener tries again (the VK client's back-off) instead of
    exiting, and the post goes in once the engine answers."""
    from sightings.core.errors import BackendUnavailableError
    from sightings.solutions.pets.feeds.vk import VkLongPollListener

    fake, service = world["fake"], world["service"]
    intake = _intake(world, tmp_path)
    real = intake.deliver_item
    outage = [2]

    def flaky(item: Any) -> Any:
        if outage[0]:
            outage[0] -= 1
            raise BackendUnavailableError("cannot reach the pets engine", where="engine")
        return real(item)

    intake.deliver_item = flaky  # type: ignore[method-assign]
    listener = VkLongPollListener(intake.vk, intake, 18, wait_s=1)
    stop = threading.Event()
    thread = threading.Thread(target=listener.run, args=(stop,), kwargs={"max_events": 1}, daemon=True)
    thread.start()
    for _ in range(500):
        if any(c.params.get("group_id") == "18" for c in fake.calls_of("groups.getLongPollServer")):
            break
        threading.Event().wait(0.01)
    fake.publish(18, "Потерялась кошка во дворе", photos=[photo_bytes(41, 0)])
    thread.join(20)
    stop.set()
    assert not thread.is_alive() and outage == [0]
    assert [d.status for d in listener.deliveries] == ["added"]
    assert service.store.find_post("vk", "-18_1") is not None
