"""Forward–backward consistency: find where a tracker swapped people by tracking the same boxes backwards in time.

An online tracker decides at each frame with what it has seen so far. Where people stand together or cross, it can
hand one person's track to another (an identity swap), and nothing later undoes it. Run again *backwards* over the
same boxes, it meets the same crowd from the other side and usually resolves it differently. So where the forward
and the backward pass disagree, one of them swapped:

1. **Record** (:class:`BackwardCheck`, a :class:`~sightings.core.protocols.Tracker` wrapper): while the video is
   tracked, keep every analysed frame's time and the detections the tracker got (and the colour histograms
   BoT-SORT's gate read from the image, so no image is kept).
2. **Track backwards** (:meth:`BackwardCheck.backward_ids`): the same tracker, reset, fed the frames in reverse
   order with time running forwards again (t' = T − t).
3. **Cut** (:func:`cut_where_backward_disagrees`): each forward track is cut where the backward id of its boxes
   changes to one that then holds for at least ``hold`` of its boxes (one odd box is noise). Each piece gets a
   new id.
4. The tracklet linker (:mod:`~sightings.vision.track.linking`) then joins the pieces again, by motion and
   colours; where it cannot decide, a piece stays apart rather than carrying the wrong person on.
5. **Veto** (:class:`BackwardVeto`, only where analysed frames are 2 s or more apart: ``LinkOptions.
   backward_veto_step_s``): the linker may not join two pieces when the backward pass says the person went on as,
   or came from, a third piece in the gap.

Chosen on PETS09-S2L1 frames 1–200 by the tracking rule, ``hold`` 3 over 1, and checked on frames 201–400
(docs/tracking.md, "Forward–backward consistency"): at full rate IDF1 rises from 0.686 to 0.781 (held out 0.850 →
0.934). Memory: one record per detection (its box, and BoT-SORT's 128 colour bins), kept until the video ends;
with the linker's per-box descriptors about 1 KB a box (docs/tracking.md). Past :data:`MAX_RECORDED_BOXES` the
pass gives up (record freed, a warning logged, nothing cut). A tracker that needs the images themselves
(BoT-SORT with camera-motion compensation) cannot be replayed, and the check is skipped for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from sightings.core.protocols import TrackedDetection, Tracker
from sightings.core.types import Detection, Frame, MediaRef
from sightings.vision.track.postprocess import TrackedBoxRow

__all__ = [
    "MAX_RECORDED_BOXES",
    "BackwardCheck",
    "BackwardVeto",
    "RowKey",
    "cut_where_backward_disagrees",
    "row_key",
]

log = logging.getLogger(__name__)

MAX_RECORDED_BOXES = 1_000_000
"""A forward pass with more detections than this gives its backward pass up (the record is freed and nothing is
cut): about 1 GB with the linker's descriptors, an hour of 25 fps video with 10 people in view."""

RowKey = tuple[int, float, float, float, float]
"""(frame index, x1, y1, x2, y2 rounded to 0.01 px): a detection's identity in a frame."""

R = TypeVar("R", bound=TrackedBoxRow)

_BLANK = np.zeros((1, 1, 3), np.uint8)
Embeddings = dict[tuple[float, ...], npt.NDArray[np.float32]]


def row_key(frame: int, x1: float, y1: float, x2: float, y2: float) -> RowKey:
    return (int(frame), round(float(x1), 2), round(float(y1), 2), round(float(x2), 2), round(float(y2), 2))


@dataclass(frozen=True, slots=True)
class _Seen:
    index: int
    t_s: float
    media: MediaRef
    detections: tuple[Detection, ...]


