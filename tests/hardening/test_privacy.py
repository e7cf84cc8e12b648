"""Privacy: personal data purged after pets.personal_data_days; DELETE removes a post/sighting everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pets_factories import encode, photo_of

pytestmark = pytest.mark.hardening


def _add(api: Any, seed: int, kind: str, text: str, **form: Any) -> dict[str, Any]:
    files = [("photos", (f"p{seed}.png", encode(photo_of(seed, kind == "lost"))))]
    data = {"kind": kind, "text": text, "lat": "55.75", "lon": "37.6", "posted_at": "2025-01-05T10:00:00", **form}
    r = api.client.post("/v1/pets/posts", files=files, data=data, headers=api.headers("write"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_purge_strips_personal_data_of_old_posts_only(pets_api: Any) -> None:
    from sightings.solutions.pets.retention import purge_personal_data

    service = pets_api.service
    old = _add(pets_api, 1, "found", "Нашли кота, звоните 8 916 123-45-67", author="Иван", address="ул. Ленина, 5")
    assert old["phones"] and old["text"]
    report = purge_personal_data(service, now=datetime.now(UTC) + timedelta(days=31))
    assert report.posts == 1
    new = _add(pets_api, 2, "found", "Нашли собаку, тел 8 916 123-45-67")
    assert purge_personal_data(service).posts == 0
    purged = pets_api.client.get(f"/v1/pets/posts/{old['id']}").json()
    assert purged["phones"] == [] and purged["text"] is None and purged["address"] is None
    assert "purged" in purged["flags"] and "phones" not in purged["facts"]
    assert purged["animals"], "the animal (vector, crop) stays: it is not personal data"
    kept = pets_api.client.get(f"/v1/pets/posts/{new['id']}").json()
    assert kept["phones"] and kept["text"]


def test_purge_command(tmp_path: Path) -> None:
    from sightings.cli import app

    result = CliRunner().invoke(app, ["purge", "--days", "0", "--json"])
    assert result.exit_code == 0, result.output
    assert '"posts": 0' in result.stdout


def test_delete_post_removes_rows_crops_vectors_and_matches(pets_api: Any) -> None:
    service = pets_api.service
    found = _add(pets_api, 3, "found", "Нашли кошку")
    lost = _add(pets_api, 3, "lost", "Пропал кот")
    assert lost["matches"], "the two photos of one cat should match"
    crops = [a["embedding_id"] for a in found["animals"]]
    assert all((service.crops_dir / f"{e}.jpg").is_file() for e in crops)
    before = service.matcher("found").gallery.count()
    r = pets_api.client.delete(f"/v1/pets/posts/{found['id']}", headers=pets_api.headers("admin"))
    assert r.status_code == 200 and r.json() == {"kind": "post", "id": found["id"], "embeddings": 1, "matches": 1}
    assert service.matcher("found").gallery.count() == before - 1
    assert not any((service.crops_dir / f"{e}.jpg").exists() for e in crops)
    assert pets_api.client.get(f"/v1/pets/lost/{lost['id']}/matches").json()["count"] == 0
    assert pets_api.client.get(f"/v1/pets/photos/{crops[0]}").status_code == 404
    again = pets_api.client.delete(f"/v1/pets/posts/{found['id']}", headers=pets_api.headers("admin"))
    assert again.status_code == 404
    # the lost post, deleted too: its matches' feedback goes with it
    r = pets_api.client.delete(f"/v1/pets/posts/{lost['id']}", headers=pets_api.headers("admin"))
    assert r.status_code == 200 and service.matcher("lost").gallery.count() == 0


def test_delete_sighting(pets_api: Any) -> None:
    service = pets_api.service
    lost = _add(pets_api, 4, "lost", "Пропал кот")
    form = {"camera_id": "cam1", "lat": "55.75", "lon": "37.6", "seen_at": "2025-01-06T10:00:00"}
    crop = {"crop": ("c.png", encode(photo_of(4, 2)))}
    r = pets_api.client.post("/v1/pets/sightings", files=crop, data=form, headers=pets_api.headers("write"))
    assert r.status_code == 200, r.text
    sighting = r.json()
    assert sighting["matches"]
    r = pets_api.client.delete(f"/v1/pets/sightings/{sighting['id']}", headers=pets_api.headers("admin"))
    assert r.status_code == 200 and r.json()["matches"] == 1
    assert service.matcher("found").gallery.count() == 0
    assert pets_api.client.get(f"/v1/pets/lost/{lost['id']}/matches").json()["count"] == 0
    assert pets_api.client.delete("/v1/pets/sightings/none", headers=pets_api.headers("admin")).status_code == 404
    from sightings.api.auth import key_store

    deletes = [e for e in key_store(pets_api.settings).audit_entries() if e.method == "DELETE"]
    assert deletes and deletes[0].role == "admin" and deletes[-1].status == 200


def test_purge_works_on_postgresql(tmp_path: Path) -> None:
    """The purge's query on a real PostgreSQL (its json type has no '=': comparing phones with [] failed there)."""
    from hardening_factories import PetsApi
    from postgres_server import start_server
    from sightings.solutions.pets.retention import purge_personal_data

    server = start_server()
    api = PetsApi(tmp_path, **{"pets.catalog_url": server.create_database("pets_purge")})
    try:
        old = _add(api, 1, "found", "Нашли кота, звоните 8 916 123-45-67", author="Иван")
        assert old["phones"]
        assert purge_personal_data(api.service, now=datetime.now(UTC) + timedelta(days=31)).posts == 1
        purged = api.client.get(f"/v1/pets/posts/{old['id']}").json()
        assert purged["phones"] == [] and purged["text"] is None and "purged" in purged["flags"]
        assert purge_personal_data(api.service, now=datetime.now(UTC) + timedelta(days=31)).posts == 0
    finally:
        api.close()
        server.remove()
