"""Detect + track over the sampled frames of a video → tracks.

    result = track_video("cam.mp4", detector="centernet", tracker="botsort", fps=1)
    result.tracks            # core Track objects (id, detections in frame order)
    result.to_mot()          # MotData: frame = presentation index + 1, for write_mot / evaluate_tracking

Frames come from :func:`sightings.media.sample.sample_frames` (decoding only what the chosen frames need), are
detected in small batches and fed to the tracker in presentation order. Detector and tracker are objects or
registry names (with ``detector_options`` / ``tracker_options``).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sightings.core.errors import ConfigError
from sightings.core.protocols import Detector, Embedder, TrackedDetection, Tracker
from sightings.core.registry import DETECTORS, TRACKERS, keyword_parameters
from sightings.core.types import Box, Detection, Frame, MediaRef, Track
from sightings.vision.track.postprocess import check_seconds

if TYPE_CHECKING:
    from sightings.vision.track.consistency import BackwardCheck, RowKey
    from sightings.vision.track.linking import AppearanceCollector, LinkOptions

__all__ = [
    "FrameCallback",
    "OfflineTracking",
    "TrackResult",
    "TrackRow",
    "accepts_option",
    "create_detector",
    "create_link_embedder",
    "create_tracker",
    "finish_rows",
    "link_setup",
    "tile_option",
    "track_video",
    "tracker_accepts_option",
    "whole_frame",
]

FrameCallback = Callable[[Frame, Sequence[TrackedDetection]], None]
"""Called after each frame with its tracked detections (e.g. to draw a preview)."""

DEFAULT_DETECTOR = "centernet"
DEFAULT_TRACKER = "botsort"


@dataclass(frozen=True, slots=True)
class TrackRow:
    """One tracked box in one frame (``frame`` is the presentation index, 0-based; ``t_s`` seconds)."""

    frame: int
    t_s: float
    track_id: int
    label: str
    score: float
    x1: float
    y1: float
    x2: float
    y2: float
    interpolated: bool = False
    """filled in by :func:`~sightings.vision.track.postprocess.interpolate_gaps`, not detected"""


@dataclass(frozen=True, slots=True)
class TrackResult:
    """What :func:`track_video` found, and how long it took."""

    tracks: tuple[Track, ...]
    rows: tuple[TrackRow, ...]
    frames: int
    """frames processed (sampled)"""
    seconds: float
    """wall time of the whole run"""
    detect_s: float = 0.0
    track_s: float = 0.0
    media: MediaRef | None = None
    frame_indices: tuple[int, ...] = field(default=(), repr=False)
    """presentation indices of the processed frames"""

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_mot(self) -> Any:
        """Rows as :class:`~sightings.evaluate.mot_io.MotData` (frame = index + 1, x, y, w, h, score)."""
        from sightings.evaluate.mot_io import MotData

        return MotData.from_rows(
            [(r.frame + 1, r.track_id, r.x1, r.y1, r.x2 - r.x1, r.y2 - r.y1, r.score) for r in self.rows]
        )

    def to_columns(self) -> dict[str, list[Any]]:
        """Rows as columns (``frame`` 1-based like the MOT file, ``index`` 0-based) for Arrow/Parquet or pandas."""
        cols: dict[str, list[Any]] = {
            k: []
            for k in ("frame", "index", "t_s", "track_id", "label", "score", "x1", "y1", "x2", "y2", "interpolated")
        }
        for r in self.rows:
            cols["frame"].append(r.frame + 1)
            cols["index"].append(r.frame)
            cols["t_s"].append(r.t_s)
            cols["track_id"].append(r.track_id)
            cols["label"].append(r.label)
            cols["score"].append(r.score)
            cols["x1"].append(r.x1)
            cols["y1"].append(r.y1)
            cols["x2"].append(r.x2)
            cols["y2"].append(r.y2)
            cols["interpolated"].append(r.interpolated)
        return cols

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (counts and timings)."""
        return {
            "frames": self.frames,
            "tracks": len(self.tracks),
            "boxes": len(self.rows),
            "labels": sorted({r.label for r in self.rows}),
            "seconds": round(self.seconds, 3),
            "detect_s": round(self.detect_s, 3),
            "track_s": round(self.track_s, 3),
            "frames_per_s": round(self.frames_per_s, 2),
        }


def _accepts(factory: Callable[..., Any], name: str) -> bool:
    params = keyword_parameters(factory)
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def accepts_option(detector: str, option: str) -> bool:
    """Whether the registered detector ``detector`` takes the keyword option ``option``."""
    return _accepts(DETECTORS.resolve(detector), option)


