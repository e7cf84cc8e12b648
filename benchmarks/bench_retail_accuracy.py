"""Retail metrics accuracy on PETS09-S2L1: every metric from the pipeline's tracks vs from the ground truth.

    python benchmarks/bench_retail_accuracy.py [--strides 1,5,10,25,30] [--link-s S] [--interpolate-s S]
        [--release-factor F] [--resample-s S] [--frames 400] [--threshold T] [--link-embedder NAME] [--no-cache]
        [--oracle] [--seeds N] [--phases N] [--entrance-doorways] [--no-backward-check] [--no-sparse-veto]
        [--no-sparse-foreground]

Input: ``pets09/vtest.avi`` frames 1–400 (40 s at 10 fps, 768×576) and ``pets09/gt_1_400.txt`` from the evaluation
data (``sightings.evaluate.datasets``; staged in ``.data/shared``). Zones (drawn from the scene's layout before any
metric was computed, never changed after): the lawn in the lower left is the *counter* (people rarely stand there,
like behind a counter), the sign by the lamp post the *checkout*, the road to the north the *entrance*, the paved
plaza the *floor*. Receipts: 8 synthetic receipts, seeded (``numpy`` seed 2026), uniform in time over the clip,
log-normal amounts. Thresholds are scaled to a 40-s clip (below) and fixed a priori.

Reference = the metrics from the ground-truth tracks at every frame. For each stride the pipeline (the ``retail run``
defaults: CenterNet-MobileNetV3 on the whole frame (``--detector ssd-oidv4`` for the SSD, with ``--tiles 2x2,2x3`` for
tiles), BoT-SORT, tracks cut where a backward tracking pass disagrees (``--no-backward-check``: not; at steps of 2 s
or more the backward pass also vetoes links, ``--no-sparse-veto``: not, and BoT-SORT's gate reads foreground colours,
``--no-sparse-foreground``: not), two-stage tracklet linking over gaps of up to ``link_s`` = 15 s, linked gaps filled,
0.2 s box smoothing, the 0.25-s analysis grid; ``--link-s 0`` = without linking) tracks the video, the same analysis
runs on its tracks, and each metric's deviation from the reference is printed in %.
The ground truth subsampled at the same stride is shown too: the part of the error that sampling alone causes.
A third table compares the pipeline with that subsampled ground truth instead: the pilot's protocol (it corrected
the pipeline's own sparse-stride tracks by hand, so its reference had the same sampling as the run).
``--oracle`` adds three diagnostics, the boxes unchanged: (1) the pipeline's tracks relabelled with the
ground-truth person each overlaps most (IoU > 0.3, majority over its boxes) — perfect fragment merging, but a
track that switches people still counts all its boxes for its majority person; (2) every box named by the
ground-truth person it overlaps in its own frame — perfect identities on the boxes the pipeline kept; (3) the same
with every gap of up to 20 s inside a person filled — nobody lost while hidden, so what is left is the boxes' own
error; (4) every *detection* at the stride (the pipeline's detector and threshold, no tracker) named by the ground
truth and filled the same way — what the detector alone allows, and what the tracker loses of it. A close-pair
table follows: where the seller and a customer stand close, how often one of them is missed.
``--seeds N`` adds the spread over N synthetic receipt files (seeds 2026, 2027, …) at the same tracks: how much the
receipts alone move the figure (the reported figure is seed 2026's, fixed before any run).
``--phases N`` adds the spread over N sampling phases per stride: the frames with index % stride = phase, for N
phases evenly spread over the stride (phase 0 is the figure above). Each is tracked from the cached detections
through the same offline steps as ``track_video`` (:class:`~sightings.vision.pipeline.OfflineTracking`, colours
only), all in one decoding pass. At strides 25 and 30 a 40-s clip has 14-16 analysed frames, and which ones they
are moves the figure by tens of points: one phase cannot resolve 5 %.
``--resample-s`` sets the analysis time grid (``resample_s``; 0 = the analysed frames only).
``--frames 200`` measures on frames 1–200 only (receipts spread over those 20 s): the part settings are *chosen* on.
Pipeline tracks are cached per stride, tracking settings and code (``sightings.vision`` and ``sightings.media``:
:func:`~sightings.evaluate.fingerprint.source_fingerprint`) in
``benchmarks/.cache/retail_pets09_stride<N>_<settings hash>.json`` (``--no-cache`` recomputes them), and the
detections of every frame for (4) in ``retail_pets09_detections_<hash>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.registry import DETECTORS, TRACKERS
from sightings.core.types import Box, Detection
from sightings.evaluate.datasets import shared_file
from sightings.evaluate.fingerprint import source_fingerprint
from sightings.evaluate.mot_io import read_mot
from sightings.solutions.retail.accuracy import (
    METRICS,
    deviation,
    mean_abs_deviation,
    name_by_truth,
    points_from_mot,
    store_totals,
)
from sightings.solutions.retail.config import RetailConfig, config_from_mapping
from sightings.solutions.retail.inputs import VideoFile
from sightings.solutions.retail.pipeline import PERSON_LABELS, analyse_points, link_options_for
from sightings.solutions.retail.purchases import Receipt
from sightings.solutions.retail.trajectories import TrackPoint
from sightings.vision.track.linking import LinkOptions

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
FRAMES = 400
FPS = 10.0
START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
ZONES = [
    {"name": "lawn", "kind": "counter", "points": [[0, 240], [300, 285], [450, 395], [768, 490], [768, 576], [0, 576]]},
    {"name": "sign", "kind": "checkout", "points": [[360, 190], [500, 190], [500, 290], [360, 290]]},
    {"name": "road-north", "kind": "entrance", "points": [[540, 140], [768, 90], [768, 230], [600, 250]]},
    {"name": "plaza", "kind": "floor", "points": [[0, 140], [768, 90], [768, 490], [450, 395], [300, 285], [0, 240]]},
]
CONFIG: dict[str, Any] = {
    "cameras": {"pets": {"zones": ZONES}},
    "roles": {"counter_share": 0.5, "min_seller_s": 10, "min_customer_s": 2},
    "interactions": {"distance_px": 120, "min_duration_s": 2, "gap_tolerance_s": 1},
    "purchases": {"window_before_s": 5, "window_after_s": 5},
}
VIDEO = VideoFile(Path("pets_pets_20260301-100000Z.mp4"), "pets", "pets", START)


SEED = 2026


def receipts(frames: int = FRAMES, seed: int = SEED) -> list[Receipt]:
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0, frames / FPS, size=8))
    amounts = np.round(rng.lognormal(mean=6.0, sigma=0.6, size=8), 2)
    return [
        Receipt(START + timedelta(seconds=float(t)), float(a), "till-1", f"r{i}")
        for i, (t, a) in enumerate(zip(times, amounts, strict=True))
    ]


def gt_points(stride: int, frames: int = FRAMES) -> list[tuple[int, TrackPoint]]:
    path = shared_file("pets09/gt_1_400.txt")
    if path is None:
        raise SystemExit("needs pets09/gt_1_400.txt from the evaluation data (make stage-data)")
    points = points_from_mot(read_mot(path), fps=FPS)  # as `sightings retail accuracy --gt` reads it
    return [(tid, p) for tid, p in points if p.frame % stride == 0 and p.frame < frames]


def link_options_of(config: RetailConfig, *, sparse_veto: bool = True) -> LinkOptions | None:
    """The linker's options ``retail run`` uses for the benchmark's camera (None: the defaults); without
    ``sparse_veto``, no backward veto on links at sparse steps (the default before 2026-11-30 17:25)."""
    options = link_options_for(config, VIDEO.camera)
    if sparse_veto:
        return options
    return dataclasses.replace(options or LinkOptions(), backward_veto_step_s=0.0)


def pipeline_points(
    stride: int, config: RetailConfig, *, use_cache: bool, frames: int = FRAMES, sparse_veto: bool = True
) -> tuple[list[tuple[int, TrackPoint]], float]:
    settings = config.model_dump(
        include={"detector", "tracker", "threshold", "tiles", "interpolate_s", "link_s", "smooth_s", "tracker_options"}
    )
    if config.link_embedder:  # keeps the colour linker's cache keys as they were
        settings["link_embedder"] = config.link_embedder
    link_options = link_options_of(config, sparse_veto=sparse_veto)
    if link_options is not None:  # the entrance zones as doorways (--entrance-doorways), no backward pass or veto
        settings["doorways"] = link_options.doorways
        settings["backward_hold"] = link_options.backward_hold
        if not sparse_veto:
            settings["backward_veto_step_s"] = link_options.backward_veto_step_s
    if config.detector_options or config.detector != "ssd-oidv4":  # keeps the SSD's cache keys as they were
        settings["detector_options"] = config.detector_options
        settings["detector_defaults"] = DETECTORS.defaults(config.detector)
    settings["linker"] = dataclasses.asdict(LinkOptions())  # the linker's other defaults
    settings["tracker_defaults"] = TRACKERS.defaults(config.tracker)  # a changed default is another cache entry
    settings["code"] = source_fingerprint("sightings.vision", "sightings.media")  # and so is changed code
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    clip = "" if frames == FRAMES else f"_frames{frames}"
    cache = CACHE_DIR / f"retail_pets09_stride{stride}{clip}_{key}.json"
    if use_cache and cache.exists():
        data = json.loads(cache.read_text())
        return [(r[0], TrackPoint(*r[1:])) for r in data["rows"]], float(data["seconds"])
    from sightings.solutions.retail.pipeline import create_person_detector  # the same defaults as retail run
    from sightings.vision.pipeline import track_video

    video = shared_file("pets09/vtest.avi")
    if video is None:
        raise SystemExit("needs pets09/vtest.avi from the evaluation data (make stage-data)")
    detector = create_person_detector(config)
    t0 = time.perf_counter()
    result = track_video(
        video,
        detector=detector,
        tracker=config.tracker,
        tracker_options=config.tracker_options,
        stride=stride,
        classes=PERSON_LABELS,
        end_s=frames / FPS,
        interpolate_gap_s=config.interpolate_s,
        link_s=config.link_s,
        link_options=link_options,
        link_embedder=config.link_embedder,
        smooth_s=config.smooth_s,
    )
    seconds = time.perf_counter() - t0
    rows = [(r.track_id, r.t_s, r.x1, r.y1, r.x2, r.y2, r.frame, r.score) for r in result.rows]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    (CACHE_DIR / ".gitignore").write_text("*\n")
    cache.write_text(json.dumps({"rows": rows, "seconds": seconds}))
    return [(r[0], TrackPoint(*r[1:])) for r in rows], seconds


def detection_points(config: RetailConfig, *, use_cache: bool, frames: int = FRAMES) -> list[tuple[int, TrackPoint]]:
    """Every detection of the pipeline's detector (its options, tiles, threshold) in each of the first ``frames``
    frames, track id -1: the input the tracker gets, for the detection-level oracle (cached like the tracks)."""
    settings = config.model_dump(include={"detector", "threshold", "tiles", "detector_options"})
    settings["detector_defaults"] = DETECTORS.defaults(config.detector)
    settings["code"] = source_fingerprint("sightings.vision.detect", "sightings.media")
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    cache = CACHE_DIR / f"retail_pets09_detections_{frames}_{key}.json"
    if use_cache and cache.exists():
        rows = [tuple(r) for r in json.loads(cache.read_text())]
    else:
        rows = _detect_every_frame(config, frames)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        (CACHE_DIR / ".gitignore").write_text("*\n")
        cache.write_text(json.dumps(rows))
    return [(-1, TrackPoint(t, x1, y1, x2, y2, int(f), score)) for t, x1, y1, x2, y2, f, score in rows]


def _detect_every_frame(config: RetailConfig, frames: int) -> list[tuple[float, ...]]:
    from sightings.media.sample import sample_frames
    from sightings.solutions.retail.pipeline import create_person_detector

    video = shared_file("pets09/vtest.avi")
    if video is None:
        raise SystemExit("needs pets09/vtest.avi from the evaluation data (make stage-data)")
    detector = create_person_detector(config)
    wanted = {label.lower() for label in PERSON_LABELS}
    rows: list[tuple[float, ...]] = []
    for frame in sample_frames(video, stride=1, end_s=frames / FPS):
        for d in detector.detect([frame])[0]:
            if d.label.lower() in wanted:
                rows.append((frame.t_s, *d.box.xyxy, frame.index, d.score))
    return rows


def metrics_of(
    points: list[tuple[int, TrackPoint]], stride: int, config: RetailConfig, frames: int = FRAMES, seed: int = SEED
) -> dict[str, Any]:
    analysis = analyse_points(
        points,
        video=VIDEO,
        duration_s=frames / FPS,
        step_s=stride / FPS,
        config=config,
        receipts=receipts(frames, seed),
    )
    out: dict[str, Any] = dict(store_totals(analysis))
    out["_sellers"] = len(analysis.roles.sellers)
    out["_method"] = analysis.roles.method
    return out


def majority_person(points: list[tuple[int, TrackPoint]], frames: int = FRAMES) -> dict[int, int]:
    """Each track's ground-truth person: the id its boxes overlap most (IoU > 0.3, majority vote over its boxes);
    tracks that overlap nobody are left out."""
    from collections import Counter, defaultdict

    truth: dict[int, list[tuple[int, TrackPoint]]] = defaultdict(list)
    for gid, g in gt_points(1, frames):
        truth[g.frame].append((gid, g))

    votes: dict[int, Counter[int]] = defaultdict(Counter)
    for tid, p in points:
        scored = [(p.iou(g), gid) for gid, g in truth.get(p.frame, [])]
        best = max(scored, default=(0.0, -1))
        if best[0] > 0.3:
            votes[tid][best[1]] += 1
    return {tid: c.most_common(1)[0][0] for tid, c in votes.items()}


def oracle_relabelled(points: list[tuple[int, TrackPoint]], frames: int = FRAMES) -> list[tuple[int, TrackPoint]]:
    """``points`` with each track renamed to its :func:`majority_person`; tracks that overlap nobody are dropped,
    and one box per person and frame is kept."""
    label = majority_person(points, frames)
    out, seen = [], set()
    for tid, p in points:
        if tid in label and (label[tid], p.frame) not in seen:
            seen.add((label[tid], p.frame))
            out.append((label[tid], p))
    return out


def box_oracle(points: list[tuple[int, TrackPoint]], frames: int = FRAMES) -> list[tuple[int, TrackPoint]]:
    """``points`` with every box named by the ground-truth person it overlaps in its frame (``name_by_truth``, as
    ``sightings retail accuracy`` does it): perfect identities, so what is left is detection's error."""
    return name_by_truth(points, gt_points(1, frames))


