"""Pets lost↔found matching on the lions (a stand-in gallery of individuals), and end-to-end post intake speed.

    python benchmarks/bench_pets_matching.py [--data DIR] [--seed 0] [--repeats 5] [--posts 30] [--skip-intake]

**Matching** uses the pets service's own matcher (``sightings.solutions.pets.matching.build_matcher``: colour-texture
kNN + RootSIFT re-rank, the two-stage score), side by side with the global descriptor alone (baseline). The lions
identities are split in two halves by a seeded shuffle: **calibration** and **report**. In each half one photo per
individual is the "lost" post, the others are "found" posts in the gallery — except for a third of the
individuals, whose found photos are left out (a lost pet nobody found: any answer for it is wrong). On the
calibration half every photo is in turn the lost one (leave-one-out: its own photo, or all photos of a "never
found" individual, out of the gallery), a Platt curve (score → P(same animal)) is fitted on every query's top-10
candidates, and the threshold on P for 95 % precision of the top answer is chosen; the report half (one lost photo
per individual, as in the service) is used for nothing but the figures. The
curve and threshold printed at the end are the service's prior (``PRIOR_PLATT``) and ``pets.precision_threshold``.

**Intake** times ``PetsService.add_post`` end to end (decode, collage split, detection, text understanding,
dedup, gallery enrolment, SQL rows, matching) for manual posts with 1–3 generated 640×480 photos each.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sightings.evaluate.datasets import shared_data_dir
from sightings.evaluate.reid_data import load_reid_dataset, load_reid_images
from sightings.identity.calibration import choose_threshold, fit_calibrator
from sightings.solutions.pets.matching import build_matcher

TOP_K = 10
TARGET_PRECISION = 0.95


@dataclass
class Half:
    name: str
    lost: list[int]  # image index per query
    lost_known: list[bool]  # its individual has found photos in the gallery
    found: list[int]


def split_halves(identities: Sequence[str], seed: int) -> tuple[Half, Half]:
    rng = np.random.default_rng(seed)
    by_id: dict[str, list[int]] = {}
    for i, ident in enumerate(identities):
        by_id.setdefault(ident, []).append(i)
    names = sorted(n for n, idx in by_id.items() if len(idx) >= 2)
    rng.shuffle(names)
    halves = []
    for label, part in (("calibration", names[: len(names) // 2]), ("report", names[len(names) // 2 :])):
        unfound = set(part[: len(part) // 3])
        half = Half(label, [], [], [])
        for name in part:
            idx = list(rng.permutation(by_id[name]))
            half.lost.append(int(idx[0]))
            half.lost_known.append(name not in unfound)
            if name not in unfound:
                half.found += [int(i) for i in idx[1:]]
        halves.append(half)
    return halves[0], halves[1]


def score_half(
    half: Half, images: list[Any], identities: Sequence[str], *, rerank: bool
) -> list[list[tuple[str, float]]]:
    """Per lost query: the top-k (identity, score) from the pets matcher over the half's found gallery."""
    with tempfile.TemporaryDirectory() as tmp:
        matcher = build_matcher(Path(tmp), vector_store="numpy", rerank=rerank)
        for i in half.found:
            matcher.enrol(images[i], identity=identities[i], embedding_id=f"img{i}", metadata={"species": "cat"})
        out = []
        for q in half.lost:
            found = matcher.identify(images[q], k=TOP_K)
            out.append([(str(m.candidate), float(m.evidence["score"])) for m in found if m.candidate is not None])
        return out


def report(
    ranked: list[list[tuple[str, float]]], half: Half, identities: Sequence[str], cal: Any, threshold: float
) -> dict[str, float]:
    ranks: list[int | None] = []
    accepted = right = 0
    for q, cands, known in zip(half.lost, ranked, half.lost_known, strict=True):
        truth = identities[q]
        names = [c for c, _ in cands]
        if known:
            ranks.append(names.index(truth) + 1 if truth in names else None)
        if cands and float(cal.predict([cands[0][1]])[0]) >= threshold:
            accepted += 1
            right += int(names[0] == truth)
    known_n = max(1, len(ranks))
    return {
        "rank1": sum(r == 1 for r in ranks) / known_n,
        "rank5": sum(r is not None and r <= 5 for r in ranks) / known_n,
        "mAP": sum(1.0 / r for r in ranks if r is not None) / known_n,  # one right answer per query: AP = 1/rank
        "precision": right / accepted if accepted else 1.0,
        "recall": right / known_n,
        "accepted": accepted,
        "queries": len(half.lost),
    }


