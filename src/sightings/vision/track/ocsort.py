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
from sightings.vision.track.bytetrack import SupervisionTrackerAdapter, _check_probability

__all__ = ["OcSortTracker"]


class OcSortTracker(SupervisionTrackerAdapter):
    """OC-SORT: IoU + direction consistency, re-update after occlusion, recovery by last observation.

    Args:
        minimum_iou_threshold: least IoU between a track's predicted box and a detection to match them.
        direction_consistency_weight: weight of the direction term in the match cost (0 = IoU only).
        delta_t: analysed steps back to estimate a track's direction from.
        **common: the options every tracker here takes
            (:class:`~sightings.vision.track.bytetrack.SupervisionTrackerAdapter`). Detections below
            ``high_conf_det_threshold`` are not associated (returned untracked).

    Thresholds and buffers are those of our ByteTrack (chosen for sampled video and CenterNet/SSD scores); the
    OC-SORT terms keep the upstream values (``direction_consistency_weight`` 0.2, ``delta_t`` 3).
    """

    name = "ocsort"

    def __init__(
        self,
        *,
        minimum_iou_threshold: float = 0.1,
        direction_consistency_weight: float = 0.2,
        delta_t: int = 3,
        **common: Any,
    ) -> None:
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
        super().__init__(**common)

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