class BackwardCheck:
    """Wraps ``tracker`` for the forward pass (use it as the tracker), then tracks the recorded boxes backwards.

    ``replayable`` is False for a tracker that reads images beyond colours (camera-motion compensation): nothing
    is recorded then, and :meth:`backward_ids` gives an empty mapping (no cut).
    """

    def __init__(self, tracker: Tracker, *, max_boxes: int = MAX_RECORDED_BOXES) -> None:
        self.tracker = tracker
        self.replayable = not bool(getattr(tracker, "enable_cmc", False))
        self.max_boxes = max_boxes
        self.gave_up = False
        """True once the record passed ``max_boxes``: no backward pass, nothing cut (memory stays bounded)"""
        self._boxes = 0
        self._seen: list[_Seen] = []
        # frame index → (its box keys, their colours), one array each: the colours the tracker read in that frame
        self._colours: dict[int, tuple[npt.NDArray[np.float64], npt.NDArray[np.float16]]] = {}
        self._reads_colours = callable(getattr(tracker, "colour_embeddings", None)) and bool(
            getattr(tracker, "appearance", False)
        )
        self._before = getattr(tracker, "embed_boxes", None)
        self._ids: dict[RowKey, int] | None = None
        if self.replayable and self._reads_colours:
            tracker.embed_boxes = self._recording  # type: ignore[attr-defined]

    def _recording(self, frame: Frame, boxes: npt.NDArray[np.float32]) -> Embeddings:
        found: Embeddings = self.tracker.colour_embeddings(frame, boxes)  # type: ignore[attr-defined]
        if found and not self.gave_up:
            self._colours[frame.index] = (
                np.array(list(found), np.float64),
                np.stack(list(found.values())).astype(np.float16),
            )
        return found

    # -- the Tracker protocol (forward pass) ---------------------------------------------------------------
    def update(self, frame: Frame, detections: Sequence[Detection]) -> list[TrackedDetection]:
        if self.replayable and not self.gave_up:
            self._boxes += len(detections)
            if self._boxes > self.max_boxes:
                self._give_up()
            else:
                self._seen.append(_Seen(frame.index, frame.t_s, frame.media, tuple(detections)))
        return self.tracker.update(frame, detections)

    def _give_up(self) -> None:
        log.warning(
            "backward tracking pass skipped: more than %d boxes to remember (sample fewer frames, or turn it off: "
            "sightings track --no-backward-check, retail backward_check: false)",
            self.max_boxes,
        )
        self.gave_up = True
        self._seen, self._colours = [], {}
        if self._reads_colours:
            self.tracker.embed_boxes = self._before  # type: ignore[attr-defined]

    def reset(self) -> None:
        self._seen, self._colours, self._ids = [], {}, None
        self._boxes, self.gave_up = 0, False
        self.tracker.reset()
        if self.replayable and self._reads_colours:
            self.tracker.embed_boxes = self._recording  # type: ignore[attr-defined]

    # -- the backward pass ---------------------------------------------------------------------------------
    def backward_ids(self) -> dict[RowKey, int]:
        """Each recorded detection that the backward pass tracked → its backward track id. The first call resets
        the tracker, runs the pass, gives the tracker back its own colour reading and frees the record; later calls
        return the same mapping."""
        if self._ids is not None:
            return self._ids
        if not self._seen or self.gave_up:
            return {}
        last_index = self._seen[-1].index
        end = self._seen[-1].t_s
        if self._reads_colours:
            self.tracker.embed_boxes = self._replaying(last_index)  # type: ignore[attr-defined]
        self.tracker.reset()
        out: dict[RowKey, int] = {}
        try:
            for seen in reversed(self._seen):
                # time and index run forwards again (trackers want them increasing); colours come from the record
                frame = Frame(seen.media, last_index - seen.index, end - seen.t_s, _BLANK)
                for td in self.tracker.update(frame, seen.detections):
                    out[row_key(seen.index, *td.detection.box.xyxy)] = td.track_id
        finally:
            self.tracker.reset()
            if self._reads_colours:
                self.tracker.embed_boxes = self._before  # type: ignore[attr-defined]
            self._seen, self._colours = [], {}
        self._ids = out
        return out

    def _replaying(self, last_index: int) -> Callable[[Frame, Any], Embeddings]:
        def lookup(frame: Frame, boxes: Any) -> Embeddings:
            seen = self._colours.get(last_index - frame.index)
            if seen is None:
                return {}
            keys, colours = seen
            return {tuple(key.tolist()): colours[i].astype(np.float32) for i, key in enumerate(keys)}

        return lookup


