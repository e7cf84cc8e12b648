"""One decoding pass over a video: tiny per-frame features for cut detection plus the frames to analyse.

    scan_video(path, analysis_fps=2.0, analysis_side=320, workers=None, reference_only=False) -> VideoScan

Every frame is decoded once (a cut can fall on any frame), with FFmpeg's loop filter skipped (+15 % decode speed,
invisible at the sizes we look at), GOPs in parallel on ``workers`` threads
(:func:`sightings.media.frame_map.map_frames`). Per frame we keep only a 32×18 luma grid, a 128-bin YUV histogram
and the mean luma: each worker reads a luma lattice and colour codes straight from the decoder's YUV planes (no
colour conversion); one vectorised step after the in-order merge makes the features. RGB frames at
``analysis_side`` are kept only for: the uniform samples at ``analysis_fps``, keyframes, and the frame two after
any large frame-to-frame change (a candidate shot start, so each shot gets a frame even when it is shorter than
the sampling step); workers convert a superset from their GOP alone, the merge keeps the exact ones. The result
is the same for any number of workers. Corrupt packets in the middle are skipped and counted (``decode_errors``);
the run continues.

``reference_only=True`` decodes only the frames other frames refer to (most B-frames are skipped: about half the
frames of a typical H.264 file, ~30 % less decoding; see :func:`sightings.media.frame_map.map_frames`). The arrays
then hold those frames only, and ``frame_index`` gives each one's frame number in the file; cut detection
(:func:`sightings.solutions.content.cuts.detect_cuts`) uses this by default.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import MediaError
from sightings.media.frame_map import FrameMap, map_frames
from sightings.media.probe import VideoInfo

if TYPE_CHECKING:
    from av.video.frame import VideoFrame

__all__ = ["GRID_H", "GRID_W", "AnalysisFrame", "VideoScan", "frame_distances", "scan_video"]

log = logging.getLogger(__name__)

GRID_W, GRID_H = 32, 18
HIST_BINS = (8, 4, 4)  # Y, U, V
JUMP_FOR_SHOT_FRAME = 0.12
"""Frame-to-frame distance above which the frame two later is kept as a candidate shot frame."""


@dataclass(frozen=True, slots=True, eq=False)
class AnalysisFrame:
    """An RGB frame kept for analysis: its presentation index, time, why it was kept, and the pixels."""

    index: int
    t_s: float
    reasons: tuple[str, ...]
    image: npt.NDArray[np.uint8] = field(repr=False)


@dataclass(slots=True, eq=False)
class VideoScan:
    """Everything one pass produced (arrays are per decoded frame, in presentation order)."""

    info: VideoInfo
    times_s: npt.NDArray[np.float64]
    grids: npt.NDArray[np.float16]
    hists: npt.NDArray[np.float16]
    mean_luma: npt.NDArray[np.float32]
    keyframes: npt.NDArray[np.bool_]
    frames: list[AnalysisFrame]
    analysis_fps: float
    decode_errors: int = 0
    truncated: bool = False
    seconds: float = 0.0
    frame_index: npt.NDArray[np.int64] | None = None
    """each scanned frame's frame number in the file (None: every frame was scanned, so its position)"""
    frame_count: int | None = None
    """frames in the file (None: ``n_frames``)"""

    @property
    def n_frames(self) -> int:
        """Frames scanned (every frame of the file unless ``reference_only``)."""
        return int(self.times_s.size)

    @property
    def indices(self) -> npt.NDArray[np.int64]:
        """Each scanned frame's frame number in the file."""
        if self.frame_index is not None:
            return self.frame_index
        return np.arange(self.n_frames, dtype=np.int64)

    @property
    def total_frames(self) -> int:
        """Frames in the file (scanned or skipped)."""
        return self.frame_count if self.frame_count is not None else self.n_frames

    @property
    def duration_s(self) -> float:
        if self.n_frames == 0:
            return 0.0
        step = 1.0 / self.info.fps if self.info.fps else 0.0
        return float(self.times_s[-1] - self.times_s[0] + step)

    def metadata(self) -> dict[str, Any]:
        return {
            "source_fps": self.info.fps,
            "analysis_fps": self.analysis_fps,
            "n_frames": self.n_frames,
            "duration_s": self.duration_s,
            "width": self.info.width,
            "height": self.info.height,
            "decode_errors": self.decode_errors,
            "truncated": self.truncated,
        }