def calibration_scores(
    half: Half, images: list[Any], identities: Sequence[str], *, rerank: bool
) -> tuple[list[list[tuple[str, float]]], list[str]]:
    """Leave-one-out on the calibration half (every photo a query, many more decisions than one per individual):
    the query's own photo is taken out of the gallery; for a "never found" individual, all of its photos are."""
    unfound = {identities[q] for q, known in zip(half.lost, half.lost_known, strict=True) if not known}
    members = [*half.found, *half.lost]
    by_id: dict[str, list[int]] = {}
    for i in members:
        by_id.setdefault(identities[i], []).append(i)
    ranked: list[list[tuple[str, float]]] = []
    truths: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        matcher = build_matcher(Path(tmp), vector_store="numpy", rerank=rerank)

        def enrol(idx: Sequence[int]) -> None:
            for i in idx:
                matcher.enrol(images[i], identity=identities[i], embedding_id=f"img{i}", metadata={"species": "cat"})

        enrol(members)
        for name, idx in by_id.items():
            held = idx if name in unfound else []
            matcher.forget([f"img{i}" for i in held])
            for q in idx:
                if not held:
                    matcher.forget([f"img{q}"])
                found = matcher.identify(images[q], k=TOP_K)
                ranked.append([(str(m.candidate), float(m.evidence["score"])) for m in found if m.candidate])
                truths.append(name)
                if not held:
                    enrol([q])
            enrol(held)
    return ranked, truths


def calibrate(ranked: list[list[tuple[str, float]]], truths: Sequence[str], score_kind: str) -> Any:
    scores, labels, top_p, top_ok = [], [], [], []
    for truth, cands in zip(truths, ranked, strict=True):
        for name, s in cands:
            scores.append(s)
            labels.append(name == truth)
    cal = fit_calibrator(scores, labels, method="platt", embedder="color-texture", score_kind=score_kind)
    for truth, cands in zip(truths, ranked, strict=True):
        if cands:
            top_p.append(float(cal.predict([cands[0][1]])[0]))
            top_ok.append(cands[0][0] == truth)
    choice = choose_threshold(top_p, top_ok, target_precision=TARGET_PRECISION)
    return cal, choice


