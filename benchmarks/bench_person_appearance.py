"""Person appearance on PETS09-S2L1: how well each descriptor tells the same person from another.

    python benchmarks/bench_person_appearance.py [--frames 200] [--every 5] [--min-gap-s 2]

Ground-truth boxes (``gt_1_400.txt``, at least 40 px tall) on every ``--every``-th frame of the first ``--frames``
(the half the tracker's settings are chosen on); every pair of boxes at least ``--min-gap-s`` apart (the breaks the
tracklet linker must bridge). The score is the ROC AUC of the descriptor's similarity for same-person pairs
against different-person pairs (1 = always told apart, 0.5 = chance). Baseline: the HSV body-colour descriptor
BoT-SORT's gate and the linker use (``sightings.vision.track.linking.body_colour_descriptor``); beside it the
ImageNet MobileNetV2 (``mobilenetv2-imagenet``, when installed) on the box crops at several input sizes, alone and
averaged with the colour similarity. All in one process, on the same boxes.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from sightings.evaluate.datasets import shared_file


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


def _boxes(video: Path, gt_file: Path, args: Any) -> tuple[list[Any], list[np.ndarray], list[int], list[float]]:
    """Colour descriptors, crops, person ids and times of the ground-truth boxes on the sampled frames."""
    import av

    from sightings.vision.track.linking import body_colour_descriptor

    gt = np.loadtxt(gt_file, delimiter=",")
    frames: dict[int, np.ndarray] = {}
    with av.open(str(video)) as container:
        fps = float(container.streams.video[0].average_rate or 10)
        for index, frame in enumerate(container.decode(video=0), start=1):
            if index > args.frames:
                break
            if index % args.every == 0:
                frames[index] = frame.to_ndarray(format="rgb24")
    colour, crops, people, times = [], [], [], []
    for row in gt:
        f, person, x, y, w, h = int(row[0]), int(row[1]), *row[2:6]
        if f not in frames or h < 40:
            continue
        image = frames[f]
        x1, y1, x2, y2 = max(0.0, x), max(0.0, y), min(image.shape[1], x + w), min(image.shape[0], y + h)
        if x2 - x1 < 8 or y2 - y1 < 16:
            continue
        colour.append(body_colour_descriptor(image, (x1, y1, x2, y2)))
        crops.append(np.ascontiguousarray(image[int(y1) : int(y2), int(x1) : int(x2)]))
        people.append(person)
        times.append(f / fps)
    return colour, crops, people, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--min-gap-s", type=float, default=2.0)
    args = parser.parse_args()
    video, gt_file = shared_file("pets09/vtest.avi"), shared_file("pets09/gt_1_400.txt")
    if video is None or gt_file is None:
        print("skipped: no PETS09 video and ground truth (make stage-data, or SIGHTINGS_SHARED_DATA)")
        return
    from sightings.vision.track.linking import appearance_distance

    colour, crops, people, times = _boxes(video, gt_file, args)
    ids, ts = np.array(people), np.array(times)
    pairs = [(i, j) for i, j in itertools.combinations(range(len(ids)), 2) if abs(ts[i] - ts[j]) >= args.min_gap_s]
    same = np.array([ids[i] == ids[j] for i, j in pairs])
    left, right = np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])
    c = np.array(colour)
    colour_sim = np.array([1.0 - appearance_distance(c[i], c[j]) for i, j in pairs])
    print(
        f"PETS09-S2L1 frames 1-{args.frames}, every {args.every}th: {len(ids)} boxes of {len(set(people))} people, "
        f"{len(pairs)} pairs >= {args.min_gap_s:g} s apart ({int(same.sum())} same person)\n"
    )
    print("| descriptor | ROC AUC same vs different person |\n|---|---:|")
    baseline = roc_auc(colour_sim[same], colour_sim[~same])
    print(f"| HSV body colour (baseline: BoT-SORT gate, tracklet linker) | {baseline:.3f} |")
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
