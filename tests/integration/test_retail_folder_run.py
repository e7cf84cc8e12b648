"""A folder run into chDB (fake detector, generated videos): gaps inside and between files split episodes and land
in `gaps`; a corrupt file is reported and skipped; health/drift alerts; resume by content hash (and --force); the
schema migration of old warehouses; v_seller_day's ratio = the report's; the dashboard's JSON endpoints.

Videos (5 fps, 320×240): A `shop1_cam1_20260301-093000+0300.mp4` 20 s; B `…-093100+0300.mp4` 10 s, then a 60 s
timestamp jump, then 10 s more (B starts 40 s after A ends: a gap between files); C a truncated copy (corrupt);
D zero-length. Scripted boxes in every frame: a seller at the counter and a customer beside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from factories import make_frame, make_video, truncate_copy
from sightings.solutions.retail.config import RetailConfig, config_from_mapping
from sightings.solutions.retail.folder_run import plan_folder, run_plan
from sightings.solutions.retail.metrics import summarise
from sightings.solutions.retail.reports import read_alerts, read_gaps, read_report

pytest.importorskip("chdb", reason="needs the retail extra")

from sightings.analytics.chdb_warehouse import ChdbWarehouse  # after the skip

DAY = date(2026, 3, 1)


def make_gap_video(path: Path, *, before_s: int, gap_s: int, after_s: int, fps: int = 5) -> Path:
    """An H.264 MP4 whose timestamps jump by ``gap_s`` after ``before_s`` seconds (camera off and on)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"preset": "veryfast", "g": str(fps), "keyint_min": str(fps), "sc_threshold": "0", "bf": "0"}
        for i in range((before_s + after_s) * fps):
            frame = av.VideoFrame.from_ndarray(make_frame(i), format="rgb24")
            frame.pts = i if i < before_s * fps else i + gap_s * fps
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _script() -> dict[int, list[list[Any]]]:
    return {i: [[140, 10, 160, 60, "Person", 0.9], [150, 70, 170, 120, "Person", 0.8]] for i in range(100)}


def _config(tmp: Path, *, checkout: bool = False) -> RetailConfig:
    zones = [{"name": "desk", "kind": "counter", "points": [[0, 0], [320, 0], [320, 70], [0, 70]]}]
    if checkout:  # where the customer stands
        zones.append({"name": "till", "kind": "checkout", "points": [[0, 70], [320, 70], [320, 240], [0, 240]]})
    return config_from_mapping(
        {
            "detector": "fake",
            "tracker": "fake",
            "tiles": "none",
            "interpolate_s": 0,
            "detector_options": {"script": _script()},
            "cameras": {"cam1": {"zones": zones}},
            "roles": {"min_seller_s": 5, "min_customer_s": 2},
            "interactions": {"distance_px": 150, "min_duration_s": 3, "gap_tolerance_s": 120},
            "health": {"camera_off_s": 30, "min_baseline_frames": 5, "baseline_dir": str(tmp / "baselines")},
        },
        where="test",
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    videos = tmp_path_factory.mktemp("retail-folder") / "videos"
    a = make_video(videos / "shop1_cam1_20260301-093000+0300.mp4", seconds=20, fps=5, gop=5)
    make_gap_video(videos / "shop1_cam1_20260301-093100+0300.mp4", before_s=10, gap_s=60, after_s=10)
    truncate_copy(a, videos / "shop1_cam1_20260301-100000+0300.mp4", fraction=0.3)
    (videos / "shop1_cam1_20260301-110000+0300.mp4").write_bytes(b"")
    return videos


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbWarehouse]:
    with ChdbWarehouse(tmp_path_factory.mktemp("retail-wh") / "warehouse") as wh:
        yield wh


