"""ByteTrack (roboflow ``trackers``) behind the :class:`~sightings.core.protocols.Tracker` protocol.

Our :class:`~sightings.core.types.Detection` rows become a supervision ``Detections`` batch (row index carried in
``data["row"]``) and come back as :class:`~sightings.core.protocols.TrackedDetection` with the same objects.

Time, not frame counts: every update passes the frame's presentation time ``t_s`` to ``trackers``, which then
predicts the Kalman state ``(t_s - t_prev) * frame_rate`` frames ahead and prunes lost tracks after
``lost_track_buffer_s`` *seconds*. Sampling every 25th frame of a 25 fps video (1 analysis fps) therefore keeps
the same buffer in seconds, and the motion model steps over the skipped frames. The buffer is never shorter than
``min_buffer_steps`` (2) analysed steps (the median of the last few times between updates): at one frame every
2.5 s, a person missed in one sampled frame would otherwise lose their track at once.

Ids: one inner tracker per label (a person is never continued as a cat), one id counter over all labels, ids
from 1. ``trackers`` only gives an id once a track has ``minimum_consecutive_frames`` hits; with the default 1
a new track gets its id on the frame it is born (as in the contract: every confident detection is tracked).
Unmatched low-confidence detections (ByteTrack's second stage) are not returned.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sightings.core.errors import BackendUnavailableError, ConfigError
from sightings.core.protocols import TrackedDetection
from sightings.core.types import Detection, Frame
from sightings.vision.track.association import (
    DEFAULT_BUFFER_RATIO,
    DEFAULT_BUFFER_RATIO_PER_S,
    TimeBufferedIoU,
)

__all__ = ["ASSOCIATIONS", "ByteTrackTracker", "SupervisionTrackerAdapter", "detections_to_supervision"]

_HINT = "pip install 'sightings[vision]' (needs the `trackers` package)"
ASSOCIATIONS = ("time-biou", "iou")
"""Box similarity for association: buffered IoU growing with the time gap (default), or plain IoU."""
DEFAULT_FRAME_RATE = 25.0
"""Frame rate assumed when neither the option nor the frame's media gives one."""
DEFAULT_MIN_BUFFER_STEPS = 2.0
"""A lost track is kept at least this many analysed steps, whatever ``lost_track_buffer_s`` says: one missed
sampled frame never ends a track. Chosen on PETS09 frames 1-200 at strides 25 and 30 (docs/tracking.md)."""
_STEP_HISTORY = 5
"""The step is the median of this many last times between updates (a recording gap is not a step)."""


def _supervision() -> Any:
    try:
        import supervision as sv
    except ImportError as exc:
        raise BackendUnavailableError("trackers need supervision", where="tracker", hint=_HINT) from exc
    return sv


def detections_to_supervision(detections: Sequence[Detection]) -> Any:
    """Our detections → ``supervision.Detections`` (xyxy, confidence, ``data["row"]`` = index in the input)."""
    sv = _supervision()
    n = len(detections)
    xyxy = np.array([d.box.xyxy for d in detections], dtype=np.float32).reshape(n, 4)
    conf = np.array([d.score for d in detections], dtype=np.float32)
    return sv.Detections(
        xyxy=xyxy, confidence=conf, class_id=np.zeros(n, dtype=int), data={"row": np.arange(n, dtype=np.int64)}
    )


