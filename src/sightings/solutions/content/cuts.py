"""Shot boundaries: hard cuts and gradual transitions (dissolves, fades), each with a confidence.

    detect_cuts(path) -> CutResult                 decode once (sightings.solutions.content.scan), then find cuts
    find_transitions(scan, params) -> list[Transition]   the same on an existing scan

``detect_cuts`` decodes only the reference frames by default (``all_frames=False``: most B-frames are skipped,
about half the frames of a typical H.264 file, ~1.5× faster): the detector then runs on those frames with the
same parameters, and frame numbers are mapped back to the file's. A cut is found within a frame of where it is,
which the evaluation tolerance (±2 frames) absorbs; a one-frame flash on a skipped frame is not seen at all.
``all_frames=True`` (``sightings content cuts --all-frames``) decodes every frame, as the content pipeline does
(its per-frame features need every frame). Measured in docs/content.md.

Features per frame (from the scan): a 32×18 luma grid and a 128-bin YUV histogram. ``d(a, b)`` mixes their
changes (see :func:`~sightings.solutions.content.scan.frame_distances`).

- **Hard cut** at frame t: ``d(t-1, t)`` is a local maximum, above ``min_cut`` and ``ratio`` × the mean of its
  neighbours within ±``window`` frames (adaptive threshold, as PySceneDetect's AdaptiveDetector). A *flash*
  (a few bright frames, a camera flash, a muzzle flash) is then rejected: if any frame up to ``flash_span`` before
  t looks like any frame up to ``flash_span`` after it, the picture came back, so no shot changed.
- **Fade** through black: a run of dark frames (mean luma < ``black_level``) between brighter ones; the span runs
  from where luma starts to fall to where it has recovered.
- **Dissolve** centred at t over ±h frames (h ∈ ``dissolve_half``): ``d(t-h, t+h)`` is large while no single step
  inside is a cut, the middle frame is close to the average of the two ends (a blend, unlike a camera pan), and
  the pictures before and after are steady. Confidence grows with the distance across and the blend fit.

Thresholds were tuned on generated edits only (``sightings.solutions.content.synthetic``), never on the videos
the benchmark reports (benchmarks/bench_cuts.py).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sightings.solutions.content.scan import VideoScan, frame_distances, scan_video

__all__ = ["CutParams", "CutResult", "Transition", "detect_cuts", "find_transitions"]

TransitionKind = Literal["cut", "gradual"]


@dataclass(frozen=True, slots=True)
class CutParams:
    """Detector settings (defaults tuned on generated edits)."""

    min_cut: float = 0.10
    ratio: float = 3.0
    window: int = 8
    flash_span: int = 4
    flash_keep: float = 0.45
    black_level: float = 28.0
    dissolve_half: tuple[int, ...] = (5, 9)
    min_dissolve: float = 0.42
    blend_fit: float = 0.45
    contrast_dip: float = 0.95
    sure_dissolve: float = 0.55
    min_shot_frames: int = 3


@dataclass(frozen=True, slots=True)
class Transition:
    """A shot boundary: ``frame`` is the first frame of the new shot; ``start``..``end`` the transition frames."""

    kind: TransitionKind
    frame: int
    start: int
    end: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "frame": self.frame,
            "start": self.start,
            "end": self.end,
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True, slots=True, eq=False)
class CutResult:
    """Transitions of one video, with the per-frame change score and timing."""

    transitions: list[Transition]
    n_frames: int
    """frames in the video"""
    times_s: npt.NDArray[np.float64] = field(repr=False)
    """time of each decoded frame (``change`` is per decoded frame too)"""
    change: npt.NDArray[np.float32] = field(repr=False)
    decode_s: float
    detect_s: float
    decoded_frames: int | None = None
    """frames decoded (None: all of them)"""

    @property
    def shot_starts(self) -> list[int]:
        """Frame indices where a shot starts, frame 0 included."""
        return [0, *[t.frame for t in self.transitions if t.frame > 0]]

    @property
    def frames_per_s(self) -> float:
        total = self.decode_s + self.detect_s
        return self.n_frames / total if total > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_frames": self.n_frames,
            "decoded_frames": self.n_frames if self.decoded_frames is None else self.decoded_frames,
            "shot_starts": self.shot_starts,
            "transitions": [t.to_dict() for t in self.transitions],
            "seconds": round(self.decode_s + self.detect_s, 4),
            "frames_per_s": round(self.frames_per_s, 1),
        }


def _pairs(scan: VideoScan, a: npt.NDArray[np.intp], b: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    n = scan.n_frames
    a = np.clip(a, 0, n - 1)
    b = np.clip(b, 0, n - 1)
    return frame_distances(scan.grids, scan.hists, a, b)


def _hard_cuts(scan: VideoScan, d1: npt.NDArray[np.float32], p: CutParams) -> list[Transition]:
    n = scan.n_frames
    found: list[Transition] = []
    if n < 2:
        return found
    padded = np.pad(d1, p.window, mode="edge")
    kernel = np.ones(2 * p.window + 1, np.float32)
    kernel[p.window] = 0.0
    neighbours = np.convolve(padded, kernel, mode="valid") / (2 * p.window)
    for t in range(1, n):
        score = float(d1[t])
        if score < p.min_cut or score < p.ratio * float(neighbours[t]):
            continue
        lo, hi = max(1, t - 2), min(n, t + 3)
        if score < float(d1[lo:hi].max()):
            continue
        # Flash check: does any frame before t reappear after it?
        before = np.arange(max(0, t - p.flash_span), t)
        after = np.arange(t, min(n, t + p.flash_span + 1))
        aa, bb = np.meshgrid(before, after, indexing="ij")
        mask = ~((aa == t - 1) & (bb == t))
        if mask.any():
            back = float(_pairs(scan, aa[mask], bb[mask]).min())
            if back < p.flash_keep * score:
                continue
        ratio = score / max(1e-6, float(neighbours[t]))
        confidence = float(
            np.clip(0.5 * min(1.0, score / (2 * p.min_cut)) + 0.5 * min(1.0, ratio / (3 * p.ratio)), 0, 1)
        )
        found.append(Transition("cut", t, t, t, confidence))
    return found


def _fades(scan: VideoScan, p: CutParams) -> list[Transition]:
    luma = scan.mean_luma
    n = luma.size
    dark = luma < p.black_level
    found: list[Transition] = []
    t = 0
    while t < n:
        if not dark[t]:
            t += 1
            continue
        s = t
        while t < n and dark[t]:
            t += 1
        e = t - 1
        if s == 0 or e == n - 1:  # a video that starts or ends in black: not a transition between shots
            continue
        before, after = float(luma[max(0, s - 30) : s].max()), float(luma[e + 1 : e + 31].max())
        if before < 2 * p.black_level or after < 2 * p.black_level:
            continue
        a = s
        while a > 0 and luma[a - 1] > luma[a] + 0.5 and luma[a - 1] < 0.95 * before:
            a -= 1
        b = e
        while b < n - 1 and luma[b + 1] > luma[b] + 0.5 and luma[b + 1] < 0.95 * after:
            b += 1
        confidence = float(np.clip(1.0 - float(luma[s : e + 1].mean()) / p.black_level, 0.3, 1.0))
        found.append(Transition("gradual", min(n - 1, e + 1), a, b, confidence))
    return found


def _dissolves(
    scan: VideoScan, d1: npt.NDArray[np.float32], p: CutParams, taken: npt.NDArray[np.bool_]
) -> list[Transition]:
    n = scan.n_frames
    grids = np.asarray(scan.grids, np.float32)
    # A blend of two unrelated pictures has less contrast than either (a pan does not).
    std = grids.reshape(n, -1).std(axis=1) + 1e-3
    best: list[tuple[float, int, int]] = []  # (score, centre, half)
    for h in p.dissolve_half:
        if n < 2 * h + 3:
            continue
        centres = np.arange(h, n - h)
        across = _pairs(scan, centres - h, centres + h)
        steady_before = _pairs(scan, centres - h - 3, centres - h)
        steady_after = _pairs(scan, centres + h, centres + h + 3)
        mid = grids[centres]
        blend = 0.5 * (grids[centres - h] + grids[centres + h])
        spread = np.abs(grids[centres - h] - grids[centres + h]).mean(axis=(1, 2)) + 1e-3
        fit = 1.0 - np.abs(mid - blend).mean(axis=(1, 2)) / spread
        dip = std[centres] / np.minimum(std[centres - h], std[centres + h])
        # the largest single step inside the span: d1[c-h+1 .. c+h] for each centre c (c >= h, so from index 1)
        window_max = np.lib.stride_tricks.sliding_window_view(d1, 2 * h)[centres - h + 1].max(axis=1)
        ok = (
            (across > p.min_dissolve)
            & (fit > p.blend_fit)
            & (window_max < 0.5 * across)
            & (np.maximum(steady_before, steady_after) < 0.6 * across)
            & ((dip < p.contrast_dip) | (across > p.sure_dissolve))
        )
        score = across * np.clip(fit, 0, 1)
        for i in np.flatnonzero(ok):
            c = int(centres[i])
            if taken[max(0, c - h) : c + h + 1].any():
                continue
            best.append((float(score[i]), c, h))
    best.sort(reverse=True)
    found: list[Transition] = []
    used = np.zeros(n, bool)
    for score, c, h in best:
        if used[max(0, c - h) : c + h + 1].any():
            continue
        used[max(0, c - h) : c + h + 1] = True
        confidence = float(np.clip(score / (2 * p.min_dissolve), 0, 1))
        found.append(Transition("gradual", c, c - h, c + h, confidence))
    return found


def find_transitions(
    scan: VideoScan, params: CutParams | None = None
) -> tuple[list[Transition], npt.NDArray[np.float32]]:
    """Transitions of a scanned video (sorted by frame) and the frame-to-frame change score ``d(t-1, t)``."""
    p = params or CutParams()
    # The stored float16 features, widened once (every distance works in float32: same values, less converting).
    scan = replace(scan, grids=scan.grids.astype(np.float32), hists=scan.hists.astype(np.float32))
    n = scan.n_frames
    d1 = np.zeros(n, np.float32)
    if n > 1:
        idx = np.arange(1, n)
        d1[1:] = _pairs(scan, idx - 1, idx)
    cuts = _hard_cuts(scan, d1, p)
    fades = _fades(scan, p)
    taken = np.zeros(n, bool)
    for tr in fades:
        taken[tr.start : tr.end + 1] = True
    kept_cuts = []
    for tr in cuts:
        if not taken[tr.frame]:
            kept_cuts.append(tr)
            taken[max(0, tr.frame - 2) : tr.frame + 2] = True
    dissolves = _dissolves(scan, d1, p, taken)
    merged = sorted([*kept_cuts, *fades, *dissolves], key=lambda tr: tr.frame)
    result: list[Transition] = []
    for tr in merged:
        if result and tr.frame - result[-1].frame < p.min_shot_frames:
            if tr.confidence > result[-1].confidence:
                result[-1] = tr
            continue
        result.append(tr)
    return result, d1


def detect_cuts(
    path: str | os.PathLike[str], params: CutParams | None = None, *, all_frames: bool = False
) -> CutResult:
    """Decode ``path`` (features only, no RGB frames; reference frames only unless ``all_frames``) and find its
    shot boundaries, numbered in the file's frames."""
    scan = scan_video(path, keep_frames=False, reference_only=not all_frames)
    started = time.perf_counter()
    transitions, d1 = find_transitions(scan, params)
    if scan.frame_index is not None:
        index = scan.frame_index
        transitions = [
            replace(t, frame=int(index[t.frame]), start=int(index[t.start]), end=int(index[t.end])) for t in transitions
        ]
    return CutResult(
        transitions,
        scan.total_frames,
        scan.times_s,
        d1,
        scan.seconds,
        time.perf_counter() - started,
        decoded_frames=None if scan.frame_index is None else scan.n_frames,
    )