@pytest.fixture(scope="module")
def first_run(folder: Path, warehouse: ChdbWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Any:
    config = _config(tmp_path_factory.mktemp("retail-cfg"))
    plan = plan_folder(folder, store="shop1", day=DAY)
    return config, plan, run_plan(plan, config=config, warehouse=warehouse)


def test_gaps_corrupt_files_and_alerts(first_run: Any, warehouse: ChdbWarehouse, folder: Path) -> None:
    config, _, result = first_run
    assert [s.reason for s in result.skipped] == ["zero-length file"]
    (failed_path, error), = result.failed  # fmt: skip
    assert failed_path.endswith("100000+0300.mp4") and error.startswith(failed_path)
    assert [v["run_id"] for v in result.videos] == ["shop1/cam1/20260301T063000Z", "shop1/cam1/20260301T063100Z"]
    assert [v["gaps"] for v in result.videos] == [0, 2]  # B: its 40 s after A and its 60 s jump inside
    gaps = read_gaps(warehouse, day=DAY, store="shop1")
    assert [(g["kind"], round(g["duration_s"])) for g in gaps] == [("between_files", 40), ("in_file", 61)]
    assert all(g["run_id"] == "shop1/cam1/20260301T063100Z" for g in gaps)
    # B: the customer is beside the seller before and after the jump: two episodes, though the tolerance is 120 s
    b_run = "shop1/cam1/20260301T063100Z"
    episodes = warehouse.query(
        f"SELECT started_at, duration_s FROM interactions WHERE run_id = '{b_run}' ORDER BY started_at"
    )
    assert [(e["started_at"].strftime("%H:%M:%S"), e["duration_s"]) for e in episodes] == [
        ("06:31:00", 10.0), ("06:32:10", 10.0)]  # fmt: skip
    kinds = {(a["kind"], a["run_id"][-7:]) for a in read_alerts(warehouse, day=DAY)}
    assert kinds == {("camera_off", "063100Z")}  # both gaps ≥ 30 s; no drift: the same scene as the baseline
    assert (Path(config.health.baseline_dir) / "shop1_cam1.json").exists()
    report = read_report(warehouse, day=DAY, store="shop1")
    assert report["gaps"] == {"count": 2, "seconds": pytest.approx(101.0, abs=1)}
    assert report["alerts"] == 2 and report["runs"] == 2


def test_resume_skips_finished_videos_unless_forced(first_run: Any, warehouse: ChdbWarehouse) -> None:
    config, plan, _ = first_run
    again = run_plan(plan, config=config, warehouse=warehouse)
    assert len(again.resumed) == 2 and again.videos == () and len(again.failed) == 1
    hashes = warehouse.query("SELECT content_hash FROM runs ORDER BY run_id")
    assert all(len(h["content_hash"]) == 64 for h in hashes)
    changed = config.model_copy(update={"interpolate_s": 0.5})  # another analysis config: not "finished"
    assert len(run_plan(plan, config=changed, warehouse=warehouse).videos) == 2
    forced = run_plan(plan, config=config, warehouse=warehouse, force=True)
    assert len(forced.videos) == 2 and not forced.resumed
    assert warehouse.query("SELECT count() AS n FROM interactions")[0]["n"] == 3  # replaced, never doubled


def test_old_warehouse_gets_the_new_column(tmp_path: Path, warehouse: ChdbWarehouse) -> None:
    from sightings.analytics.warehouse_schema import RUNS, WAREHOUSE_SCHEMA, TableSpec, create_statements

    old_runs = TableSpec("runs_old", tuple(c for c in RUNS.columns if not c.added_later), order_by=RUNS.order_by)
    warehouse._execute(old_runs.ddl("sightings"))
    assert "content_hash" not in {
        r["name"] for r in warehouse.query("SELECT name FROM system.columns WHERE table = 'runs_old'")
    }
    migrated = TableSpec("runs_old", RUNS.columns, order_by=RUNS.order_by)
    for statement in migrated.migrations("sightings") * 2:  # idempotent
        warehouse._execute(statement)
    assert "content_hash" in {
        r["name"] for r in warehouse.query("SELECT name FROM system.columns WHERE table = 'runs_old'")
    }
    statements = create_statements(WAREHOUSE_SCHEMA, "sightings")
    assert "ALTER TABLE sightings.runs ADD COLUMN IF NOT EXISTS content_hash String" in statements
    warehouse._execute("DROP TABLE sightings.runs_old")


def test_view_interaction_ratio_equals_the_report(warehouse: ChdbWarehouse) -> None:
    hour = datetime(2031, 5, 6, 10, tzinfo=UTC)
    base = {"run_id": "ratio", "store": "s9", "camera": "c", "hour": hour}
    rows = [
        {**base, "seller_id": "", "name": "customers", "value": 10.0},
        {**base, "seller_id": "", "name": "served_customers", "value": 4.0},
        {**base, "seller_id": "anna", "name": "served_customers", "value": 3.0},
        {**base, "seller_id": "boris", "name": "served_customers", "value": 1.0},
    ]
    warehouse.replace("metrics", rows, key={"run_id": "ratio"})
    view = {
        r["seller_id"]: r["interaction_ratio"] for r in warehouse.query("SELECT * FROM v_seller_day WHERE store = 's9'")
    }
    report = summarise(rows)
    assert (
        view
        == {k: pytest.approx(v["interaction_ratio"]) for k, v in report.items()}
        == {"": 0.4, "anna": 0.3, "boris": 0.1}
    )
    warehouse.replace("metrics", [], key={"run_id": "ratio"})


def test_dashboard_json_endpoints(first_run: Any, warehouse: ChdbWarehouse) -> None:
    from fastapi.testclient import TestClient

    from sightings.api.app import create_app

    app = create_app()
    app.state.retail_warehouse = warehouse
    client = TestClient(app)
    assert client.get("/v1/retail/days").json()["days"][0] == {"day": "2026-03-01", "runs": 2, "cameras": 1,
                                                              "video_s": pytest.approx(100, abs=1)}  # fmt: skip
    assert client.get("/v1/retail/filters").json() == {"stores": ["shop1"], "cameras": ["cam1"]}
    sellers = client.get("/v1/retail/sellers", params={"day": "2026-03-01", "store": "shop1"}).json()
    # no schedule: each video's seller is its own (one camera's two recordings are not known to be one person)
    a_seller, b_seller = "cam1/20260301T063000Z/track-1", "cam1/20260301T063100Z/track-1"
    assert [s["seller_id"] for s in sellers["sellers"]] == [a_seller, b_seller]
    assert [s["interactions"] for s in sellers["sellers"]] == [1, 2]
    assert sellers["store_totals"]["interactions"] == 3 and sellers["gaps"] == 2 and sellers["alerts"] == 2
    assert sellers["store_totals"]["interaction_ratio"] == 1.0  # both customers served
    assert [s["interaction_ratio"] for s in sellers["sellers"]] == [0.5, 0.5]  # each served one of the day's two
    hours = client.get("/v1/retail/hours", params={"day": "2026-03-01"}).json()["hours"]
    assert len(hours) == 24 and hours[6]["interactions"] == 3 and hours[7]["interactions"] == 0
    per_seller = client.get("/v1/retail/hours", params={"day": "2026-03-01", "seller": b_seller}).json()
    assert per_seller["hours"][6]["served_customers"] == 1
    items = client.get("/v1/retail/interactions", params={"day": "2026-03-01", "limit": 2}).json()["items"]
    assert len(items) == 2 and items[0]["started_at"] == "2026-03-01T06:30:00+00:00"
    alerts = client.get("/v1/retail/alerts", params={"day": "2026-03-01"}).json()["items"]
    assert [a["kind"] for a in alerts] == ["camera_off", "camera_off"]
    assert client.get("/v1/retail/gaps", params={"day": "2026-03-01"}).json()["items"][0]["kind"] == "between_files"
    assert client.get("/v1/retail/sellers", params={"day": "yesterday"}).status_code == 422
    page = client.get("/retail")
    assert page.status_code == 200 and "/retail/static/retail.js" in page.text
    assert client.get("/retail/static/retail.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/retail/static/nope.js").status_code == 404
    assert np.isfinite(sellers["gap_seconds"])


def test_receipts_given_later_join_again_and_each_receipt_counts_once(tmp_path: Path, warehouse: ChdbWarehouse) -> None:
    """Run during the day, receipts at closing: the videos are joined again. The same receipts in a second file
    (a re-export) neither double the revenue nor make the videos be analysed again. Store shop2 is this test's."""
    videos = tmp_path / "videos"
    make_video(videos / "shop2_cam1_20260301-093000+0300.mp4", seconds=20, fps=5, gop=5)
    config = _config(tmp_path, checkout=True)
    rows = (
        "time,amount,register,receipt_id\n"
        "2026-03-01T09:30:10+03:00,100,till-1,A1\n2026-03-01T09:30:15+03:00,200,till-1,A2\n"
    )
    (tmp_path / "r1.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "r1-copy.csv").write_text(rows, encoding="utf-8")

    def run(receipts: str | None) -> Any:
        plan = plan_folder(
            videos, store="shop2", day=DAY, receipts_path=None if receipts is None else tmp_path / receipts
        )
        return run_plan(plan, config=config, warehouse=warehouse)

    def revenue() -> Any:
        return read_report(warehouse, day=DAY, store="shop2")["store_totals"].get("revenue")

    first = run(None)
    assert len(first.videos) == 1 and not revenue()
    closing = run("r1.csv")
    assert len(closing.videos) == 1 and not closing.resumed  # joined again, with the receipts
    assert revenue() == pytest.approx(300.0)
    copy = run("r1-copy.csv")
    assert copy.videos == () and len(copy.resumed) == 1 and revenue() == pytest.approx(300.0)
    later = run(None)  # no --receipts: the warehouse still has them, and nothing changed
    assert later.videos == () and len(later.resumed) == 1 and revenue() == pytest.approx(300.0)

    # two stores, each with a camera named cam1: counted apart, and the filters list one store's cameras
    from sightings.solutions.retail.reports import list_days, read_filters

    assert read_filters(warehouse)["stores"] == ["shop1", "shop2"]
    assert read_filters(warehouse, store="shop2")["cameras"] == ["cam1"]
    assert read_filters(warehouse, store="nope")["cameras"] == []
    day = next(d for d in list_days(warehouse) if d["day"] == "2026-03-01")
    assert day["cameras"] == 2
