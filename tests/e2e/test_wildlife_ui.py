"""The /wildlife page in real headless Chromium (Debian's, driven by Playwright): upload, cards, review, phone width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sightings.api.local_server import LocalServer
from wildlife_factories import API_KEY, animal, encode, enrolled_service

pytestmark = pytest.mark.e2e
pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from sightings.api.app import create_app

    service = enrolled_service(tmp_path_factory.mktemp("wildlife-ui"))
    app = create_app(service.settings)
    app.state.wildlife = service
    with LocalServer(app) as local:
        yield local.url
    service.close()


def test_upload_many_photos_shows_cards_and_review_works(
    server: str, browser: Any, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.mktemp("screenshots")
    files = {
        "known.png": encode(animal(2, noise=8, shift=2)),
        "dark.png": encode(np.full((120, 120, 3), 8, np.uint8)),
        "broken.jpg": b"\xff\xd8\xff\xe0 not really",
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/wildlife")
    page.wait_for_selector("#species option[value=lion]", state="attached")
    page.fill("#apikey", API_KEY)
    page.set_input_files("#files", paths)
    page.click("#submit")
    page.wait_for_function("document.querySelectorAll('#results .card').length === 3", timeout=20000)
    page.wait_for_function("document.querySelector('.evidence img')?.complete === true", timeout=20000)
    cards = page.locator("#results .card")
    assert [cards.nth(i).get_attribute("data-status") for i in range(3)] == ["accepted", "rejected", "failed"]
    known = cards.nth(0)
    assert known.locator(".title").inner_text() == "L2"
    assert int(known.locator(".gauge").get_attribute("aria-valuenow") or -1) >= 50
    assert known.locator(".topk li img").count() >= 1
    assert known.locator(".evidence").is_visible()
    dark = cards.nth(1)
    assert dark.get_attribute("data-reason") == "too_dark" and "too dark" in dark.locator(".message").inner_text()
    assert dark.locator(".review").count() == 0  # a too dark photo cannot be enrolled: no button that must fail
    assert "broken.jpg" in cards.nth(2).locator(".message").inner_text()
    page.screenshot(path=str(shots / "wildlife-desktop.png"), full_page=True)

    known.locator(".confirm").click()
    page.wait_for_function("document.querySelector('#results .card').dataset.reviewed === 'confirm'")
    assert "L2" in known.locator(".review-status").inner_text()

    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    phone.goto(f"{server}/wildlife")
    phone.wait_for_selector("#species option[value=lion]", state="attached")
    phone.set_input_files("#files", paths[0])
    phone.click("#submit")
    phone.wait_for_selector("#results .card.accepted")
    phone.wait_for_function("document.querySelector('.evidence img')?.complete === true", timeout=20000)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"horizontal scrolling at phone width ({width} px)"
    phone.screenshot(path=str(shots / "wildlife-phone.png"), full_page=True)
    assert (shots / "wildlife-phone.png").stat().st_size > 10_000
    print(f"screenshots in {shots}")
