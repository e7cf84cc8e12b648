"""BoT-SORT (roboflow ``trackers``) with an appearance gate of ours, behind the Tracker protocol.

``trackers`` 2.6 ``BoTSORTTracker`` associates by IoU fused with detection scores (three stages: confirmed +
lost tracks with confident boxes, tracked ones with weak boxes, unconfirmed tracks) and can compensate camera
motion, but has no appearance (re-ID) model. We add one without vendoring its code:

* each detection gets a colour embedding: an HSV histogram (8 hue × 4 saturation × 4 value bins) of the middle
  of its box (the central 60 % of the width, 10–90 % of the height: less background), square-rooted and
  L2-normalised, so the dot product is the Bhattacharyya coefficient (1 = same colours);
* each track keeps an exponential moving average of its detections' embeddings (``appearance_momentum``);
* in every association stage a track–box pair whose cosine similarity is below ``appearance_threshold`` gets
  similarity 0 (cannot match), and the rest keep their IoU-based similarity: the gate stops id swaps between
  people who cross, without letting colour alone pull far-apart boxes together.

Time handling, per-label trackers and ids are as in :mod:`sightings.vision.track.bytetrack`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError
from sightings.core.types import Frame
from sightings.vision.track.background import BackgroundModel
from sightings.vision.track.bytetrack import _STEP_HISTORY, SupervisionTrackerAdapter, _check_probability
from sightings.vision.track.postprocess import median_step_s

__all__ = ["MIN_FOREGROUND_SHARE", "BotSortTracker", "hsv_embedding"]

_BINS = (8, 4, 4)
MIN_FOREGROUND_SHARE = 0.2
"""with a foreground mask, a crop with less than this share of foreground pixels is described by all of them"""


def hsv_embedding(
    image: npt.NDArray[np.uint8],
    xyxy: Sequence[float],
    *,
    achromatic: bool = False,
    bins: tuple[int, int, int] = _BINS,
    space: str = "HSV",
    foreground: Callable[[int, int, int, int], npt.NDArray[np.bool_]] | None = None,
) -> npt.NDArray[np.float32]:
    """Colour embedding of the box ``xyxy`` of an RGB image: sqrt of a normalised HSV histogram (128-d, unit norm).

    With ``achromatic`` the least-saturated pixels (the lowest saturation bin) all go to hue bin 0: the hue of white,
    grey and black is noise, which otherwise spreads one white shirt over random hue bins from frame to frame.
    ``bins`` and ``space`` (a PIL mode, e.g. ``"LAB"``) give other grids and colour spaces (benchmarks compare them).
    ``foreground(x1, y1, x2, y2)`` gives a mask of the pixels to count in that crop (e.g. those that differ from a
    fixed camera's background: :mod:`~sightings.vision.track.background`); below :data:`MIN_FOREGROUND_SHARE` of
    them, all pixels count. The gate uses it at sparse steps (``appearance_foreground_step_s``).
    """
    from PIL import Image

    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    bw, bh = x2 - x1, y2 - y1
    cx1, cx2 = int(max(0, x1 + 0.2 * bw)), int(min(w, x2 - 0.2 * bw))
    cy1, cy2 = int(max(0, y1 + 0.1 * bh)), int(min(h, y2 - 0.1 * bh))
    dim = bins[0] * bins[1] * bins[2]
    if cx2 - cx1 < 2 or cy2 - cy1 < 2:
        return np.full(dim, 1.0 / np.sqrt(dim), np.float32)
    crop = np.ascontiguousarray(image[cy1:cy2, cx1:cx2])
    hsv = np.asarray(Image.fromarray(crop).convert(space), dtype=np.int32).reshape(-1, 3)
    if foreground is not None:
        mask = foreground(cx1, cy1, cx2, cy2).reshape(-1)
        if mask.mean() >= MIN_FOREGROUND_SHARE:
            hsv = hsv[mask]
    hue, sat = hsv[:, 0] * bins[0] // 256, hsv[:, 1] * bins[1] // 256
    if achromatic:
        hue = np.where(sat == 0, 0, hue)
    idx = hue * (bins[1] * bins[2]) + sat * bins[2] + (hsv[:, 2] * bins[2] // 256)
    hist = np.bincount(idx, minlength=dim).astype(np.float32)
    vec = np.sqrt(hist / max(1.0, float(hist.sum())))
    out: npt.NDArray[np.float32] = (vec / max(1e-12, float(np.linalg.norm(vec)))).astype(np.float32)
    return out


def _key(box: npt.ArrayLike) -> tuple[float, ...]:
    return tuple(np.round(np.asarray(box, dtype=np.float64).reshape(4), 2).tolist())


class BotSortTracker(SupervisionTrackerAdapter):
    """BoT-SORT association + colour-histogram appearance gate.

    Args:
        minimum_iou_threshold_first_assoc: least fused similarity (IoU × score) to match in the first stage.
        minimum_iou_threshold_second_assoc: least IoU to match a weak detection to a tracked track.
        minimum_iou_threshold_unconfirmed_assoc: least fused similarity to continue an unconfirmed track.
        appearance: use the colour gate (False = plain ``trackers`` BoT-SORT).
        appearance_threshold: least cosine similarity of colour embeddings for a track and a box to match (0.85:
            chosen on PETS09 frames 1–200, docs/tracking.md).
        appearance_achromatic: one hue bin for low-saturation pixels in the gate's histograms (see
            :func:`hsv_embedding`).
        appearance_momentum: weight of the old embedding in a track's moving average.
        appearance_foreground_step_s: where analysed frames are at least this many seconds apart (the median of the
            last few steps), the gate's histograms count only the pixels that differ from the camera's background,
            learnt while tracking (:mod:`~sightings.vision.track.background`); 0 = never. At such steps people move
            metres between frames, and colour is what tells them apart (chosen on unseen sampling phases of
            PETS09, docs/tracking.md); denser, the gate keeps the whole-box histograms its threshold was chosen on.
        enable_cmc: camera motion compensation (sparse optical flow; costs time; off for fixed cameras).
        **common: the options every tracker here takes
            (:class:`~sightings.vision.track.bytetrack.SupervisionTrackerAdapter`). ``high_conf_det_threshold``
            splits first-stage (confident) from second-stage (weak) detections.
    """

    name = "botsort"

    def __init__(
        self,
        *,
        minimum_iou_threshold_first_assoc: float = 0.05,
        minimum_iou_threshold_second_assoc: float = 0.3,
        minimum_iou_threshold_unconfirmed_assoc: float = 0.1,
        appearance: bool = True,
        appearance_threshold: float = 0.85,
        appearance_achromatic: bool = True,
        appearance_momentum: float = 0.8,
        appearance_foreground_step_s: float = 2.0,
        enable_cmc: bool = False,
        **common: Any,
    ) -> None:
        self.min_first = _check_probability(minimum_iou_threshold_first_assoc, "minimum_iou_threshold_first_assoc")
        self.min_second = _check_probability(minimum_iou_threshold_second_assoc, "minimum_iou_threshold_second_assoc")
        self.min_unconfirmed = _check_probability(
            minimum_iou_threshold_unconfirmed_assoc, "minimum_iou_threshold_unconfirmed_assoc"
        )
        self.appearance = bool(appearance)
        self.appearance_threshold = float(appearance_threshold)
        if not -1.0 <= self.appearance_threshold <= 1.0:
            raise ConfigError(f"must be in [-1, 1], got {appearance_threshold}", where="tracker.appearance_threshold")
        self.appearance_achromatic = bool(appearance_achromatic)
        self.appearance_momentum = _check_probability(appearance_momentum, "appearance_momentum")
        step = appearance_foreground_step_s
        if not (isinstance(step, int | float) and not isinstance(step, bool) and 0.0 <= step < float("inf")):
            raise ConfigError(
                f"must be a number of seconds >= 0, got {step!r}", where="tracker.appearance_foreground_step_s"
            )
        self.appearance_foreground_step_s = float(step)
        self.enable_cmc = bool(enable_cmc)
        self.embed_boxes: Callable[[Frame, Any], dict[tuple[float, ...], npt.NDArray[np.float32]]] | None = None
        """replaces :meth:`colour_embeddings` (the backward consistency pass replays the colours it recorded)"""
        super().__init__(**common)

    def _new_inner(self, frame_rate: float) -> Any:
        from trackers import BoTSORTTracker

        owner = self

        class _GatedBoTSORT(BoTSORTTracker):
            """Upstream BoT-SORT whose IoU matrices are gated by colour similarity."""

            frame_embeddings: dict[tuple[float, ...], npt.NDArray[np.float32]]

            def _get_iou_matrix(self, tracks: Any, boxes: Any, predicted: Any) -> Any:
                sim = super()._get_iou_matrix(tracks, boxes, predicted)
                if not owner.appearance or sim.size == 0:
                    return sim
                track_emb = [getattr(t, "sightings_embedding", None) for t in tracks]
                box_emb = [self.frame_embeddings.get(_key(b)) for b in boxes]
                for i, te in enumerate(track_emb):
                    if te is None:
                        continue
                    for j, be in enumerate(box_emb):
                        if be is not None and float(te @ be) < owner.appearance_threshold:
                            sim[i, j] = 0.0
                return sim

        inner = _GatedBoTSORT(
            lost_track_buffer=self._buffer_30fps_frames,
            frame_rate=frame_rate,
            track_activation_threshold=self.track_activation_threshold,
            minimum_consecutive_frames=self.minimum_consecutive_frames,
            minimum_iou_threshold_first_assoc=self.min_first,
            minimum_iou_threshold_second_assoc=self.min_second,
            minimum_iou_threshold_unconfirmed_assoc=self.min_unconfirmed,
            high_conf_det_threshold=self.high_conf_det_threshold,
            enable_cmc=self.enable_cmc,
        )
        inner.frame_embeddings = {}
        return inner

    def reset(self) -> None:
        super().reset()
        self._background = BackgroundModel() if self.appearance_foreground_step_s > 0 else None
        self._colour_times: deque[float] = deque(maxlen=_STEP_HISTORY + 1)

    def _foreground(self, frame: Frame) -> Callable[[int, int, int, int], npt.NDArray[np.bool_]] | None:
        """The foreground mask of ``frame`` for the gate's histograms, or None (whole boxes): only where analysed
        frames are at least ``appearance_foreground_step_s`` apart, and once the background is learnt. The
        background learns from each frame once, unless the frames are known to come denser than that."""
        if self._background is None:
            return None
        times = self._colour_times
        if not times or frame.t_s > times[-1]:
            times.append(frame.t_s)
        if len(times) > 1 and median_step_s(times) < self.appearance_foreground_step_s - 1e-9:
            return None
        self._background.update(frame.image, frame.t_s)  # a frame already in the ring (another label) is skipped
        return partial(self._background.foreground, frame.image) if self._background.ready else None

    def colour_embeddings(self, frame: Frame, boxes: Any) -> dict[tuple[float, ...], npt.NDArray[np.float32]]:
        """The gate's colour embedding of each box (rows of ``boxes``, xyxy) in ``frame``, keyed by the rounded box:
        over the foreground pixels at sparse steps (``appearance_foreground_step_s``)."""
        achromatic, mask = self.appearance_achromatic, self._foreground(frame)
        return {_key(b): hsv_embedding(frame.image, b, achromatic=achromatic, foreground=mask) for b in boxes}

    def _inner_update(self, inner: Any, frame: Frame, dets: Any, timestamp: float | None) -> Any:
        if not self.appearance:
            bgr = np.ascontiguousarray(frame.image[..., ::-1]) if self.enable_cmc else None
            return inner.update(dets, frame=bgr, timestamp=timestamp)
        read = self.embed_boxes if self.embed_boxes is not None else self.colour_embeddings
        embeddings = read(frame, dets.xyxy)
        inner.frame_embeddings = embeddings
        # id(tracklet) → (tracklet, embedding): holding the tracklet keeps its id() from being reused this frame
        matched: dict[int, tuple[Any, npt.NDArray[np.float32]]] = {}

        def hook(tracklet: Any, original: Any) -> Any:
            def update(bbox: Any) -> Any:
                emb = embeddings.get(_key(bbox))
                if emb is not None:
                    matched[id(tracklet)] = (tracklet, emb)
                return original(bbox)

            return update

        for t in inner.tracks:
            t.update = hook(t, type(t).update.__get__(t))
        bgr = np.ascontiguousarray(frame.image[..., ::-1]) if self.enable_cmc else None
        result = inner.update(dets, frame=bgr, timestamp=timestamp)
        m = self.appearance_momentum
        for t in inner.tracks:
            t.__dict__.pop("update", None)
            old = getattr(t, "sightings_embedding", None)
            hit = matched.get(id(t))
            new = hit[1] if hit is not None and hit[0] is t else None
            if old is None and new is None:
                # born this frame: its state box is the detection box
                new = embeddings.get(_key(t.get_state_bbox()))
                if new is None and embeddings:
                    state = np.asarray(t.get_state_bbox(), np.float64).reshape(4)
                    nearest = min(embeddings, key=lambda k: float(np.abs(np.asarray(k) - state).sum()))
                    new = embeddings[nearest]
                t.sightings_embedding = new
            elif new is not None:
                mixed = new if old is None else m * old + (1 - m) * new
                t.sightings_embedding = mixed / max(1e-12, float(np.linalg.norm(mixed)))
        inner.frame_embeddings = {}
        return result
