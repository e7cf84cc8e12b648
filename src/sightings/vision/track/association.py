"""Box similarity for association when frames are far apart in time: buffered IoU that grows with the gap.

At a full frame rate a person's box overlaps its previous position, and plain IoU associates well. Sample one
frame per second and a walking person has moved a body width or more: IoU is 0 and every track breaks. The
Buffered IoU of C-BIoU (Yang et al., WACV 2023) widens both boxes by ``r`` × their size before the overlap
is taken; :class:`TimeBufferedIoU` makes ``r`` a function of the time since the previous update,

    r(Δt) = buffer_ratio + buffer_ratio_per_s × Δt   (clipped to max_buffer_ratio),

so the search region grows with the distance an object can have walked. The tracker adapter sets
:attr:`TimeBufferedIoU.gap_s` before each update. ``trackers``' own ``BIoU`` does the geometry.

Defaults (0.3 + 2.0/s, at most 3.0) were chosen on PETS09-S2L1 frames 1–200 only (see docs/tracking.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sightings.core.errors import ConfigError

__all__ = ["DEFAULT_BUFFER_RATIO", "DEFAULT_BUFFER_RATIO_PER_S", "TimeBufferedIoU"]

DEFAULT_BUFFER_RATIO = 0.3
DEFAULT_BUFFER_RATIO_PER_S = 2.0
DEFAULT_MAX_BUFFER_RATIO = 3.0


def _non_negative(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ConfigError(f"must be a number >= 0, got {value!r}", where=f"tracker.{name}")
    return float(value)


class TimeBufferedIoU:
    """Buffered IoU whose buffer ratio grows linearly with the time gap between updates.

    Implements ``trackers.utils.iou.BaseIoU``'s interface (``compute`` and ``normalize_for_fusion``) by
    delegating to a ``BIoU`` rebuilt whenever the ratio changes.
    """

    def __init__(
        self,
        buffer_ratio: float = DEFAULT_BUFFER_RATIO,
        buffer_ratio_per_s: float = DEFAULT_BUFFER_RATIO_PER_S,
        max_buffer_ratio: float = DEFAULT_MAX_BUFFER_RATIO,
    ) -> None:
        from trackers.utils.iou import BIoU

        self._biou_class = BIoU
        self.buffer_ratio = _non_negative(buffer_ratio, "buffer_ratio")
        self.buffer_ratio_per_s = _non_negative(buffer_ratio_per_s, "buffer_ratio_per_s")
        self.max_buffer_ratio = _non_negative(max_buffer_ratio, "max_buffer_ratio")
        self.gap_s = 0.0
        self._metric: Any = BIoU(self.buffer_ratio)

    @property
    def ratio(self) -> float:
        """The buffer ratio for the current :attr:`gap_s`."""
        return min(self.max_buffer_ratio, self.buffer_ratio + self.buffer_ratio_per_s * max(0.0, self.gap_s))

    def _current(self) -> Any:
        r = self.ratio
        if self._metric.buffer_ratio != r:
            self._metric = self._biou_class(r)
        return self._metric

    def compute(self, boxes_1: np.ndarray, boxes_2: np.ndarray) -> np.ndarray:
        """(N, M) buffered IoU between two sets of ``xyxy`` boxes."""
        out: np.ndarray = self._current().compute(boxes_1, boxes_2)
        return out

    def normalize_for_fusion(self, matrix: np.ndarray) -> np.ndarray:
        out: np.ndarray = self._current().normalize_for_fusion(matrix)
        return out

    def __repr__(self) -> str:
        return (
            f"TimeBufferedIoU(buffer_ratio={self.buffer_ratio}, buffer_ratio_per_s={self.buffer_ratio_per_s}, "
            f"max_buffer_ratio={self.max_buffer_ratio})"
        )