def _check_probability(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise ConfigError(f"must be in [0, 1], got {value!r}", where=f"tracker.{name}")
    return float(value)


class SupervisionTrackerAdapter:
    """Shared plumbing for ``trackers`` trackers: per-label inner trackers, timestamps, id mapping, and the options
    every one of them takes (a subclass adds its own and passes these on with ``**common``; the registry reads them
    here through :func:`~sightings.core.registry.keyword_parameters`).

    Args:
        lost_track_buffer_s: seconds a lost track is kept for re-association (converted with the video's
            frame rate, so it is the same at any analysis fps or stride).
        frame_rate: the video's native frame rate; default: ``frame.media.fps`` of the first frame (else 25).
        track_activation_threshold: minimum score of a detection that starts a new track.
        high_conf_det_threshold: scores at or above go to the first association stage (what each tracker does
            with the rest is in its own text).
        minimum_consecutive_frames: hits before a track gets an id (1 = at birth).
        use_timestamps: step the motion model by the frames' presentation times (else one step per update).
        association: ``"time-biou"`` (default): IoU of boxes widened by ``buffer_ratio + buffer_ratio_per_s × Δt``
            (see :mod:`sightings.vision.track.association`), so tracks survive 1 fps sampling; ``"iou"``: plain IoU.
        buffer_ratio, buffer_ratio_per_s: the widening at zero gap and its growth per second of gap.
        min_buffer_steps: keep a lost track at least this many analysed steps (0 = ``lost_track_buffer_s`` only).

    Subclasses implement :meth:`_new_inner` (build one ``trackers`` tracker for a frame rate) and may override
    :meth:`_inner_update`.
    """

    name = "supervision"

    def __init__(
        self,
        *,
        lost_track_buffer_s: float = 2.0,
        frame_rate: float | None = None,
        track_activation_threshold: float = 0.45,
        high_conf_det_threshold: float = 0.45,
        minimum_consecutive_frames: int = 1,
        use_timestamps: bool = True,
        association: str = "time-biou",
        buffer_ratio: float = DEFAULT_BUFFER_RATIO,
        buffer_ratio_per_s: float = DEFAULT_BUFFER_RATIO_PER_S,
        min_buffer_steps: float = DEFAULT_MIN_BUFFER_STEPS,
    ) -> None:
        if not (
            isinstance(min_buffer_steps, int | float) and math.isfinite(min_buffer_steps) and min_buffer_steps >= 0
        ):
            raise ConfigError(f"must be a number >= 0, got {min_buffer_steps!r}", where="tracker.min_buffer_steps")
        if association not in ASSOCIATIONS:
            raise ConfigError(
                f"unknown association {association!r}; known: {', '.join(ASSOCIATIONS)}", where="tracker.association"
            )
        if not (isinstance(lost_track_buffer_s, int | float) and math.isfinite(lost_track_buffer_s)):
            raise ConfigError(
                f"must be a number of seconds, got {lost_track_buffer_s!r}", where="tracker.lost_track_buffer_s"
            )
        if lost_track_buffer_s < 0:
            raise ConfigError(f"must be >= 0 s, got {lost_track_buffer_s}", where="tracker.lost_track_buffer_s")
        if frame_rate is not None and not (math.isfinite(frame_rate) and frame_rate > 0):
            raise ConfigError(f"must be > 0, got {frame_rate!r}", where="tracker.frame_rate")
        if not isinstance(minimum_consecutive_frames, int) or minimum_consecutive_frames < 1:
            raise ConfigError(
                f"must be an integer >= 1, got {minimum_consecutive_frames!r}",
                where="tracker.minimum_consecutive_frames",
            )
        try:
            import trackers  # noqa: F401  # fail at construction, with the install hint
        except ImportError as exc:
            raise BackendUnavailableError(
                "the `trackers` package is not installed", where="tracker", hint=_HINT
            ) from exc
        self.lost_track_buffer_s = float(lost_track_buffer_s)
        self.frame_rate = None if frame_rate is None else float(frame_rate)
        self.track_activation_threshold = _check_probability(track_activation_threshold, "track_activation_threshold")
        self.high_conf_det_threshold = _check_probability(high_conf_det_threshold, "high_conf_det_threshold")
        self.minimum_consecutive_frames = minimum_consecutive_frames
        self.use_timestamps = bool(use_timestamps)
        self.association = association
        self.buffer_ratio = float(buffer_ratio)
        self.buffer_ratio_per_s = float(buffer_ratio_per_s)
        self.min_buffer_steps = float(min_buffer_steps)
        if association == "time-biou":
            TimeBufferedIoU(self.buffer_ratio, self.buffer_ratio_per_s)  # validates the ratios
        self.reset()

    # -- to implement --------------------------------------------------------------------------------------
    def _new_inner(self, frame_rate: float) -> Any:
        raise NotImplementedError

    def _inner_update(self, inner: Any, frame: Frame, dets: Any, timestamp: float | None) -> Any:
        return inner.update(dets, timestamp=timestamp)

    # -- protocol ------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every track; ids start again at 1."""
        self._inner: dict[str, Any] = {}
        self._ids: dict[tuple[str, int], int] = {}
        self._next_id = 1
        self._rate: float | None = self.frame_rate
        self._last_t: dict[int, float] = {}  # id(inner tracker) → time of its previous update
        self._steps: dict[int, deque[float]] = {}  # id(inner tracker) → its last times between updates

    @property
    def _buffer_30fps_frames(self) -> int:
        """``trackers`` counts its buffer in 30 fps frames (and its time budget as that / 30 s)."""
        return max(0, round(self.lost_track_buffer_s * 30.0))

    def _rate_for(self, frame: Frame) -> float:
        if self._rate is None:
            self._rate = float(frame.media.fps) if frame.media.fps else DEFAULT_FRAME_RATE
        return self._rate

    def update(self, frame: Frame, detections: Sequence[Detection]) -> list[TrackedDetection]:
        """Assign track ids to ``detections`` of ``frame`` (frames must come in increasing time order)."""
        rate = self._rate_for(frame)
        by_label: dict[str, list[int]] = {}
        for i, det in enumerate(detections):
            by_label.setdefault(det.label, []).append(i)
        out: list[TrackedDetection] = []
        timestamp = float(frame.t_s) if self.use_timestamps else None
        # Every known label's tracker steps forward, with or without detections, so its tracks age in time.
        for label in sorted(set(self._inner) | set(by_label)):
            rows = by_label.get(label, [])
            inner = self._inner.get(label)
            if inner is None:
                inner = self._inner[label] = self._new_inner(rate)
                if self.association == "time-biou":
                    inner.iou = TimeBufferedIoU(self.buffer_ratio, self.buffer_ratio_per_s)
            subset = [detections[i] for i in rows]
            for row, inner_id in self._step(inner, frame, subset, timestamp):
                key = (label, inner_id)
                track_id = self._ids.get(key)
                if track_id is None:
                    track_id = self._ids[key] = self._next_id
                    self._next_id += 1
                out.append(TrackedDetection(track_id, subset[row]))
        out.sort(key=lambda t: t.track_id)
        return out

    def _step(
        self, inner: Any, frame: Frame, dets: Sequence[Detection], timestamp: float | None
    ) -> list[tuple[int, int]]:
        """(row in ``dets``, inner tracker id) for each tracked detection."""
        # Keyed by id() but holding the tracklets: a track freed during this update cannot hand its id() to a
        # newborn one (that made births depend on memory layout, i.e. on Python's hash seed).
        before = {id(t): t for t in inner.tracks}
        now = frame.t_s if self.use_timestamps else float(frame.index) / (self._rate or DEFAULT_FRAME_RATE)
        gap = max(0.0, now - self._last_t.get(id(inner), now))
        self._last_t[id(inner)] = now
        if isinstance(inner.iou, TimeBufferedIoU):
            inner.iou.gap_s = gap
        if gap > 0 and self.min_buffer_steps > 0:
            steps = self._steps.setdefault(id(inner), deque(maxlen=_STEP_HISTORY))
            steps.append(gap)
            inner.maximum_time_without_update = max(
                self.lost_track_buffer_s, self.min_buffer_steps * float(np.median(steps))
            )
        sv_dets = detections_to_supervision(dets)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # duplicate/backward timestamps: handled by trackers
            result = self._inner_update(inner, frame, sv_dets, timestamp)
        rows = [int(r) for r in result.data.get("row", np.arange(len(result)))]
        ids = [int(t) for t in result.tracker_id]
        if self.minimum_consecutive_frames <= 1:
            self._activate_new(inner, before, rows=rows, ids=ids, dets=dets)
        return [(r, t) for r, t in zip(rows, ids, strict=True) if t >= 0]

    def _activate_new(
        self, inner: Any, before: Mapping[int, Any], *, rows: list[int], ids: list[int], dets: Sequence[Detection]
    ) -> None:
        """Give tracks born on this frame their id now (``trackers`` waits for a second hit)."""
        born = [t for t in inner.tracks if id(t) not in before and t.tracker_id == -1]
        if not born:
            return
        waiting = [k for k, t in enumerate(ids) if t == -1 and dets[rows[k]].score >= self.track_activation_threshold]
        if not waiting:
            return
        boxes = np.array([dets[rows[k]].box.xyxy for k in waiting], dtype=np.float64)
        for tracklet in born:
            state = np.asarray(tracklet.get_state_bbox(), dtype=np.float64).reshape(4)
            err = np.abs(boxes - state).sum(axis=1)
            j = int(np.argmin(err))
            if err[j] > 1e-2 * (1.0 + np.abs(state).sum()) or ids[waiting[j]] != -1:
                continue
            tracklet.tracker_id = inner._allocate_tracker_id()
            ids[waiting[j]] = tracklet.tracker_id
            if hasattr(tracklet, "number_of_successful_consecutive_updates"):
                tracklet.number_of_successful_consecutive_updates = max(
                    1, tracklet.number_of_successful_consecutive_updates
                )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lost_track_buffer_s={self.lost_track_buffer_s}, frame_rate={self.frame_rate})"


