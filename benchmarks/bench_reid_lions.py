"""Re-ID on the lions (shared/data/lions): every embedder and the two-stage matcher score, one table.

    python benchmarks/bench_reid_lions.py [--data DIR] [--seed 0]

Same seeded split for every row (docs/reid-evaluation.md): calibration and the open-set threshold are fitted on
the train identities, everything is reported on the val identities (never tuned on). Baseline: the global
descriptor alone (``color-texture``). Rows: the ``fake`` embedder (a 4×4 thumbnail, a floor), ``color-texture``,
``color-texture`` + LDA head fitted on train (``projected``), and ``color-texture`` + RootSIFT re-rank of the top
10 (the matcher's score, ``sightings.identity.rerank``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.registry import EMBEDDERS, LOCAL_MATCHERS
from sightings.evaluate.reid import EmbeddingScorer, embed_images, evaluate_reid
from sightings.evaluate.reid_data import load_reid_dataset, load_reid_images, split_reid
from sightings.identity.head import fit_head
from sightings.identity.rerank import RerankSettings, TwoStageScorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(os.environ.get("SIGHTINGS_SHARED_DATA", "/work/shared/data"))
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = args.data / "lions"
    if not (root / "labels.csv").exists():
        print(f"skipped: no lions data at {root} (run `make stage-data` or pass --data)")
        return
    data = load_reid_dataset(root)
    split = split_reid(data, seed=args.seed)
    images = load_reid_images(data)
    rows: list[tuple[str, Any]] = []

    for name in ("fake", "color-texture"):
        feats, per_image = embed_images(EMBEDDERS.create(name), images)
        rows.append((name, evaluate_reid(data, split, EmbeddingScorer(feats, per_image), embedder=name)))
        if name == "color-texture":
            base, base_per_image = feats, per_image

    train = np.array([s.split == "train" for s in data.samples])
    ids = data.identities
    head = fit_head(base[train], ids[train], shrinkage=0.5, base_embedder="color-texture")
    projected = head.transform(base)
    rows.append(
        (
            "color-texture + LDA head (fit on train)",
            evaluate_reid(data, split, EmbeddingScorer(projected, base_per_image), embedder="projected"),
        )
    )

    matcher = LOCAL_MATCHERS.create("rootsift")
    t0 = time.perf_counter()
    local = [matcher.extract(im) for im in images]
    extract_s = (time.perf_counter() - t0) / len(images)
    scorer = TwoStageScorer(base, lambda i: local[i], matcher, RerankSettings())
    report = evaluate_reid(data, split, scorer, embedder="color-texture", seconds_per_query=base_per_image + extract_s)
    rows.append(("color-texture + RootSIFT re-rank top 10 (two-stage)", report))

    print("| embedder / score | rank-1 | rank-5 | mAP | ECE | P / R at threshold | open-set TPR@95%P | queries/s |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for name, r in rows:
        c = r.closed
        pr = f"{r.precision_at_threshold:.2f} / {r.recall_at_threshold:.2f}"
        print(
            f"| {name} | {c.rank1:.3f} | {c.rank5:.3f} | {c.map:.3f} | {r.ece:.3f} | {pr} "
            f"| {r.open_set_tpr_at_95_precision:.3f} | {r.queries_per_s:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
