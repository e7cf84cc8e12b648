"""Offline tracklet linking: re-join tracks that a tracker broke (occlusions, missed detections, sparse frames).

An online tracker ends a track when a person has not been matched for its lost-track buffer (2 s) and starts a
new id when they reappear; at a sparse frame stride boxes stop overlapping and tracks break even more. When the
whole video is processed before the tracks are used, the pieces ("tracklets") can be joined afterwards:

* **candidates**: a tracklet *A* that ends at ``t_end`` and a tracklet *B* of the same label that starts at
  ``t_start`` with ``0 < t_start − t_end ≤ max_gap_s`` (two tracklets that overlap in time are never linked);
* **cost** = position + ``size_weight`` × size + ``appearance_weight`` × appearance:

  - *position*: *A*'s box centre extrapolated forward at constant velocity (fitted on its last
    ``velocity_window_s``, at least its last two boxes) to ``t_start``, and *B*'s extrapolated backward to
    ``t_end``; the mean of the two misses, divided by the box height and by ``1 + position_growth_per_s × gap``
    (a prediction gets less certain the longer the gap). A side too short for a velocity borrows the other's;
    speeds are clipped to ``MAX_SPEED_HEIGHTS_PER_S``. With ``may_stop`` (the default) the person may also have
    stopped anywhere along that path: the miss is the distance to the segment from the last position to the
    extrapolated one. A person hidden behind someone for ten seconds mostly stands where they vanished, and
    constant velocity would put them metres away;
  - *size*: ``|ln(height_A / height_B)|`` (medians over the same windows);
  - *appearance* (optional, when descriptors are given): 1 − the Bhattacharyya coefficient of HSV colour
    histograms of the boxes' upper and lower body halves (:func:`body_colour_descriptor`, built on BoT-SORT's
    :func:`~sightings.vision.track.botsort.hsv_embedding`), averaged over each end's last/first boxes; or, when
    :class:`AppearanceCollector` was given an embedder (a person re-ID model), 1 − the cosine similarity of the
    ends' mean embeddings;

* **two stages**: gaps of up to ``short_gap_s`` (3 s) are linked first, by constant velocity alone; then gaps of up
  to ``max_gap_s`` (15 s), among the tracks still unlinked, with ``may_stop`` and a gate that stops widening after
  ``short_gap_s`` (where a person stopped gets no less certain while they stand there). Short links are the surer
  ones; in one stage, the gate that widens with the gap would make a long "stopped" link cheaper than a short one;
* **doorways** (optional, ``LinkOptions.doorways``: pixel polygons where people enter and leave the picture, such
  as a shop's door): in the second stage, a track that ended with its foot point in a doorway is not joined to one
  that began in a doorway. Someone left and someone else came in; "stopped while hidden" does not apply. (`retail
  run` passes each camera's entrance zones.) Short links (the first stage) are made as before;
* **veto** (optional, ``veto``): pairs a caller rules out, in both stages; ``finish_rows`` passes the backward
  tracking pass's (:class:`~sightings.vision.track.consistency.BackwardVeto`) when analysed frames are at least
  ``backward_veto_step_s`` (2 s) apart;
* **assignment**: Hungarian (``scipy.optimize.linear_sum_assignment``) over all end → start pairs with position
  ≤ ``max_position`` and cost ≤ ``max_cost``, each end and each start also free to stay unlinked at half the gate
  (so a pair is linked only when that beats leaving both alone); repeated on the joined tracks until a round
  links nothing (chains A → B → C);
* **pruning** (optional): tracks still unlinked and present less than ``min_len_s`` are dropped; presence is first
  to last box plus one sampling step (the median time between analysed frames), so at one frame per 3 s a single
  box counts as 3 s, as the retail rules count it. Tracks seen in the first or last analysed frame are kept (the
  video cut them: their true length is unknown).

Works from rows alone (a MOT file read back: no appearance). Default values were chosen on PETS09-S2L1 frames
1–200 only (docs/tracking.md, "Tracklet linking"). Linking runs before gap interpolation, so joined gaps can be
filled.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError
from sightings.core.geometry import Polygon, point_in_polygon
from sightings.core.protocols import Embedder
from sightings.core.types import Box
from sightings.vision.track.postprocess import TrackedBoxRow, median_step_s

__all__ = [
    "APPEARANCE_METRICS",
    "DEFAULT_LINK_S",
    "MIN_CROP_PX",
    "AppearanceCollector",
    "EndAppearance",
    "LinkOptions",
    "LinkPlan",
    "LinkVeto",
    "LinkableRow",
    "apply_links",
    "body_colour_descriptor",
    "link_tracklets",
    "plan_links",
]

DEFAULT_LINK_S = 15.0
"""Default longest gap (seconds) a link may bridge: ``sightings track --link-s`` and ``RetailConfig.link_s``.
15 s with :attr:`LinkOptions.may_stop`, chosen on PETS09 frames 1-200 (docs/tracking.md, "Linking across
occlusions"); 3 s before 2026-11-30."""
MAX_SPEED_HEIGHTS_PER_S = 2.0
"""Fitted speeds are clipped to this many box heights per second (a running person) before extrapolating."""
_UNLINKABLE = 1e9


LinkableRow = TrackedBoxRow
"""A tracked box in one frame (``label`` is read when the row has one): the rows gap interpolation takes too."""


R = TypeVar("R", bound=LinkableRow)

LinkVeto = Callable[[Sequence[int], float, Sequence[int], float], bool]
"""``veto(ending, t_end, starting, t_start)``: True when the track made of pieces ``ending`` (ids of the input rows,
in time order), which ends at ``t_end``, must not be joined to the one made of ``starting``, which starts at
``t_start`` (:class:`~sightings.vision.track.consistency.BackwardVeto`)."""


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """How tracklets are linked (see the module text for the cost). Seconds throughout, never frames."""

    max_gap_s: float = DEFAULT_LINK_S
    """longest time from one tracklet's last box to the next one's first box"""
    max_cost: float = 1.0
    """gate on the total cost"""
    max_position: float = 1.0
    """gate on the position term alone (normalised miss)"""
    size_weight: float = 1.0
    appearance_weight: float = 0.5
    position_growth_per_s: float = 0.5
    velocity_window_s: float = 1.0
    """fit the velocity (and take heights, colours) over this much of each end"""
    min_len_s: float = 3.0
    """drop tracks still unlinked present less than this: first to last box + one sampling step (0 = keep all)"""
    short_gap_s: float = 3.0
    """links over gaps up to this are made first, by constant velocity; longer gaps (up to ``max_gap_s``) are
    linked afterwards, among the tracks still unlinked (``max_gap_s`` ≤ this: one stage, as before 2026-11-30)"""
    may_stop: bool = True
    """in the second stage, the prediction also allows that the person stopped anywhere along the extrapolated
    path (standing behind someone, waiting): the miss is the distance to that segment instead of to its far end"""
    doorways: tuple[tuple[tuple[float, float], ...], ...] = ()
    """pixel polygons where people enter and leave (a shop's door): no second-stage link from a track that ended
    in one to a track that began in one"""
    backward_hold: int = 3
    """before linking, cut each track where a backward tracking pass gives its boxes another id for at least this
    many boxes (:mod:`~sightings.vision.track.consistency`; 0 = no backward pass). Chosen on PETS09 frames 1-200
    (3 over 1; docs/tracking.md)"""
    backward_veto_step_s: float = 2.0
    """in videos analysed this many seconds apart or more (the median step), the backward pass also vetoes links
    (:class:`~sightings.vision.track.consistency.BackwardVeto`; 0 = never). Adopted by a rule fixed before its run
    on unseen sampling phases of PETS09 (docs/tracking.md); at 1 analysis fps and denser it does not apply"""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "may_stop":
                if not isinstance(value, bool):
                    raise ConfigError(f"must be true or false, got {value!r}", where=f"link.{f.name}")
                continue
            if f.name == "doorways":
                object.__setattr__(self, "doorways", _polygons(value))
                continue
            if f.name == "backward_hold" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ConfigError(f"must be a whole number >= 0, got {value!r}", where=f"link.{f.name}")
            if not (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)):
                raise ConfigError(f"must be a finite number, got {value!r}", where=f"link.{f.name}")
            if value < 0:
                raise ConfigError(f"must be >= 0, got {value!r}", where=f"link.{f.name}")


