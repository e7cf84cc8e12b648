"""Opening hours and the store's time zone: parsing, the day's window (DST), and the uncovered edges of a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sightings.core.errors import ConfigError
from sightings.solutions.retail.config import config_from_mapping
from sightings.solutions.retail.hours import (
    NOT_RECORDED,
    coverage_run_id,
    opening_window,
    parse_opening_hours,
    parse_time_zone,
    uncovered,
)
from sightings.solutions.retail.inputs import VideoFile

MSK = timezone(timedelta(hours=3))
DAY = date(2026, 3, 1)


HOURS = [("09:00-21:00", time(9), 12), ("9:30 - 18:00", time(9, 30), 8.5), ("22:00-06:00", time(22), 8),
         ("00:00-24:00", time(0), 24), ("08:00-08:00", time(8), 24)]  # fmt: skip


@pytest.mark.parametrize(("text", "opens", "hours"), HOURS)
def test_opening_hours_parse(text: str, opens: time, hours: float) -> None:
    assert parse_opening_hours(text) == (opens, timedelta(hours=hours))


@pytest.mark.parametrize("text", ["9-21", "09:00", "25:00-26:00", "09:60-10:00", "10:00-24:30", ""])
def test_bad_opening_hours_name_the_field(text: str) -> None:
    with pytest.raises(ConfigError, match=r"health\.opening_hours"):
        parse_opening_hours(text)
    with pytest.raises(ConfigError, match=r"retail.yaml: health.opening_hours: '.*' is not"):
        config_from_mapping({"health": {"opening_hours": text}}, where="retail.yaml")


def test_time_zones() -> None:
    assert parse_time_zone("+03:00") == MSK
    assert parse_time_zone("-0530") == timezone(-timedelta(hours=5, minutes=30))
    assert parse_time_zone("utc") is UTC and parse_time_zone("Z") is UTC
    assert parse_time_zone("Europe/Moscow") == ZoneInfo("Europe/Moscow")
    for bad in ("Mars/Base", "+25:00", "three", "+14:30", "-03:60"):
        with pytest.raises(ConfigError, match=r"archive\.time_zone"):
            parse_time_zone(bad)
    # the same bounds as a file name's zone (inputs.utc_offset): the offsets clocks use
    assert parse_time_zone("+14:00") == timezone(timedelta(hours=14))
    with pytest.raises(ConfigError, match=r"out of range \(UTC-14:00 … UTC\+14:00\)"):
        parse_time_zone("+15:00")
    with pytest.raises(ConfigError, match=r"^retail.yaml: archive.time_zone: unknown time zone 'Mars/Base'"):
        config_from_mapping({"archive": {"time_zone": "Mars/Base"}}, where="retail.yaml")


def test_window_follows_the_wall_clock_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start, end = opening_window(date(2026, 3, 29), "00:00-24:00", berlin)  # clocks go forward at 02:00
    assert (end - start) == timedelta(hours=24)  # wall clock
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)  # but 23 hours passed
    start, end = opening_window(DAY, "22:00-06:00", MSK)
    assert start == datetime(2026, 3, 1, 19, tzinfo=UTC) and end == datetime(2026, 3, 2, 3, tzinfo=UTC)


def _video(camera: str, hh: int, mm: int = 0) -> VideoFile:
    started = datetime(2026, 3, 1, hh, mm, tzinfo=MSK)
    return VideoFile(Path(f"shop1_{camera}_20260301-{hh:02d}{mm:02d}00+0300.mp4"), "shop1", camera, started)


def test_uncovered_edges_of_the_day() -> None:
    window = opening_window(DAY, "09:00-21:00", MSK)
    videos = [_video("cam1", 9, 30), _video("cam1", 12), _video("cam3", 8), _video("cam4", 10)]
    durations = [3600.0, 1800.0, 14 * 3600.0, None]  # cam3 records past both ends; cam4's file is unreadable
    found = uncovered(
        videos, durations, store="shop1", cameras=["cam1", "cam2", "cam3", "cam4"], day=DAY, window=window,
        min_gap_s=5,
    )  # fmt: skip
    spans = {cam: [(g.started_at.astimezone(MSK).strftime("%H:%M"), g.duration_s / 3600) for g in gaps]
             for cam, gaps in found.items()}  # fmt: skip
    assert spans == {
        "cam1": [("09:00", 0.5), ("12:30", 8.5)],  # before the first file and after the last; 10:30-12:00 is not
        "cam2": [("09:00", 12.0)],  # no file: all day
        "cam3": [],
        "cam4": [("09:00", 12.0)],
    }
    assert {g.kind for gaps in found.values() for g in gaps} == {NOT_RECORDED}
    assert found["cam2"][0].run_id == coverage_run_id("shop1", "cam2", DAY) == "shop1/cam2/20260301/hours"
    # a piece no longer than min_gap_s is no gap
    tight = uncovered([_video("cam1", 9)], [12 * 3600 - 5.0], store="shop1", cameras=["cam1"], day=DAY,
                      window=window, min_gap_s=5)  # fmt: skip
    assert tight == {"cam1": []}


def test_opening_hours_do_not_change_the_analysis_hash() -> None:
    plain = config_from_mapping({}, where="t")
    with_hours = config_from_mapping({"health": {"opening_hours": "09:00-21:00"}}, where="t")
    assert plain.analysis_hash() == with_hours.analysis_hash()
    assert plain.analysis_hash() != config_from_mapping({"health": {"camera_off_s": 60}}, where="t").analysis_hash()
