"""Gaps in recordings: timestamp jumps inside a file, and pauses between consecutive files of a camera.

Inside a file, the analysed frames' timestamps (seconds from the first frame, from the container's PTS) should
advance by one analysis step; a jump of more than ``step + min_gap_s`` means the camera stopped and resumed inside
the file. Between files, the next recording of the same camera starting more than ``min_gap_s`` after the
previous one ended is a gap. Episodes never span a gap (:mod:`~sightings.solutions.retail.interactions`), every
gap becomes a ``gaps`` warehouse row, and long ones raise ``camera_off`` alerts
(:mod:`~sightings.solutions.retail.health`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sightings.solutions.retail.inputs import VideoFile

__all__ = ["RecordingGap", "gaps_between_files", "gaps_in_times"]


@dataclass(frozen=True, slots=True)
class RecordingGap:
    """No picture from ``started_at`` to ``ended_at`` (timezone-aware); ``run_id`` = the video it belongs to."""

    run_id: str
    store: str
    camera: str
    kind: str
    """'in_file' or 'between_files'"""
    started_at: datetime
    ended_at: datetime

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


def gaps_in_times(times_s: Sequence[float], *, step_s: float, min_gap_s: float) -> list[tuple[float, float]]:
    """``(last frame before, first frame after)`` in video seconds for every jump > ``step_s + min_gap_s``."""
    return [(a, b) for a, b in itertools.pairwise(times_s) if b - a > step_s + min_gap_s + 1e-9]


def gaps_between_files(
    videos: Sequence[VideoFile], durations_s: Sequence[float | None], *, min_gap_s: float
) -> list[RecordingGap]:
    """Pauses between consecutive recordings of each camera (``durations_s[i]`` = length of ``videos[i]``).

    A gap belongs to the later video (its run id), so re-running that video replaces it. Videos of unknown
    length are not compared.
    """
    out: list[RecordingGap] = []
    by_camera: dict[tuple[str, str], list[tuple[VideoFile, float | None]]] = {}
    for video, duration in zip(videos, durations_s, strict=True):
        by_camera.setdefault((video.store, video.camera), []).append((video, duration))
    for items in by_camera.values():
        items.sort(key=lambda item: item[0].started_at)
        for (prev, prev_len), (nxt, _) in itertools.pairwise(items):
            if prev_len is None:
                continue
            prev_end = prev.started_at + timedelta(seconds=prev_len)
            if (nxt.started_at - prev_end).total_seconds() > min_gap_s:
                out.append(RecordingGap(nxt.run_id, nxt.store, nxt.camera, "between_files", prev_end, nxt.started_at))
    return sorted(out, key=lambda g: (g.camera, g.started_at))
