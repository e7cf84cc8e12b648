from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sightings.api.app import create_app
from sightings.core.config import load_settings
from sightings.core.errors import TooLargeError

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = load_settings(overrides={"data_dir": str(tmp_path)}).settings
    return TestClient(create_app(settings))


def test_health(client: TestClient, tmp_path: Path) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["models_dir"] == str(tmp_path / "models")
    assert body["models_installed"] == []


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/health" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_home_page_lists_endpoints(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/health" in r.text and "<h1>sightings</h1>" in r.text
    listed = set(re.findall(r"<tr><td><code>([^<]+)</code>", r.text))
    assert {"/health", "/v1/predict-single", "/v1/pets/posts", "/v1/retail/days"} <= listed  # every router's
    assert 'href="/wildlife"' in r.text and 'href="/retail"' in r.text


def test_project_errors_map_to_status_codes(tmp_path: Path) -> None:
    app: FastAPI = create_app(load_settings(overrides={"data_dir": str(tmp_path)}).settings)

    @app.get("/boom")
    def boom() -> None:
        raise TooLargeError("upload over 25 MB", where="file")

    r = TestClient(app).get("/boom")
    assert r.status_code == 413
    assert r.json() == {"error": "file: upload over 25 MB", "type": "TooLargeError"}
