"""The /retail dashboard in real headless Chromium (Debian's, driven by Playwright) over a chDB warehouse filled
from a synthetic analysis: KPIs, per-seller table, the inline-SVG hour chart, alerts, filters; a 1280×800 shot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sightings.api.local_server import LocalServer

pytestmark = pytest.mark.e2e
pytest.importorskip("chdb", reason="needs the retail extra")

START = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=3)))


def _fill(warehouse: Any) -> None:
    from sightings.solutions.retail.config import config_from_mapping
    from sightings.solutions.retail.health import Alert
    from sightings.solutions.retail.inputs import VideoFile
    from sightings.solutions.retail.pipeline import analyse_points, write_analysis
    from sightings.solutions.retail.purchases import Receipt
    from sightings.solutions.retail.schedule import parse_schedule
    from sightings.solutions.retail.trajectories import TrackPoint

    def pt(t: int, x: float, y: float) -> TrackPoint:
        return TrackPoint(float(t), x - 20, y - 80, x + 20, y, frame=t * 25)

    pts = [(1, pt(t, 300, 50)) for t in range(0, 5400, 10)]  # 90 min at 0.1 fps
    for k, start in enumerate(range(100, 5000, 400)):
        cid = 10 + k
        pts += [(cid, pt(t, 330, 140)) for t in range(start, start + 120, 10)]
        pts += [(cid, pt(t, 100, 150)) for t in range(start + 120, start + 180, 10)]
    cfg = config_from_mapping(
        {"cameras": {"cam1": {"zones": [
            {"name": "desk", "kind": "counter", "points": [[0, 0], [640, 0], [640, 100], [0, 100]]},
            {"name": "till", "kind": "checkout", "points": [[0, 100], [200, 100], [200, 200], [0, 200]]}]}},
         "roles": {"min_seller_s": 60}},
        where="ui",
    )  # fmt: skip
    receipts = [
        Receipt(START + timedelta(seconds=s + 170), 100.0 + s / 10, "till-1", f"r{s}") for s in range(100, 5000, 800)
    ]
    shifts = parse_schedule(
        "seller_id,start,end\nanna,2026-03-01T09:00:00+03:00,2026-03-01T18:00:00+03:00\n", where="s"
    )
    video = VideoFile(Path("shop1_cam1_20260301-093000+0300.mp4"), "shop1", "cam1", START)
    analysis = analyse_points(
        pts, video=video, duration_s=5400, step_s=10.0, config=cfg, receipts=receipts, shifts=shifts
    )
    alerts = [Alert(START + timedelta(minutes=50), "frozen", "critical", 120.0, "frozen picture for 2.0 min")]
    write_analysis(warehouse, analysis, config=cfg, alerts=alerts)
    # another store, a day earlier: choosing shop1 must not offer its camera or its day
    other = VideoFile(Path("shop2_cam7_20260228-093000+0300.mp4"), "shop2", "cam7", START - timedelta(days=1))
    few = [(1, pt(t, 300, 50)) for t in range(0, 600, 10)]
    write_analysis(warehouse, analyse_points(few, video=other, duration_s=600, step_s=10.0, config=cfg), config=cfg)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from sightings.analytics.chdb_warehouse import ChdbWarehouse
    from sightings.api.app import create_app

    warehouse = ChdbWarehouse(tmp_path_factory.mktemp("retail-ui") / "warehouse")
    _fill(warehouse)
    app = create_app()
    app.state.retail_warehouse = warehouse
    with LocalServer(app) as local:
        yield local.url
    warehouse.close()


def test_dashboard_shows_sellers_chart_and_alerts(
    server: str, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.mktemp("screenshots")
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/retail")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=20000)
    assert page.locator("#day").input_value() == "2026-03-01"
    assert page.locator("#sellers tbody tr[data-seller=anna]").count() == 1
    assert page.locator(".kpi[data-kpi=interactions] .v").inner_text() == "13"
    assert page.locator(".kpi[data-kpi='interaction ratio'] .v").inner_text() == "100 %"
    bars = page.locator("#chart svg rect.bar.interactions")
    assert bars.count() == 24
    assert float(bars.nth(6).get_attribute("data-value") or 0) > 0
    assert page.locator("#alerts li.critical[data-kind=frozen]").count() == 1
    assert page.locator("#interactions tbody tr").count() == 13
    page.screenshot(path=str(shots / "retail-dashboard.png"), full_page=False)
    assert (shots / "retail-dashboard.png").stat().st_size > 10_000

    page.select_option("#seller", "anna")  # the chart for one seller
    page.wait_for_function("document.querySelector('#chart svg rect.bar.customers').dataset.value === '0'")
    page.select_option("#camera", "cam1")
    page.wait_for_function("document.body.dataset.ready === '1'")
    assert "videos 1" in page.locator("#status").inner_text()
    assert not errors, errors
    print(f"screenshot in {shots}")


def test_choosing_a_store_narrows_the_camera_and_day_lists(server: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/retail")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=20000)
    options = "(sel) => [...document.querySelectorAll(sel + ' option')].map((o) => o.value)"
    assert page.evaluate(options, "#camera") == ["", "cam1", "cam7"]
    assert page.evaluate(options, "#day") == ["2026-03-01", "2026-02-28"]
    page.select_option("#store", "shop1")
    page.wait_for_function("document.querySelectorAll('#camera option').length === 2", timeout=10000)
    assert page.evaluate(options, "#camera") == ["", "cam1"] and page.evaluate(options, "#day") == ["2026-03-01"]
    page.select_option("#store", "shop2")
    page.wait_for_function("document.querySelector('#day').value === '2026-02-28'", timeout=10000)
    assert page.evaluate(options, "#camera") == ["", "cam7"]
