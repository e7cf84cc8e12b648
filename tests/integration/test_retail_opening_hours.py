"""Opening hours without video (`health.opening_hours`) in a folder run into chDB (fake detector, generated videos).

cam1 records 09:30:00-09:30:20 and 09:31:00-09:31:20 (+03:00), then a truncated file at 10:00 that cannot be
analysed; cam2, in the config, records nothing. Open 09:00-21:00: both get `not_recorded` gaps and camera_off
alerts under their day-level run ids; a second run replaces them; once cam2's file is there, its whole-day gap is
gone. Its own module: chDB opens one folder per process.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from factories import make_video, truncate_copy
from sightings.solutions.retail.config import RetailConfig, config_from_mapping
from sightings.solutions.retail.folder_run import plan_folder, run_plan
from sightings.solutions.retail.reports import read_alerts, read_gaps

pytest.importorskip("chdb", reason="needs the retail extra")

from sightings.analytics.chdb_warehouse import ChdbWarehouse  # after the skip

DAY = date(2026, 3, 1)
ZONES = [{"name": "desk", "kind": "counter", "points": [[0, 0], [320, 0], [320, 70], [0, 70]]}]


def _config(tmp: Path, *, hours: str | None = "09:00-21:00") -> RetailConfig:
    return config_from_mapping(
        {
            "detector": "fake",
            "tracker": "fake",
            "tiles": "none",
            "detector_options": {"script": {i: [[140, 10, 160, 60, "Person", 0.9]] for i in range(100)}},
            "cameras": {"cam1": {"zones": ZONES}, "cam2": {"zones": ZONES}},
            "roles": {"min_seller_s": 5},
            "archive": {"time_zone": "+03:00"},
            "health": {"camera_off_s": 30, "opening_hours": hours, "baseline_dir": str(tmp / "baselines")},
        },
        where="test",
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    videos = tmp_path / "videos"
    a = make_video(videos / "shop1_cam1_20260301-093000+0300.mp4", seconds=20, fps=5, gop=5)
    shutil.copy(a, videos / "shop1_cam1_20260301-093100+0300.mp4")
    truncate_copy(a, videos / "shop1_cam1_20260301-100000+0300.mp4", fraction=0.3)
    return videos


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[ChdbWarehouse]:
    with ChdbWarehouse(tmp_path / "warehouse") as wh:
        yield wh


def _coverage(wh: ChdbWarehouse) -> list[tuple[str, str, int]]:
    rows = read_gaps(wh, day=DAY, store="shop1")
    return sorted((g["camera"], g["started_at"][11:19], round(g["duration_s"])) for g in rows
                  if g["kind"] == "not_recorded")  # fmt: skip


def test_opening_hours_without_video_raise_camera_off(folder: Path, warehouse: ChdbWarehouse, tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = run_plan(plan_folder(folder, store="shop1", day=DAY), config=config, warehouse=warehouse)
    assert len(result.videos) == 2 and len(result.failed) == 1
    # 06:00 UTC = 09:00 +03:00; cam1 after its last analysed file (the truncated one at 10:00 covers nothing)
    expected = [("cam1", "06:00:00", 1800), ("cam1", "06:31:20", 41320), ("cam2", "06:00:00", 43200)]
    assert _coverage(warehouse) == expected
    assert sum(g.kind == "not_recorded" for g in result.gaps) == 3
    alerts = [a for a in read_alerts(warehouse, day=DAY, store="shop1") if "opening hours" in a["message"]]
    assert [(a["camera"], a["severity"], a["run_id"]) for a in alerts] == [
        ("cam1", "warning", "shop1/cam1/20260301/hours"),
        ("cam2", "critical", "shop1/cam2/20260301/hours"),
        ("cam1", "critical", "shop1/cam1/20260301/hours"),
    ]
    assert alerts[1]["message"] == "no video for 720.0 min (in opening hours)"

    again = run_plan(plan_folder(folder, store="shop1", day=DAY), config=config, warehouse=warehouse)
    assert len(again.resumed) == 2 and _coverage(warehouse) == expected  # replaced, never doubled

    make_video(folder / "shop1_cam2_20260301-090000+0300.mp4", seconds=20, fps=5, gop=5)  # cam2's file arrives
    run_plan(plan_folder(folder, store="shop1", day=DAY), config=config, warehouse=warehouse)
    after = [*expected[:2], ("cam2", "06:00:20", 43180)]
    assert _coverage(warehouse) == after

    # without opening hours (or without --day) nothing is checked: the rows of the last check stay as they were
    run_plan(plan_folder(folder, store="shop1", day=DAY), config=_config(tmp_path, hours=None), warehouse=warehouse)
    run_plan(plan_folder(folder, store="shop1", day=None), config=config, warehouse=warehouse)
    assert _coverage(warehouse) == after


def test_expected_cameras_can_be_named(folder: Path, warehouse: ChdbWarehouse, tmp_path: Path) -> None:
    """An archive download is one camera's day: only that camera is expected (cam2 in the config is not)."""
    plan = plan_folder(folder, store="shop1", day=DAY, cameras=("cam1",))
    run_plan(plan, config=_config(tmp_path), warehouse=warehouse)
    assert [c for c, _, _ in _coverage(warehouse)] == ["cam1", "cam1"]


def test_files_in_another_time_zone_get_a_note(folder: Path, warehouse: ChdbWarehouse, tmp_path: Path) -> None:
    """Opening hours are read in archive.time_zone; files named +03:00 with the zone left at UTC get a note."""
    config = _config(tmp_path)
    utc = config.model_copy(update={"archive": config.archive.model_copy(update={"time_zone": "UTC"})})
    result = run_plan(plan_folder(folder, store="shop1", day=DAY), config=utc, warehouse=warehouse)
    (note,) = result.notes
    assert "archive.time_zone UTC (UTC offset 0:00:00)" in note and "files are in UTC offset 3:00:00" in note
    assert run_plan(plan_folder(folder, store="shop1", day=DAY), config=config, warehouse=warehouse).notes == ()