def _polygons(value: object) -> tuple[tuple[tuple[float, float], ...], ...]:
    """``value`` as a tuple of polygons of ≥ 3 finite (x, y) points, or a ConfigError naming ``link.doorways``."""
    try:
        out = tuple(tuple((float(x), float(y)) for x, y in polygon) for polygon in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ConfigError(f"must be a list of polygons [[x, y], ...], got {value!r}", where="link.doorways") from None
    for polygon in out:
        if len(polygon) < 3 or not all(math.isfinite(c) for point in polygon for c in point):
            raise ConfigError(f"a polygon needs at least 3 finite points, got {polygon!r}", where="link.doorways")
    return out


def _in_doorway(point: npt.NDArray[np.float64], doorways: Sequence[Polygon]) -> bool:
    return any(point_in_polygon(float(point[0]), float(point[1]), polygon) for polygon in doorways)


@dataclass(frozen=True, slots=True)
class EndAppearance:
    """Mean descriptors of a track's first and last boxes, and how two of them are compared (``metric``).

    ``"colour"``: :func:`body_colour_descriptor`-shaped (two unit-norm halves, Bhattacharyya); ``"cosine"``: one
    unit vector from an embedder (a person re-ID model), compared by cosine distance."""

    start: npt.NDArray[np.float32]
    end: npt.NDArray[np.float32]
    metric: str = "colour"


@dataclass(frozen=True, slots=True)
class LinkPlan:
    """What :func:`plan_links` decided: the new id of every kept track, the dropped ids, and each link."""

    new_ids: dict[int, int]
    """original track id → id after linking (the earliest tracklet's id); dropped ids are absent"""
    dropped: frozenset[int] = frozenset()
    links: tuple[tuple[int, int, float], ...] = ()
    """(ending track id, starting track id, cost), in the order they were made"""


def body_colour_descriptor(image: npt.NDArray[np.uint8], xyxy: Sequence[float]) -> npt.NDArray[np.float32]:
    """Colour descriptor of a person box: BoT-SORT's HSV embedding of the upper half, then of the lower half.

    Each half is a square-rooted, unit-norm 128-bin histogram, so the dot product of two halves is their
    Bhattacharyya coefficient.
    """
    from sightings.vision.track.botsort import hsv_embedding

    x1, y1, x2, y2 = (float(v) for v in xyxy)
    mid = 0.5 * (y1 + y2)
    return np.concatenate([hsv_embedding(image, (x1, y1, x2, mid)), hsv_embedding(image, (x1, mid, x2, y2))])


APPEARANCE_METRICS = ("colour", "cosine")
"""How descriptors are compared: two-half colour histograms, or unit vectors from an embedder."""
MIN_CROP_PX = 4
"""Smallest crop side an embedder gets (the ONNX embedders refuse smaller images)."""


def _mean_descriptor(vectors: Sequence[npt.NDArray[np.float32]], metric: str = "colour") -> npt.NDArray[np.float32]:
    mean = np.mean(np.stack(vectors), axis=0).astype(np.float32)
    parts = mean.reshape(2 if metric == "colour" else 1, -1)  # each colour half, or the whole embedding, unit norm
    parts /= np.maximum(1e-12, np.linalg.norm(parts, axis=1, keepdims=True))
    out: npt.NDArray[np.float32] = parts.reshape(-1)
    return out


def appearance_distance(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], metric: str = "colour") -> float:
    """0 = the same look, 1 = nothing alike.

    ``"colour"``: 1 − the mean Bhattacharyya coefficient of the two body halves; ``"cosine"``: 1 − the cosine
    similarity of two unit embeddings, clipped to [0, 1] (opposite vectors count as unrelated ones)."""
    if metric == "cosine":
        return float(1.0 - np.clip(float(a @ b), 0.0, 1.0))
    if metric != "colour":
        raise ConfigError(f"unknown appearance metric {metric!r} (known: {', '.join(APPEARANCE_METRICS)})")
    bc = (a.reshape(2, -1) * b.reshape(2, -1)).sum(axis=1)
    return float(1.0 - np.clip(bc, 0.0, 1.0).mean())


