"""Embedders on shared/data/lions: parameter choice on *train*, report on *val* (never tuned there).

    python benchmarks/bench_embed_lions.py [--stage global|local|all|report] [--split train|val] [--subset N]
    python benchmarks/bench_embed_lions.py --stage report --split val     # the reported numbers

Protocol: leave-one-out inside a split — each image is a query against every other image of the same split
(cosine for global descriptors, inlier score for RootSIFT); rank-1 and mAP over queries whose identity has at
least one other image. The train and val splits share no identity.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable

import numpy as np

from sightings.evaluate.datasets import shared_file
from sightings.media.images import load_image


def load_split(split: str, subset: int | None = None, skip: int = 0) -> tuple[list[np.ndarray], list[str]]:
    labels = shared_file("lions/labels.csv")
    if labels is None:
        raise SystemExit("lions data not found (shared/data/lions)")
    rows = [r for r in csv.DictReader(labels.open()) if r["split"] == split]
    if subset:
        ids = sorted({r["identity"] for r in rows})[skip : skip + subset]
        rows = [r for r in rows if r["identity"] in ids]
    images = [load_image(labels.parent / r["image"]) for r in rows]
    return images, [r["identity"] for r in rows]


def rank1_map(scores: np.ndarray, ids: list[str]) -> tuple[float, float, int]:
    """Leave-one-out rank-1 and mAP from an (n, n) similarity matrix (larger = more similar)."""
    labels = np.array(ids)
    hits, aps = [], []
    for q in range(len(labels)):
        others = np.array([j for j in range(len(labels)) if j != q])
        rel = labels[others] == labels[q]
        if not rel.any():
            continue
        order = np.argsort(-scores[q, others], kind="stable")
        rel_sorted = rel[order]
        hits.append(bool(rel_sorted[0]))
        ranks = np.flatnonzero(rel_sorted) + 1
        aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
    return float(np.mean(hits)), float(np.mean(aps)), len(hits)


def eval_global(make: Callable[[], object], images: list[np.ndarray], ids: list[str]) -> tuple[float, float, float]:
    emb = make()
    t0 = time.perf_counter()
    vecs = emb.embed(images)  # type: ignore[attr-defined]
    per_image_ms = (time.perf_counter() - t0) / len(images) * 1000
    r1, mean_ap, _ = rank1_map(vecs @ vecs.T, ids)
    return r1, mean_ap, per_image_ms


def eval_local(matcher: object, images: list[np.ndarray], ids: list[str]) -> tuple[float, float, float, float]:
    t0 = time.perf_counter()
    feats = [matcher.extract(im) for im in images]  # type: ignore[attr-defined]
    extract_ms = (time.perf_counter() - t0) / len(images) * 1000
    n = len(images)
    scores = np.zeros((n, n), np.float32)
    t0 = time.perf_counter()
    for i in range(n):
        for j in range(n):
            if i != j:
                scores[i, j] = matcher.match(feats[i], feats[j]).score  # type: ignore[attr-defined]
    pair_ms = (time.perf_counter() - t0) / (n * (n - 1)) * 1000
    scores = scores + scores.T  # symmetric score: a→b plus b→a
    r1, mean_ap, _ = rank1_map(scores, ids)
    return r1, mean_ap, extract_ms, pair_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stage", default="all", choices=["global", "local", "all", "report"])
    parser.add_argument("--split", default="train")
    parser.add_argument("--subset", type=int, default=None, help="N identities only (local stage is O(n²))")
    parser.add_argument("--skip", type=int, default=0, help="skip the first K identities (with --subset)")
    parser.add_argument("--only", default=None, help="comma-separated config names to run (default: all)")
    args = parser.parse_args()
    images, ids = load_split(args.split, args.subset, args.skip)
    only = None if args.only is None else set(args.only.split(","))
    if args.stage == "report":  # the chosen defaults only (and the fake baseline), e.g. on val
        only = {"default", "fake (4x4 thumbnail)"}
    print(f"{args.split}: {len(images)} images, {len(set(ids))} identities")
    if args.stage in ("global", "all", "report"):
        from sightings.testing.fakes import FakeEmbedder
        from sightings.vision.embed.global_descriptor import ColorTextureEmbedder

        configs: dict[str, Callable[[], object]] = {
            "fake (4x4 thumbnail)": FakeEmbedder,
            "default": ColorTextureEmbedder,
            "colour only": lambda: ColorTextureEmbedder(texture="none"),
            "texture only": lambda: ColorTextureEmbedder(colour_weight=0.0),
            "grid 1": lambda: ColorTextureEmbedder(grid=1),
            "grid 3": lambda: ColorTextureEmbedder(grid=3),
            "hsv 16x4x4": lambda: ColorTextureEmbedder(hsv_bins=(16, 4, 4)),
            "hsv 8x8x8": lambda: ColorTextureEmbedder(hsv_bins=(8, 8, 8)),
            "hsv 12x6x4": lambda: ColorTextureEmbedder(hsv_bins=(12, 6, 4)),
            "power 1": lambda: ColorTextureEmbedder(power=1.0),
            "texture w 0.5": lambda: ColorTextureEmbedder(texture_weight=0.5),
            "texture w 2": lambda: ColorTextureEmbedder(texture_weight=2.0),
            "size 64": lambda: ColorTextureEmbedder(size=64),
            "size 128": lambda: ColorTextureEmbedder(size=128),
        }
        print(f"| global descriptor ({args.split}) | rank-1 | mAP | ms/image |\n|---|---|---|---|")
        for name, make in configs.items():
            if only is not None and name not in only:
                continue
            r1, mean_ap, ms = eval_global(make, images, ids)
            print(f"| {name} | {r1:.3f} | {mean_ap:.3f} | {ms:.2f} |", flush=True)
    if args.stage in ("local", "all", "report"):
        from sightings.vision.embed.local_features import RootSiftMatcher

        local: dict[str, dict[str, object]] = {
            "default": {},
            "no upscale": {"upscale_short_side": None},
            "upscale 384": {"upscale_short_side": 384},
            "affine": {"geometry": "affine"},
            "no geometry": {"geometry": "none"},
            "ratio 0.75": {"ratio": 0.75},
            "ratio 0.85": {"ratio": 0.85},
            "mutual": {"mutual": True},
            "weighted": {"weighting": "ratio"},
            "keypoints 500": {"max_keypoints": 500},
            "threshold 0.02": {"ransac_threshold": 0.02},
            "threshold 0.05": {"ransac_threshold": 0.05},
            "min_inliers 0": {"min_inliers": 0},
            "homography": {"geometry": "homography"},
            "affine + weighted": {"geometry": "affine", "weighting": "ratio"},
            "affine + ratio 0.75": {"geometry": "affine", "ratio": 0.75},
            "affine + threshold 0.05": {"geometry": "affine", "ransac_threshold": 0.05},
        }
        print(f"| RootSIFT ({args.split}) | rank-1 | mAP | ms/image extract | ms/pair match |\n|---|---|---|---|---|")
        for name, options in local.items():
            if only is not None and name not in only:
                continue
            r1, mean_ap, ems, pms = eval_local(RootSiftMatcher(**options), images, ids)  # type: ignore[arg-type]
            print(f"| {name} | {r1:.3f} | {mean_ap:.3f} | {ems:.1f} | {pms:.2f} |", flush=True)


if __name__ == "__main__":
    main()