def cut_where_backward_disagrees(
    rows: Sequence[R], backward: Mapping[RowKey, int], *, hold: int = 3
) -> tuple[list[R], dict[tuple[int, int], int]]:
    """``rows`` with each track cut where the backward id of its boxes changes to one that holds for at least
    ``hold`` of its next boxes with a backward id (boxes the backward pass did not track are skipped).

    Returns the rows (the first piece keeps the track's id, later pieces get new ids above every existing one) and
    ``(old track id, frame) → new track id`` for every row that moved (to rebuild descriptors per piece)."""
    by_track: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_track.setdefault(r.track_id, []).append(i)
    next_id = max((r.track_id for r in rows), default=0) + 1
    new_id: dict[int, int] = {}
    moved: dict[tuple[int, int], int] = {}
    for tid, members in by_track.items():
        members.sort(key=lambda i: (rows[i].t_s, rows[i].frame))
        ids = [backward.get(row_key(rows[i].frame, rows[i].x1, rows[i].y1, rows[i].x2, rows[i].y2)) for i in members]
        current, reference = tid, None
        for k, (i, b) in enumerate(zip(members, ids, strict=True)):
            if b is not None:
                if reference is None:
                    reference = b
                elif b != reference:
                    following = [x for x in ids[k:] if x is not None][:hold]
                    if len(following) >= hold and all(x == b for x in following):
                        current, reference = next_id, b
                        next_id += 1
            if current != tid:
                new_id[i] = current
                moved[tid, rows[i].frame] = current
    out = [replace(r, track_id=new_id[i]) if i in new_id else r for i, r in enumerate(rows)]  # type: ignore[type-var]
    return out, moved


class BackwardVeto:
    """The backward pass as a veto on links: a link the linker must not make, because the backward pass says the
    person went on as, or came from, someone else.

    A candidate link joins a track that ends at ``t_end`` to one that starts at ``t_start`` (each a chain of pieces,
    by the ids of ``rows``). It is vetoed when

    * the backward track of the ending track's last box holds a box of a third piece after ``t_end``, up to
      ``t_start``: going backwards, that person came from someone else; or
    * the backward track of the starting track's first box holds a box of a third piece from ``t_end`` up to before
      ``t_start``: going backwards, that person went on as someone else.

    Used at sparse steps only (``LinkOptions.backward_veto_step_s``, 2 s): there most of the linker's links join one-
    or two-box pieces 2.5–3 s apart, and the backward pass is the one independent witness. Chosen by a rule fixed
    before its run, on sampling phases of PETS09 that no earlier choice had seen (docs/tracking.md)."""

    def __init__(self, rows: Sequence[TrackedBoxRow], backward: Mapping[RowKey, int]) -> None:
        ends: dict[int, tuple[tuple[float, RowKey], tuple[float, RowKey]]] = {}
        along: dict[int, list[tuple[float, int]]] = {}
        for r in rows:
            key = row_key(r.frame, r.x1, r.y1, r.x2, r.y2)
            here = (r.t_s, key)
            first, last = ends.get(r.track_id, (here, here))
            ends[r.track_id] = (min(first, here), max(last, here))
            b = backward.get(key)
            if b is not None:
                along.setdefault(b, []).append((r.t_s, r.track_id))
        self._first = {tid: backward.get(first[1]) for tid, (first, _) in ends.items()}
        self._last = {tid: backward.get(last[1]) for tid, (_, last) in ends.items()}
        self._times: dict[int, npt.NDArray[np.float64]] = {}
        self._pieces: dict[int, list[int]] = {}
        for b, items in along.items():
            items.sort()
            self._times[b] = np.array([t for t, _ in items], np.float64)
            self._pieces[b] = [tid for _, tid in items]

    def _others(self, backward_id: int | None, lo: float, hi: float, side: str, mine: set[int]) -> bool:
        """Whether backward track ``backward_id`` holds a box of a piece outside ``mine`` in (lo, hi] (``side``
        "right") or [lo, hi) ("left")."""
        if backward_id is None or backward_id not in self._times:
            return False
        times = self._times[backward_id]
        start = int(np.searchsorted(times, lo, side="right" if side == "right" else "left"))
        stop = int(np.searchsorted(times, hi, side="right" if side == "right" else "left"))
        return any(piece not in mine for piece in self._pieces[backward_id][start:stop])

    def __call__(self, ending: Sequence[int], t_end: float, starting: Sequence[int], t_start: float) -> bool:
        mine = {*ending, *starting}
        eps = 1e-9
        return self._others(self._last.get(ending[-1]), t_end + eps, t_start + eps, "right", mine) or self._others(
            self._first.get(starting[0]), t_end - eps, t_start - eps, "left", mine
        )