class AppearanceCollector:
    """Keeps the descriptors of each track's first and last ``boxes`` boxes while tracking (bounded memory).

    Call :meth:`add_frame` (or :meth:`add`, one box) for the tracked boxes of every frame with the frame image;
    :meth:`descriptors` gives :class:`EndAppearance` per track id for :func:`plan_links`.

    Without ``embedder`` a descriptor is the box's body colours (:func:`body_colour_descriptor`). With one (any
    :class:`~sightings.core.protocols.Embedder`, e.g. a person re-ID model imported into the models directory and
    loaded by ``EMBEDDERS.create("onnx", model_name=...)``), it is the embedding of the box's crop, one batch a
    frame, compared by cosine distance. Every tracked box is embedded, so the embedder's time is added per box.
    """

    def __init__(self, boxes: int = 5, *, embedder: Embedder | None = None, keep_all: bool = False) -> None:
        if not isinstance(boxes, int) or boxes < 1:
            raise ConfigError(f"must be an integer >= 1, got {boxes!r}", where="link.appearance_boxes")
        self.boxes = boxes
        self.embedder = embedder
        self.keep_all = keep_all
        """also keep every box's descriptor (one float16 array a frame), so tracks cut later
        (:mod:`~sightings.vision.track.consistency`) get descriptors per piece: ~0.5 KB a box"""
        self._head: dict[int, list[npt.NDArray[np.float32]]] = {}
        self._tail: dict[int, deque[npt.NDArray[np.float32]]] = {}
        # keep_all: per frame, its index, the track ids and their descriptors (one float16 array a frame)
        self._all: list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.float16]]] = []

    @property
    def metric(self) -> str:
        """How the descriptors are compared (one of :data:`APPEARANCE_METRICS`)."""
        return "colour" if self.embedder is None else "cosine"

    def add(self, track_id: int, image: npt.NDArray[np.uint8], xyxy: Sequence[float]) -> None:
        self.add_frame(image, [(track_id, xyxy)])

    def add_frame(
        self, image: npt.NDArray[np.uint8], boxes: Sequence[tuple[int, Sequence[float]]], *, frame: int = -1
    ) -> None:
        """The descriptors of one frame's tracked boxes, ``(track_id, xyxy)`` each (``frame``: its index, for
        ``keep_all``). With an embedder, boxes that hold less than ``MIN_CROP_PX`` × ``MIN_CROP_PX`` pixels of the
        image are skipped (nothing to embed)."""
        if self.embedder is None:
            found = [(tid, body_colour_descriptor(image, xyxy)) for tid, xyxy in boxes]
        else:
            crops, ids = [], []
            h, w = image.shape[:2]
            for tid, xyxy in boxes:
                box = Box(*xyxy).clip(w, h)
                x1, y1, x2, y2 = int(box.x1), int(box.y1), math.ceil(box.x2), math.ceil(box.y2)
                if x2 - x1 >= MIN_CROP_PX and y2 - y1 >= MIN_CROP_PX:
                    crops.append(np.ascontiguousarray(image[y1:y2, x1:x2]))
                    ids.append(tid)
            if not crops:
                return
            found = list(zip(ids, np.asarray(self.embedder.embed(crops), np.float32), strict=True))
        if self.keep_all and found:
            track_ids = np.array([tid for tid, _ in found], np.int64)
            self._all.append((frame, track_ids, np.stack([vec for _, vec in found]).astype(np.float16)))
        for tid, vec in found:
            head = self._head.setdefault(tid, [])
            if len(head) < self.boxes:
                head.append(vec)
            self._tail.setdefault(tid, deque(maxlen=self.boxes)).append(vec)

    def forget_all(self) -> None:
        """Stop keeping every box's descriptor and free those kept (the ends stay)."""
        self.keep_all = False
        self._all = []

    def descriptors(self, moved: Mapping[tuple[int, int], int] | None = None) -> dict[int, EndAppearance]:
        """:class:`EndAppearance` per track id; with ``moved`` (``(track id, frame) → new id`` of boxes whose track
        was cut, as :func:`~sightings.vision.track.consistency.cut_where_backward_disagrees` gives it, and
        ``keep_all``) per piece instead."""
        ends: dict[int, tuple[list[npt.NDArray[np.float32]], list[npt.NDArray[np.float32]]]] = {}
        if not (moved and self.keep_all):
            ends = {tid: (head, list(self._tail[tid])) for tid, head in self._head.items()}
        else:
            pieces: dict[int, list[tuple[int, npt.NDArray[np.float16]]]] = {}
            for frame, ids, vecs_of_frame in self._all:
                for tid, vec in zip(ids.tolist(), vecs_of_frame, strict=True):
                    pieces.setdefault(moved.get((tid, frame), tid), []).append((frame, vec))
            for tid, items in pieces.items():
                items.sort(key=lambda item: item[0])
                vecs = [v.astype(np.float32) for _, v in items]
                ends[tid] = (vecs[: self.boxes], vecs[-self.boxes :])
        metric = self.metric
        return {
            tid: EndAppearance(_mean_descriptor(head, metric), _mean_descriptor(tail, metric), metric)
            for tid, (head, tail) in ends.items()
        }


