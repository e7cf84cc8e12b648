"""Snapshots (counts of a video over time) and video metadata: parsing, ordering, de-duplication, counts.

Snapshots table: ``platform_id, video_id, snapshot_at, views, likes, comments`` (more columns are ignored).
Video table: ``platform_id, video_id, published_at`` and optionally ``duration_sec`` (or ``duration``),
``language``, ``category``, ``channel_id``.

Handling of bad input (every case is counted in :class:`CleaningCounts`, shown by the CLI and stored in the
dataset metadata):

- rows out of time order within a video: sorted (``out_of_order_rows``: rows earlier than a row above them);
- duplicate rows (same platform, video, snapshot time): the first in file order is kept, the others dropped
  (``duplicate_rows_dropped``; ``conflicting_duplicates`` of them had different counts);
- a count lower than an earlier snapshot's (deleted views): the snapshots are kept as they are
  (``decreasing_pairs``); a growth below zero at a horizon is clipped to 0 (counted by the dataset builder);
- a value that is not a time / a non-negative whole number: an InputError naming the row and column.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sightings.core.errors import InputError
from sightings.solutions.popularity.schema import METRICS
from sightings.solutions.popularity.tables import (
    parse_count,
    parse_float,
    parse_required_time,
    parse_text,
    parse_time,
    read_rows,
)

__all__ = ["CleaningCounts", "Snapshot", "VideoInfo", "load_snapshots", "load_videos"]

VideoKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Counts of one video at one time (NaN where a count is missing)."""

    at: datetime
    views: float
    likes: float
    comments: float

    def count(self, metric: str) -> float:
        value: float = getattr(self, metric)
        return value


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What is known about a video before it is watched: metadata, not counts."""

    platform_id: str
    video_id: str
    published_at: datetime | None = None
    duration_sec: float = math.nan
    language: str | None = None
    category: str | None = None
    channel_id: str | None = None


@dataclass(slots=True)
class CleaningCounts:
    """What was done to the inputs; every dropped or changed row is counted here."""

    snapshot_rows_read: int = 0
    duplicate_rows_dropped: int = 0
    conflicting_duplicates: int = 0
    out_of_order_rows: int = 0
    decreasing_pairs: int = 0
    video_rows_read: int = 0
    duplicate_video_rows_dropped: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        self.extra[key] = self.extra.get(key, 0) + n

    def to_dict(self) -> dict[str, int]:
        base = {
            "snapshot_rows_read": self.snapshot_rows_read,
            "duplicate_rows_dropped": self.duplicate_rows_dropped,
            "conflicting_duplicates": self.conflicting_duplicates,
            "out_of_order_rows": self.out_of_order_rows,
            "decreasing_pairs": self.decreasing_pairs,
            "video_rows_read": self.video_rows_read,
            "duplicate_video_rows_dropped": self.duplicate_video_rows_dropped,
        }
        return {**base, **dict(sorted(self.extra.items()))}


def _key(row_platform: object, row_video: object, where: str) -> VideoKey:
    platform, video = parse_text(row_platform), parse_text(row_video)
    if platform is None or video is None:
        raise InputError("platform_id and video_id must not be empty", where=where)
    return platform, video


def load_snapshots(path: str | Path, counts: CleaningCounts) -> dict[VideoKey, list[Snapshot]]:
    """Snapshots per video, sorted by time, duplicates dropped (see the module docs for the counts)."""
    rows = read_rows(path, required=("platform_id", "video_id", "snapshot_at", *METRICS), what="snapshots")
    counts.snapshot_rows_read += len(rows)
    per_video: dict[VideoKey, list[Snapshot]] = defaultdict(list)
    seen: dict[tuple[VideoKey, datetime], Snapshot] = {}
    latest: dict[VideoKey, datetime] = {}
    for row in rows:
        key = _key(row.get("platform_id"), row.get("video_id"), f"{row.path}: row {row.line}")
        at = parse_required_time(row.get("snapshot_at"), where=row.where("snapshot_at"))
        snap = Snapshot(at, *(parse_count(row.get(m), where=row.where(m)) for m in METRICS))
        first = seen.get((key, at))
        if first is not None:
            counts.duplicate_rows_dropped += 1
            same = all(
                (math.isnan(a) and math.isnan(b)) or a == b
                for a, b in ((first.count(m), snap.count(m)) for m in METRICS)
            )
            counts.conflicting_duplicates += 0 if same else 1
            continue
        seen[(key, at)] = snap
        series = per_video[key]
        if at < latest.get(key, at):
            counts.out_of_order_rows += 1  # earlier than a row above it
        latest[key] = max(at, latest.get(key, at))
        series.append(snap)
    out: dict[VideoKey, list[Snapshot]] = {}
    for key in sorted(per_video):
        series = sorted(per_video[key], key=lambda s: s.at)
        for metric in METRICS:
            values = [s.count(metric) for s in series if not math.isnan(s.count(metric))]
            counts.decreasing_pairs += sum(b < a for a, b in itertools.pairwise(values))
        out[key] = series
    return out


def load_videos(path: str | Path, counts: CleaningCounts) -> dict[VideoKey, VideoInfo]:
    """Video metadata by (platform_id, video_id); a repeated video keeps its first row (counted)."""
    rows = read_rows(path, required=("platform_id", "video_id", "published_at"), what="videos")
    counts.video_rows_read += len(rows)
    out: dict[VideoKey, VideoInfo] = {}
    for row in rows:
        key = _key(row.get("platform_id"), row.get("video_id"), f"{row.path}: row {row.line}")
        if key in out:
            counts.duplicate_video_rows_dropped += 1
            continue
        duration_col = "duration_sec" if "duration_sec" in row.values else "duration"
        out[key] = VideoInfo(
            platform_id=key[0],
            video_id=key[1],
            published_at=parse_time(row.get("published_at"), where=row.where("published_at"), required=False),
            duration_sec=parse_float(row.get(duration_col), where=row.where(duration_col), lo=0.0),
            language=parse_text(row.get("language")),
            category=parse_text(row.get("category")),
            channel_id=parse_text(row.get("channel_id")),
        )
    return out