class ByteTrackTracker(SupervisionTrackerAdapter):
    """ByteTrack: two-stage IoU association (confident detections first, then weak ones revive lost tracks).

    Args:
        minimum_iou_threshold: least IoU between a track's predicted box and a detection to match them.
        **common: the options every tracker here takes (:class:`SupervisionTrackerAdapter`). Detections below
            ``high_conf_det_threshold`` go to the second stage, which only continues existing tracks.

    Defaults are chosen for a detector whose confident scores sit around 0.45–0.6 (SSD-OIDv4 people) and for
    sampled video: a 2 s buffer outlives a 1 fps stride, IoU 0.1 tolerates the displacement of a walking
    person between sampled frames. The upstream defaults (activation 0.7, high 0.6, buffer 1 s, 2 hits) are
    ``ByteTrackTracker.upstream_defaults()``.
    """

    name = "bytetrack"

    def __init__(self, *, minimum_iou_threshold: float = 0.1, **common: Any) -> None:
        self.minimum_iou_threshold = _check_probability(minimum_iou_threshold, "minimum_iou_threshold")
        super().__init__(**common)

    @classmethod
    def upstream_defaults(cls, **overrides: Any) -> ByteTrackTracker:
        """The ``trackers`` package's own defaults (buffer 30 frames at 30 fps = 1 s; 2 hits to confirm)."""
        options: dict[str, Any] = {
            "track_activation_threshold": 0.7,
            "high_conf_det_threshold": 0.6,
            "minimum_iou_threshold": 0.1,
            "lost_track_buffer_s": 1.0,
            "minimum_consecutive_frames": 2,
            "association": "iou",
        }
        options.update(overrides)
        return cls(**options)

    def _new_inner(self, frame_rate: float) -> Any:
        from trackers import ByteTrackTracker as UpstreamByteTrack

        return UpstreamByteTrack(
            lost_track_buffer=self._buffer_30fps_frames,
            frame_rate=frame_rate,
            track_activation_threshold=self.track_activation_threshold,
            minimum_consecutive_frames=self.minimum_consecutive_frames,
            minimum_iou_threshold=self.minimum_iou_threshold,
            high_conf_det_threshold=self.high_conf_det_threshold,
        )