@dataclass(slots=True)
class _Tracklet:
    """One (possibly already joined) track: its rows' times, centres and heights, in time order."""

    track_id: int
    label: str | None
    t: npt.NDArray[np.float64]
    centre: npt.NDArray[np.float64]
    height: npt.NDArray[np.float64]
    members: list[int] = field(default_factory=list)
    start_appearance: npt.NDArray[np.float32] | None = None
    end_appearance: npt.NDArray[np.float32] | None = None
    appearance_metric: str = "colour"

    @property
    def t_start(self) -> float:
        return float(self.t[0])

    @property
    def t_end(self) -> float:
        return float(self.t[-1])

    def _window(self, at_end: bool, window_s: float) -> slice:
        n = len(self.t)
        if at_end:
            k = int(np.searchsorted(self.t, self.t[-1] - window_s - 1e-9))
            return slice(min(k, max(0, n - 2)), n)
        k = int(np.searchsorted(self.t, self.t[0] + window_s + 1e-9, side="right"))
        return slice(0, max(k, min(n, 2)))

    def velocity(self, at_end: bool, window_s: float) -> npt.NDArray[np.float64] | None:
        """Least-squares centre velocity (px/s) over the window at that end, or None (one box, or no time span)."""
        s = self._window(at_end, window_s)
        t, c = self.t[s], self.centre[s]
        if len(t) < 2 or t[-1] - t[0] <= 1e-9:
            return None
        dt = t - t.mean()
        v: npt.NDArray[np.float64] = (dt[:, None] * (c - c.mean(axis=0))).sum(axis=0) / float((dt * dt).sum())
        limit = MAX_SPEED_HEIGHTS_PER_S * float(np.median(self.height[s]))
        speed = float(np.hypot(*v))
        return v * (limit / speed) if speed > limit else v

    def height_at(self, at_end: bool, window_s: float) -> float:
        return float(np.median(self.height[self._window(at_end, window_s)]))