def tracker_accepts_option(tracker: str, option: str) -> bool:
    """Whether the registered tracker ``tracker`` takes the keyword option ``option``."""
    return _accepts(TRACKERS.resolve(tracker), option)


def whole_frame(tiles: str | None) -> bool:
    """Whether ``tiles`` asks for no tiling: ``None``, ``""``, ``"none"``, ``"off"`` or ``"no"``."""
    return tiles is None or tiles.strip().lower() in ("", "none", "off", "no")


def tile_option(detector: str, tiles: str | None) -> dict[str, str]:
    """``{"tile": tiles}`` when ``tiles`` names a tiling (``"2x2,2x3"``) and the registered ``detector`` tiles;
    ``{}`` (the whole frame) for :func:`whole_frame` values or a detector without tiles."""
    if tiles is None or whole_frame(tiles) or not accepts_option(detector, "tile"):
        return {}
    return {"tile": tiles}


def create_detector(
    detector: str | Detector,
    *,
    options: Mapping[str, Any] | None = None,
    classes: Sequence[str] | None = None,
    threshold: float | None = None,
    tiles: str | None = None,
) -> Detector:
    """A detector object, or one built from the registry (``classes``/``threshold`` passed where accepted, and
    ``tiles`` as its ``tile`` option unless ``options`` set one: :func:`tile_option`)."""
    if not isinstance(detector, str):
        return detector
    factory = DETECTORS.resolve(detector)  # ConfigError for an unknown name
    opts = {**tile_option(detector, tiles), **dict(options or {})}
    if classes and "classes" not in opts and _accepts(factory, "classes"):
        opts["classes"] = list(classes)
    if threshold is not None and "score_threshold" not in opts:
        if not _accepts(factory, "score_threshold"):
            raise ConfigError(f"detector {detector!r} takes no score threshold", where="detector.threshold")
        opts["score_threshold"] = threshold
    created: Detector = DETECTORS.create(detector, **opts)
    return created


def create_tracker(tracker: str | Tracker, *, options: Mapping[str, Any] | None = None) -> Tracker:
    """A tracker object, or one built from the registry."""
    if not isinstance(tracker, str):
        return tracker
    created: Tracker = TRACKERS.create(tracker, **dict(options or {}))
    return created


def _normalise_label(label: str) -> str:
    return "_".join(label.strip().lower().replace("_", " ").split())


