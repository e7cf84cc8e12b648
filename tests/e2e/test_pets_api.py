"""The pets API through HTTP (TestClient): posts, matches, feedback, photos, camera sightings, keys, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pets_factories import API_KEY, encode, pets_service, photo_of, poster
from sightings.api.app import create_app

pytestmark = pytest.mark.e2e
pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")

KEY = {"X-API-Key": API_KEY}
WHEN = "2025-01-05T12:00:00+00:00"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    service = pets_service(tmp_path_factory.mktemp("pets-api"))
    app = create_app(service.settings)
    app.state.pets = service
    with TestClient(app) as client:
        yield client, service
    service.close()


def _post(
    client: TestClient, photos: list[tuple[str, bytes]], headers: dict[str, str] | None = None, **form: Any
) -> Any:
    files = [("photos", (name, data, "application/octet-stream")) for name, data in photos]
    return client.post("/v1/pets/posts", files=files or None, data=form, headers=KEY if headers is None else headers)


def test_found_then_lost_post_gives_a_sure_match_with_everything_to_show(api: Any) -> None:
    client, _ = api
    found = _post(
        client,
        [("cat.png", encode(photo_of(1, 1)))],
        kind="found",
        text="Нашли кошку у дома 5, ищем хозяина",
        where="55.76,37.60",
        district="Выхино",
        posted_at="2025-01-06T10:00:00",
        link="https://t.me/c/1/2",
    )
    assert found.status_code == 200, found.text
    found_body = found.json()
    assert found_body["status"] == "added" and found_body["kind"] == "found" and found_body["animals"]
    assert found_body["posted_at"].startswith("2025-01-06T10:00:00")  # a naive time is UTC
    lost = _post(
        client,
        [("ryzhik.png", encode(photo_of(1, 0)))],
        kind="lost",
        text="Пропал кот Рыжик",
        lat="55.75",
        lon="37.60",
        posted_at=WHEN,
    )
    assert lost.status_code == 200, lost.text
    body = lost.json()
    assert body["matches"] and body["matches"][0]["target_id"] == found_body["id"] and body["matches"][0]["sure"]
    r = client.get(f"/v1/pets/lost/{body['id']}/matches")
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["calibration"] == "prior" and page["precision_threshold"] == pytest.approx(0.91)
    top = page["matches"][0]
    assert top["target_kind"] == "post" and top["district"] == "Выхино" and top["link"] == "https://t.me/c/1/2"
    assert top["distance_km"] == pytest.approx(1.11, abs=0.02) and top["species"] == "cat" and top["breed"] is None
    photo = client.get(top["photo_url"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert client.get(f"/v1/pets/lost/{body['id']}/matches", params={"max_km": 0.5}).json()["count"] == 0
    assert client.get(f"/v1/pets/lost/{body['id']}/matches", params={"home": "55.76,37.60"}).json()["matches"][0][
        "distance_from_home_km"
    ] == pytest.approx(0.0, abs=0.01)
    assert client.get(f"/v1/pets/lost/{body['id']}/matches", params={"sort": "price"}).status_code == 422
    fb = client.post(f"/v1/pets/matches/{top['match_id']}/feedback", json={"verdict": "mine"}, headers=KEY)
    assert fb.status_code == 200 and fb.json()["verdict"] == "mine"
    got = client.get(f"/v1/pets/posts/{body['id']}").json()
    assert got["id"] == body["id"] and got["match_count"] >= 1 and got["text"] == "Пропал кот Рыжик"


def test_camera_sighting_endpoint_matches_lost_pets(api: Any) -> None:
    client, _ = api
    lost = _post(
        client, [("p.png", encode(photo_of(2, 0)))], kind="lost", text="Пропал кот", where="55.75,37.60", posted_at=WHEN
    ).json()
    crop = encode(photo_of(2, 2)[20:130, 40:160])
    r = client.post(
        "/v1/pets/sightings",
        files={"crop": ("crop.png", crop)},
        data={
            "camera_id": "cam-1",
            "lat": "55.751",
            "lon": "37.601",
            "seen_at": "2025-01-07T08:30:00Z",
            "species": "cat",
        },
        headers=KEY,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["matches"] and body["matches"][0]["lost_post_id"] == lost["id"]
    assert client.get(body["photo_url"]).status_code == 200
    views = client.get(f"/v1/pets/lost/{lost['id']}/matches", params={"sort": "time"}).json()["matches"]
    assert views[0]["target_kind"] == "sighting" and views[0]["place"] == "camera cam-1"


def test_times_far_in_the_future_are_refused(tmp_path: Path) -> None:
    """A camera or phone clock years ahead is refused (422); a few minutes fast is not."""
    service = pets_service(tmp_path)
    app = create_app(service.settings)
    app.state.pets = service
    crop = encode(photo_of(2, 2)[20:130, 40:160])
    later = {"camera_id": "cam-2", "lat": "55.751", "lon": "37.601", "seen_at": "2099-01-01T00:00:00Z"}
    with TestClient(app) as client:
        r = client.post("/v1/pets/sightings", files={"crop": ("crop.png", crop)}, data=later, headers=KEY)
        assert r.status_code == 422
        assert r.json()["error"].startswith("seen_at: 2099-01-01T00:00:00+00:00 is in the future")
        soon = {**later, "seen_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()}
        r = client.post("/v1/pets/sightings", files={"crop": ("crop.png", crop)}, data=soon, headers=KEY)
        assert r.status_code == 200, r.text
        r = _post(client, [], kind="lost", text="Пропал кот", posted_at="2099-01-01T00:00:00Z")
        assert r.status_code == 422 and r.json()["error"].startswith("posted_at: 2099")
    service.close()


def test_post_without_photo_and_emoji_only_text_are_accepted_and_flagged(api: Any) -> None:
    client, _ = api
    r = _post(client, [], kind="lost", text="🐱🐱🐱🙏")
    assert r.status_code == 200, r.text
    assert r.json()["flags"] == ["no_photo"] and r.json()["animals"] == []
    r = _post(client, [("poster.png", encode(poster(3)))], text="🙏🙏")
    assert r.status_code == 200 and r.json()["kind"] == "other" and r.json()["flags"] == ["no_animal"]


def test_bad_photos_and_too_many_photos_are_refused_clearly(api: Any) -> None:
    client, service = api
    before = service.store.counts()["posts"]
    r = _post(client, [("ok.png", encode(photo_of(3))), ("notes.txt", b"not an image at all")], kind="lost")
    assert r.status_code == 422 and "notes.txt" in r.json()["error"]
    r = _post(client, [(f"p{i}.png", b"x") for i in range(50)], kind="lost")
    assert r.status_code == 413 and "50 photos" in r.json()["error"]
    r = _post(client, [("empty.png", b"")], kind="lost")
    assert r.status_code == 422 and "empty.png" in r.json()["error"]
    r = _post(client, [], kind="lost", where="somewhere")
    assert r.status_code == 422 and "LAT,LON" in r.json()["error"]
    r = _post(client, [], kind="stolen")
    assert r.status_code == 422
    r = _post(client, [], kind="lost", text="  ")  # nothing to match on
    assert r.status_code == 422 and "needs text, photos or both" in r.json()["error"]
    r = client.post("/v1/pets/posts", headers=KEY)  # no body at all
    assert r.status_code == 415 and "multipart/form-data" in r.json()["error"]
    r = client.post("/v1/pets/posts", json={"text": "Потерялся кот", "kind": "lost"}, headers=KEY)
    assert r.status_code == 415 and "'application/json'" in r.json()["error"]
    assert service.store.counts()["posts"] == before


def test_duplicates_through_the_api(api: Any) -> None:
    client, _ = api
    photo = encode(photo_of(4, 0))
    first = _post(
        client,
        [("a.png", photo)],
        kind="lost",
        source="vk",
        source_id="-5_77",
        text="Пропал пёс",
        link="https://vk.com/wall-5_77",
    ).json()
    assert first["privacy"] and first["text"] is None and first["animals"][0]["photo_url"] is None
    again = _post(client, [("a.png", photo)], kind="lost", source="vk", source_id="-5_77").json()
    assert again["status"] == "exists" and again["id"] == first["id"]
    repost = _post(client, [], kind="lost", source="vk", source_id="-9_1", repost_of="-5_77").json()
    assert repost["status"] == "duplicate" and repost["duplicate_of"] == first["id"]
    assert client.get(f"/v1/pets/posts/{first['id']}").json()["duplicates"] == [repost["id"]]


def test_unknown_ids_are_404(api: Any) -> None:
    client, _ = api
    assert client.get("/v1/pets/posts/nope").status_code == 404
    assert client.get("/v1/pets/lost/nope/matches").status_code == 404
    assert client.get("/v1/pets/photos/nope").status_code == 404
    r = client.post("/v1/pets/matches/nope/feedback", json={"verdict": "mine"}, headers=KEY)
    assert r.status_code == 404 and "match" in r.json()["error"]
    found = _post(client, [], kind="found", text="Нашли собаку").json()
    assert client.get(f"/v1/pets/lost/{found['id']}/matches").status_code == 404


def test_write_endpoints_need_a_key(api: Any, tmp_path: Path) -> None:
    client, _ = api
    assert _post(client, [], headers={}, kind="lost").status_code == 401
    assert _post(client, [], headers={"X-API-Key": "wrong"}, kind="lost").status_code == 401
    r = client.post("/v1/pets/matches/x/feedback", json={"verdict": "mine"})
    assert r.status_code == 401
    bad_verdict = client.post("/v1/pets/matches/x/feedback", json={"verdict": "maybe"}, headers=KEY)
    assert bad_verdict.status_code == 422
    from pets_factories import pets_settings

    keyless = create_app(pets_settings(tmp_path, **{"pets.api_keys": []}))
    with TestClient(keyless) as other:
        r = other.post("/v1/pets/posts", data={"kind": "lost"}, headers=KEY)
        assert r.status_code == 403 and "SIGHTINGS_PETS__API_KEYS" in r.json()["detail"]


def test_openapi_documents_the_pets_endpoints(api: Any) -> None:
    client, _ = api
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/v1/pets/posts",
        "/v1/pets/posts/{post_id}",
        "/v1/pets/lost/{post_id}/matches",
        "/v1/pets/matches/{match_id}/feedback",
        "/v1/pets/photos/{photo_id}",
        "/v1/pets/sightings",
    ):
        assert path in paths
        for operation in paths[path].values():
            assert operation.get("description"), f"{path} has no description"
    view = spec["components"]["schemas"]["MatchViewOut"]["properties"]
    assert "description" in view["distance_from_home_km"] and "description" in view["confidence"]


def test_a_store_outage_shorter_than_the_hold_budget_costs_time_not_an_error(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog locked for a moment: the write is made again (all-or-nothing), the client gets its 200."""
    from sightings.core.errors import BackendUnavailableError

    client, service = api
    real = service.store.add_post
    failures = [BackendUnavailableError("database unavailable: database is locked", where="catalog")]

    def locked_once(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(service.store, "add_post", locked_once)
    r = _post(client, [("x.png", encode(photo_of(7, 0)))], kind="found", text="Нашли собаку", posted_at=WHEN)
    assert r.status_code == 200, r.text
    assert not failures and r.json()["status"] == "added"
    assert service.matcher("found").gallery.count() == len(service.store.list_posts(kind="found", limit=1000))