def _tracklets(rows: Sequence[LinkableRow], appearance: Mapping[int, EndAppearance] | None) -> dict[int, _Tracklet]:
    by_id: dict[int, list[LinkableRow]] = {}
    for r in rows:
        by_id.setdefault(r.track_id, []).append(r)
    out = {}
    for tid, rs in by_id.items():
        rs.sort(key=lambda r: (r.t_s, r.frame))
        app = appearance.get(tid) if appearance else None
        out[tid] = _Tracklet(
            track_id=tid,
            label=getattr(rs[0], "label", None),
            t=np.array([r.t_s for r in rs], np.float64),
            centre=np.array([(0.5 * (r.x1 + r.x2), 0.5 * (r.y1 + r.y2)) for r in rs], np.float64),
            height=np.array([max(1e-6, r.y2 - r.y1) for r in rs], np.float64),
            members=[tid],
            start_appearance=None if app is None else app.start,
            end_appearance=None if app is None else app.end,
            appearance_metric="colour" if app is None else app.metric,
        )
    return out


def _to_segment(
    point: npt.NDArray[np.float64], origin: npt.NDArray[np.float64], path: npt.NDArray[np.float64]
) -> float:
    """Distance from ``point`` to the segment from ``origin`` to ``origin + path``."""
    length2 = float(path @ path)
    k = 0.0 if length2 <= 1e-12 else min(1.0, max(0.0, float((point - origin) @ path) / length2))
    return float(np.hypot(*(origin + k * path - point)))


