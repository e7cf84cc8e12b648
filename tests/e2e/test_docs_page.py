"""/docs in real headless Chromium: Swagger UI from the installed package renders every endpoint with nothing
fetched from outside the server (FastAPI's default page loads from a CDN and is blank offline)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sightings.api.local_server import LocalServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from sightings.api.app import create_app
    from sightings.core.config import load_settings

    settings = load_settings(overrides={"data_dir": str(tmp_path_factory.mktemp("docs"))}).settings
    with LocalServer(create_app(settings)) as local:
        yield local.url


def test_the_api_reference_renders_offline(server: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)  # operations drawn from /openapi.json
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert any("/v1/pets/posts" in p for p in paths) and any("/v1/predict-single" in p for p in paths)
    assert not errors
    here = urlsplit(server).netloc
    assert {urlsplit(u).netloc for u in requested if u.startswith("http")} == {here}, requested


def test_redoc_and_the_favicon(server: str) -> None:
    import httpx

    with httpx.Client(base_url=server) as client:
        assert client.get("/redoc").headers["location"] == "/docs"
        assert client.get("/favicon.ico").headers["content-type"] == "image/png"
        assert client.get("/static/vendor/swagger-ui/../../../pyproject.toml").status_code == 404
        assert client.get("/static/vendor/swagger-ui/swagger-editor.js").status_code == 404  # only the listed files
