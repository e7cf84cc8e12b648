"""Wildlife predictions computed in worker processes (``server.compute_processes``): the same answers as in the
server process, other processes' enrolments seen, errors and storing as before (real spawned processes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sightings.core.errors import InputError, NotFoundError
from wildlife_factories import animal, encode, enrolled_service


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sightings.solutions.wildlife.service import WildlifeService

    local = enrolled_service(tmp_path_factory.mktemp("workers"))
    pooled = WildlifeService(local.settings, compute_processes=1)
    pooled.warm()
    yield local, pooled
    pooled.close()
    local.close()


def _answer(record: Any) -> tuple[Any, ...]:
    return record.status, record.reason, record.best_candidate, record.confidence, record.matches, record.gate


def test_the_same_answer_as_in_the_server_process(services: Any) -> None:
    local, pooled = services
    for photo in (animal(1, noise=6, shift=3), animal(77, noise=3)):  # a known individual, a stranger
        data = encode(photo, "JPEG", quality=92)
        assert _answer(pooled.predict(data, species="lion", store=False)) == _answer(
            local.predict(data, species="lion", store=False)
        )


def test_a_worker_sees_an_individual_enrolled_after_it_started(services: Any) -> None:
    _, pooled = services
    newcomer = animal(40)
    for photo in range(3):
        pooled.enrol(encode(animal(40, noise=3 + 3 * photo, shift=2 * photo)), species="lion", individual="L40")
    pooled.calibrate("lion")
    record = pooled.predict(encode(newcomer, "JPEG", quality=95), species="lion")
    assert record.best_candidate == "L40"
    stored = pooled.store.get_prediction(record.id)
    assert stored.best_candidate == "L40" and pooled.query_image_path(record.id).is_file()


def test_errors_come_back_and_nothing_is_stored(services: Any) -> None:
    _, pooled = services
    before = len(pooled.store.list_predictions())
    queries = sorted((pooled.root / "queries").iterdir())
    with pytest.raises(InputError, match=r"cut\.jpg: corrupt jpeg image"):
        pooled.predict(encode(animal(3), "JPEG")[:300], species="lion", filename="cut.jpg")
    with pytest.raises(NotFoundError, match="no such species"):
        pooled.predict(encode(animal(3)), species="walrus")
    assert sorted((pooled.root / "queries").iterdir()) == queries
    assert len(pooled.store.list_predictions()) == before


def test_the_api_serves_predictions_from_workers(tmp_path: Path) -> None:
    from sightings.api.app import create_app

    service = enrolled_service(tmp_path, **{"server.compute_processes": 1})
    service.close()
    app = create_app(service.settings)
    with TestClient(app) as client:  # the server start opens the service and starts its worker
        r = client.post(
            "/v1/predict-single",
            files={"file": ("a.jpg", encode(animal(2, noise=5), "JPEG", quality=92), "image/jpeg")},
            data={"species": "lion"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["matches"][0]["individual_id"] == "L2"
        wildlife = app.state.wildlife
        assert wildlife._workers is not None and wildlife._workers.size == 1
        workers = wildlife._workers
        before = wildlife.store.count_predictions()
        files = [
            ("files", ("a.jpg", encode(animal(0, noise=5), "JPEG", quality=92))),
            ("files", ("bad.jpg", b"not an image")),
            ("files", ("c.png", encode(animal(1, noise=8)))),
        ]
        r = client.post("/v1/predict-batch", files=files, data={"species": "lion"})
        lines = [json.loads(line) for line in r.text.splitlines() if line.strip()]
        assert [x["ok"] for x in lines] == [True, False, True]  # the bad image fails alone, in its worker
        assert lines[1]["status_code"] == 422 and "bad.jpg" in lines[1]["error"]
        assert [lines[0]["prediction"]["individual_id"], lines[2]["prediction"]["individual_id"]] == ["L0", "L1"]
        assert wildlife.store.count_predictions() == before + 2
    assert app.state.wildlife is None and workers._executor is None  # the server stop closed it


def test_a_local_qdrant_gallery_keeps_predictions_in_the_server_process(tmp_path: Path) -> None:
    """Qdrant's local mode locks its folder to one process: workers could not open the galleries."""
    from sightings.solutions.wildlife.service import WildlifeService
    from wildlife_factories import wildlife_settings

    local = WildlifeService(
        wildlife_settings(tmp_path / "q", **{"wildlife.vector_store": "qdrant"}), compute_processes=2
    )
    assert local._workers is None
    local.close()
    lance = WildlifeService(
        wildlife_settings(tmp_path / "l", **{"wildlife.vector_store": "lancedb"}), compute_processes=2
    )
    assert lance._workers is not None and lance._workers.size == 2  # (not started: no call was made)
    lance.close()
