"""Person appearance on PETS09-S2L1: how well each descriptor tells the same person from another.

    python benchmarks/bench_person_appearance.py [--start 1] [--frames 200] [--every 5] [--min-gap-s 2]
        [--self-supervised]

Ground-truth boxes (``gt_1_400.txt``, at least 40 px tall) on every ``--every``-th frame of the first ``--frames``
(the half the tracker's settings are chosen on); every pair of boxes at least ``--min-gap-s`` apart (the breaks the
tracklet linker must bridge). The score is the ROC AUC of the descriptor's similarity for same-person pairs
against different-person pairs (1 = always told apart, 0.5 = chance). Baseline: the HSV body-colour descriptor
BoT-SORT's gate and the linker use (``sightings.vision.track.linking.body_colour_descriptor``); beside it the
ImageNet MobileNetV2 (``mobilenetv2-imagenet``, when installed) on the box crops at several input sizes, alone and
averaged with the colour similarity. All in one process, on the same boxes.

Also printed: four variants of the colour descriptor (three body stripes, 16 hue bins, grey pixels in one hue bin,
Lab instead of HSV), and the same descriptor over *foreground* pixels only: the camera is fixed, so the per-pixel
median of the sampled frames is the empty scene, and a box pixel counts when one RGB channel differs from it by more
than 30 (a half with under 20 % such pixels counts all of them). ``--self-supervised`` adds a metric on the colour
descriptor learned from the video itself, no labels: BoT-SORT's raw tracks (CenterNet boxes from 0.30, every frame
of the range, no linking) give the pairs — two boxes of one track are the same person, two boxes of different tracks
in one frame (IoU < 0.3) are not — and KISSME (a Gaussian log-likelihood ratio of the descriptor differences, PCA to
``k`` = min(32, boxes // 3) dimensions) is fitted on them.
``--start 201 --frames 400`` measures the held-out half.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from sightings.evaluate.datasets import PETS09_MISSING, pets09_files


def roc_auc(same: np.ndarray, different: np.ndarray) -> float:
    """P(a same-person pair scores above a different-person pair), ties counted half (Mann-Whitney U)."""
    scores = np.concatenate([same, different])
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks over ties
        tied = scores == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    u = ranks[: len(same)].sum() - len(same) * (len(same) + 1) / 2
    return float(u / (len(same) * len(different)))


VARIANTS: dict[str, dict[str, Any]] = {
    "three body stripes instead of two halves": {"stripes": 3},
    "16 hue bins instead of 8": {"bins": (16, 4, 4)},
    "grey pixels (lowest saturation bin) in one hue bin": {"achromatic": True},
    "Lab 4×8×8 instead of HSV": {"bins": (4, 8, 8), "space": "LAB"},
}
"""Descriptor variants measured beside the baseline (2026-11-30: none reached +0.01 AUC on frames 1–200)."""
FOREGROUND = "the two halves over foreground pixels (median background)"
"""+0.029 AUC on frames 1-200 (2026-11-30, 17:42): BoT-SORT's gate reads it at sparse steps since 18:04 (at 1 fps
it cost IDF1 there, and in the linker it changed no link)"""


def colour_variant(
    image: np.ndarray,
    xyxy: tuple[float, float, float, float],
    *,
    stripes: int = 2,
    bins: tuple[int, int, int] = (8, 4, 4),
    achromatic: bool = False,
    space: str = "HSV",
) -> np.ndarray:
    """The baseline's recipe (:func:`~sightings.vision.track.botsort.hsv_embedding` on each horizontal stripe of the
    box) with another stripe count, bin grid or colour space: (stripes, bins) array."""
    from sightings.vision.track.botsort import hsv_embedding

    x1, y1, x2, y2 = xyxy
    edges = np.linspace(y1, y2, stripes + 1)
    return np.stack(
        [
            hsv_embedding(image, (x1, edges[k], x2, edges[k + 1]), bins=bins, space=space, achromatic=achromatic)
            for k in range(stripes)
        ]
    )


def fit_kissme(x: np.ndarray, same: np.ndarray, different: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """KISSME on PCA-reduced descriptors ``x`` from index pairs ``same`` / ``different``: (projection P, M), the
    distance of two descriptors being ``dᵀ M d`` with ``d = (a − b) P``; None when there is too little to fit."""
    k = min(32, len(x) // 3)
    if k < 8 or len(same) < 30 or len(different) < 30:
        return None
    mean = x.mean(axis=0)
    projection = np.linalg.svd(x - mean, full_matrices=False)[2][:k].T
    z = (x - mean) @ projection

    def covariance(pairs: np.ndarray) -> np.ndarray:
        d = z[pairs[:, 0]] - z[pairs[:, 1]]
        c = d.T @ d / len(d)
        return c + 1e-3 * np.trace(c) / k * np.eye(k)

    metric = np.linalg.inv(covariance(same)) - np.linalg.inv(covariance(different))
    return projection, metric


def self_supervised_metric(video: Path, lo: int, hi: int) -> tuple[tuple[np.ndarray, np.ndarray] | None, int, int, int]:
    """KISSME fitted on BoT-SORT's raw tracks over frames ``lo``–``hi`` (no labels): (model, boxes, pairs of one
    track, pairs of different tracks in one frame)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_tracking import detect_all, track_rows
    from sightings.core.types import Box
    from sightings.vision.track.botsort import BotSortTracker
    from sightings.vision.track.linking import body_colour_descriptor

    found, frames, _ = detect_all(video, hi, {"detector": "centernet", "input_size": 384})
    part = [f for f in frames if lo <= f.index + 1 <= hi]
    images = {f.index: f.image for f in part}
    rows, _, _, _ = track_rows(BotSortTracker, part, found, 1, 0.30)
    rows = [r for r in rows if r.y2 - r.y1 >= 40]
    x = np.array([body_colour_descriptor(images[r.frame], (r.x1, r.y1, r.x2, r.y2)) for r in rows])
    track, frame = np.array([r.track_id for r in rows]), np.array([r.frame for r in rows])
    boxes = [Box(r.x1, r.y1, r.x2, r.y2) for r in rows]
    rng = np.random.default_rng(0)
    same: list[tuple[int, int]] = []
    for t in np.unique(track):
        idx = np.flatnonzero(track == t)
        if len(idx) > 1:
            a = rng.choice(idx, min(400, 4 * len(idx)))
            same += [(i, j) for i, j in zip(a, rng.choice(idx, len(a)), strict=True) if i != j]
    different = [
        (i, j)
        for f in np.unique(frame)
        for i, j in itertools.combinations(np.flatnonzero(frame == f), 2)
        if track[i] != track[j] and boxes[i].iou(boxes[j]) < 0.3
    ]
    model = fit_kissme(x, np.array(same).reshape(-1, 2), np.array(different).reshape(-1, 2))
    return model, len(rows), len(same), len(different)


