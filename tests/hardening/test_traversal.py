"""Path traversal refused wherever a name becomes a path: URL path parts, ids, zip members, batch ids, models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.hardening

ATTEMPTS = ["../catalog.sqlite", "..%2F..%2Fcatalog.sqlite", "%2e%2e%2f%2e%2e%2fsecurity.sqlite", "/etc/passwd"]


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_api_paths_never_reach_outside(pets_api: Any, attempt: str) -> None:
    client = pets_api.client
    for url in (
        f"/v1/pets/photos/{attempt}",
        f"/v1/pets/posts/{attempt}",
        f"/v1/gallery/lion/{attempt}",
        f"/v1/gallery/{attempt}/x",
        f"/wildlife/static/{attempt}",
        f"/v1/predictions/{attempt}/photo",
    ):
        r = client.get(url)
        assert r.status_code in (404, 405, 422), (url, r.status_code)
        assert b"SQLite format" not in r.content and b"root:" not in r.content
    body = {"platform_id": "..", "video_id": "../../etc"}
    assert client.post("/v1/popularity/predict", json=body).status_code == 422


def test_ids_that_become_file_names_are_checked(tmp_path: Path) -> None:
    from sightings.core.errors import InputError
    from sightings.identity.matcher import LocalFeatureStore
    from sightings.runner.batch_list import read_batch_list
    from sightings.solutions.wildlife.species import check_name

    for bad in ("../x", "a/b", "..", "", "x" * 300):
        with pytest.raises(InputError):
            check_name(bad, "species")
    for call in (LocalFeatureStore(tmp_path / "local").get, LocalFeatureStore(tmp_path / "local").delete):
        with pytest.raises(InputError):
            call("../../evil")
    listing = tmp_path / "videos.csv"
    listing.write_text("source,platform_id,video_id\nv.mp4,yt,../../escape\n", encoding="utf-8")
    with pytest.raises(InputError):
        read_batch_list(listing)


def test_model_names_are_checked() -> None:
    from sightings.core.errors import SightingsError
    from sightings.models.store import validate_model_name

    for bad in ("../x", "..", "a/b", "/abs", "a\\b"):
        with pytest.raises(SightingsError):
            validate_model_name(bad)