@dataclasses.dataclass(frozen=True)
class _Row:
    frame: int
    t_s: float
    track_id: int
    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 1.0


def filled(
    points: list[tuple[int, TrackPoint]], stride: int, gap_s: float, phase: int = 0
) -> list[tuple[int, TrackPoint]]:
    """``points`` with every gap of up to ``gap_s`` inside a track filled by straight lines on the analysed frames
    (index % ``stride`` == ``phase``; the engine's ``interpolate_gaps``): with :func:`box_oracle`, perfect
    identities kept through every occlusion."""
    from sightings.vision.track.postprocess import interpolate_gaps

    rows = [_Row(p.frame, p.t_s, tid, p.x1, p.y1, p.x2, p.y2) for tid, p in points]
    frames = [(f, f / FPS) for f in range(phase, FRAMES, stride)]
    return [
        (r.track_id, TrackPoint(r.t_s, r.x1, r.y1, r.x2, r.y2, r.frame))
        for r in interpolate_gaps(rows, frames, max_gap_s=gap_s)
    ]


def reference_sellers(config: RetailConfig, frames: int = FRAMES) -> set[int]:
    """The ground-truth person ids the reference analysis takes for sellers."""
    reference = analyse_points(
        gt_points(1, frames), video=VIDEO, duration_s=frames / FPS, step_s=1 / FPS, config=config
    )
    return set(reference.roles.sellers)


