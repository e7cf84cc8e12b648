"""A fixed camera's empty scene, learnt while it is tracked, and which pixels of a box differ from it.

Store and street cameras do not move. The per-pixel median of a handful of frames taken seconds apart is the scene
without the people who walk through it, so the pixels of a person box that differ from it are the person; the rest
is floor, wall or grass. Colour histograms over those pixels tell people apart better: on PETS09-S2L1 ground-truth
boxes (``benchmarks/bench_person_appearance.py``) ROC AUC 0.910 against 0.881 for the whole box (held out 0.943
against 0.919). BoT-SORT's colour gate uses them at sparse steps (``BotSortTracker.appearance_foreground_step_s``;
docs/tracking.md).

:class:`BackgroundModel` is causal, so it runs while tracking: a ring of the last :data:`RING_FRAMES` analysed
frames taken at least :data:`MIN_INTERVAL_S` apart, each downscaled to at most :data:`MAX_WIDTH` pixels wide; the
background is their per-pixel median, recomputed when a frame joins. A pixel is foreground when one of its RGB
channels differs from the (nearest-upscaled) background by more than :data:`THRESHOLD`. Until :data:`MIN_FRAMES`
frames are in the ring there is no background, and callers use the whole box. Someone who stands still for most
of the ring's span becomes background; their box then has few foreground pixels, and the histogram falls back to
all of them (``botsort.MIN_FOREGROUND_SHARE``). Memory: 15 small frames (about 3.5 MB at 320 × 240).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_WIDTH", "MIN_FRAMES", "MIN_INTERVAL_S", "RING_FRAMES", "THRESHOLD", "BackgroundModel"]

RING_FRAMES = 15
"""frames whose median is the background"""
MIN_INTERVAL_S = 2.0
"""a frame joins the ring only this long after the last one that did (people move between them)"""
MAX_WIDTH = 320
"""frames are kept downscaled to at most this width (memory, and the median's time)"""
THRESHOLD = 30
"""least difference (0-255, in any RGB channel) from the background for a pixel to be foreground"""
MIN_FRAMES = 3
"""no background (no mask) until this many frames are in the ring"""


class BackgroundModel:
    """The median of the last few analysed frames of a fixed camera (see the module text): offer every analysed
    frame to :meth:`update` in time order, then ask :meth:`foreground` for a crop's mask."""

    def __init__(self) -> None:
        self._ring: deque[npt.NDArray[np.uint8]] = deque(maxlen=RING_FRAMES)
        self._last_t: float | None = None
        self._step = 1
        self._shape: tuple[int, int] | None = None
        self._background: npt.NDArray[np.int16] | None = None

    @property
    def ready(self) -> bool:
        """Whether there is a background yet (:data:`MIN_FRAMES` frames in the ring)."""
        return self._background is not None

    def update(self, image: npt.NDArray[np.uint8], t_s: float) -> None:
        """Offer the analysed frame ``image`` (RGB) at ``t_s`` seconds: it joins the ring when it comes at least
        :data:`MIN_INTERVAL_S` after the last frame that did. A frame of another size starts the ring again."""
        h, w = image.shape[:2]
        if self._shape != (h, w):
            self._ring.clear()
            self._last_t, self._background, self._shape = None, None, (h, w)
            self._step = max(1, -(-w // MAX_WIDTH))  # every step-th pixel: the width stays <= MAX_WIDTH
        if self._last_t is not None and t_s - self._last_t < MIN_INTERVAL_S:
            return
        self._last_t = t_s
        self._ring.append(np.ascontiguousarray(image[:: self._step, :: self._step]))
        if len(self._ring) >= MIN_FRAMES:
            self._background = np.median(np.stack(self._ring), axis=0).astype(np.int16)

    def foreground(self, image: npt.NDArray[np.uint8], x1: int, y1: int, x2: int, y2: int) -> npt.NDArray[np.bool_]:
        """The foreground mask of ``image[y1:y2, x1:x2]`` (pixel coordinates inside the image); all True until the
        model is :attr:`ready`."""
        crop = image[y1:y2, x1:x2]
        if self._background is None:
            return np.ones(crop.shape[:2], bool)
        ys = np.minimum(np.arange(y1, y2) // self._step, self._background.shape[0] - 1)
        xs = np.minimum(np.arange(x1, x2) // self._step, self._background.shape[1] - 1)
        differs: npt.NDArray[np.bool_] = (np.abs(crop.astype(np.int16) - self._background[ys][:, xs]) > THRESHOLD).any(
            axis=2
        )
        return differs