def _plane(frame: VideoFrame, k: int, h: int, w: int) -> npt.NDArray[np.uint8]:
    plane = frame.planes[k]
    buf = np.frombuffer(memoryview(plane), np.uint8)
    return buf.reshape(-1, plane.line_size)[:h, :w]


_Lattice = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]
"""A frame's raw samples: the 36×64 luma lattice, and the Y, U, V samples its colour codes are made of."""


def _lattice(frame: VideoFrame) -> _Lattice:
    """The raw samples features are made of: a 36×64 luma lattice and Y/U/V samples of the colour-code points
    (copies; the colour codes are made for many frames at once by :func:`_codes`)."""
    fmt = frame.format.name
    if fmt not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(width=GRID_W * 8, height=GRID_H * 8, format="yuv420p")
    h, w = frame.height, frame.width
    y = _plane(frame, 0, h, w)
    u = _plane(frame, 1, (h + 1) // 2, (w + 1) // 2)
    v = _plane(frame, 2, (h + 1) // 2, (w + 1) // 2)
    # Sample a regular lattice (about 64×36 luma points); features average 2×2 of them per grid cell.
    sy, sx = max(1, h // (GRID_H * 2)), max(1, w // (GRID_W * 2))
    ys = y[: sy * GRID_H * 2 : sy, : sx * GRID_W * 2 : sx]
    if ys.shape != (GRID_H * 2, GRID_W * 2):  # tiny frames (fewer pixels than lattice points)
        import cv2

        ys = np.asarray(cv2.resize(y, (GRID_W * 2, GRID_H * 2), interpolation=cv2.INTER_AREA), np.uint8)
    csy, csx = max(1, sy // 2), max(1, sx // 2)
    us = u[::csy, ::csx]
    vs = v[::csy, ::csx]
    yq = y[::sy, ::sx]
    hh, ww = min(us.shape[0], vs.shape[0], yq.shape[0]), min(us.shape[1], vs.shape[1], yq.shape[1])
    return ys.copy(), yq[:hh, :ww].copy(), us[:hh, :ww].copy(), vs[:hh, :ww].copy()


def _codes(yq: npt.NDArray[np.uint8], us: npt.NDArray[np.uint8], vs: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The 7-bit YUV colour code of each sample (Y 8 × U 4 × V 4 bins); element-wise, so for one or many frames."""
    return np.asarray(((yq >> 5) << 4) | ((us >> 6) << 2) | (vs >> 6), np.uint8)


def _features_of(
    lattices: list[_Lattice],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Luma grids (n×GRID_H×GRID_W), normalised 128-bin YUV histograms and mean lumas of n frames' lattices."""
    n = len(lattices)
    ys = np.stack([lat[0] for lat in lattices]).astype(np.float32)
    # The mean of each 2×2 block (sums of integers: exact in float32, whatever the order).
    grids = (ys[:, 0::2, 0::2] + ys[:, 0::2, 1::2] + ys[:, 1::2, 0::2] + ys[:, 1::2, 1::2]) / np.float32(4)
    shapes = {lat[1].shape for lat in lattices}
    if len(shapes) == 1:  # one size throughout: all codes at once, all histograms in one bincount
        codes = _codes(*(np.stack([lat[k] for lat in lattices]) for k in (1, 2, 3))).reshape(n, -1).astype(np.int32)
        codes += 128 * np.arange(n, dtype=np.int32)[:, None]
        hists = np.bincount(codes.ravel(), minlength=128 * n).reshape(n, 128).astype(np.float32)
    else:
        hists = np.stack(
            [np.bincount(_codes(lat[1], lat[2], lat[3]).ravel(), minlength=128) for lat in lattices]
        ).astype(np.float32)
    hists /= np.maximum(1.0, hists.sum(axis=1, keepdims=True))
    return grids, hists, grids.mean(axis=(1, 2))


def _features(frame: VideoFrame) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], float]:
    """Luma grid (GRID_H×GRID_W), normalised YUV histogram, mean luma of one decoded frame."""
    grids, hists, lumas = _features_of([_lattice(frame)])
    return grids[0], hists[0], float(lumas[0])


def frame_distances(
    grids: npt.NDArray[Any], hists: npt.NDArray[Any], a: npt.NDArray[np.intp], b: npt.NDArray[np.intp]
) -> npt.NDArray[np.float32]:
    """Visual distance in [0, 1] between frames ``a[i]`` and ``b[i]``: half histogram L1, half luma-grid change."""
    ga = grids[a].astype(np.float32)
    gb = grids[b].astype(np.float32)
    pix = np.abs(ga - gb).mean(axis=(1, 2)) / 255.0
    hist = 0.5 * np.abs(hists[a].astype(np.float32) - hists[b].astype(np.float32)).sum(axis=1)
    return np.asarray(0.5 * hist + 0.5 * np.minimum(1.0, 3.0 * pix), np.float32)


def _analysis_size(width: int, height: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


_Decoded = tuple[_Lattice, "npt.NDArray[np.uint8] | None"]
"""What each decoding worker keeps of a frame: its lattice (see ``_lattice``), RGB image (when it may be kept)."""

BOUNDARY_SLACK_S = 2e-3
"""Margin around uniform-sample boundaries when a worker decides whether a frame might be kept (a superset)."""


def _jumps(grids: npt.NDArray[np.float32], hists: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Per frame: is the change from the frame before above JUMP_FOR_SHOT_FRAME (False for the first)?"""
    out = np.zeros(len(grids), bool)
    if len(grids) > 1:
        # float32 reductions per frame, then float64 arithmetic (as the per-frame version did)
        pix = np.abs(grids[1:] - grids[:-1]).reshape(len(grids) - 1, -1).mean(axis=1).astype(np.float64) / 255.0
        hist = np.abs(hists[1:] - hists[:-1]).sum(axis=1).astype(np.float64)
        out[1:] = 0.25 * hist + 0.5 * np.minimum(1.0, 3.0 * pix) > JUMP_FOR_SHOT_FRAME
    return out


@dataclass(slots=True)
class _Keeper:
    """The union-sample rule, frame by frame in presentation order: each frame's time and why it is kept."""

    step: float
    fps: float
    keep_frames: bool
    keep_keyframes: bool
    times: list[float] = field(default_factory=list)
    next_target: float = 0.0
    origin: float | None = None
    want_at: int = -1

    def add(self, time_s: float | None, key_frame: bool, jump: bool) -> tuple[str, ...]:
        i = len(self.times)
        t_abs = float(time_s) if time_s is not None else i / self.fps
        if self.origin is None:
            self.origin = t_abs
        t_s = max(0.0, t_abs - self.origin)
        if self.times and t_s <= self.times[-1]:  # VFR or broken timestamps: keep order, strictly increasing
            t_s = self.times[-1] + 1e-6
        self.times.append(t_s)
        if jump:
            self.want_at = i + 2
        if not self.keep_frames:
            return ()
        reasons: list[str] = []
        if t_s + 1e-3 >= self.next_target:
            reasons.append("uniform")
            self.next_target = (math.floor((t_s + 1e-3) / self.step) + 1) * self.step
        if self.keep_keyframes and key_frame:
            reasons.append("keyframe")
        if i in (self.want_at, 0):
            reasons.append("shot")
        return tuple(reasons)


def _gop_function(
    keep_frames: bool, keep_keyframes: bool, analysis_side: int, step: float
) -> Callable[[VideoInfo, float | None], Callable[[VideoFrame, float | None], _Decoded]]:
    """Per-frame work inside a decoding worker: the lattice always, the RGB image only for frames that may be kept.

    Serially (``origin_s`` None: the function sees every frame from the first) the worker applies the exact rule
    (:class:`_Keeper`). Per GOP it converts a superset, decided from this GOP alone: its first three frames (a
    shot frame can follow a change across the GOP boundary), keyframes, a frame two after a jump with no jump
    since, and frames near a uniform-sample boundary (times relative to ``origin_s``).
    """

    def start(info: VideoInfo, origin_s: float | None) -> Callable[[VideoFrame, float | None], _Decoded]:
        from av.video.reformatter import VideoReformatter

        size = _analysis_size(info.width, info.height, analysis_side)
        reformatter = VideoReformatter()  # keeps its scaler between frames (frame.to_ndarray makes one each time)
        exact = _Keeper(step, info.fps, keep_frames, keep_keyframes) if origin_s is None else None
        seen: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]] = []
        jumps: list[bool] = []
        times: list[float | None] = []

        def maybe_kept(t: float | None, key_frame: bool) -> bool:
            if exact is not None:
                return bool(exact.add(t, key_frame, jumps[-1]))
            pos = len(seen) - 1
            if pos <= 2 or (keep_keyframes and key_frame) or (jumps[-3] and not jumps[-2] and not jumps[-1]):
                return True
            prev_t = times[-2]
            if t is None or prev_t is None or origin_s is None:
                return True
            k_prev = math.floor((prev_t - origin_s + 1e-3 - BOUNDARY_SLACK_S) / step)
            return math.floor((t - origin_s + 1e-3 + BOUNDARY_SLACK_S) / step) > k_prev

        def fn(frame: VideoFrame, t: float | None) -> _Decoded:
            lattice = _lattice(frame)
            if not keep_frames:
                return lattice, None
            grids, hists, _ = _features_of([lattice])
            seen.append((grids[0], hists[0]))
            pair = seen[-2:]
            jumps.append(bool(_jumps(np.stack([g for g, _ in pair]), np.stack([h for _, h in pair]))[-1]))
            times.append(t)
            image = None
            if maybe_kept(t, bool(frame.key_frame)):
                small = reformatter.reformat(frame, width=size[0], height=size[1], format="rgb24")
                image = np.ascontiguousarray(small.to_ndarray(), dtype=np.uint8)
            return lattice, image

        return fn

    return start


def scan_video(
    path: str | os.PathLike[str],
    *,
    analysis_fps: float = 2.0,
    analysis_side: int = 320,
    keep_frames: bool = True,
    keep_keyframes: bool = True,
    workers: int | None = None,
    reference_only: bool = False,
) -> VideoScan:
    """Decode ``path`` once (see the module docs). Raises MediaError when no frame at all can be decoded.

    ``workers``: GOPs decoded in parallel (default: one per CPU, at most 4; 1 = one serial pass). The result is
    the same for any number of workers. ``reference_only``: skip non-reference frames (module docs).
    """
    started = time.perf_counter()
    p = Path(path)
    step = 1.0 / analysis_fps
    start = _gop_function(keep_frames, keep_keyframes, analysis_side, step)
    options = {"skip_loop_filter": "all"}
    mapped = map_frames(p, start, workers=workers, options=options, reference_only=reference_only)
    merged = _merge(mapped, keep_frames, keep_keyframes, step)
    if merged is None:  # a kept frame had no image (odd timestamps): the serial pass converts exactly those
        log.debug("%s: a kept frame was not converted in parallel; scanning serially", p)
        mapped = map_frames(p, start, workers=1, options=options, reference_only=reference_only)
        merged = _merge(mapped, keep_frames, keep_keyframes, step)
    if merged is None or not mapped.frames:
        raise MediaError("no decodable video frame", where=p)
    times, kept, (grids, hists, lumas), indices = merged
    return VideoScan(
        info=mapped.info,
        times_s=np.asarray(times, np.float64),
        grids=grids.astype(np.float16),
        hists=hists.astype(np.float16),
        mean_luma=lumas,
        keyframes=np.asarray([f.key_frame for f in mapped.frames], bool),
        frames=kept,
        analysis_fps=analysis_fps,
        decode_errors=mapped.decode_errors,
        truncated=mapped.truncated,
        seconds=time.perf_counter() - started,
        frame_index=np.asarray(indices, np.int64) if reference_only else None,
        frame_count=mapped.frame_count if reference_only else None,
    )


_Features = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]


def _merge(
    mapped: FrameMap[_Decoded], keep_frames: bool, keep_keyframes: bool, step: float
) -> tuple[list[float], list[AnalysisFrame], _Features, list[int]] | None:
    """Times, kept frames, features and frame numbers, in presentation order; None if a kept frame lacks its image."""
    if not mapped.frames:
        return None
    features = _features_of([f.value[0] for f in mapped.frames])
    jumps = _jumps(features[0], features[1])
    keeper = _Keeper(step, mapped.info.fps, keep_frames, keep_keyframes)
    kept: list[AnalysisFrame] = []
    indices = mapped.indices()
    for i, mf in enumerate(mapped.frames):
        reasons = keeper.add(mf.time, mf.key_frame, bool(jumps[i]))
        if reasons:
            image = mf.value[1]
            if image is None:
                return None
            kept.append(AnalysisFrame(indices[i], keeper.times[-1], reasons, image))
    return keeper.times, kept, features, indices
