"""The store's clock: its time zone and opening hours, and the part of a day's opening hours no recording covers.

``health.opening_hours: "09:00-21:00"`` (in the store's time zone, ``archive.time_zone``) says when every camera
should be recording. A ``retail run --day D`` then checks each expected camera (every camera in ``cameras:``, and
any camera with files that day): the time from opening to its first file, from its last file to closing, or the
whole of the opening hours when it has no file at all. Each piece longer than ``gaps.min_gap_s`` is a
``not_recorded`` gap, and one of at least ``health.camera_off_s`` a ``camera_off`` alert. Pauses *between* files
are found as before (:func:`~sightings.solutions.retail.gaps.gaps_between_files`), so they are not counted twice.

These rows belong to the day, not to one video: their run id is :func:`coverage_run_id`, and every run of the day
replaces them, so a camera whose files arrive later loses its "no video" alert on the next run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sightings.core.errors import ConfigError
from sightings.solutions.retail.gaps import RecordingGap
from sightings.solutions.retail.inputs import VideoFile, utc_offset

__all__ = ["NOT_RECORDED", "coverage_run_id", "opening_window", "parse_opening_hours", "parse_time_zone", "uncovered"]

NOT_RECORDED = "not_recorded"
"""The ``gaps.kind`` of opening hours with no recording (before the first file, after the last, or all day)."""

_HOURS = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


def parse_time_zone(text: str, *, where: str = "archive.time_zone") -> tzinfo:
    """``"UTC"``, ``"Z"``, ``"+03:00"`` / ``"-0530"`` or an IANA name (``"Europe/Moscow"``) → a tzinfo."""
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text.strip())
    if m:
        try:
            return utc_offset(m.group(1), int(m.group(2)), int(m.group(3)))
        except ValueError as err:
            raise ConfigError(f"offset {text!r} {err}", where=where) from None
    if text.strip().upper() in ("UTC", "Z"):
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {text!r} (IANA name or ±HH:MM)", where=where) from None


def parse_opening_hours(text: str, *, where: str = "health.opening_hours") -> tuple[time, timedelta]:
    """``"HH:MM-HH:MM"`` → (opening time, how long the store is open). ``"00:00-24:00"`` is the whole day; a closing
    time at or before the opening one is on the next day (``"22:00-06:00"``: a night shift of 8 hours)."""
    m = _HOURS.fullmatch(text)
    if m is None:
        raise ConfigError(f"{text!r} is not HH:MM-HH:MM (e.g. 09:00-21:00)", where=where)
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise ConfigError(f"{text!r} is not a time of day (00:00 to 24:00)", where=where)
    start, end = timedelta(hours=h1, minutes=m1), timedelta(hours=h2, minutes=m2)
    length = end - start if end > start else end - start + timedelta(days=1)
    return time(h1, m1), length


def opening_window(day: date, hours: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """When the store is open on ``day`` (aware datetimes; the local wall clock, so a DST change is honoured)."""
    opens, length = parse_opening_hours(hours)
    start = datetime.combine(day, opens, tzinfo=tz)
    # wall-clock arithmetic: an aware datetime + timedelta keeps its tzinfo, so 09:00 + 12 h is 21:00 local
    return start, start + length


def coverage_run_id(store: str, camera: str, day: date) -> str:
    """The warehouse run id of a camera's day-level coverage rows (replaced by every run of that day)."""
    return f"{store}/{camera}/{day:%Y%m%d}/hours"


def uncovered(
    videos: Sequence[VideoFile],
    durations_s: Sequence[float | None],
    *,
    store: str,
    cameras: Sequence[str],
    day: date,
    window: tuple[datetime, datetime],
    min_gap_s: float,
) -> dict[str, list[RecordingGap]]:
    """camera → its ``not_recorded`` gaps on ``day`` (maybe none), for every camera in ``cameras``.

    Only a camera's edges are looked at: opening → its first recording, its last recording → closing, or the whole
    window without any. A video of unknown length (it could not be read) covers nothing."""
    opens, closes = window
    out: dict[str, list[RecordingGap]] = {}
    for camera in cameras:
        spans = sorted(
            (v.started_at, v.started_at + timedelta(seconds=d))
            for v, d in zip(videos, durations_s, strict=True)
            if v.camera == camera and d is not None
        )
        run_id = coverage_run_id(store, camera, day)
        pieces = [(opens, closes)]
        if spans:
            first = spans[0][0]
            last = max(end for _, end in spans)
            pieces = [(opens, min(first, closes)), (max(last, opens), closes)]
        out[camera] = [
            RecordingGap(run_id, store, camera, NOT_RECORDED, a, b)
            for a, b in pieces
            if (b - a).total_seconds() > min_gap_s
        ]
    return out