def _pair_cost(a: _Tracklet, b: _Tracklet, options: LinkOptions, veto: LinkVeto | None = None) -> float | None:
    """Cost of linking ``a``'s end to ``b``'s start, or None when a gate (or ``veto``) rules it out."""
    gap = b.t_start - a.t_end
    if not 0.0 < gap <= options.max_gap_s + 1e-9 or a.label != b.label:
        return None
    if veto is not None and veto(a.members, a.t_end, b.members, b.t_start):
        return None
    w = options.velocity_window_s
    v_end, v_start = a.velocity(True, w), b.velocity(False, w)
    zero = np.zeros(2)
    v_fwd = v_end if v_end is not None else (v_start if v_start is not None else zero)
    v_bwd = v_start if v_start is not None else v_fwd
    p_end, p_start = a.centre[-1], b.centre[0]
    if options.doorways and options.max_gap_s > options.short_gap_s:  # the second stage: one left, one came in
        foot_end = p_end + np.array([0.0, 0.5 * a.height[-1]])
        foot_start = p_start + np.array([0.0, 0.5 * b.height[0]])
        if _in_doorway(foot_end, options.doorways) and _in_doorway(foot_start, options.doorways):
            return None
    grown = gap
    if options.may_stop:
        miss = 0.5 * (_to_segment(p_start, p_end, v_fwd * gap) + _to_segment(p_end, p_start, -v_bwd * gap))
        grown = min(gap, options.short_gap_s)  # where a person stopped gets no less certain as they stand there
    else:
        miss = 0.5 * (np.hypot(*(p_end + v_fwd * gap - p_start)) + np.hypot(*(p_start - v_bwd * gap - p_end)))
    h_end, h_start = a.height_at(True, w), b.height_at(False, w)
    position = float(miss) / (0.5 * (h_end + h_start) * (1.0 + options.position_growth_per_s * grown))
    if position > options.max_position:
        return None
    cost = position + options.size_weight * abs(math.log(h_end / h_start))
    if options.appearance_weight and a.end_appearance is not None and b.start_appearance is not None:
        metric = a.appearance_metric
        cost += options.appearance_weight * appearance_distance(a.end_appearance, b.start_appearance, metric)
    return cost if cost <= options.max_cost else None


