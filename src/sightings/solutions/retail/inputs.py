"""A folder of store video: which store, camera and start time each MP4 holds.

File-name pattern (one file = one camera recording)::

    <store>_<camera>_<YYYYmmdd-HHMMSS><zone>.mp4      e.g. shop12_cam3_20260301-090000+0300.mp4
                                                         shop12_cam3_20260301-060000Z.mp4

``store`` and ``camera`` are letters, digits and ``-`` (no ``_``); ``<zone>`` is ``Z`` (UTC) or ``±HHMM`` and is
required — a recording without a time zone cannot be placed on the day's timeline, so it is an
:class:`InputError` naming the file. A sidecar ``<file>.json`` beside the video (``{"store": ..., "camera": ...,
"started_at": "2026-03-01T09:00:00+03:00"}``) wins over the name, for archives whose names follow another scheme.
Zero-length files are skipped with a reason; other suffixes are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from sightings.core.errors import InputError, NotFoundError
from sightings.core.json_files import read_json

__all__ = [
    "FolderScan",
    "SkippedFile",
    "VideoFile",
    "parse_video_name",
    "read_video_file",
    "scan_folder",
    "utc_offset",
]

VIDEO_SUFFIXES = (".mp4",)
NAME_PATTERN = "<store>_<camera>_<YYYYmmdd-HHMMSS><Z|±HHMM>.mp4"
_NAME = re.compile(
    r"^(?P<store>[A-Za-z0-9-]+)_(?P<camera>[A-Za-z0-9-]+)_(?P<stamp>\d{8}-\d{6})(?P<zone>.*)$",
)
_ZONE = re.compile(r"^(?:Z|(?P<sign>[+-])(?P<hh>\d{2})(?P<mm>\d{2}))$")


@dataclass(frozen=True, slots=True)
class VideoFile:
    """One recording: where it is, which store and camera, and when it started (timezone-aware)."""

    path: Path
    store: str
    camera: str
    started_at: datetime
    """start of the recording, timezone-aware (the offset given in the name or sidecar)"""

    @property
    def local_day(self) -> date:
        """The calendar day of the start in the recording's own time zone."""
        return self.started_at.date()

    @property
    def recording(self) -> str:
        """The recording within its store: camera and UTC start, e.g. ``cam1/20240302T060000Z``."""
        return f"{self.camera}/{self.started_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"

    @property
    def run_id(self) -> str:
        """The video's identity in the warehouse: re-running the same recording replaces its rows."""
        return f"{self.store}/{self.recording}"


@dataclass(frozen=True, slots=True)
class SkippedFile:
    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class FolderScan:
    videos: tuple[VideoFile, ...]
    skipped: tuple[SkippedFile, ...]


def _parse_zone(text: str, *, where: Path) -> timezone:
    if not text:
        raise InputError(f"no time zone in the file name; expected {NAME_PATTERN} (e.g. +0300 or Z)", where=where)
    m = _ZONE.match(text)
    if m is None:
        raise InputError(f"bad time zone {text!r} in the file name; expected Z or ±HHMM", where=where)
    if m.group("sign") is None:
        return UTC
    try:
        return utc_offset(m.group("sign"), int(m.group("hh")), int(m.group("mm")))
    except ValueError as err:
        raise InputError(f"time zone {text!r} {err}", where=where) from None


def utc_offset(sign: str, hours: int, minutes: int) -> timezone:
    """The fixed UTC offset ``sign`` (``"+"``/``"-"``) ``hours``:``minutes``. ValueError past the offsets clocks use
    (UTC-14:00 … UTC+14:00) or for minutes over 59: file names and ``archive.time_zone`` are read the same way."""
    if not 0 <= minutes < 60:
        raise ValueError(f"has {minutes} minutes (at most 59)")
    if hours < 0 or hours > 14 or (hours == 14 and minutes):
        raise ValueError("is out of range (UTC-14:00 … UTC+14:00)")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if sign == "-" else offset)


def parse_video_name(path: Path) -> VideoFile:
    """Store, camera and start time from ``path``'s name (see the module docstring); InputError if it does not fit."""
    m = _NAME.match(path.stem)
    if m is None:
        raise InputError(f"file name does not match {NAME_PATTERN} and there is no sidecar .json", where=path)
    tz = _parse_zone(m.group("zone"), where=path)
    try:
        naive = datetime.strptime(m.group("stamp"), "%Y%m%d-%H%M%S")
    except ValueError:
        raise InputError(f"bad date/time {m.group('stamp')!r} in the file name", where=path) from None
    return VideoFile(path, m.group("store"), m.group("camera"), naive.replace(tzinfo=tz))


def _read_sidecar(path: Path, sidecar: Path) -> VideoFile:
    data = read_json(sidecar, "sidecar", error=InputError)
    if not isinstance(data, dict):
        raise InputError("sidecar must hold a JSON object", where=sidecar)
    values = {}
    for key in ("store", "camera", "started_at"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"missing or empty {key!r}", where=sidecar)
        values[key] = value.strip()
    try:
        started = datetime.fromisoformat(values["started_at"])
    except ValueError:
        raise InputError(f"started_at {values['started_at']!r} is not an ISO 8601 time", where=sidecar) from None
    if started.tzinfo is None or started.utcoffset() is None:
        raise InputError("started_at has no time zone (add +03:00 or Z)", where=sidecar)
    return VideoFile(path, values["store"], values["camera"], started)


def read_video_file(path: Path) -> VideoFile:
    """The :class:`VideoFile` for one recording: sidecar ``<path>.json`` if present, else the file name."""
    sidecar = path.with_name(path.name + ".json")
    return _read_sidecar(path, sidecar) if sidecar.is_file() else parse_video_name(path)


def scan_folder(folder: Path, *, store: str | None = None, day: date | None = None) -> FolderScan:
    """Recordings under ``folder`` (recursively), sorted by camera and start; filtered by store and local day.

    Zero-length files are skipped with a reason; a name without a (valid) time zone is an :class:`InputError`.
    """
    if not folder.exists():
        raise NotFoundError("video folder not found", where=folder)
    if not folder.is_dir():
        raise InputError("not a folder", where=folder)
    videos: list[VideoFile] = []
    skipped: list[SkippedFile] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES):
        if path.stat().st_size == 0:
            skipped.append(SkippedFile(path, "zero-length file"))
            continue
        video = read_video_file(path)
        if store is not None and video.store != store:
            continue
        if day is not None and video.local_day != day:
            continue
        videos.append(video)
    videos.sort(key=lambda v: (v.camera, v.started_at))
    return FolderScan(tuple(videos), tuple(skipped))