def close_pair_misses(
    named: list[tuple[int, TrackPoint]], stride: int, config: RetailConfig, sellers: set[int], frames: int = FRAMES
) -> dict[str, int]:
    """Frames (at ``stride``) where the ground truth has a seller and a customer within ``distance_px``: how often
    the pipeline's boxes, ``named`` as by :func:`box_oracle`, show both, close or not, or miss one of them."""
    truth = gt_points(stride, frames)
    limit = config.interactions.distance_px
    release = limit * config.interactions.release_factor
    gt_at = {(gid, p.frame): p for gid, p in truth}
    seen = {(gid, p.frame): p for gid, p in named}
    by_frame: dict[int, list[int]] = {}
    for gid, p in truth:
        by_frame.setdefault(p.frame, []).append(gid)

    def gap(a: TrackPoint, b: TrackPoint) -> float:
        return float(np.hypot((a.x1 + a.x2 - b.x1 - b.x2) / 2, a.y2 - b.y2))

    keys = ("both seen, close", "both seen, apart", "customer missed", "seller missed", "both missed")
    counts = dict.fromkeys(keys, 0)
    for frame, people in by_frame.items():
        for seller in sellers.intersection(people):
            for customer in set(people) - sellers:
                if gap(gt_at[seller, frame], gt_at[customer, frame]) > limit:
                    continue
                s, c = seen.get((seller, frame)), seen.get((customer, frame))
                if s is not None and c is not None:
                    counts["both seen, close" if gap(s, c) <= release else "both seen, apart"] += 1
                elif s is None:
                    counts["both missed" if c is None else "seller missed"] += 1
                else:
                    counts["customer missed"] += 1
    return counts