def bench_matching(data_root: Path, seeds: Sequence[int]) -> None:
    data = load_reid_dataset(data_root / "lions")
    identities = [s.identity for s in data.samples]
    images = load_reid_images(data, max_side=1024)
    cal_half, rep_half = split_halves(identities, seeds[0])
    print(
        f"lions: {len(images)} photos; per split: calibration {len(cal_half.lost)} lost / {len(cal_half.found)} found, "
        f"report {len(rep_half.lost)} lost ({sum(not k for k in rep_half.lost_known)} never found) / "
        f"{len(rep_half.found)} found; {len(seeds)} seeded splits (mean ± sd over splits)"
    )
    priors: list[str] = []
    rows: list[str] = []
    for label, rerank in (("global descriptor only (baseline)", False), ("two-stage (pets default)", True)):
        kind = "two-stage" if rerank else "cosine"
        results: list[dict[str, float]] = []
        for seed in seeds:
            cal_half, rep_half = split_halves(identities, seed)
            cal_ranked, truths = calibration_scores(cal_half, images, identities, rerank=rerank)
            cal, choice = calibrate(cal_ranked, truths, kind)
            t0 = time.perf_counter()
            rep_ranked = score_half(rep_half, images, identities, rerank=rerank)
            per_photo = (time.perf_counter() - t0) / max(1, len(rep_half.lost) + len(rep_half.found))
            results.append({**report(rep_ranked, rep_half, identities, cal, choice.threshold), "s": per_photo})
            results[-1]["threshold"] = choice.threshold
            if seed == seeds[0]:
                priors.append(
                    f"prior ('color-texture', '{kind}') from split {seed}: slope {cal.platt_slope:.4f}, intercept "
                    f"{cal.platt_intercept:.4f}; threshold P >= {choice.threshold:.3f} (calibration half: precision "
                    f"{choice.precision:.2f}, recall {choice.recall:.2f}, target {TARGET_PRECISION})"
                )

        def cell(key: str, results: list[dict[str, float]] = results) -> str:
            values = np.array([r[key] for r in results], float)
            return f"{values.mean():.3f} ± {values.std():.3f}"

        accepted = sum(r["accepted"] for r in results)
        right = sum(r["precision"] * r["accepted"] for r in results)
        pooled = right / accepted if accepted else 1.0
        rows.append(
            f"| {label} | {cell('rank1')} | {cell('rank5')} | {cell('mAP')} | {cell('threshold')} "
            f"| {pooled:.2f} ({accepted} accepted) | {cell('recall')} | {np.mean([r['s'] for r in results]):.3f} |"
        )
    print(
        "\n| score | rank-1 | rank-5 | mAP | threshold P (from calibration half) | precision at threshold, pooled "
        "| recall at threshold | s/photo (enrol + query) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print("\n".join(priors))


# ---------------------------------------------------------------------- intake
TEXTS = (
    "Пропал кот {n}, рыжий, белая грудка. Район Выхино, 5 января. Звоните +7 916 123-45-{k:02d}, вознаграждение!",
    "Найдена собака {n} у метро Кузьминки, ошейник без адреса. Ищем хозяина, телефон 8 (903) 555-{k:02d}-10",
    "Котята ищут дом! {n} малышей, к лотку приучены, Москва, Люблино. Пишите в личку",
    "Потерялась кошка {n}, трёхцветная, пугливая. Санкт-Петербург, Выборгский район. 8-921-000-{k:02d}-77",
)


def synthetic_photo(seed: int, width: int = 640, height: int = 480) -> Any:
    rng = np.random.default_rng(seed)
    xx = np.mgrid[0:height, 0:width][1].astype(np.float32)
    img = rng.uniform(60, 190, 3)[None, None, :] + (xx[..., None] * rng.uniform(-0.15, 0.15, 3))
    size = int(rng.integers(140, 260))
    cells = np.kron(rng.integers(0, 256, (size // 10 + 1, size // 10 + 1, 3)), np.ones((10, 10, 1)))[:size, :size]
    y, x = int(rng.integers(0, height - size)), int(rng.integers(0, width - size))
    img[y : y + size, x : x + size] = cells
    return np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)


def encode_jpeg(image: Any) -> bytes:
    import cv2

    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    return bytes(data.tobytes()) if ok else b""


def bench_intake(posts: int, seed: int) -> None:
    from sightings.core.config import load_settings
    from sightings.solutions.pets.posts import PostDraft
    from sightings.solutions.pets.service import PetsService

    rng = np.random.default_rng(seed)
    drafts = []
    t0 = datetime(2025, 1, 5, tzinfo=UTC)
    for n in range(posts):
        photos = tuple(encode_jpeg(synthetic_photo(seed * 1000 + n * 7 + j)) for j in range(int(rng.integers(1, 4))))
        text = TEXTS[n % len(TEXTS)].format(n=n, k=n % 100)
        lat, lon = 55.70 + rng.uniform(0, 0.1), 37.55 + rng.uniform(0, 0.15)
        drafts.append(
            PostDraft(source="manual", text=text, photos=photos, posted_at=t0 + timedelta(hours=n), lat=lat, lon=lon)
        )
    print(
        f"\nintake: {posts} manual posts, {sum(len(d.photos) for d in drafts)} photos (640×480 JPEG), "
        "text understanding on"
    )
    print("\n| configuration | posts/minute | s/post (mean) | s/post (p95) |")
    print("|---|---:|---:|---:|")
    configs = (
        ("defaults: SSD cat/dog detector, OCR of photos without an animal, LanceDB", {}),
        ("no detector (photos used whole), no OCR, LanceDB", {"pets.detector": "none", "pets.ocr": False}),
    )
    for label, overrides in configs:
        with tempfile.TemporaryDirectory() as tmp:
            from sightings.core.config import get_settings

            values = {"data_dir": tmp, "models_dir": str(get_settings().models_path), **overrides}
            service = PetsService(load_settings(overrides=values).settings)
            service.add_post(PostDraft(source="manual", text="прогрев", photos=(encode_jpeg(synthetic_photo(1)),)))
            times = []
            start = time.perf_counter()
            for draft in drafts:
                t = time.perf_counter()
                service.add_post(draft)
                times.append(time.perf_counter() - t)
            total = time.perf_counter() - start
            service.close()
        print(
            f"| {label} | {len(drafts) / total * 60:.0f} | {np.mean(times):.3f} | {np.quantile(times, 0.95):.3f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="evaluation data folder (default: found by sightings)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="seeded splits to average (seed, seed+1, ...)")
    parser.add_argument("--posts", type=int, default=30)
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--skip-matching", action="store_true")
    args = parser.parse_args()
    root = args.data or shared_data_dir()
    if not args.skip_matching:
        if root is None or not (root / "lions" / "labels.csv").exists():
            print(f"skipped matching: no lions data (looked in {root}); run `make stage-data` or pass --data")
        else:
            bench_matching(root, list(range(args.seed, args.seed + args.repeats)))
    if not args.skip_intake:
        bench_intake(args.posts, args.seed)


if __name__ == "__main__":
    main()
