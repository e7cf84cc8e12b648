"""One crop per track and window: the best detection of each track over ``window_s`` seconds, and near-duplicates.

    windows = TrackWindows(window_s=3.0, min_detections=2)
    for best in windows.update(frame, seen_at, tracked):      # windows that closed at this frame
        if not sent.is_duplicate(best):
            post(best); sent.remember(best)
    windows.flush()                                           # at the end of a file

A track's window opens at its first detection and closes ``window_s`` seconds later (or when the track has not
been seen for ``window_s``). Of its detections only the best one is kept, scored by

    quality = sharpness × score × size
    sharpness = v / (v + 100)          v: variance of the Laplacian of the grey crop (at most 128 px on a side)
    size      = min(1, √area / 96 px)  small, far-away animals embed badly

so a window gives the engine one sharp, confident, large crop instead of dozens of near-identical ones. A window
with fewer than ``min_detections`` detections (a flicker) gives nothing.

:class:`SentCrops` remembers the perceptual hash (pHash, 64 bits) of every crop a camera sent: a new crop within
``dedup_bits`` of one sent less than ``dedup_window_s`` seconds before is a near-duplicate and is skipped (within
twice that distance for the same track: tracking already says it is the same animal, so only a clearly new view of
it is worth sending).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.protocols import TrackedDetection
from sightings.core.types import Box, Frame

__all__ = ["SentCrops", "TrackWindows", "WindowBest", "crop_quality", "pad_box", "sharpness"]

SHARPNESS_HALF = 100.0
GOOD_SIDE_PX = 96.0
MIN_CROP_SIDE = 16
THUMB_SIDE = 128


def sharpness(image: npt.NDArray[np.uint8]) -> float:
    """Variance of the 4-neighbour Laplacian of the grey image (shrunk to at most 128 px on a side)."""
    grey = image.astype(np.float32).mean(axis=2) if image.ndim == 3 else image.astype(np.float32)
    step = max(1, math.ceil(max(grey.shape) / THUMB_SIDE))
    grey = grey[::step, ::step]
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4.0 * grey[1:-1, 1:-1]
    return float(lap.var())


def crop_quality(crop: npt.NDArray[np.uint8], score: float, box: Box) -> float:
    """sharpness × score × size, each term in [0, 1] (see the module docs)."""
    v = sharpness(crop)
    size = min(1.0, math.sqrt(max(box.area, 0.0)) / GOOD_SIDE_PX)
    return (v / (v + SHARPNESS_HALF)) * float(score) * size


def pad_box(box: Box, margin: float, width: int, height: int) -> Box:
    """``box`` grown by ``margin`` of its size on each side, clipped to the frame, in whole pixels."""
    dx, dy = box.width * margin, box.height * margin
    x1, y1 = max(0, math.floor(box.x1 - dx)), max(0, math.floor(box.y1 - dy))
    x2, y2 = min(width, math.ceil(box.x2 + dx)), min(height, math.ceil(box.y2 + dy))
    return Box(x1, y1, max(x1, x2), max(y1, y2))


@dataclass(frozen=True, slots=True, eq=False)
class WindowBest:
    """The best detection of one track over one window."""

    track_id: int
    label: str
    score: float
    quality: float
    box: Box
    crop: npt.NDArray[np.uint8] = field(repr=False)
    seen_at: datetime
    """when the best frame was seen (UTC)"""
    t_s: float
    """stream time of the best frame"""
    window_start_s: float
    window_end_s: float
    detections: int
    first_read_at: float = 0.0
    """monotonic time the window's first frame was read (latency measurements)"""


@dataclass(slots=True)
class _Open:
    start_s: float
    last_s: float
    first_read_at: float
    detections: int = 0
    best: WindowBest | None = None


class TrackWindows:
    """Per-track windows of one camera (not thread-safe: one per camera thread)."""

    def __init__(
        self,
        *,
        window_s: float = 3.0,
        min_detections: int = 2,
        margin: float = 0.1,
        labels: Sequence[str] = ("cat", "dog"),
    ) -> None:
        self.window_s = window_s
        self.min_detections = min_detections
        self.margin = margin
        self.labels = frozenset(labels)
        self._open: dict[int, _Open] = {}

    @property
    def open_tracks(self) -> int:
        return len(self._open)

    def update(
        self, frame: Frame, seen_at: datetime, tracked: Sequence[TrackedDetection], *, read_at: float = 0.0
    ) -> list[WindowBest]:
        """Add this frame's tracked detections; return the windows that closed."""
        t = frame.t_s
        closed: list[WindowBest] = []
        for td in tracked:
            det = td.detection
            if det.label not in self.labels:
                continue
            box = pad_box(det.box, self.margin, frame.width, frame.height)
            if box.width < MIN_CROP_SIDE or box.height < MIN_CROP_SIDE:
                continue
            window = self._open.get(td.track_id)
            if window is not None and t - window.start_s >= self.window_s:
                closed += self._close(td.track_id)
                window = None
            if window is None:
                window = self._open[td.track_id] = _Open(t, t, read_at)
            window.detections += 1
            window.last_s = t
            x1, y1, x2, y2 = (int(v) for v in box.xyxy)
            view = frame.image[y1:y2, x1:x2]
            quality = crop_quality(view, det.score, det.box)
            if window.best is None or quality > window.best.quality:
                window.best = WindowBest(
                    td.track_id,
                    det.label,
                    float(det.score),
                    quality,
                    box,
                    np.ascontiguousarray(view),
                    seen_at,
                    t,
                    window.start_s,
                    t,
                    0,
                    window.first_read_at,
                )
        for track_id, window in list(self._open.items()):
            if t - window.start_s >= self.window_s or t - window.last_s >= self.window_s:
                closed += self._close(track_id)
        return closed

    def flush(self) -> list[WindowBest]:
        """Close every open window (end of a file, or stopping)."""
        closed: list[WindowBest] = []
        for track_id in list(self._open):
            closed += self._close(track_id)
        return closed

    def _close(self, track_id: int) -> list[WindowBest]:
        window = self._open.pop(track_id)
        if window.best is None or window.detections < self.min_detections:
            return []
        best = window.best
        return [
            WindowBest(
                best.track_id,
                best.label,
                best.score,
                best.quality,
                best.box,
                best.crop,
                best.seen_at,
                best.t_s,
                window.start_s,
                window.last_s,
                window.detections,
                window.first_read_at,
            )
        ]


@dataclass(frozen=True, slots=True)
class _Sent:
    track_id: int
    t_s: float
    code: Any  # imagehash.ImageHash


class SentCrops:
    """Perceptual hashes of the crops one camera sent recently (see the module docs)."""

    def __init__(self, *, max_bits: int = 8, window_s: float = 120.0, keep: int = 256) -> None:
        self.max_bits = max_bits
        self.window_s = window_s
        self._sent: deque[_Sent] = deque(maxlen=keep)

    @staticmethod
    def code(crop: npt.NDArray[np.uint8]) -> Any:
        from sightings.media.hashing import image_hash

        return image_hash(np.ascontiguousarray(crop), method="phash")

    def is_duplicate(self, best: WindowBest, code: Any | None = None) -> bool:
        code = self.code(best.crop) if code is None else code
        for sent in self._sent:
            if best.t_s - sent.t_s > self.window_s:
                continue
            limit = self.max_bits * 2 if sent.track_id == best.track_id else self.max_bits
            if int(code - sent.code) <= limit:
                return True
        return False

    def remember(self, best: WindowBest, code: Any | None = None) -> None:
        self._sent.append(_Sent(best.track_id, best.t_s, self.code(best.crop) if code is None else code))