def _cell(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.1f}"


def config_of(args: argparse.Namespace) -> RetailConfig:
    """The benchmark's retail config with the settings given on the command line."""
    options = {
        "link_s": args.link_s,
        "tiles": args.tiles,
        "interpolate_s": args.interpolate_s,
        "resample_s": args.resample_s,
        "detector": args.detector,
        "threshold": args.threshold,
        "link_embedder": args.link_embedder,
        "entrance_doorways": args.entrance_doorways or None,
        "backward_check": False if args.no_backward_check else None,
    }
    mapping: dict[str, Any] = {**CONFIG, **{k: v for k, v in options.items() if v is not None}}
    if getattr(args, "no_sparse_foreground", False):  # BoT-SORT's gate on whole boxes at every step
        mapping["tracker_options"] = {"appearance_foreground_step_s": 0.0}
    if args.release_factor is not None:
        mapping["interactions"] = {**CONFIG["interactions"], "release_factor": args.release_factor}
    return config_from_mapping(mapping, where="bench")


Tracked = dict[int, tuple[list[tuple[int, TrackPoint]], list[tuple[int, TrackPoint]]]]
"""per stride: the pipeline's points, and the same boxes named by the ground truth (:func:`box_oracle`)"""


def print_seed_spread(
    tracked: Tracked,
    config: RetailConfig,
    frames: int,
    seeds: int,
    detections: list[tuple[int, TrackPoint]] | None = None,
) -> None:
    """How much the figure moves with the synthetic receipts alone: mean |deviation| over ``seeds`` receipt files
    (seeds 2026, 2027, …; the tracks unchanged), per stride, for the pipeline, true identities and sampling (and,
    given ``detections``, every detection named by the ground truth and filled)."""
    strides = list(tracked)
    print(f"\n### Mean |deviation| over {seeds} receipt files (seeds {SEED}-{SEED + seeds - 1}): mean (min-max)\n")
    print("| tracks | " + " | ".join(f"stride {s}" for s in strides) + " |")
    print("|---|" + "---:|" * len(strides))
    sources: dict[str, Callable[[int], list[tuple[int, TrackPoint]]]] = {
        "pipeline": lambda s: tracked[s][0],
        "pipeline boxes, true identities": lambda s: tracked[s][1],
        "ground truth sampled at the stride": lambda s: gt_points(s, frames),
    }
    if detections:
        sources["every detection, true identities, gaps filled"] = lambda s: filled(
            box_oracle([(t, p) for t, p in detections if p.frame % s == 0], frames), s, 20.0
        )
    truth = gt_points(1, frames)
    references = {seed: metrics_of(truth, 1, config, frames, seed) for seed in range(SEED, SEED + seeds)}
    for name, points_at in sources.items():
        cells = []
        for stride in strides:
            points = points_at(stride)
            values = [
                mean_abs_deviation(metrics_of(points, stride, config, frames, seed), reference) or 0.0
                for seed, reference in references.items()
            ]
            cells.append(f"{np.mean(values):.1f} ({min(values):.1f}-{max(values):.1f})")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def phase_points(
    config: RetailConfig, strides: list[int], phases: int, frames: int, *, use_cache: bool, sparse_veto: bool = True
) -> dict[tuple[int, int], list[tuple[int, TrackPoint]]]:
    """The pipeline's tracks at each stride for ``phases`` sampling phases (frames with index % stride == phase,
    phases ``round(k * stride / phases)``), from the cached detections of every frame, through the offline steps
    ``track_video`` runs (:class:`~sightings.vision.pipeline.OfflineTracking`); one decoding pass for all of them."""
    from sightings.media.sample import sample_frames
    from sightings.vision.pipeline import OfflineTracking, link_setup

    if config.link_embedder:
        raise SystemExit("--phases tracks with colours only (no --link-embedder)")
    by_frame: dict[int, list[Detection]] = {}
    for _, p in detection_points(config, use_cache=use_cache, frames=frames):
        by_frame.setdefault(p.frame, []).append(Detection(p.frame, Box(p.x1, p.y1, p.x2, p.y2), "person", p.score))
    options = link_options_of(config, sparse_veto=sparse_veto)
    sessions: dict[tuple[int, int], OfflineTracking] = {}
    for stride in strides:
        for phase in sorted({round(k * stride / phases) % stride for k in range(phases)}):
            link, collector = link_setup(config.link_s, options)  # as track_video: one collector per session
            sessions[stride, phase] = OfflineTracking(
                config.tracker, tracker_options=config.tracker_options, link=link, collector=collector
            )
    video = shared_file("pets09/vtest.avi")
    if video is None:
        raise SystemExit("needs pets09/vtest.avi from the evaluation data (make stage-data)")
    for frame in sample_frames(video, stride=1, end_s=frames / FPS):
        for (stride, phase), session in sessions.items():
            if frame.index % stride == phase:
                session.update(frame, by_frame.get(frame.index, []))
    out = {}
    for key, session in sessions.items():
        rows = session.finish(config.interpolate_s, smooth_s=config.smooth_s)
        out[key] = [(r.track_id, TrackPoint(r.t_s, r.x1, r.y1, r.x2, r.y2, r.frame, r.score)) for r in rows]
    return out


