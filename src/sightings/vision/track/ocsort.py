"""OC-SORT (roboflow ``trackers``) behind the :class:`~sightings.core.protocols.Tracker` protocol.

OC-SORT (Cao et al., CVPR 2023) keeps SORT's Kalman filter and IoU matching but trusts observations over the
filter's guesses: when a lost track is found again its state is re-fitted along a virtual path between the last
and the new box (observation-centric re-update), the match cost adds how well a box continues the track's recent
direction (observation-centric momentum, ``direction_consistency_weight`` over ``delta_t`` steps), and boxes left
unmatched get a second chance against the tracks' *last observed* boxes (observation-centric recovery). It has
no appearance model.

Time, ids, the lost-track buffer in seconds (never shorter than ``min_buffer_steps`` analysed steps) and the
time-buffered IoU are as in :mod:`sightings.vision.track.bytetrack`; the buffered IoU replaces plain IoU in the
first association only (recovery uses plain IoU against the last observed box, as in the paper). Detections
below ``high_conf_det_threshold`` neither match nor start tracks (OC-SORT has no low-score stage).

Measured against BoT-SORT on PETS09 in docs/tracking.md ("OC-SORT").
"""

from __future__ import annotations

from typing import Any

from sightings.core.errors import ConfigError
from sightings.vision.track.association import DEFAULT_BUFFER_RATIO, DEFAULT_BUFFER_RATIO_PER_S
from sightings.vision.track.bytetrack import DEFAULT_MIN_BUFFER_STEPS, SupervisionTrackerAdapter, _check_probability

__all__ = ["OcSortTracker"]


class OcSortTracker(SupervisionTrackerAdapter):
    """OC-SORT: IoU + direction consistency, re-update after occlusion, recovery by last observation.

    Args:
        track_activation_threshold: minimum score of a detection that starts a new track.
        high_conf_det_threshold: detections below this are not associated (returned untracked).
        minimum_iou_threshold: least IoU between a track's predicted box and a detection to match them.
        direction_consistency_weight: weight of the direction term in the match cost (0 = IoU only).
        delta_t: analysed steps back to estimate a track's direction from.
        lost_track_buffer_s: seconds a lost track is kept (time-based, same at any stride).
        frame_rate: native frame rate; default: the first frame's ``media.fps`` (else 25).
        minimum_consecutive_frames: hits before a track gets an id (1 = at birth).
        use_timestamps: step the motion model by presentation times.
        association, buffer_ratio, buffer_ratio_per_s: box similarity, as for
            :class:`~sightings.vision.track.bytetrack.ByteTrackTracker` (time-buffered IoU by default).
        min_buffer_steps: keep a lost track at least this many analysed steps (0 = ``lost_track_buffer_s`` only).

    Thresholds and buffers are those of our ByteTrack (chosen for sampled video and CenterNet/SSD scores); the
    OC-SORT terms keep the upstream values (``direction_consistency_weight`` 0.2, ``delta_t`` 3).
    """

    name = "ocsort"

    def __init__(
        self,
        *,
        track_activation_threshold: float = 0.45,
        high_conf_det_threshold: float = 0.45,
        minimum_iou_threshold: float = 0.1,
        direction_consistency_weight: float = 0.2,
        delta_t: int = 3,
        lost_track_buffer_s: float = 2.0,
        frame_rate: float | None = None,
        minimum_consecutive_frames: int = 1,
        use_timestamps: bool = True,
        association: str = "time-biou",
        buffer_ratio: float = DEFAULT_BUFFER_RATIO,
        buffer_ratio_per_s: float = DEFAULT_BUFFER_RATIO_PER_S,
        min_buffer_steps: float = DEFAULT_MIN_BUFFER_STEPS,
    ) -> None:
        self.high_conf_det_threshold = _check_probability(high_conf_det_threshold, "high_conf_det_threshold")
        self.minimum_iou_threshold = _check_probability(minimum_iou_threshold, "minimum_iou_threshold")
        weight = direction_consistency_weight
        if not (isinstance(weight, int | float) and not isinstance(weight, bool) and 0.0 <= weight <= 10.0):
            raise ConfigError(
                f"must be a number in [0, 10], got {weight!r}", where="tracker.direction_consistency_weight"
            )
        if not (isinstance(delta_t, int) and not isinstance(delta_t, bool) and delta_t >= 1):
            raise ConfigError(f"must be an integer >= 1, got {delta_t!r}", where="tracker.delta_t")
        self.direction_consistency_weight = float(weight)
        self.delta_t = delta_t
        super().__init__(
            lost_track_buffer_s=lost_track_buffer_s,
            frame_rate=frame_rate,
            track_activation_threshold=track_activation_threshold,
            minimum_consecutive_frames=minimum_consecutive_frames,
            use_timestamps=use_timestamps,
            association=association,
            buffer_ratio=buffer_ratio,
            buffer_ratio_per_s=buffer_ratio_per_s,
            min_buffer_steps=min_buffer_steps,
        )

    def _new_inner(self, frame_rate: float) -> Any:
        from trackers import OCSORTTracker

        return OCSORTTracker(
            lost_track_buffer=self._buffer_30fps_frames,
            frame_rate=frame_rate,
            minimum_consecutive_frames=self.minimum_consecutive_frames,
            minimum_iou_threshold=self.minimum_iou_threshold,
            direction_consistency_weight=self.direction_consistency_weight,
            high_conf_det_threshold=self.high_conf_det_threshold,
            delta_t=self.delta_t,
        )