def _boxes(
    video: Path, gt_file: Path, args: Any
) -> tuple[list[Any], list[np.ndarray], list[int], list[float], dict[str, list[np.ndarray]]]:
    """Colour descriptors, crops, person ids, times and descriptor variants of the ground-truth boxes on the
    sampled frames."""
    import av

    from sightings.vision.track.linking import body_colour_descriptor

    gt = np.loadtxt(gt_file, delimiter=",")
    frames: dict[int, np.ndarray] = {}
    with av.open(str(video)) as container:
        fps = float(container.streams.video[0].average_rate or 10)
        for index, frame in enumerate(container.decode(video=0), start=1):
            if index > args.frames:
                break
            if index >= args.start and index % args.every == 0:
                frames[index] = frame.to_ndarray(format="rgb24")
    from functools import partial

    from sightings.vision.track.botsort import hsv_embedding

    background = np.median(np.stack(list(frames.values())), axis=0).astype(np.int16)

    def differs(image: np.ndarray, x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
        return (np.abs(image[y1:y2, x1:x2].astype(np.int16) - background[y1:y2, x1:x2]) > 30).any(axis=2)

    colour, crops, people, times = [], [], [], []
    variants: dict[str, list[np.ndarray]] = {name: [] for name in (*VARIANTS, FOREGROUND)}
    for row in gt:
        f, person, x, y, w, h = int(row[0]), int(row[1]), *row[2:6]
        if f not in frames or h < 40:
            continue
        image = frames[f]
        x1, y1, x2, y2 = max(0.0, x), max(0.0, y), min(image.shape[1], x + w), min(image.shape[0], y + h)
        if x2 - x1 < 8 or y2 - y1 < 16:
            continue
        colour.append(body_colour_descriptor(image, (x1, y1, x2, y2)))
        for name, options in VARIANTS.items():
            variants[name].append(colour_variant(image, (x1, y1, x2, y2), **options))
        mid, mask = 0.5 * (y1 + y2), partial(differs, image)
        halves = [hsv_embedding(image, half, foreground=mask) for half in ((x1, y1, x2, mid), (x1, mid, x2, y2))]
        variants[FOREGROUND].append(np.stack(halves))
        crops.append(np.ascontiguousarray(image[int(y1) : int(y2), int(x1) : int(x2)]))
        people.append(person)
        times.append(f / fps)
    return colour, crops, people, times, variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=int, default=1, help="first frame (1-based)")
    parser.add_argument("--frames", type=int, default=200, help="last frame (1-based)")
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--min-gap-s", type=float, default=2.0)
    parser.add_argument("--self-supervised", action="store_true", help="also: KISSME learned from the raw tracks")
    args = parser.parse_args()
    files = pets09_files()
    if files is None:
        print(f"skipped: {PETS09_MISSING}")
        return
    video, gt_file = files
    from sightings.vision.track.linking import appearance_distance

    colour, crops, people, times, variants = _boxes(video, gt_file, args)
    ids, ts = np.array(people), np.array(times)
    pairs = [(i, j) for i, j in itertools.combinations(range(len(ids)), 2) if abs(ts[i] - ts[j]) >= args.min_gap_s]
    same = np.array([ids[i] == ids[j] for i, j in pairs])
    left, right = np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])
    c = np.array(colour)
    colour_sim = np.array([1.0 - appearance_distance(c[i], c[j]) for i, j in pairs])
    print(
        f"PETS09-S2L1 frames {args.start}-{args.frames}, every {args.every}th: {len(ids)} boxes of "
        f"{len(set(people))} people, "
        f"{len(pairs)} pairs >= {args.min_gap_s:g} s apart ({int(same.sum())} same person)\n"
    )
    print("| descriptor | ROC AUC same vs different person |\n|---|---:|")
    baseline = roc_auc(colour_sim[same], colour_sim[~same])
    print(f"| HSV body colour (baseline: BoT-SORT gate, tracklet linker) | {baseline:.3f} |")
    for name, vectors in variants.items():
        v = np.stack(vectors)
        sim = np.clip(np.einsum("psd,psd->ps", v[left], v[right]), 0.0, 1.0).mean(axis=1)
        print(f"| … {name} | {roc_auc(sim[same], sim[~same]):.3f} |")
    if args.self_supervised:
        model, n, n_same, n_diff = self_supervised_metric(video, args.start, args.frames)
        label = f"… KISSME learned from the raw tracks ({n} boxes, {n_same} + {n_diff} pairs)"
        if model is None:
            print(f"| {label} | too little to fit |")
        else:
            projection, metric = model
            d = (c[left] - c[right]) @ projection
            sim = -np.einsum("ij,jk,ik->i", d, metric, d)
            print(f"| {label} | {roc_auc(sim[same], sim[~same]):.3f} |")
    from sightings.core.config import get_settings
    from sightings.models.store import ModelStore

    models = get_settings().models_path
    if "mobilenetv2-imagenet" not in ModelStore(models):
        print("| MobileNetV2-ImageNet | not installed (`sightings models install mobilenetv2-imagenet`) |")
        return
    from sightings.vision.embed.onnx_embedder import OnnxEmbedder

    for hw in ((128, 64), (256, 128), (224, 224)):
        embedder = OnnxEmbedder(models_dir=models, model_name="mobilenetv2-imagenet", input_size=hw)
        e = embedder.embed(crops)
        sim = np.einsum("ij,ij->i", e[left], e[right])
        both = 0.5 * (sim + colour_sim)
        print(f"| MobileNetV2-ImageNet, crop at {hw[0]}×{hw[1]} | {roc_auc(sim[same], sim[~same]):.3f} |")
        print(f"| … averaged with HSV body colour | {roc_auc(both[same], both[~same]):.3f} |")


if __name__ == "__main__":
    main()
