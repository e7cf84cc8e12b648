"""Channel enrichment: subscribers, total videos and channel age, looked up without leaking the future.

Channel index (CSV or Parquet): ``channel_id`` and optionally ``subscribers``, ``total_videos``, ``created_at``,
``as_of``. A channel may have several rows, one per ``as_of`` time (a crawl). For a video whose snapshot 1 is at
t1, the row used is the latest one with ``as_of <= t1``; rows after t1 are never used (they would leak the
future). A row without ``as_of`` is a static description used for any t1 (your statement that it does not
change, e.g. the creation date). ``created_at`` never changes, so the channel age comes from any row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sightings.solutions.popularity.tables import parse_count, parse_text, parse_time, read_rows

__all__ = ["ChannelIndex", "ChannelInfo", "ChannelLookup", "load_channel_index"]


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """One channel row; NaN / None where unknown."""

    channel_id: str
    subscribers: float = math.nan
    total_videos: float = math.nan
    created_at: datetime | None = None
    as_of: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChannelLookup:
    """What is known about a channel at a time: the values to use and whether a later row was skipped."""

    found: bool
    subscribers: float = math.nan
    total_videos: float = math.nan
    created_at: datetime | None = None
    future_rows_skipped: int = 0


class ChannelIndex:
    """Channel rows by id, looked up as of a time."""

    def __init__(self, rows: list[ChannelInfo] | None = None) -> None:
        self._rows: dict[str, list[ChannelInfo]] = defaultdict(list)
        for row in rows or []:
            self.add(row)

    def add(self, row: ChannelInfo) -> None:
        self._rows[row.channel_id].append(row)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, channel_id: object) -> bool:
        return channel_id in self._rows

    def channel_ids(self) -> list[str]:
        return sorted(self._rows)

    def lookup(self, channel_id: str | None, at: datetime) -> ChannelLookup:
        """The channel as known at ``at`` (see the module docs); ``found`` is False for an unknown channel."""
        if channel_id is None or channel_id not in self._rows:
            return ChannelLookup(False)
        rows = self._rows[channel_id]
        created = next((r.created_at for r in rows if r.created_at is not None), None)
        static = [r for r in rows if r.as_of is None]
        dated = sorted((r for r in rows if r.as_of is not None), key=lambda r: r.as_of or at)
        usable = [r for r in dated if r.as_of is not None and r.as_of <= at]
        skipped = len(dated) - len(usable)
        pick = usable[-1] if usable else (static[-1] if static else None)
        if pick is None:
            return ChannelLookup(True, created_at=created, future_rows_skipped=skipped)
        return ChannelLookup(True, pick.subscribers, pick.total_videos, created, skipped)


def load_channel_index(path: str | Path) -> ChannelIndex:
    """Read a channel index file (see the module docs)."""
    rows = read_rows(path, required=("channel_id",), what="channels")
    index = ChannelIndex()
    for row in rows:
        channel_id = parse_text(row.get("channel_id"))
        if channel_id is None:
            continue
        index.add(
            ChannelInfo(
                channel_id,
                parse_count(row.get("subscribers"), where=row.where("subscribers")),
                parse_count(row.get("total_videos"), where=row.where("total_videos")),
                parse_time(row.get("created_at"), where=row.where("created_at"), required=False),
                parse_time(row.get("as_of"), where=row.where("as_of"), required=False),
            )
        )
    return index
