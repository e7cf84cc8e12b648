"""The ``retail`` batch job: registered lazily, validates its options, runs generated videos (fake detector), drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import make_video, register_counted_detector
from sightings.core.errors import ConfigError
from sightings.core.protocols import BatchItem
from sightings.core.registry import JOBS


def test_retail_job_options_are_checked() -> None:
    assert "retail" in JOBS
    with pytest.raises(ConfigError, match="job retail: colour"):
        JOBS.create("retail", colour="red")
    job = JOBS.create("retail", stride=5)
    assert job.config()["stride"] == 5 and "warehouse" not in job.config()


def test_retail_job_runs_one_video(tmp_path: Path) -> None:
    video = make_video(tmp_path / "s1_cam1_20260301-093000+0300.mp4", seconds=12, fps=5, gop=5)
    script = {i: [(10.0, 10.0, 40.0, 90.0, "Person", 0.9), (50.0, 10.0, 80.0, 90.0, "Person", 0.9)] for i in range(60)}
    job = JOBS.create(
        "retail",
        detector="fake",
        tracker="fake",
        tiles="none",
        interpolate_s=0,
        detector_options={"script": script},
        roles={"min_seller_s": 5},
        interactions={"min_duration_s": 5},
        warehouse={"kind": "fake"},
    )
    out = tmp_path / "out"
    out.mkdir()
    result = job.run(BatchItem(str(video), "store", "v1"), out)
    summary = json.loads((out / "retail.json").read_text())
    assert summary["run_id"] == "s1/cam1/20260301T063000Z"
    assert (summary["tracks"], summary["sellers"], summary["customers"], summary["interactions"]) == (
        2,
        ["cam1/20260301T063000Z/track-1"],
        1,
        1,
    )
    assert not result.empty and result.steps["roles"]


def test_retail_job_raises_drift_against_the_cameras_baseline(tmp_path: Path) -> None:
    """The first item of a camera writes its baseline; a later item of the same camera is compared with it."""
    pytest.importorskip("chdb", reason="needs the retail extra")
    from datetime import date

    from sightings.analytics.chdb_warehouse import ChdbWarehouse
    from sightings.solutions.retail.reports import read_alerts

    calm = {i: [(10.0, 10.0, 40.0, 90.0, "Person", 0.9)] for i in range(60)}
    crowded = {i: [(10.0 + 12 * k, 10.0, 30.0 + 12 * k, 90.0, "Person", 0.35) for k in range(6)] for i in range(60)}
    options = {
        "detector": "fake",
        "tracker": "fake",
        "tiles": "none",
        "interpolate_s": 0,
        "warehouse": {"kind": "chdb", "path": str(tmp_path / "wh")},
        "health": {"min_baseline_frames": 5, "baseline_dir": str(tmp_path / "baselines")},
    }
    runs = []
    for name, script in (("093000", calm), ("103000", crowded)):
        video = make_video(tmp_path / f"s1_cam1_20260301-{name}+0300.mp4", seconds=12, fps=5, gop=5)
        job = JOBS.create("retail", detector_options={"script": script}, **options)
        out = tmp_path / f"out-{name}"
        out.mkdir()
        job.run(BatchItem(str(video), "store", "v1"), out)
        runs.append(json.loads((out / "retail.json").read_text()))
    baseline = json.loads((tmp_path / "baselines" / "s1_cam1.json").read_text())
    assert baseline["source"] == runs[0]["run_id"]  # the first item made it; the second left it alone
    assert runs[0]["alerts"] == []
    assert sorted(runs[1]["alerts"]) == ["drift_confidence:critical", "drift_count:critical"]
    with ChdbWarehouse(tmp_path / "wh") as wh:
        rows = read_alerts(wh, day=date(2026, 3, 1))
    assert sorted((a["kind"], a["run_id"]) for a in rows) == [
        ("drift_confidence", runs[1]["run_id"]),
        ("drift_count", runs[1]["run_id"]),
    ]


def _two_person_script() -> dict[int, list[tuple[float, float, float, float, str, float]]]:
    return {i: [(10.0, 10.0, 40.0, 90.0, "Person", 0.9), (50.0, 10.0, 80.0, 90.0, "Person", 0.9)] for i in range(60)}


def test_retail_job_loads_its_detector_once_for_many_videos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = register_counted_detector(monkeypatch)
    job = JOBS.create(
        "retail",
        detector="counted",
        tracker="fake",
        tiles="none",
        detector_options={"script": _two_person_script()},
        warehouse={"kind": "fake"},
    )
    assert loads == []  # nothing loaded before the first video
    for name in ("093000", "103000"):
        video = make_video(tmp_path / f"s1_cam1_20260301-{name}+0300.mp4", seconds=4, fps=5, gop=5)
        out = tmp_path / f"out-{name}"
        out.mkdir()
        job.run(BatchItem(str(video), "store", "v1"), out)
        assert json.loads((out / "retail.json").read_text())["tracks"] == 2
    assert loads == [{"frames": 60}]


def test_retail_run_loads_its_detector_once_for_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    pytest.importorskip("chdb", reason="needs the retail extra")
    from sightings.analytics.chdb_warehouse import ChdbWarehouse
    from sightings.solutions.retail.config import config_from_mapping
    from sightings.solutions.retail.folder_run import plan_folder, run_plan

    loads = register_counted_detector(monkeypatch)
    for name in ("093000", "103000", "113000"):
        make_video(tmp_path / "videos" / f"s1_cam1_20260301-{name}+0300.mp4", seconds=4, fps=5, gop=5)
    config = config_from_mapping(
        {"detector": "counted", "tracker": "fake", "detector_options": {"script": _two_person_script()}}, where="test"
    )
    with ChdbWarehouse(tmp_path / "warehouse") as wh:
        plan = plan_folder(tmp_path / "videos", store="s1", day=date(2026, 3, 1))
        result = run_plan(plan, config=config, warehouse=wh)
        assert wh.query("SELECT count() AS n FROM runs")[0]["n"] == 3
    assert len(result.videos) == 3 and not result.failed
    assert loads == [{"frames": 60}]


def test_retail_run_checks_tracker_options_before_writing(tmp_path: Path) -> None:
    """Bad tracker options fail the folder run before the receipts or any run row are written."""
    pytest.importorskip("chdb", reason="needs the retail extra")
    pytest.importorskip("trackers")
    from datetime import date

    from sightings.analytics.chdb_warehouse import ChdbWarehouse
    from sightings.solutions.retail.config import config_from_mapping
    from sightings.solutions.retail.folder_run import plan_folder, run_plan

    make_video(tmp_path / "videos" / "s1_cam1_20260301-093000+0300.mp4", seconds=2, fps=5, gop=5)
    receipts = tmp_path / "receipts.csv"
    receipts.write_text("time,amount,register\n2026-03-01T09:30:01+03:00,120.5,1\n", encoding="utf-8")
    plan = plan_folder(tmp_path / "videos", store="s1", day=date(2026, 3, 1), receipts_path=receipts)
    config = config_from_mapping(
        {"detector": "fake", "tracker": "bytetrack", "tracker_options": {"lost_track_buffer_s": -1}}, where="test"
    )
    with ChdbWarehouse(tmp_path / "warehouse") as wh:
        with pytest.raises(ConfigError, match=r"tracker\.lost_track_buffer_s"):
            run_plan(plan, config=config, warehouse=wh)
        assert wh.query("SELECT count() AS n FROM receipts")[0]["n"] == 0
        assert wh.query("SELECT count() AS n FROM runs")[0]["n"] == 0
