"""The owner's page of a lost pet (/pets/lost/{id}): HTML, language, assets — and in real headless Chromium
(Debian's, driven by Playwright): sort, filter, click a marker, read its pop-up, at desktop and phone sizes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pets_factories import encode, pets_service, pets_settings, photo_of
from sightings.api.local_server import LocalServer

pytestmark = pytest.mark.e2e
pytest.importorskip("cv2")
pytest.importorskip("sqlalchemy")
pytest.importorskip("xstatic.pkg.leaflet", reason="needs xstatic-leaflet (pets extra)")

LOST_AT = datetime(2025, 1, 5, tzinfo=UTC)
# individual, photo variant, camera offset from home (degrees), district, days after the loss
SIGHTINGS = [
    (1, 1, (0.002, 0.003), "Хамовники", 1),
    (1, 2, (-0.010, 0.010), "Арбат", 2),
    (2, 0, (0.030, -0.020), "Пресненский", 3),
    (3, 1, (0.050, 0.050), "Арбат", 5),
    (1, 3, (0.001, -0.004), "Хамовники", 8),
]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    from sightings.solutions.pets.posts import PostDraft, SightingDraft

    service = pets_service(tmp_path_factory.mktemp("pets-page"))
    lost = service.add_post(
        PostDraft(
            source="manual",
            kind="lost",
            text="Пропал кот Рыжик",
            photos=(encode(photo_of(1, 0)),),
            photo_names=("ryzhik.png",),
            lat=55.75,
            lon=37.60,
            district="Хамовники",
            posted_at=LOST_AT,
        )
    )
    for individual, variant, (dlat, dlon), district, days in SIGHTINGS:
        service.add_sighting(
            SightingDraft(
                f"cam-{individual}{variant}",
                encode(photo_of(individual, variant, width=160, height=120)),
                LOST_AT + timedelta(days=days),
                55.75 + dlat,
                37.60 + dlon,
                species="cat",
                district=district,
            )
        )
    yield service, lost.post.id
    service.close()


@pytest.fixture(scope="module")
def client(seeded: tuple[Any, str]) -> Iterator[TestClient]:
    from sightings.api.app import create_app

    service, _ = seeded
    app = create_app(service.settings)
    app.state.pets = service
    with TestClient(app) as c:
        yield c


# ---------------------------------------------------------------------- HTML, language, assets (no browser)
def test_the_page_speaks_russian_by_default_and_english_on_request(client: TestClient, seeded: Any) -> None:
    _, lost_id = seeded
    ru = client.get(f"/pets/lost/{lost_id}")
    assert ru.status_code == 200 and '<html lang="ru">' in ru.text
    assert "Совпадения для потерянного питомца" in ru.text and "Радиус от дома, км" in ru.text
    assert "Подложка карты отключена" in ru.text  # no tiles configured: the page says so
    en = client.get(f"/pets/lost/{lost_id}", params={"lang": "en"})
    assert '<html lang="en">' in en.text and "Matches for a lost pet" in en.text
    browser_en = client.get(f"/pets/lost/{lost_id}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Radius from home, km" in browser_en.text
    assert "cdn" not in ru.text.lower() and "https://" not in ru.text  # every asset from the app


def test_an_unknown_post_gets_a_translated_404_page(client: TestClient, seeded: Any) -> None:
    missing = client.get("/pets/lost/no-such-post")
    assert missing.status_code == 404 and "Потерянный питомец не найден" in missing.text
    assert client.get("/pets/lost/no-such-post?lang=en").text.count("Lost pet not found") == 2


def test_leaflet_and_page_assets_are_served_by_the_app(client: TestClient) -> None:
    js = client.get("/static/vendor/leaflet/leaflet.js")
    assert (
        js.status_code == 200
        and "Leaflet" in js.text[:2000]
        and js.headers["content-type"].startswith("text/javascript")
    )
    assert client.get("/static/vendor/leaflet/leaflet.css").status_code == 200
    assert client.get("/static/vendor/leaflet/images/layers.png").headers["content-type"] == "image/png"
    assert client.get("/static/vendor/leaflet/../__init__.py").status_code == 404
    assert client.get("/static/vendor/leaflet/%2e%2e/__init__.py").status_code == 404
    assert client.get("/pets/static/pets_matches.js").status_code == 200
    assert client.get("/pets/static/pets_matches.css").status_code == 200
    assert client.get("/pets/static/other.js").status_code == 404


def test_tiles_come_from_the_configured_url(seeded: Any, tmp_path: Path) -> None:
    from sightings.api.app import create_app

    service, lost_id = seeded
    settings = pets_settings(tmp_path, **{"pets.map_tiles_url": "/tiles/{z}/{x}/{y}.png", "pets.map_attribution": "me"})
    app = create_app(settings)
    app.state.pets = service
    with TestClient(app) as c:
        page = c.get(f"/pets/lost/{lost_id}").text
    assert '"tilesUrl": "/tiles/{z}/{x}/{y}.png"' in page and "Подложка карты отключена" not in page


# ---------------------------------------------------------------------- in Chromium
@pytest.fixture(scope="module")
def server(seeded: tuple[Any, str]) -> Iterator[str]:
    from sightings.api.app import create_app

    service, _ = seeded
    app = create_app(service.settings)
    app.state.pets = service
    with LocalServer(app) as local:
        yield local.url


def _rows(page: Any, column: str) -> list[str]:
    return [
        str(v)
        for v in page.eval_on_selector_all(
            f"#matches tbody td.{column}", "els => els.map(e => e.dataset.value ?? e.textContent)"
        )
    ]


def _wait_loaded(page: Any, previous: str | None = None, rows: int | None = None) -> str:
    """Wait for a new answer to be shown (and, when given, for ``rows`` table rows)."""
    page.wait_for_function(
        "([prev, rows]) => document.body.dataset.loaded && document.body.dataset.loaded !== prev"
        " && (rows === null || document.querySelectorAll('#matches tbody tr').length === rows)",
        arg=[previous, rows],
        timeout=15000,
    )
    return str(page.evaluate("document.body.dataset.loaded"))


def test_sort_filter_and_marker_pop_up_on_desktop(
    server: str, browser: Any, seeded: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, lost_id = seeded
    shots = tmp_path_factory.mktemp("screenshots")
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="ru-RU")  # Accept-Language: ru
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/pets/lost/{lost_id}")
    loaded = _wait_loaded(page)
    assert page.locator("#matches tbody tr").count() == len(SIGHTINGS)
    confidences = [float(v) for v in _rows(page, "conf")]
    assert confidences == sorted(confidences, reverse=True) and confidences[0] > 0.9 > confidences[-1]
    assert page.locator("#no-tiles").is_visible()
    assert page.locator(".match-marker").count() == len(SIGHTINGS)
    assert page.locator(".match-marker.strength-strong").count() >= 2
    assert page.locator(".legend .sw.strong").count() == 1

    # sort by the "Seen" column: newest first, then oldest first
    page.click("#matches th[data-key=seen_at] button")
    seen = _rows(page, "seen")
    assert seen == sorted(seen, reverse=True)
    assert page.get_attribute("#matches th[data-key=seen_at]", "aria-sort") == "descending"
    page.click("#matches th[data-key=seen_at] button")
    assert _rows(page, "seen") == sorted(seen)
    page.click("#matches th[data-key=distance_from_home_km] button")
    distances = [float(v) for v in _rows(page, "distance")]
    assert distances == sorted(distances)

    # filter: district, then radius from home, then since
    page.select_option("#district", "Арбат")
    loaded = _wait_loaded(page, loaded, rows=2)
    assert {t.strip() for t in page.locator("#matches tbody td.district").all_inner_texts()} == {"Арбат"}
    assert page.locator("#matches tbody tr").count() == 2
    page.select_option("#district", "")
    loaded = _wait_loaded(page, loaded, rows=len(SIGHTINGS))
    page.fill("#max_km", "1")
    page.click("#apply")
    loaded = _wait_loaded(page, loaded, rows=2)  # the two Хамовники cameras within 1 km of home
    assert all(float(v) <= 1.0 for v in _rows(page, "distance"))
    page.fill("#max_km", "")
    page.fill("#since", "2025-01-09")
    page.click("#apply")
    loaded = _wait_loaded(page, loaded, rows=2)  # seen on the 10th and the 13th
    page.click("#reset")
    loaded = _wait_loaded(page, loaded, rows=len(SIGHTINGS))

    # click the strongest marker: its pop-up shows the photo, the confidence and the place
    page.locator(".match-marker.strength-strong").first.click(force=True)
    popup = page.locator(".leaflet-popup .popup")
    popup.wait_for(state="visible", timeout=5000)
    assert popup.locator("img").count() == 1
    page.wait_for_function("document.querySelector('.leaflet-popup img').complete")
    assert popup.locator("img").evaluate("img => img.naturalWidth") > 0
    text = popup.inner_text()
    assert "%" in text and "Уличная камера" in text and "сильная" in text
    assert page.locator("#matches tbody tr.selected").count() == 1
    page.screenshot(path=str(shots / "pets-page-1280x800.png"), full_page=False)
    assert (shots / "pets-page-1280x800.png").stat().st_size > 10_000
    assert not errors, errors
    print(f"screenshots in {shots}")


def test_phone_layout_has_no_horizontal_scroll_and_big_touch_targets(
    server: str, browser: Any, seeded: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, lost_id = seeded
    shots = tmp_path_factory.mktemp("screenshots")
    phone = browser.new_page(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    phone.goto(f"{server}/pets/lost/{lost_id}?lang=en")
    _wait_loaded(phone)
    assert phone.locator("#matches tbody tr").count() == len(SIGHTINGS)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"horizontal scrolling at phone width ({width} px)"
    for lang in ("ru", "en"):  # the language link is whole, not clipped at the edge, on both pages
        phone.goto(f"{server}/pets/lost/{lost_id}?lang={lang}")
        _wait_loaded(phone)
        link = phone.evaluate(
            "(() => { const a = document.querySelector('a.lang'); "
            "return [a.scrollWidth, a.clientWidth, document.documentElement.scrollWidth]; })()"
        )
        assert link[0] <= link[1] and link[2] <= 390, (lang, link)
    for selector in ("#apply", "#reset", "#district", "#max_km", "#since", "#sort", "button.show"):
        box = phone.locator(selector).first.bounding_box()
        assert box is not None and box["height"] >= 44, (selector, box)
    phone.locator("button.show").first.tap()
    popup = phone.locator(".leaflet-popup .popup")
    popup.wait_for(state="visible", timeout=5000)
    assert "Street camera" in popup.inner_text()
    phone.screenshot(path=str(shots / "pets-page-390x844.png"), full_page=True)
    assert (shots / "pets-page-390x844.png").stat().st_size > 10_000
    print(f"screenshots in {shots}")