def _assign(
    tracklets: list[_Tracklet], options: LinkOptions, veto: LinkVeto | None = None
) -> list[tuple[int, int, float]]:
    """One Hungarian round: (index of ending tracklet, index of starting tracklet, cost) pairs to join.

    ``tracklets`` are sorted by start time. Only pairs inside the gap window are costed, and the assignment is
    solved per connected group of candidate pairs, so long videos with many tracks stay cheap.
    """
    from scipy.optimize import linear_sum_assignment

    starts = np.array([t.t_start for t in tracklets])
    edges: dict[tuple[int, int], float] = {}
    for i, a in enumerate(tracklets):
        lo = int(np.searchsorted(starts, a.t_end, side="right"))
        hi = int(np.searchsorted(starts, a.t_end + options.max_gap_s + 1e-9, side="right"))
        for j in range(lo, hi):
            if (c := _pair_cost(a, tracklets[j], options, veto)) is not None:
                edges[i, j] = c
    # groups of ends and starts connected by candidate pairs (union-find; ends are i, starts are n + j)
    n = len(tracklets)
    parent = list(range(2 * n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in edges:
        parent[root(i)] = root(n + j)
    groups: dict[int, list[tuple[int, int]]] = {}
    for i, j in edges:
        groups.setdefault(root(i), []).append((i, j))
    alone = 0.5 * options.max_cost + 1e-9
    chosen = []
    for pairs in groups.values():
        ends = sorted({i for i, _ in pairs})
        begins = sorted({j for _, j in pairs})
        ne, nb = len(ends), len(begins)
        # rows: ends + "this start stays unlinked"; columns: starts + "this end stays unlinked"
        big = np.full((ne + nb, nb + ne), _UNLINKABLE)
        for i, j in pairs:
            big[ends.index(i), begins.index(j)] = edges[i, j]
        big[:ne, nb:][np.diag_indices(ne)] = alone
        big[ne:, :nb][np.diag_indices(nb)] = alone
        big[ne:, nb:] = 0.0
        rows, cols = linear_sum_assignment(big)
        for r, c in zip(rows, cols, strict=True):
            if r < ne and c < nb and (ends[r], begins[c]) in edges:
                chosen.append((ends[r], begins[c], edges[ends[r], begins[c]]))
    return chosen


def _join(a: _Tracklet, b: _Tracklet) -> _Tracklet:
    return _Tracklet(
        track_id=a.track_id,
        label=a.label,
        t=np.concatenate([a.t, b.t]),
        centre=np.concatenate([a.centre, b.centre]),
        height=np.concatenate([a.height, b.height]),
        members=a.members + b.members,
        start_appearance=a.start_appearance,
        end_appearance=b.end_appearance,
        appearance_metric=a.appearance_metric,
    )


def _stages(opts: LinkOptions) -> list[LinkOptions]:
    """Short gaps first, by constant velocity; then the long ones, among the tracks left (``may_stop`` there)."""
    if opts.max_gap_s <= opts.short_gap_s:
        return [replace(opts, may_stop=False)]
    return [replace(opts, max_gap_s=opts.short_gap_s, may_stop=False), opts]


def _link_rounds(
    pool: dict[int, _Tracklet], opts: LinkOptions, links: list[tuple[int, int, float]], veto: LinkVeto | None
) -> None:
    """Join tracklets of ``pool`` in place, round after round, until a round links nothing (chains A → B → C)."""
    while opts.max_gap_s > 0 and len(pool) > 1:
        current = sorted(pool.values(), key=lambda t: (t.t_start, t.track_id))
        chosen = _assign(current, opts, veto)
        if not chosen:
            break
        successor = {i: (j, c) for i, j, c in chosen}
        has_predecessor = {j for _, j, _ in chosen}
        for i, head in enumerate(current):
            if i in has_predecessor:
                continue
            joined, k = head, i
            while k in successor:
                k, c = successor[k]
                links.append((joined.members[-1], current[k].members[0], c))
                joined = _join(joined, current[k])
                del pool[current[k].track_id]
            pool[head.track_id] = joined


def plan_links(
    rows: Sequence[LinkableRow],
    *,
    options: LinkOptions | None = None,
    appearance: Mapping[int, EndAppearance] | None = None,
    veto: LinkVeto | None = None,
) -> LinkPlan:
    """Decide which tracks to join (and which short ones to drop) without touching the rows; ``veto`` rules pairs
    out in both stages."""
    opts = options or LinkOptions()
    pool = _tracklets(rows, appearance)
    links: list[tuple[int, int, float]] = []
    for stage in _stages(opts):
        _link_rounds(pool, stage, links, veto)
    new_ids: dict[int, int] = {}
    dropped: set[int] = set()
    step = median_step_s(r.t_s for r in rows)  # what one analysed frame stands for
    first, last = (min(r.t_s for r in rows), max(r.t_s for r in rows)) if rows else (0.0, 0.0)
    for t in pool.values():
        cut_off = t.t_start <= first + 1e-9 or t.t_end >= last - 1e-9  # its true length is unknown
        if len(t.members) == 1 and not cut_off and t.t_end - t.t_start + step < opts.min_len_s - 1e-9:
            dropped.add(t.track_id)
            continue
        for member in t.members:
            new_ids[member] = t.track_id
    return LinkPlan(new_ids=new_ids, dropped=frozenset(dropped), links=tuple(links))


def apply_links(rows: Sequence[R], plan: LinkPlan) -> list[R]:
    """``rows`` renumbered by the plan (dropped tracks left out), sorted by (frame, track_id)."""
    import dataclasses

    out: list[R] = []
    for r in rows:
        new = plan.new_ids.get(r.track_id)
        if new is None:
            continue
        out.append(r if new == r.track_id else dataclasses.replace(r, track_id=new))  # type: ignore[type-var]
    out.sort(key=lambda r: (r.frame, r.track_id))
    return out


def link_tracklets(
    rows: Sequence[R],
    *,
    options: LinkOptions | None = None,
    appearance: Mapping[int, EndAppearance] | None = None,
    veto: LinkVeto | None = None,
) -> list[R]:
    """Join broken tracks in ``rows`` (frozen dataclass rows; see the module text) and drop short unlinked ones."""
    return apply_links(rows, plan_links(rows, options=options, appearance=appearance, veto=veto))