def _batches(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    batch: list[Frame] = []
    for f in frames:
        batch.append(f)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def create_link_embedder(link_embedder: str | Embedder | None) -> Embedder | None:
    """The embedder whose vectors replace body colours in tracklet linking: an object as it is, or the name of an
    ONNX ``embed`` model in the models directory (a person re-ID model imported with ``sightings models import``);
    None = colours. A missing model is a :class:`NotFoundError` with the import hint, before any frame is read."""
    if link_embedder is None or not isinstance(link_embedder, str):
        return link_embedder
    if not link_embedder.strip():
        raise ConfigError("must name an ONNX embed model in the models directory", where="link_embedder")
    from sightings.core.registry import EMBEDDERS

    created: Embedder = EMBEDDERS.create("onnx", model_name=link_embedder.strip())
    return created


def link_setup(
    link_s: float, options: LinkOptions | None, embedder: str | Embedder | None = None
) -> tuple[LinkOptions | None, AppearanceCollector | None]:
    """The linker's options with ``max_gap_s = link_s`` (None when ``link_s`` is 0: linking off), and a descriptor
    collector (colours, or ``embedder``'s vectors) when the options weigh appearance: what :func:`track_video` hands
    :class:`OfflineTracking` (a benchmark tracking several samplings of one video calls it once per session)."""
    check_seconds(link_s, "link_s")
    if not link_s:
        return None, None
    from sightings.vision.track.linking import AppearanceCollector, LinkOptions

    link = dataclasses.replace(options or LinkOptions(), max_gap_s=float(link_s))
    if link.appearance_weight <= 0:
        return link, None
    return link, AppearanceCollector(embedder=create_link_embedder(embedder), keep_all=link.backward_hold > 0)


class OfflineTracking:
    """One video's tracking as :func:`track_video` runs it: feed each analysed frame's detections to
    :meth:`update`, then :meth:`finish` (cut where a backward pass disagrees, link, fill gaps, smooth).

    It keeps the rows, the linker's descriptors (when its options weigh appearance) and, when the linker cuts
    tracks by a backward pass (``LinkOptions.backward_hold``), the record for that pass. The tracking benchmark
    and the tracking-version test use it too, so all three run the same steps."""

    def __init__(
        self,
        tracker: str | Tracker = DEFAULT_TRACKER,
        *,
        tracker_options: Mapping[str, Any] | None = None,
        link: LinkOptions | None = None,
        collector: AppearanceCollector | None = None,
    ) -> None:
        self.link = link
        self.collector = collector
        self.tracker: Tracker = create_tracker(tracker, options=tracker_options)
        self.tracker.reset()
        self.backward: BackwardCheck | None = None
        if link is not None and link.backward_hold > 0:
            from sightings.vision.track.consistency import BackwardCheck

            self.tracker = self.backward = BackwardCheck(self.tracker)  # records the boxes for the backward pass
        self.rows: list[TrackRow] = []
        self.frames: list[tuple[int, float]] = []

    def update(self, frame: Frame, detections: Sequence[Detection]) -> list[TrackedDetection]:
        """Track one analysed frame's ``detections`` (frames in time order); its rows and descriptors are kept."""
        tracked = self.tracker.update(frame, detections)
        self.frames.append((frame.index, frame.t_s))
        for td in tracked:
            d = td.detection
            self.rows.append(TrackRow(frame.index, frame.t_s, td.track_id, d.label, d.score, *d.box.xyxy))
        if self.collector is not None:
            if self.backward is not None and self.backward.gave_up and self.collector.keep_all:
                self.collector.forget_all()  # no pieces to describe: keep only the ends (bounded memory)
            boxes = [(td.track_id, td.detection.box.xyxy) for td in tracked]
            self.collector.add_frame(frame.image, boxes, frame=frame.index)
        return tracked

    def finish(
        self, interpolate_gap_s: float = 0.0, *, smooth_s: float = 0.0, link: LinkOptions | None = None
    ) -> list[TrackRow]:
        """The rows after the offline steps (``link``: other linker options than the tracking's, e.g. in a sweep;
        the rows kept here are not changed, so it can be called again)."""
        return finish_rows(
            self.rows,
            self.frames,
            link if link is not None else self.link,
            self.collector,
            interpolate_gap_s,
            smooth_s=smooth_s,
            backward=self.backward,
        )


def finish_rows(
    rows: list[TrackRow],
    frames: list[tuple[int, float]],
    link: LinkOptions | None,
    collector: AppearanceCollector | None,
    interpolate_gap_s: float,
    *,
    smooth_s: float = 0.0,
    backward: BackwardCheck | Mapping[RowKey, int] | None = None,
) -> list[TrackRow]:
    """Offline clean-up after tracking: cut tracks where a backward pass disagrees (with ``backward``, the
    :class:`~sightings.vision.track.consistency.BackwardCheck` the frames were tracked through, or its backward ids
    already: a benchmark's oracle gives the true ones), link broken tracks (at analysed steps of
    ``link.backward_veto_step_s`` or more, with the backward pass as a veto on links), interpolate gaps (joined ones
    included), smooth.

    ``frames``: the analysed frames as ``(index, t_s)``. What :func:`track_video` does after the last frame (the
    tracking benchmark calls it too, so it measures the same steps)."""
    if link is not None:
        from sightings.vision.track.linking import link_tracklets

        moved: dict[tuple[int, int], int] = {}
        veto = None
        if backward is not None and link.backward_hold > 0:
            from sightings.vision.track.consistency import BackwardVeto, cut_where_backward_disagrees
            from sightings.vision.track.postprocess import median_step_s

            ids = backward if isinstance(backward, Mapping) else backward.backward_ids()
            rows, moved = cut_where_backward_disagrees(rows, ids, hold=link.backward_hold)
            step = median_step_s(t for _, t in frames)
            if link.backward_veto_step_s and step >= link.backward_veto_step_s - 1e-9:
                veto = BackwardVeto(rows, ids)  # sparse steps: the backward pass also rules links out
        appearance = collector.descriptors(moved) if collector is not None else None
        rows = link_tracklets(rows, options=link, appearance=appearance, veto=veto)
    if interpolate_gap_s:
        from sightings.vision.track.postprocess import interpolate_gaps

        rows = interpolate_gaps(rows, frames, max_gap_s=interpolate_gap_s)
    if smooth_s:
        from sightings.vision.track.postprocess import smooth_tracks

        rows = smooth_tracks(rows, half_window_s=smooth_s)
    return rows


def track_video(
    path: str | os.PathLike[str],
    *,
    detector: str | Detector = DEFAULT_DETECTOR,
    tracker: str | Tracker = DEFAULT_TRACKER,
    fps: float | None = None,
    stride: int | None = None,
    classes: Sequence[str] | None = None,
    threshold: float | None = None,
    detector_options: Mapping[str, Any] | None = None,
    tracker_options: Mapping[str, Any] | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    progress: Callable[[Iterator[Frame], int | None], Iterable[Frame]] | None = None,
    on_frame: FrameCallback | None = None,
    batch_size: int = 4,
    interpolate_gap_s: float = 0.0,
    link_s: float = 0.0,
    link_options: LinkOptions | None = None,
    link_embedder: str | Embedder | None = None,
    smooth_s: float = 0.0,
) -> TrackResult:
    """Detect and track objects in the video at ``path``, sampling ``fps`` frames/s or every ``stride``-th frame.

    Neither ``fps`` nor ``stride`` means every frame. ``classes`` keeps only those labels (case-insensitive,
    ``"Person"`` = ``"person"``). ``progress`` wraps the frame iterator for display (it gets the expected frame
    count, or None). ``interpolate_gap_s`` > 0 fills each track's gaps of up to that many seconds afterwards
    (:func:`~sightings.vision.track.postprocess.interpolate_gaps`; offline use only). ``link_s`` > 0 first
    re-joins broken tracks across gaps of up to that many seconds (:mod:`~sightings.vision.track.linking`; other
    settings from ``link_options``; descriptors of the tracked boxes when its appearance weight is > 0: body colours,
    or the vectors of ``link_embedder``, a person re-ID model, see :func:`create_link_embedder`).
    ``smooth_s`` > 0 last replaces each box by its track's mean box within that many seconds either side
    (:func:`~sightings.vision.track.postprocess.smooth_tracks`; offline use only).
    Raises :class:`ConfigError` for an unknown detector/tracker name, :class:`InputError` /
    :class:`MediaError` for bad options or an unreadable video.
    """
    from sightings.media.probe import probe
    from sightings.media.sample import expected_sample_count, sample_frames

    if fps is None and stride is None:
        stride = 1
    link, collector = link_setup(link_s, link_options, link_embedder)
    check_seconds(smooth_s, "smooth_s")  # before any model work, like link_s
    wanted = {_normalise_label(c) for c in classes} if classes else None
    det = create_detector(detector, options=detector_options, classes=classes, threshold=threshold)
    session = OfflineTracking(tracker, tracker_options=tracker_options, link=link, collector=collector)
    info = probe(path)  # NotFoundError / MediaError before any model work
    total = expected_sample_count(info, fps=fps, stride=stride, start_s=start_s, end_s=end_s)
    frames: Iterable[Frame] = sample_frames(path, fps=fps, stride=stride, start_s=start_s, end_s=end_s)
    if progress is not None:
        frames = progress(iter(frames), total)

    started = time.perf_counter()
    detect_s = track_s = 0.0
    per_track: dict[int, list[Detection]] = {}
    indices: list[int] = []
    media: MediaRef | None = None
    for batch in _batches(frames, max(1, batch_size)):
        t0 = time.perf_counter()
        found = det.detect(batch)
        t1 = time.perf_counter()
        detect_s += t1 - t0
        for frame, all_dets in zip(batch, found, strict=True):
            media = media or frame.media
            indices.append(frame.index)
            dets = all_dets if wanted is None else [d for d in all_dets if _normalise_label(d.label) in wanted]
            t2 = time.perf_counter()
            tracked = session.update(frame, dets)
            track_s += time.perf_counter() - t2
            for td in tracked:
                per_track.setdefault(td.track_id, []).append(td.detection)
            if on_frame is not None:
                on_frame(frame, tracked)
    rows = session.rows
    if link is not None or interpolate_gap_s or smooth_s:
        rows = session.finish(interpolate_gap_s, smooth_s=smooth_s)
        per_track = {}
        for r in rows:
            box = Box(r.x1, r.y1, r.x2, r.y2)
            per_track.setdefault(r.track_id, []).append(Detection(r.frame, box, r.label, r.score))
    seconds = time.perf_counter() - started
    tracks = tuple(Track(tid, tuple(ds)) for tid, ds in sorted(per_track.items()))
    return TrackResult(
        tracks=tracks,
        rows=tuple(rows),
        frames=len(indices),
        seconds=seconds,
        detect_s=detect_s,
        track_s=track_s,
        media=media,
        frame_indices=tuple(indices),
    )
