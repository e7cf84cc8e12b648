"""The wildlife service with its sink on a real PostgreSQL (``wildlife.catalog_url``), through the HTTP API.

Predictions, reviews and the audit log land in the server's tables; a refused upload writes nothing there; the
export reads them back; and the API rides through a database restart: with ``server.hold_on_outage_s`` a request
made while the server is down is held until it is back (the pool's pre-ping replaces the dead connections; a read
is held too), and
without it the client gets a 503 that says which database is down (password hidden), with nothing written.
Part of ``make test`` (~10 s: a server start, two enrolled galleries, two restarts); skipped when the PostgreSQL
binaries or ``psycopg`` are absent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postgres_server import start_server
from sightings.testing.postgres import ThrowawayPostgres
from wildlife_factories import API_KEY, animal, encode, enrolled_service

pytest.importorskip("cv2")
sa = pytest.importorskip("sqlalchemy")

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    server = start_server()
    yield server
    server.remove()


@pytest.fixture
def api(tmp_path: Path, postgres_server: ThrowawayPostgres) -> Iterator[tuple[Any, Any, str]]:
    from fastapi.testclient import TestClient

    from sightings.api.app import create_app

    # a password in the URL (trust authentication ignores it) that no error message may show
    url = postgres_server.create_database("wildlife").replace("postgres@", "postgres:s3cret-pw@")
    service = enrolled_service(tmp_path, individuals=3, photos=3, **{"wildlife.catalog_url": url})
    app = create_app(service.settings)
    app.state.wildlife = service
    with TestClient(app) as client:
        yield client, service, url
    service.close()


def _predict(client: Any, data: bytes) -> Any:
    return client.post("/v1/predict-single", files={"file": ("p.png", data)}, data={"species": "lion"})


def _rows(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(sql)))
    finally:
        engine.dispose()


def test_predictions_reviews_and_export_live_in_postgres(api: tuple[Any, Any, str]) -> None:
    client, service, url = api
    assert service.store.where.startswith("postgresql")
    r = _predict(client, encode(animal(1, noise=8, shift=2)))
    assert r.status_code == 200, r.text
    pred = r.json()
    assert pred["status"] == "accepted" and pred["individual_id"] == "L1"
    stored = _rows(url, "SELECT id, status, individual_id FROM wildlife_predictions")
    assert [tuple(row) for row in stored] == [(pred["id"], "accepted", "L1")]

    bad = _predict(client, b"\xff\xd8\xff\xe0 truncated")
    assert bad.status_code in (400, 415, 422), bad.text
    assert len(_rows(url, "SELECT id FROM wildlife_predictions")) == 1  # the refused upload wrote nothing

    review = {"prediction_id": pred["id"], "decision": "confirm", "reviewer": "ana"}
    r = client.post("/v1/review", json=review, headers=KEY)
    assert r.status_code == 200, r.text
    audit = _rows(url, "SELECT prediction_id, decision, reviewer FROM wildlife_reviews")
    assert [tuple(row) for row in audit] == [(pred["id"], "confirm", "ana")]
    export = client.get("/v1/export", params={"format": "dwc"})
    assert export.status_code == 200 and pred["id"] in export.text and "Panthera leo" in export.text


def test_the_api_rides_through_a_database_restart(
    api: tuple[Any, Any, str], postgres_server: ThrowawayPostgres
) -> None:
    client, service, url = api
    first = _predict(client, encode(animal(0, noise=8, shift=2)))
    assert first.status_code == 200

    # without holding: a clear 503 naming the store, and nothing written
    client.app.state.settings = service.settings.model_copy(
        update={"server": service.settings.server.model_copy(update={"hold_on_outage_s": 0.0})}
    )
    postgres_server.stop("fast")
    try:
        down = _predict(client, encode(animal(2, noise=8, shift=2)))
        assert down.status_code == 503, down.text
        body = down.json()
        assert body["type"] == "BackendUnavailableError" and "database unavailable" in body["error"], body
        assert f"127.0.0.1:{postgres_server.port}" in body["error"]  # which store
        assert "s3cret-pw" not in body["error"] and "***" in body["error"]
    finally:
        postgres_server.start()
    assert len(_rows(url, "SELECT id FROM wildlife_predictions")) == 1

    # holding (the default): the server comes back 1.5 s into the request, which then succeeds
    client.app.state.settings = service.settings
    postgres_server.stop("fast")
    restarter = threading.Timer(1.5, postgres_server.start)
    restarter.start()
    t0 = time.monotonic()
    held = _predict(client, encode(animal(2, noise=8, shift=2)))
    restarter.join()
    assert held.status_code == 200, held.text
    assert held.json()["individual_id"] == "L2" and time.monotonic() - t0 >= 1.0
    assert len(_rows(url, "SELECT id FROM wildlife_predictions")) == 2

    # a read is held the same way (HeldReadsRoute): a restart drops the pooled connections under reads too
    postgres_server.stop("fast")
    restarter = threading.Timer(1.5, postgres_server.start)
    restarter.start()
    read = client.get(f"/v1/predictions/{first.json()['id']}")
    restarter.join()
    assert read.status_code == 200 and read.json()["id"] == first.json()["id"], read.text


def test_the_service_opened_while_the_database_is_down_waits_for_it(
    tmp_path: Path, postgres_server: ThrowawayPostgres
) -> None:
    """The app opens its wildlife service on the first request (or on start, with prediction workers): a database
    away at that moment is held like any write, then the request succeeds."""
    from fastapi.testclient import TestClient

    from sightings.api.app import create_app

    url = postgres_server.create_database("wildlife_open")
    service = enrolled_service(tmp_path, individuals=2, photos=3, **{"wildlife.catalog_url": url})
    service.close()
    app = create_app(service.settings)  # no service handed over: the app opens its own
    with TestClient(app) as client:
        postgres_server.stop("fast")
        restarter = threading.Timer(1.5, postgres_server.start)
        restarter.start()
        try:
            r = _predict(client, encode(animal(1, noise=8, shift=2)))
        finally:
            restarter.join()
        assert r.status_code == 200, r.text
        assert r.json()["individual_id"] == "L1"