def print_phase_spread(
    config: RetailConfig,
    strides: list[int],
    phases: int,
    seeds: int,
    frames: int,
    *,
    use_cache: bool,
    sparse_veto: bool = True,
) -> None:
    """Mean |deviation| per stride over sampling phases (:func:`phase_points`): mean (min-max), for receipt seed
    2026 and, with ``seeds``, the mean over that many receipt files; beside it, over the same phases and receipt
    files, the two bounds: the ground truth sampled at the phase (sampling alone) and every detection at the phase
    named by the ground truth with its gaps filled (:func:`box_oracle`, :func:`filled`: no tracker, no one lost)."""
    tracks = phase_points(config, strides, phases, frames, use_cache=use_cache, sparse_veto=sparse_veto)
    seed_list = list(range(SEED, SEED + max(1, seeds)))
    truth = gt_points(1, frames)
    references = {seed: metrics_of(truth, 1, config, frames, seed) for seed in seed_list}
    detections = detection_points(config, use_cache=use_cache, frames=frames)

    def mean_over_receipts(points: list[tuple[int, TrackPoint]], stride: int) -> float:
        return float(
            np.mean(
                [
                    mean_abs_deviation(metrics_of(points, stride, config, frames, seed), reference) or 0.0
                    for seed, reference in references.items()
                ]
            )
        )

    bounds: dict[str, dict[int, list[float]]] = {
        "ground truth sampled at the phase": {s: [] for s in strides},
        "every detection at the phase named by the ground truth, gaps filled": {s: [] for s in strides},
    }
    for stride, phase in tracks:
        sampled = [(t, p) for t, p in truth if p.frame % stride == phase]
        at_phase = [(t, p) for t, p in detections if p.frame % stride == phase]
        named = filled(box_oracle(at_phase, frames), stride, 20.0, phase)
        for rows, points in zip(bounds.values(), (sampled, named), strict=True):
            rows[stride].append(mean_over_receipts(points, stride))
    per: dict[int, list[tuple[int, float, float]]] = {s: [] for s in strides}
    true_sellers = reference_sellers(config, frames)
    right_seller = dict.fromkeys(strides, 0)
    for (stride, phase), points in tracks.items():
        values = [
            mean_abs_deviation(metrics_of(points, stride, config, frames, seed), reference) or 0.0
            for seed, reference in references.items()
        ]
        per[stride].append((phase, values[0], float(np.mean(values))))
        sellers = analyse_points(
            points, video=VIDEO, duration_s=frames / FPS, step_s=stride / FPS, config=config
        ).roles.sellers
        person = majority_person(points, frames)
        right_seller[stride] += any(person.get(t) in true_sellers for t in sellers)
    print(f"\n### Mean |deviation| over sampling phases (index % stride = phase; up to {phases} a stride)\n")
    print("| receipts | " + " | ".join(f"stride {s}" for s in strides) + " |")
    print("|---|" + "---:|" * len(strides))
    columns = [(f"seed {SEED}", 1)] + ([(f"mean of {len(seed_list)} receipt files", 2)] if seeds > 1 else [])
    for name, k in columns:
        cells = []
        for s in strides:
            values = [row[k] for row in per[s]]
            cells.append(f"{np.mean(values):.1f} ({min(values):.1f}-{max(values):.1f})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    for name, rows in bounds.items():
        print(
            f"| bound: {name} (mean of {len(seed_list)} receipt files) | "
            + " | ".join(f"{np.mean(rows[s]):.1f} ({min(rows[s]):.1f}-{max(rows[s]):.1f})" for s in strides)
            + " |"
        )
    print(
        "| phases whose seller is mostly the reference seller | "
        + " | ".join(f"{right_seller[s]} of {len(per[s])}" for s in strides)
        + " |"
    )
    print("| phases | " + " | ".join(", ".join(str(p) for p, _, _ in per[s]) for s in strides) + " |")


def print_close_pairs(tracked: Tracked, config: RetailConfig, frames: int) -> None:
    """The :func:`close_pair_misses` table, one column per stride."""
    print("\n### Frames where the ground truth has the seller and a customer close: what the boxes show\n")
    strides = list(tracked)
    sellers = reference_sellers(config, frames)
    counts = {s: close_pair_misses(tracked[s][1], s, config, sellers, frames) for s in strides}
    print("| frames | " + " | ".join(f"stride {s}" for s in strides) + " |")
    print("|---|" + "---:|" * len(strides))
    for key in counts[strides[0]]:
        print(f"| {key} | " + " | ".join(str(counts[s][key]) for s in strides) + " |")
    shares = []
    for s in strides:
        total = sum(counts[s].values())
        missed = total - counts[s]["both seen, close"] - counts[s]["both seen, apart"]
        shares.append(f"{100 * missed / total:.0f} %" if total else "n/a")
    print("| **one of them missing** | " + " | ".join(shares) + " |")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strides", default="1,5,10,25,30")
    parser.add_argument("--link-s", type=float, default=None, help="tracklet linking gap (default: RetailConfig's)")
    parser.add_argument("--interpolate-s", type=float, default=None, help="gap filling (default: RetailConfig's)")
    parser.add_argument("--release-factor", type=float, default=None, help="episode hysteresis (default: none)")
    parser.add_argument(
        "--resample-s", type=float, default=None, help="analysis time grid, 0 = off (default: RetailConfig's)"
    )
    parser.add_argument("--frames", type=int, default=FRAMES, help=f"the first N frames only (at most {FRAMES})")
    parser.add_argument("--tiles", default=None, help="detector tile grids, e.g. none (default: RetailConfig's)")
    parser.add_argument("--detector", default=None, help="detector registry name (default: RetailConfig's)")
    parser.add_argument(
        "--link-embedder", default=None, help="ONNX embed model the linker compares people by (default: colours)"
    )
    parser.add_argument("--threshold", type=float, default=None, help="detector score threshold (default: its own)")
    parser.add_argument(
        "--entrance-doorways", action="store_true", help="the entrance zone is a doorway for the linker (opt-in)"
    )
    parser.add_argument(
        "--no-backward-check", action="store_true", help="no backward tracking pass (the default before 2026-11-30)"
    )
    parser.add_argument(
        "--no-sparse-foreground",
        action="store_true",
        help="BoT-SORT gate on whole boxes at every step (foreground colours at steps >= 2 s since 2026-11-30 18:04)",
    )
    parser.add_argument(
        "--no-sparse-veto",
        action="store_true",
        help="no backward veto on links at sparse steps (>= 2 s; the default before 2026-11-30 17:25)",
    )
    parser.add_argument(
        "--seeds", type=int, default=0, help="also: the spread over N synthetic receipt files (0 = only seed 2026)"
    )
    parser.add_argument(
        "--phases", type=int, default=0, help="also: the spread over N sampling phases per stride (0 = phase 0 only)"
    )
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--oracle", action="store_true", help="also: tracks and boxes named by the ground truth")
    args = parser.parse_args()
    if not 1 <= args.frames <= FRAMES:
        parser.error(f"--frames must be in 1..{FRAMES}")
    if args.phases < 0:
        parser.error("--phases must be >= 0")
    return args


def print_sections(
    sections: list[tuple[str, dict[int, dict[str, Any]], dict[int, dict[str, Any]]]],
    reference: dict[str, Any],
    strides: list[int],
) -> None:
    """One deviation table per (title, metrics per stride, reference per stride)."""
    for title, rows, refs in sections:
        dense = all(r is reference for r in refs.values())
        print(f"\n### Deviation from the reference, %: {title}\n")
        print("| metric | reference | " + " | ".join(f"stride {s}" for s in strides) + " |")
        print("|---|---:|" + "---:|" * len(strides))
        for m in METRICS:
            ref = reference[m]
            cells = [_cell(deviation(rows[s][m], refs[s][m])) for s in strides]
            shown = "n/a" if ref is None else f"{ref:.2f}" if dense else "per stride"
            print(f"| {m} | {shown} | " + " | ".join(cells) + " |")
        means = []
        for s in strides:
            mean = mean_abs_deviation(rows[s], refs[s])
            means.append("n/a" if mean is None else f"{mean:.1f}")
        print("| **mean \\|deviation\\|** | | " + " | ".join(means) + " |")
        print("| sellers found (method) | " + f"{reference['_sellers']} | "
              + " | ".join(f"{rows[s]['_sellers']} ({rows[s]['_method']})" for s in strides) + " |")  # fmt: skip


def main() -> None:
    args = parse_args()
    strides = [int(s) for s in args.strides.split(",")]
    frames = args.frames
    config = config_of(args)
    print(
        f"tracking: {config.detector}, tiles {config.tiles}, {config.tracker}, link {config.link_s} s, "
        f"interp {config.interpolate_s} s, smooth {config.smooth_s} s; "
        f"episode hysteresis × {config.interactions.release_factor:g}; analysis grid {config.resample_s:g} s"
    )
    reference = metrics_of(gt_points(1, frames), 1, config, frames)
    sellers = f"{reference['_sellers']} ({reference['_method']})"
    print(f"frames 1-{frames}; reference (ground truth, every frame): sellers {sellers}")
    for m in METRICS:
        v = reference[m]
        print(f"  {m:34s} {'n/a' if v is None else f'{v:.3f}'}")

    table: dict[int, dict[str, Any]] = {}
    sampled: dict[int, dict[str, Any]] = {}
    oracle: dict[int, dict[str, Any]] = {}
    boxes: dict[int, dict[str, Any]] = {}
    kept: dict[int, dict[str, Any]] = {}
    detected: dict[int, dict[str, Any]] = {}
    seconds: dict[int, float] = {}
    tracked: Tracked = {}
    detections = detection_points(config, use_cache=not args.no_cache, frames=frames) if args.oracle else []
    for stride in strides:
        points, secs = pipeline_points(
            stride, config, use_cache=not args.no_cache, frames=frames, sparse_veto=not args.no_sparse_veto
        )
        seconds[stride] = secs
        named = box_oracle(points, frames) if args.oracle or args.seeds > 0 else []
        tracked[stride] = (points, named)
        table[stride] = metrics_of(points, stride, config, frames)
        sampled[stride] = metrics_of(gt_points(stride, frames), stride, config, frames)
        if args.oracle:
            oracle[stride] = metrics_of(oracle_relabelled(points, frames), stride, config, frames)
            boxes[stride] = metrics_of(named, stride, config, frames)
            kept[stride] = metrics_of(filled(named, stride, 20.0), stride, config, frames)
            at_stride = [(tid, p) for tid, p in detections if p.frame % stride == 0]
            detected[stride] = metrics_of(filled(box_oracle(at_stride, frames), stride, 20.0), stride, config, frames)
        print(f"stride {stride}: {len(points)} tracked points, {secs:.1f} s to track", file=sys.stderr)

    dense = dict.fromkeys(strides, reference)
    sections = [
        ("pipeline tracks vs ground truth", table, dense),
        ("ground truth subsampled (sampling only)", sampled, dense),
        # the pilot corrected the pipeline's own sparse tracks by hand: its reference had the same sampling
        ("pipeline tracks vs the ground truth at the same stride (the pilot's protocol)", table, sampled),
    ]
    if args.oracle:
        sections.append(("pipeline tracks renamed to their majority ground-truth person (--oracle)", oracle, dense))
        sections.append(("pipeline boxes, each named by the ground truth (--oracle: true identities)", boxes, dense))
        sections.append(
            ("the same, every gap of up to 20 s inside a person filled (--oracle: no one lost)", kept, dense)
        )
        sections.append(
            (
                "every detection at the stride named by the ground truth, gaps filled (--oracle: no tracker)",
                detected,
                dense,
            )
        )
    print_sections(sections, reference, strides)
    if args.oracle:
        print_close_pairs(tracked, config, frames)
    if args.seeds > 0:
        print_seed_spread(tracked, config, frames, args.seeds, detections)
    if args.phases > 0:
        print_phase_spread(
            config, strides, args.phases, args.seeds, frames, use_cache=not args.no_cache,
            sparse_veto=not args.no_sparse_veto,
        )  # fmt: skip
    print("\ntracking time (s): " + ", ".join(f"stride {s}: {seconds[s]:.1f}" for s in strides))


if __name__ == "__main__":
    main()
