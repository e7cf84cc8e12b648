"""Tracking benchmark on PETS09-S2L1 frames 1–400: detector × tracker × stride → HOTA, MOTA, IDF1, frames/s.

    SIGHTINGS_MODELS_DIR=/tmp/models-check python benchmarks/bench_tracking.py [--data DIR] [--frames 400]
        [--detectors default] [--tune-linking] [--tune-smoothing] [--tune-gate] [--link-embedder NAME]
        [--compare-backward] [--tud-backward] [--busy-synthetic]

Detections are computed once per detector setting (every frame, low threshold 0.2) and cached on disk in
``benchmarks/.cache/pets09_detections_<key>.json`` (key: detector settings + frame count + model file), so
re-runs and the linking sweep never re-run the SSD; each tracker then runs on exactly the same detections
(thresholded per row of the table). Strided runs are
scored against ground truth restricted to the sampled frames. Baseline: ``trackers`` ByteTrack with its own
defaults. Tuning protocol (no other labelled PETS09 data exists here): the detector score threshold is chosen
on frames 1–200 only (best mean MOTA of the default tracker over strides 1, 5 and 10),
then reported on 201–400 and 1–400.
The time-buffered IoU ratios, the 1 s interpolation and the 0.2 s box smoothing (``--tune-smoothing``) were
also chosen on frames 1–200 only (see docs/tracking.md); 201–400 is the held-out half. ``--tune-linking`` prints
the sweep that chose the tracklet linker's settings (``sightings.vision.track.linking``), on frames 1–200 only
(tracked and linked without frames 201+), by the mean of MOTA and IDF1 over strides 1, 5 and 10. ``--tune-gate``
prints the sweep that chose BoT-SORT's colour-gate threshold, with the whole-frame detector the retail pipeline
uses, by the same criterion (best 3-point mean over the grid). ``--link-embedder NAME`` compares the default
chain's linker comparing people by body colours against the same linker comparing them by the ONNX embed model
``NAME`` from the models directory (a person re-ID model; `sightings track --link-embedder`).
``--compare-backward`` prints the table that chose the forward-backward consistency cut (``LinkOptions.backward_hold``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.types import Box, Detection
from sightings.evaluate.detection import evaluate_detection
from sightings.evaluate.fingerprint import source_fingerprint
from sightings.evaluate.mot_io import MotData, read_mot
from sightings.evaluate.tracking import evaluate_tracking
from sightings.media.sample import sample_frames
from sightings.vision.pipeline import OfflineTracking, TrackRow, finish_rows
from sightings.vision.track.botsort import BotSortTracker
from sightings.vision.track.bytetrack import ByteTrackTracker
from sightings.vision.track.consistency import RowKey, row_key
from sightings.vision.track.linking import AppearanceCollector, LinkOptions
from sightings.vision.track.ocsort import OcSortTracker
from sightings.vision.track.postprocess import DEFAULT_SMOOTH_S

STRIDES = (1, 5, 10, 25)
TUNING_STRIDES = (1, 5, 10)
THRESHOLDS = (0.35, 0.4, 0.45, 0.5, 0.55)
CENTERNET_THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)  # its heat-map scores sit lower than the SSD's
INTERPOLATE_S = 1.0  # the `sightings track` default
SMOOTH_S = DEFAULT_SMOOTH_S  # the `sightings track --smooth-s` default (chosen with --tune-smoothing on frames 1-200)
SMOOTH_GRID = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1.0)
LINK = LinkOptions()  # the `sightings track --link-s` default (chosen with --tune-linking on frames 1-200)
CACHE_DIR = Path(__file__).resolve().parent / ".cache"


def _mot(rows: list[tuple[float, ...]]) -> MotData:
    return MotData.from_rows(rows) if rows else MotData.empty()


def detect_all(
    video: Path, n_frames: int, detector_options: dict[str, Any], *, low: float = 0.2
) -> tuple[dict, list, float]:
    """Person detections (score >= ``low``) of the first ``n_frames`` frames, from the disk cache when it has them.

    ``detector_options`` go to the SSD, or to CenterNet when they hold ``"detector": "centernet"``."""
    from sightings.vision.detect.centernet import CenterNetDetector
    from sightings.vision.detect.ssd import SsdDetector

    opts = {k: v for k, v in detector_options.items() if k != "detector"}
    det: Any = (
        CenterNetDetector(classes=["person"], score_threshold=low, **opts)
        if detector_options.get("detector") == "centernet"
        else SsdDetector(classes=["Person"], score_threshold=low, **opts)
    )
    frames = [f for f in sample_frames(video, stride=1) if f.index < n_frames]
    model = Path(det.model_path)
    settings = {"options": detector_options, "threshold": low, "classes": ["Person"], "frames": n_frames,
                "video": [video.name, video.stat().st_size], "model": [model.name, model.stat().st_size],
                "code": source_fingerprint("sightings.vision.detect", "sightings.media")}  # fmt: skip
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    cache = CACHE_DIR / f"pets09_detections_{key}.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        found = {
            int(i): [Detection(int(i), Box(*r[:4]), r[5], r[4]) for r in rows] for i, rows in data["frames"].items()
        }
        return found, frames, float(data["seconds"])
    t0 = time.perf_counter()
    found = {}
    for f in frames:
        found[f.index] = det.detect([f])[0]
    seconds = time.perf_counter() - t0
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    (CACHE_DIR / ".gitignore").write_text("*\n")
    rows = {i: [[*d.box.xyxy, d.score, d.label] for d in ds] for i, ds in found.items()}
    cache.write_text(json.dumps({"settings": settings, "seconds": seconds, "frames": rows}))
    return found, frames, seconds


def det_mot(found: dict[int, list[Detection]], lo: int, hi: int, thr: float) -> MotData:
    rows = [
        (i + 1, -1, *d.box.xywh, d.score) for i, ds in found.items() if lo <= i + 1 <= hi for d in ds if d.score >= thr
    ]
    return _mot(rows)


def track_rows(
    make: Any,
    frames: list,
    found: dict,
    stride: int,
    thr: float,
    *,
    appearance: bool = False,
    last: int = 10**9,
    embedder: Any = None,
    link: LinkOptions | None = None,
) -> tuple[list[TrackRow], list, float, OfflineTracking]:
    """Tracked rows over frames with index < ``last`` at ``stride``, and the tracking session that holds what the
    offline finish needs (descriptors for the linker: colours, or ``embedder``'s vectors; the record for the
    backward pass, unless ``link`` turns it off), as ``track_video`` keeps them."""
    collector = AppearanceCollector(embedder=embedder, keep_all=True) if appearance else None
    session = OfflineTracking(make(), link=link or LINK, collector=collector)
    used = [f for f in frames if f.index % stride == 0 and f.index < last]
    t0 = time.perf_counter()
    for f in used:
        session.update(f, [d for d in found[f.index] if d.score >= thr])
    return list(session.rows), used, time.perf_counter() - t0, session


def _rows_mot(rows: list[TrackRow]) -> MotData:
    return _mot([(r.frame + 1, r.track_id, r.x1, r.y1, r.x2 - r.x1, r.y2 - r.y1, r.score) for r in rows])


def finish(
    rows: list[TrackRow],
    used: list,
    session: OfflineTracking,
    link: LinkOptions | None,
    interp_s: float,
    *,
    smooth_s: float = 0.0,
    backward: Mapping[RowKey, int] | None = None,
) -> MotData:
    """``rows`` through ``track_video``'s offline steps (``finish_rows``: cut where the backward pass disagrees,
    link, interpolate, smooth) → MOT data. ``session`` from :func:`track_rows` holds the descriptors and the
    backward pass; ``backward`` gives other backward ids instead (the oracle's)."""
    frames = [(f.index, f.t_s) for f in used]
    done = finish_rows(
        rows, frames, link, session.collector, interp_s, smooth_s=smooth_s,
        backward=session.backward if backward is None else backward,
    )  # fmt: skip
    return _rows_mot(done)


def run_tracker(
    make: Any,
    frames: list,
    found: dict,
    stride: int,
    thr: float,
    *,
    interpolate_s: float = 0.0,
    link: LinkOptions | None = None,
    smooth_s: float = 0.0,
) -> tuple[MotData, float, list[int]]:
    appearance = link is not None and link.appearance_weight > 0
    rows, used, secs, collector = track_rows(make, frames, found, stride, thr, appearance=appearance)
    t0 = time.perf_counter()
    mot = finish(rows, used, collector, link, interpolate_s, smooth_s=smooth_s)
    return mot, secs + time.perf_counter() - t0, [f.index + 1 for f in used]


def restrict(gt: MotData, frames: list[int], lo: int = 1, hi: int = 10**9) -> MotData:
    keep = np.isin(gt.frame, frames) & (gt.frame >= lo) & (gt.frame <= hi)
    return gt.select(keep)


LINK_GRID: dict[str, tuple[float, ...]] = {
    "max_gap_s": (1.5, 2.0, 3.0, 4.0, 5.0, 6.0),
    "max_cost": (0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
    "max_position": (0.5, 0.75, 1.0, 1.5, 2.0),
    "position_growth_per_s": (0.0, 0.25, 0.5, 1.0),
    "size_weight": (0.0, 0.5, 1.0, 2.0),
    "appearance_weight": (0.0, 0.5, 1.0, 2.0),
    "velocity_window_s": (0.5, 1.0, 2.0),
    "min_len_s": (0.0, 0.5, 1.0, 2.0, 3.0),
}


def tune_linking(gt: MotData, frames: list, found: dict, thr: float, interp_s: float) -> LinkOptions:
    """Coordinate descent over LINK_GRID from the current defaults, on frames 1-200 only; prints every step."""
    make = lambda: ByteTrackTracker(track_activation_threshold=thr, high_conf_det_threshold=thr)  # noqa: E731
    tracked = {s: track_rows(make, frames, found, s, thr, appearance=True, last=200) for s in TUNING_STRIDES}

    def score(opts: LinkOptions | None) -> tuple[float, float, float]:
        motas, idf1s = [], []
        for rows, used, _, collector in tracked.values():
            g = restrict(gt, [f.index + 1 for f in used], 1, 200)
            rep = evaluate_tracking(g, finish(rows, used, collector, opts, interp_s))
            motas.append(rep.mota)
            idf1s.append(rep.idf1)
        m, i = float(np.mean(motas)), float(np.mean(idf1s))
        return (m + i) / 2, m, i

    base = score(None)
    print(f"frames 1-200, strides {TUNING_STRIDES}: no linking: mean MOTA {base[1]:.3f}, IDF1 {base[2]:.3f}")
    best_opts, best = LINK, score(LINK)
    print(f"start {best_opts}: score {best[0]:.4f} (MOTA {best[1]:.3f}, IDF1 {best[2]:.3f})")
    for round_ in range(2):
        changed = False
        for name, values in LINK_GRID.items():
            for v in values:
                cand = dataclasses.replace(best_opts, **{name: v})
                if cand == best_opts:
                    continue
                sc = score(cand)
                print(f"  round {round_ + 1} {name}={v}: {sc[0]:.4f} (MOTA {sc[1]:.3f}, IDF1 {sc[2]:.3f})", flush=True)
                if sc[0] > best[0] + 1e-4:
                    best_opts, best, changed = cand, sc, True
            print(f"  -> {name}={getattr(best_opts, name)} (score {best[0]:.4f})", flush=True)
        if not changed:
            break
    print(f"chosen: {best_opts}: mean MOTA {best[1]:.3f}, IDF1 {best[2]:.3f} (no linking {base[1]:.3f}, {base[2]:.3f})")
    return best_opts


def tune_smoothing(gt: MotData, frames: list, found: dict, thr: float, interp_s: float) -> float:
    """The box-smoothing half-window: best mean MOTA over strides 1, 5, 10 on frames 1-200 (then IDF1, then HOTA)."""
    make = lambda: ByteTrackTracker(track_activation_threshold=thr, high_conf_det_threshold=thr)  # noqa: E731
    tracked = [track_rows(make, frames, found, s, thr, appearance=True, last=200) for s in TUNING_STRIDES]
    best_s, best = 0.0, (-1e9, -1e9, -1e9)
    print("| smooth_s | mean MOTA 1-200 | mean IDF1 | mean HOTA | MOTA per stride (1, 5, 10) |")
    print("|---:|---:|---:|---:|---|")
    for smooth_s in SMOOTH_GRID:
        reps = []
        for rows, used, _, collector in tracked:
            g = restrict(gt, [f.index + 1 for f in used], 1, 200)
            reps.append(evaluate_tracking(g, finish(rows, used, collector, LINK, interp_s, smooth_s=smooth_s)))
        key = tuple(round(float(np.mean(v)), 4) for v in zip(*((r.mota, r.idf1, r.hota) for r in reps), strict=True))
        per = ", ".join(f"{r.mota:.3f}" for r in reps)
        print(f"| {smooth_s:g} | {key[0]:.4f} | {key[1]:.4f} | {key[2]:.4f} | {per} |", flush=True)
        if key > best:
            best_s, best = smooth_s, key
    print(f"chosen: smooth_s = {best_s:g}")
    return best_s


GATE_GRID = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def tune_gate(gt: MotData, frames: list, found: dict, thr: float, interp_s: float) -> float:
    """BoT-SORT's colour-gate threshold on frames 1-200 only, with the retail settings (this detector, linking,
    interpolation, smoothing): score = (mean MOTA + mean IDF1) / 2 over strides 1, 5, 10, the linker's criterion;
    the choice is the best 3-point mean over GATE_GRID (single points are noisy). Prints the hue-binned gate of
    before (``appearance_achromatic=False``) beside it."""
    rows_out = []
    scores: dict[bool, list[float]] = {}
    for achromatic in (True, False):
        scores[achromatic] = []
        for gate in GATE_GRID:
            motas, idf1s = [], []
            for stride in TUNING_STRIDES:
                make = lambda g=gate, a=achromatic: BotSortTracker(  # noqa: E731
                    track_activation_threshold=thr,
                    high_conf_det_threshold=thr,
                    appearance_threshold=g,
                    appearance_achromatic=a,
                )
                rows, used, _, collector = track_rows(make, frames, found, stride, thr, appearance=True, last=200)
                g200 = restrict(gt, [f.index + 1 for f in used], 1, 200)
                rep = evaluate_tracking(g200, finish(rows, used, collector, LINK, interp_s, smooth_s=SMOOTH_S))
                motas.append(rep.mota)
                idf1s.append(rep.idf1)
            scores[achromatic].append((float(np.mean(motas)) + float(np.mean(idf1s))) / 2)
            print(f"  grey bin {achromatic}, gate {gate:.2f}: {scores[achromatic][-1]:.4f}", flush=True)
    smooth = [float(np.mean(scores[True][i - 1 : i + 2])) for i in range(1, len(GATE_GRID) - 1)]
    best = GATE_GRID[1 + int(np.argmax(smooth))]
    print("| gate | " + " | ".join(f"{g:g}" for g in GATE_GRID) + " |")
    print("|---|" + "---:|" * len(GATE_GRID))
    rows_out.append("| one hue bin for grey | " + " | ".join(f"{v:.3f}" for v in scores[True]) + " |")
    rows_out.append("| 3-point mean | — | " + " | ".join(f"{v:.3f}" for v in smooth) + " | — |")
    rows_out.append("| hue-binned | " + " | ".join(f"{v:.3f}" for v in scores[False]) + " |")
    print("\n".join(rows_out))
    print(f"chosen: appearance_threshold = {best:g} (with the grey bin)")
    return best


def choose_threshold(  # noqa: PLR0917
    gt: MotData, frames: list, found: dict, factory: Any, interp_s: float, grid: tuple[float, ...] = THRESHOLDS
) -> float:
    """The detector threshold, chosen on frames 1-200 only (best mean MOTA over strides 1, 5, 10)."""
    best_thr, best = grid[0], -1e9
    for thr in grid:
        motas = []
        for stride in TUNING_STRIDES:
            pred, _, used = run_tracker(factory(thr), frames, found, stride, thr, interpolate_s=interp_s)
            g = restrict(gt, used, 1, 200)
            motas.append(evaluate_tracking(g, pred.select(pred.frame <= 200)).mota)
        if float(np.mean(motas)) > best:
            best_thr, best = thr, float(np.mean(motas))
    return best_thr


def busy_synthetic(people_per_hour: tuple[int, ...] = (300, 1200), seed: int = 1) -> None:
    """False links on a synthetic busy scene: people enter at a random point of a 1280×720 picture, walk straight
    at 30-60 px/s (2 % of them stop for good at each 1-s step) and leave; each track is a whole person, so every
    link is wrong. Colours are drawn to tell nobody apart (the worst case: only position and time decide). One hour
    at 1 analysis fps."""
    from sightings.vision.pipeline import TrackRow
    from sightings.vision.track.linking import EndAppearance, plan_links

    width, height, hour = 1280.0, 720.0, 3600.0
    print("| people / hour | 3-s linker | two-stage, 15 s (default) | two-stage, constant velocity only |")
    print("|---:|---:|---:|---:|")
    for n in people_per_hour:
        rng = np.random.default_rng(seed)
        rows: list[TrackRow] = []
        colours: dict[int, EndAppearance] = {}
        for pid in range(1, n + 1):
            t = rng.uniform(0, hour)
            p = np.array([rng.uniform(0, width), rng.uniform(100, height)])
            angle = rng.uniform(0, 2 * np.pi)
            v = rng.uniform(30, 60) * np.array([np.cos(angle), np.sin(angle)])
            h = 80 + p[1] / 10
            for _ in range(600):
                if not (0 <= p[0] <= width and 0 <= p[1] <= height):
                    break
                rows.append(
                    TrackRow(round(t * 10), round(t, 3), pid, "person", 0.8, p[0] - h / 5, p[1] - h, p[0] + h / 5, p[1])
                )
                p, t = p + v, t + 1.0
                if rng.random() < 0.02:
                    v = np.zeros(2)
            flat = np.full(256, 1 / np.sqrt(128), np.float32)  # the same colours for everyone
            colours[pid] = EndAppearance(flat, flat)
        rows.sort(key=lambda r: (r.t_s, r.track_id))
        cells = []
        for opts in (
            dataclasses.replace(LINK, max_gap_s=3.0),
            LINK,
            dataclasses.replace(LINK, may_stop=False),
        ):
            cells.append(str(len(plan_links(rows, options=opts, appearance=colours).links)))
        print(f"| {n} | " + " | ".join(cells) + " |", flush=True)


DOOR = ((560.0, 600.0), (720.0, 600.0), (720.0, 720.0), (560.0, 720.0))
"""The door of :func:`busy_door_synthetic`'s shop (x 560-720, y 600-720 of a 1280×720 picture)."""


def busy_door_synthetic(people_per_hour: tuple[int, ...] = (300, 1200), seed: int = 1) -> None:
    """False links in a synthetic busy shop with one door: each person comes in at a random point of the door at a
    random time of the hour, walks at 30-60 px/s to 1-4 random points of the floor (x 100-1180, y 250-720), stands
    0-20 s at each, walks back to a random point of the door and leaves. Each track is a whole person, so every
    link is wrong; colours tell nobody apart. One hour at 1 analysis fps. Compared: the default linker, and the
    same with the door as a doorway (no second-stage link from a track that ended in it to one that began in it)."""
    from sightings.vision.pipeline import TrackRow
    from sightings.vision.track.linking import EndAppearance, plan_links

    hour = 3600.0
    print("| people / hour | 3-s linker | two-stage, 15 s (default) | the same, door as a doorway | change |")
    print("|---:|---:|---:|---:|---:|")
    for n in people_per_hour:
        rng = np.random.default_rng(seed)
        rows: list[TrackRow] = []
        flat = np.full(256, 1 / np.sqrt(128), np.float32)  # the same colours for everyone
        colours: dict[int, EndAppearance] = {}

        def door_point(rng: np.random.Generator = rng) -> np.ndarray:
            return np.array([rng.uniform(560, 720), rng.uniform(600, 720)])

        for pid in range(1, n + 1):
            t = rng.uniform(0, hour)
            p = door_point()
            stops = [np.array([rng.uniform(100, 1180), rng.uniform(250, 720)]) for _ in range(rng.integers(1, 5))]
            speed = rng.uniform(30, 60)
            path: list[tuple[float, np.ndarray]] = []  # (seconds standing there, target)
            for stop in stops:
                path.append((rng.uniform(0, 20), stop))
            path.append((0.0, door_point()))
            for wait, target in path:
                while np.hypot(*(target - p)) > speed:
                    p = p + speed * (target - p) / np.hypot(*(target - p))
                    t += 1.0
                    h = 80 + p[1] / 10
                    rows.append(TrackRow(round(t * 10), round(t, 3), pid, "person", 0.8, p[0] - h / 5, p[1] - h,
                                         p[0] + h / 5, p[1]))  # fmt: skip
                p = target
                for _ in range(int(wait) + 1):
                    t += 1.0
                    h = 80 + p[1] / 10
                    rows.append(TrackRow(round(t * 10), round(t, 3), pid, "person", 0.8, p[0] - h / 5, p[1] - h,
                                         p[0] + h / 5, p[1]))  # fmt: skip
            colours[pid] = EndAppearance(flat, flat)
        rows.sort(key=lambda r: (r.t_s, r.track_id))
        counts = [
            len(plan_links(rows, options=opts, appearance=colours).links)
            for opts in (dataclasses.replace(LINK, max_gap_s=3.0), LINK, dataclasses.replace(LINK, doorways=(DOOR,)))
        ]
        change = f"{100 * (counts[2] - counts[1]) / counts[1]:+.0f} %" if counts[1] else "n/a"
        print(f"| {n} | {counts[0]} | {counts[1]} | {counts[2]} | {change} |", flush=True)


STOP_GAPS = (3.0, 6.0, 10.0, 15.0, 20.0)


def half_rule(gt: MotData, runs: Iterable[Any], lo: int, hi: int, link: LinkOptions) -> tuple[float, float, float]:
    """The tracking rule on frames ``lo``-``hi``: (mean MOTA + mean IDF1) / 2, mean MOTA, mean IDF1 over ``runs``
    (:func:`track_rows` results, one per stride), each finished as `sightings track` does with ``link``."""
    motas, idf1s = [], []
    for rows, used, _, collector in runs:
        g = restrict(gt, [f.index + 1 for f in used], lo, hi)
        rep = evaluate_tracking(g, finish(rows, used, collector, link, INTERPOLATE_S, smooth_s=SMOOTH_S))
        motas.append(rep.mota)
        idf1s.append(rep.idf1)
    m, i = float(np.mean(motas)), float(np.mean(idf1s))
    return (m + i) / 2, m, i


def tune_link_stop(gt: MotData, video: Path, n: int) -> None:
    """The linker's ``may_stop`` hypothesis × its longest gap, with the default chain as `sightings track` runs it
    (CenterNet boxes from 0.30, BoT-SORT's own thresholds, 1 s interpolation, 0.2 s smoothing), on frames 1-200
    only; the rule: (mean MOTA + mean IDF1) / 2 over strides 1, 5, 10; ties within 0.002 go to ``may_stop`` off,
    then to the shorter gap. Frames 201-400 (tracked on their own) are printed beside it, never used to choose."""
    found, frames, _ = detect_all(video, n, {"detector": "centernet", "input_size": 384})
    halves = {}
    for lo, hi in ((1, 200), (201, 400)):
        part = [f for f in frames if lo <= f.index + 1 <= hi]
        halves[lo, hi] = {s: track_rows(BotSortTracker, part, found, s, 0.30, appearance=True) for s in TUNING_STRIDES}

    def score(opts: LinkOptions, lo: int, hi: int) -> tuple[float, float, float]:
        return half_rule(gt, halves[lo, hi].values(), lo, hi, opts)

    print("| may_stop | max_gap_s | 1-200: rule (MOTA, IDF1) | 201-400: rule (MOTA, IDF1) |")
    print("|---|---:|---|---|")
    best: tuple[float, LinkOptions] | None = None
    for stop in (False, True):
        for gap in STOP_GAPS:
            opts = dataclasses.replace(LINK, may_stop=stop, max_gap_s=gap)
            (r1, m1, i1), (r2, m2, i2) = score(opts, 1, 200), score(opts, 201, 400)
            print(f"| {stop} | {gap:g} | {r1:.4f} ({m1:.3f}, {i1:.3f}) | {r2:.4f} ({m2:.3f}, {i2:.3f}) |", flush=True)
            if best is None or r1 > best[0] + 0.002:
                best = (r1, opts)
    assert best is not None
    print(f"chosen: may_stop={best[1].may_stop}, max_gap_s={best[1].max_gap_s:g}")


BACKWARD_STRIDES = (1, 5, 10, 25, 30)


def _truth_ids(gt: MotData, rows: list[TrackRow]) -> dict[RowKey, int]:
    """A "backward pass" that knows the truth: each row's ground-truth person (IoU > 0.3 in its frame), for the
    oracle that cuts tracks at every true identity change."""
    from sightings.vision.detect.postprocess import box_iou

    boxes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for f in np.unique(gt.frame):
        keep = gt.frame == f
        boxes[int(f) - 1] = (gt.xyxy[keep], gt.id[keep])
    out = {}
    for r in rows:
        truth = boxes.get(r.frame)
        if truth is None or not len(truth[1]):
            continue
        iou = box_iou(np.array([[r.x1, r.y1, r.x2, r.y2]]), truth[0])[0]
        k = int(iou.argmax())
        if iou[k] > 0.3:
            out[row_key(r.frame, r.x1, r.y1, r.x2, r.y2)] = int(truth[1][k])
    return out


def compare_backward(gt: MotData, video: Path, n: int) -> None:
    """Forward-backward consistency (``LinkOptions.backward_hold``), the rule fixed before its run: ``hold`` 1 or 3
    by the tracking rule on frames 1-200 (strides 1, 5, 10; ties within 0.002 to 3); adopted if it gains >= 0.002
    there, loses <= 0.002 on 201-400 and the sparse rule (strides 25, 30) loses <= 0.005 on either half. Beside it:
    no backward pass (the default before), and an oracle that cuts at every true identity change. The default
    chain, each half tracked on its own."""
    found, frames, _ = detect_all(video, n, {"detector": "centernet", "input_size": 384})
    halves = {}
    for lo, hi in ((1, 200), (201, 400)):
        part = [f for f in frames if lo <= f.index + 1 <= hi]
        halves[lo, hi] = {
            s: track_rows(BotSortTracker, part, found, s, 0.30, appearance=True) for s in BACKWARD_STRIDES
        }

    def rules(hold: int, oracle: bool, lo: int, hi: int) -> tuple[float, float, str]:
        link = dataclasses.replace(LINK, backward_hold=hold)
        dense, sparse, idf1 = [], [], []
        for s, (rows, used, _, session) in halves[lo, hi].items():
            g = restrict(gt, [f.index + 1 for f in used], lo, hi)
            truth = _truth_ids(gt, rows) if oracle else None
            rep = evaluate_tracking(
                g, finish(rows, used, session, link, INTERPOLATE_S, smooth_s=SMOOTH_S, backward=truth)
            )
            (dense if s in TUNING_STRIDES else sparse).append((rep.mota + rep.idf1) / 2)
            if s in TUNING_STRIDES:
                idf1.append(f"{rep.idf1:.3f}")
        return float(np.mean(dense)), float(np.mean(sparse)), " / ".join(idf1)

    print(
        "| backward pass | 1-200: strides 1, 5, 10 | 25, 30 | 201-400: 1, 5, 10 | 25, 30 "
        "| IDF1 1 / 5 / 10 (1-200; 201-400) |"
    )
    print("|---|---:|---:|---:|---:|---|")
    scores = {}
    for name, hold, oracle in (("none (hold 0)", 0, False), ("hold 1", 1, False), ("hold 3", 3, False),
                               ("oracle: cut at every true identity change", 1, True)):  # fmt: skip
        (d1, s1, i1), (d2, s2, i2) = rules(hold, oracle, 1, 200), rules(hold, oracle, 201, 400)
        scores[name] = (d1, s1, d2, s2)
        print(f"| {name} | {d1:.4f} | {s1:.4f} | {d2:.4f} | {s2:.4f} | {i1}; {i2} |", flush=True)
    chosen = "hold 1" if scores["hold 1"][0] > scores["hold 3"][0] + 0.002 else "hold 3"
    (d1, s1, d2, s2), (b1, bs1, b2, bs2) = scores[chosen], scores["none (hold 0)"]
    adopt = d1 >= b1 + 0.002 and d2 >= b2 - 0.002 and s1 >= bs1 - 0.005 and s2 >= bs2 - 0.005
    print(f"chosen: {chosen}; {'adopted' if adopt else 'not adopted'} by the rule")


SPARSE_PHASES = {25: (5, 10, 15, 20), 30: (6, 12, 18, 24)}
"""The sampling phases the sparse-step veto was tested on: no frame shared with phase 0, which earlier choices saw."""
FOREGROUND_PHASES = {25: (4, 9, 14, 19, 24), 30: (1, 7, 13, 19, 25)}
"""The phases the sparse-step foreground gate was tested on: none used by a tracking rule before."""


def compare_on_phases(
    gt: MotData,
    video: Path,
    n: int,
    phases: Mapping[int, tuple[int, ...]],
    *,
    baseline: tuple[Any, LinkOptions],
    candidate: tuple[Any, LinkOptions],
    seen: tuple[int, ...] = (),
) -> None:
    """(MOTA + IDF1) / 2 of ``baseline`` and ``candidate`` (tracker factory, linker options) on the clip sampled at
    each stride's ``phases`` (frames with index % stride == phase; all frames tracked at once, scored on all), the
    default chain otherwise (CenterNet at 0.30, the backward pass, linking, 1-s filling, 0.2-s smoothing). Phases in
    ``seen`` are printed for the record only. The rule both sparse-step changes were adopted by: the mean change
    over the unseen runs >= 0.01, and no more than 2 of them falling by > 0.02."""
    found, frames, _ = detect_all(video, n, {"detector": "centernet", "input_size": 384})
    print("| stride | phase | before: rule (MOTA, IDF1) | after: rule (MOTA, IDF1) | change |")
    print("|---:|---:|---|---|---:|")
    changes = []
    for stride, chosen in phases.items():
        for phase in (*seen, *chosen):
            part = [f for f in frames if f.index % stride == phase]
            g = restrict(gt, [f.index + 1 for f in part])
            cells = []
            for make, link in (baseline, candidate):
                rows, used, _, session = track_rows(make, part, found, 1, 0.30, appearance=True, link=link)
                rep = evaluate_tracking(g, finish(rows, used, session, link, INTERPOLATE_S, smooth_s=SMOOTH_S))
                cells.append(((rep.mota + rep.idf1) / 2, rep.mota, rep.idf1))
            change = cells[1][0] - cells[0][0]
            if phase not in seen:
                changes.append(change)
            shown = [f"{r:.4f} ({m:.3f}, {i:.3f})" for r, m, i in cells]
            label = f"{phase} (seen before)" if phase in seen else f"{phase}"
            print(f"| {stride} | {label} | {shown[0]} | {shown[1]} | {change:+.4f} |", flush=True)
    mean, falls = float(np.mean(changes)), sum(c < -0.02 for c in changes)
    adopt = mean >= 0.01 and falls <= 2
    print(f"mean change over the {len(changes)} unseen phases {mean:+.4f}, {falls} fall by > 0.02: "
          f"{'adopted' if adopt else 'not adopted'} by the rule")  # fmt: skip


def compare_sparse_veto(gt: MotData, video: Path, n: int) -> None:
    """The backward pass as a veto on links at sparse steps (``LinkOptions.backward_veto_step_s``), on
    :data:`SPARSE_PHASES` (phase 0 for the record), with BoT-SORT's whole-box colours as when it was chosen."""

    def plain() -> BotSortTracker:
        return BotSortTracker(appearance_foreground_step_s=0.0)

    before = (plain, dataclasses.replace(LINK, backward_veto_step_s=0.0))
    compare_on_phases(gt, video, n, SPARSE_PHASES, baseline=before, candidate=(plain, LINK), seen=(0,))


def compare_sparse_foreground(gt: MotData, video: Path, n: int) -> None:
    """BoT-SORT's gate over foreground colours at sparse steps (``appearance_foreground_step_s``), on
    :data:`FOREGROUND_PHASES`, with the veto on both sides."""

    def plain() -> BotSortTracker:
        return BotSortTracker(appearance_foreground_step_s=0.0)

    compare_on_phases(gt, video, n, FOREGROUND_PHASES, baseline=(plain, LINK), candidate=(BotSortTracker, LINK))


def tud_backward(data: Path) -> None:
    """An independent check of the backward pass (nothing chosen from it): MOT15 TUD-Campus / TUD-Stadtmitte from
    ``motmetrics_tud`` (ground truth, and another tracker's output used as detections, 25 fps, no images, so
    trackers without colours), through the default chain with and without the backward pass."""
    import functools

    from sightings.core.types import Box, Frame, MediaKind, MediaRef

    root = data / "motmetrics_tud"
    if not root.exists():
        print(f"skipped: no {root} (run `make stage-data`)")
        return
    blank = np.zeros((1, 1, 3), np.uint8)
    makers = {
        "ByteTrack": functools.partial(ByteTrackTracker, track_activation_threshold=0.5, high_conf_det_threshold=0.5),
        "BoT-SORT without colours": functools.partial(BotSortTracker, appearance=False),
    }
    print("| sequence | tracker | stride | MOTA, IDF1 without the backward pass | with it |")
    print("|---|---|---:|---|---|")
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        gt = read_mot(root / seq / "gt.txt")
        boxes = np.loadtxt(root / seq / "test.txt", delimiter=",")
        ref = MediaRef(seq, MediaKind.VIDEO, fps=25.0)
        n = int(gt.frame.max())
        for name, make in makers.items():
            for stride in (1, 5):
                cells = []
                for hold in (0, 3):
                    session = OfflineTracking(make(), link=dataclasses.replace(LINK, backward_hold=hold))
                    for f in range(1, n + 1, stride):
                        rows = boxes[boxes[:, 0] == f]
                        dets = [
                            Detection(f - 1, Box(r[2], r[3], r[2] + r[4], r[3] + r[5]), "person", 0.9) for r in rows
                        ]
                        session.update(Frame(ref, f - 1, (f - 1) / 25.0, blank), dets)
                    pred = _rows_mot(session.finish(INTERPOLATE_S, smooth_s=SMOOTH_S))
                    rep = evaluate_tracking(restrict(gt, list(range(1, n + 1, stride))), pred)
                    cells.append(f"{rep.mota:.3f}, {rep.idf1:.3f}")
                print(f"| {seq} | {name} | {stride} | {cells[0]} | {cells[1]} |", flush=True)


def compare_link_embedder(gt: MotData, video: Path, n: int, name: str) -> None:
    """The default chain as `sightings track` runs it, its linker comparing people by body colours (the default)
    or by the ONNX embed model ``name`` from the models directory (``--link-embedder``): the tracking rule
    ((mean MOTA + mean IDF1) / 2 over strides 1, 5, 10) on frames 1-200 and, held out, 201-400, and the time
    the descriptors add per tracked box."""
    from sightings.vision.pipeline import create_link_embedder

    embedder = create_link_embedder(name)
    found, frames, _ = detect_all(video, n, {"detector": "centernet", "input_size": 384})
    print("| linker compares people by | 1-200: rule (MOTA, IDF1) | 201-400: rule (MOTA, IDF1) | ms per tracked box |")
    print("|---|---|---|---:|")
    for label, emb in (("body colours (default)", None), (f"`{name}` embeddings", embedder)):
        cells, seconds, boxes = [], 0.0, 0
        for lo, hi in ((1, 200), (201, 400)):
            part = [f for f in frames if lo <= f.index + 1 <= hi]
            runs = [
                track_rows(BotSortTracker, part, found, s, 0.30, appearance=True, embedder=emb) for s in TUNING_STRIDES
            ]
            seconds += sum(run[2] for run in runs)
            boxes += sum(len(run[0]) for run in runs)
            r, m, i = half_rule(gt, runs, lo, hi, LINK)
            cells.append(f"{r:.4f} ({m:.3f}, {i:.3f})")
        print(f"| {label} | {cells[0]} | {cells[1]} | {1000 * seconds / max(1, boxes):.2f} |", flush=True)


def compare_defaults(gt: MotData, video: Path, n: int) -> None:
    """`sightings track` default candidates on frames 1-200 only (the rule: mean of MOTA and IDF1 over strides 1, 5,
    10), full chain (interpolation, linking, smoothing). Each detector's threshold is chosen as above, except the last
    row: the default as it runs, CenterNet's own threshold (0.30, detection F1) and BoT-SORT's own (0.45), so boxes
    between the two reach the tracker's second stage only. Held-out 201-400 beside it."""
    ssd_tiles = ({"tile": "2x2,2x3"}, THRESHOLDS)
    centernet = ({"detector": "centernet", "input_size": 384}, CENTERNET_THRESHOLDS)
    byte = lambda thr: lambda: ByteTrackTracker(track_activation_threshold=thr, high_conf_det_threshold=thr)  # noqa: E731
    bot = lambda thr: lambda: BotSortTracker(track_activation_threshold=thr, high_conf_det_threshold=thr)  # noqa: E731
    rows: dict[str, tuple[tuple[dict[str, Any], tuple[float, ...]], Any, float | None]] = {
        "SSD 2×2 + 2×3 tiles + ByteTrack (the default before 2026-11-30)": (ssd_tiles, byte, None),
        "SSD 2×2 + 2×3 tiles + BoT-SORT": (ssd_tiles, bot, None),
        "CenterNet + ByteTrack": (centernet, byte, None),
        "CenterNet + BoT-SORT": (centernet, bot, None),
        "CenterNet (0.30) + BoT-SORT (0.45): the default": (centernet, lambda thr: BotSortTracker, 0.30),
        "CenterNet (0.30) + OC-SORT (0.45)": (centernet, lambda thr: OcSortTracker, 0.30),
        "CenterNet (0.20) + BoT-SORT (0.45)": (centernet, lambda thr: BotSortTracker, 0.20),
        "CenterNet (0.10) + BoT-SORT (0.45): every box its second stage takes": (
            centernet,
            lambda thr: BotSortTracker,
            0.10,
        ),
    }
    print("| HOTA / MOTA / IDF1 | threshold | stride 1 | stride 5 | stride 10 | stride 25 "
          "| 1-200: mean MOTA, IDF1 (1, 5, 10) | rule | 201-400: mean MOTA, IDF1 |")  # fmt: skip
    print("|---|---:|---|---|---|---|---|---:|---|")
    for name, ((opts, grid), make, fixed) in rows.items():
        found, frames, _ = detect_all(video, n, opts, low=min(0.2, fixed or 0.2))
        thr = fixed if fixed is not None else choose_threshold(gt, frames, found, byte, INTERPOLATE_S, grid=grid)
        cells: list[str] = []
        means: dict[tuple[int, int], list[tuple[float, float]]] = {(1, 200): [], (201, 400): []}
        for stride in STRIDES:
            pred, _, used = run_tracker(
                make(thr), frames, found, stride, thr, interpolate_s=INTERPOLATE_S, link=LINK, smooth_s=SMOOTH_S
            )
            for (lo, hi), scores in means.items():
                window = pred.select((pred.frame >= lo) & (pred.frame <= hi))
                rep = evaluate_tracking(restrict(gt, used, lo, hi), window)
                if lo == 1:
                    cells.append(f"{rep.hota:.3f} / {rep.mota:.3f} / {rep.idf1:.3f}")
                if stride in TUNING_STRIDES:
                    scores.append((rep.mota, rep.idf1))
        (m, i), (m2, i2) = (np.mean(means[k], axis=0) for k in means)
        print(f"| {name} | {thr:.2f} | " + " | ".join(cells) + f" | {m:.3f}, {i:.3f} | {(m + i) / 2:.3f} "
              f"| {m2:.3f}, {i2:.3f} |", flush=True)  # fmt: skip


def main() -> None:  # noqa: PLR0912, PLR0915
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("SIGHTINGS_SHARED_DATA", "/work/shared/data")))
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument(
        "--detectors",
        choices=("all", "default", "whole-frame"),
        default="all",
        help="all rows, the default (SSD tiles), or the whole-frame detectors (SSD, CenterNet)",
    )
    parser.add_argument("--tune-linking", action="store_true", help="only the linker sweep on frames 1-200")
    parser.add_argument("--tune-smoothing", action="store_true", help="only the smoothing sweep on frames 1-200")
    parser.add_argument(
        "--tune-gate", action="store_true", help="only BoT-SORT's colour-gate sweep on frames 1-200 (whole frame)"
    )
    parser.add_argument(
        "--busy-synthetic",
        action="store_true",
        help="only: false links of the linkers on a synthetic busy scene (no data needed)",
    )
    parser.add_argument(
        "--tune-link-stop",
        action="store_true",
        help="only the linker's may_stop hypothesis x longest gap, default chain, chosen on frames 1-200",
    )
    parser.add_argument(
        "--link-embedder",
        metavar="NAME",
        help="only: the default chain with the linker comparing people by this ONNX embed model vs by colours",
    )
    parser.add_argument(
        "--compare-defaults",
        action="store_true",
        help="only the `sightings track` default candidates, scored on frames 1-200",
    )
    parser.add_argument(
        "--tud-backward",
        action="store_true",
        help="only: the backward pass on MOT15 TUD sequences (another tracker's boxes as detections; a check)",
    )
    parser.add_argument(
        "--sparse-foreground",
        action="store_true",
        help="only: BoT-SORT's gate over foreground colours at sparse steps, on phases no rule had used",
    )
    parser.add_argument(
        "--sparse-veto",
        action="store_true",
        help="only: the backward veto on links at sparse steps, on sampling phases no earlier choice saw",
    )
    parser.add_argument(
        "--compare-backward",
        action="store_true",
        help="only: the forward-backward consistency cut (hold 0, 1, 3, and a true-identity oracle), each half alone",
    )
    args = parser.parse_args()
    if args.busy_synthetic:
        busy_synthetic()
        print()
        busy_door_synthetic()
        return
    if args.tud_backward:
        tud_backward(args.data)
        return
    video, gt_path = args.data / "pets09" / "vtest.avi", args.data / "pets09" / "gt_1_400.txt"
    if not (video.exists() and gt_path.exists()):
        print(f"skipped: no PETS09 video + ground truth under {args.data / 'pets09'} (run `make stage-data`)")
        return
    gt = read_mot(gt_path)
    n = args.frames
    only = {  # --flag: the one table it prints instead of the full run (the first flag given, in this order)
        "compare_defaults": compare_defaults,
        "tune_link_stop": tune_link_stop,
        "link_embedder": lambda g, v, k: compare_link_embedder(g, v, k, args.link_embedder),
        "compare_backward": compare_backward,
        "sparse_veto": compare_sparse_veto,
        "sparse_foreground": compare_sparse_foreground,
    }
    for flag, table in only.items():
        if getattr(args, flag):
            table(gt, video, n)
            return

    detectors = {
        "SSD full frame": {},
        "SSD 2×2 tiles + full frame, plain NMS boxes": {"tile": True, "box_voting": None},
        "SSD 2×2 tiles + full frame + box voting (--tiles 2x2)": {"tile": True},
        "SSD 2×2 + 2×3 tiles + full frame + box voting (default)": {"tile": "2x2,2x3"},
        "CenterNet-MobileNetV3 384 px, whole frame": {"detector": "centernet", "input_size": 384},
    }
    if args.tune_gate:  # the retail pipeline's detector: the whole frame
        detectors = dict(list(detectors.items())[:1])
    elif args.detectors == "default" or args.tune_linking or args.tune_smoothing:
        detectors = {k: v for k, v in detectors.items() if "(default)" in k}
    elif args.detectors == "whole-frame":
        detectors = {k: v for k, v in detectors.items() if "whole frame" in k or k == "SSD full frame"}
    byte = lambda thr: lambda: ByteTrackTracker(track_activation_threshold=thr, high_conf_det_threshold=thr)  # noqa: E731
    bot = lambda thr: lambda: BotSortTracker(track_activation_threshold=thr, high_conf_det_threshold=thr)  # noqa: E731
    no_colour = dataclasses.replace(LINK, appearance_weight=0.0)
    # (factory(thr) → tracker maker, interpolate seconds, linking, smoothing seconds); the last one is the
    # `sightings track` default
    trackers: dict[str, tuple[Any, float, LinkOptions | None, float]] = {
        "ByteTrack, trackers defaults (baseline)": (lambda thr: ByteTrackTracker.upstream_defaults, 0.0, None, 0.0),
        "ByteTrack + IoU (previous default)": (
            lambda thr: (
                lambda: ByteTrackTracker(track_activation_threshold=thr, high_conf_det_threshold=thr, association="iou")
            ),
            0.0,
            None,
            0.0,
        ),
        "ByteTrack + time-BIoU": (byte, 0.0, None, 0.0),
        "BoT-SORT + colour gate + time-BIoU + interp 1 s": (bot, INTERPOLATE_S, None, 0.0),
        "BoT-SORT + colour gate + time-BIoU + interp 1 s + linking": (bot, INTERPOLATE_S, LINK, 0.0),
        "BoT-SORT + colour gate + time-BIoU + interp 1 s + linking + smoothing": (bot, INTERPOLATE_S, LINK, SMOOTH_S),
        "ByteTrack + time-BIoU + interp 1 s": (byte, INTERPOLATE_S, None, 0.0),
        "ByteTrack + time-BIoU + interp 1 s + linking, no colour (MOT file only)": (
            byte,
            INTERPOLATE_S,
            no_colour,
            0.0,
        ),
        "ByteTrack + time-BIoU + interp 1 s + linking (previous default)": (byte, INTERPOLATE_S, LINK, 0.0),
        "ByteTrack + time-BIoU + interp 1 s + linking + smoothing 0.2 s (default)": (
            byte,
            INTERPOLATE_S,
            LINK,
            SMOOTH_S,
        ),
    }
    threshold_tracker = "ByteTrack + time-BIoU + interp 1 s"
    if not (args.tune_linking or args.tune_smoothing or args.tune_gate):
        print("| detector | threshold | tracker | stride | frames | HOTA | MOTA | IDF1 | IDsw | tracker frames/s |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    det_lines = []
    for dname, dopts in detectors.items():
        found, frames, det_s = detect_all(video, n, dopts)
        grid = CENTERNET_THRESHOLDS if dopts.get("detector") == "centernet" else THRESHOLDS
        best_thr = choose_threshold(gt, frames, found, *trackers[threshold_tracker][:2], grid=grid)
        sweep = tune_linking if args.tune_linking else tune_gate if args.tune_gate else None
        if sweep is not None:
            sweep(gt, frames, found, best_thr, INTERPOLATE_S)
            return
        for lo, hi in ((1, 200), (201, 400), (1, 400)):
            dr = evaluate_detection(restrict(gt, list(range(1, n + 1)), lo, hi), det_mot(found, lo, hi, 0.2))
            det_lines.append(f"| {dname} | {lo}–{hi} | {dr.ap50:.3f} | {dr.map50_95:.3f} | {len(frames) / det_s:.1f} |")
        if args.tune_smoothing:
            tune_smoothing(gt, frames, found, best_thr, INTERPOLATE_S)
            return
        for tname, (factory, interp_s, link, smooth_s) in trackers.items():
            thr = best_thr
            for stride in STRIDES:
                pred, secs, used = run_tracker(
                    factory(thr), frames, found, stride, thr, interpolate_s=interp_s, link=link, smooth_s=smooth_s
                )
                for lo, hi, tag in ((1, 400, ""), (201, 400, " (201–400)")):
                    g = restrict(gt, used, lo, hi)
                    p = pred.select((pred.frame >= lo) & (pred.frame <= hi))
                    rep = evaluate_tracking(g, p)
                    fps = len(used) / secs if secs > 0 else float("inf")
                    print(
                        f"| {dname} | {thr:.2f} | {tname}{tag} | {stride} | {len(np.unique(g.frame))} "
                        f"| {rep.hota:.3f} | {rep.mota:.3f} | {rep.idf1:.3f} | {rep.num_switches} | {fps:.0f} |",
                        flush=True,
                    )
    print()
    print("| detector | frames | AP50 | AP50:95 | detector frames/s |")
    print("|---|---|---:|---:|---:|")
    for line in det_lines:
        print(line)


if __name__ == "__main__":
    main()
