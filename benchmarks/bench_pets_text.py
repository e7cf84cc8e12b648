"""Pets post text: the kind classifier on the held-out split, and field accuracy on rendered posters.

    python benchmarks/bench_pets_text.py [--posters 40] [--seed 2026] [--skip-posters]

1. Kind, held-out split of the packaged labelled set (chosen before any tuning): per-class precision / recall /
   F1 for rules only (baseline: best-voted cue, "other" when none) vs the TF-IDF + logistic-regression model only
   vs combined (rules where certain, else the model), trained on the train split.
2. Rendered posters (sightings.solutions.pets.text.poster_render, seed 2026; OCR choices were tuned on seed 7):
   understand_post("", [poster]) field accuracy — phone (the poster's number among those read), city, district,
   date (among those read), kind, species — and character accuracy of the OCR text, with and without deskew.
3. /work/shared/data: no poster-like images there; ocr_opencv's document scans (clean, rotated) are read through
   read_poster with and without deskew as a check on real rotated text.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time

import numpy as np

from sightings.evaluate.datasets import shared_file
from sightings.evaluate.text import char_accuracy


def kind_table() -> None:
    from sklearn.metrics import precision_recall_fscore_support

    from sightings.solutions.pets.text.facts import KINDS
    from sightings.solutions.pets.text.kind_model import fit, load_posts, rules_only

    posts = load_posts()
    test = [p for p in posts if p.split == "test"]
    t0 = time.perf_counter()
    model = fit(posts=posts)
    fit_s = time.perf_counter() - t0
    truth = [p.kind for p in test]
    predictions = {
        "rules only": [rules_only(p.text) for p in test],
        "model only": [model.model_only(p.text).value for p in test],
        "combined": [model.classify(p.text).value for p in test],
    }
    n_train = sum(p.split == "train" for p in posts)
    print(f"## Kind — held-out split: {len(test)} posts (train {n_train}); fit {fit_s:.2f} s\n")
    print("| method | " + " | ".join(f"{k} P / R / F1" for k in KINDS) + " | macro-F1 | accuracy |")
    print("|---|" + "---|" * (len(KINDS) + 2))
    for name, pred in predictions.items():
        p, r, f, _ = precision_recall_fscore_support(truth, pred, labels=list(KINDS), zero_division=0)
        cells = [f"{p[i]:.2f} / {r[i]:.2f} / {f[i]:.2f}" for i in range(len(KINDS))]
        acc = float(np.mean([a == b for a, b in zip(truth, pred, strict=True)]))
        print(f"| {name} | " + " | ".join(cells) + f" | {float(np.mean(f)):.3f} | {acc:.3f} |")
    certain = sum(model.classify(p.text).confidence == model.rule_confidence[model.classify(p.text).value]
                  for p in test)  # fmt: skip
    print(f"\nrules certain on {certain} of {len(test)} held-out posts; the model decides the rest\n")


def poster_table(count: int, seed: int) -> None:
    from sightings.solutions.pets.text import poster_ocr
    from sightings.solutions.pets.text.poster_render import find_font, render_posters

    if find_font() is None:
        print("skip posters: no Cyrillic TTF font (fonts-dejavu-core)", file=sys.stderr)
        return
    posters = render_posters(count, seed=seed)
    fields = ("phone", "city", "district", "date", "kind", "species")
    print(f"## Rendered posters — {count} posters, seed {seed} (skew ≤ ±8°, perspective, blur, noise, JPEG)\n")
    print("| read_poster | " + " | ".join(fields) + " | OCR char accuracy | s / poster |")
    print("|---|" + "---|" * (len(fields) + 2))
    variants = (
        ("grey, no deskew (baseline)", {"deskew": False}),
        ("deskew (default)", {}),
        ("deskew + adaptive threshold", {"binarise": True}),
    )
    for label, options in variants:
        right = dict.fromkeys(fields, 0)
        chars = []
        t0 = time.perf_counter()
        for poster in posters:
            text = poster_ocr.read_poster(poster.image, **options)
            facts = _understand_with_text(poster, text)
            truth = poster.truth
            right["phone"] += truth.phone in [p.value for p in facts.phones]
            right["city"] += facts.city is not None and facts.city.value == truth.city
            right["district"] += facts.district is not None and facts.district.value == truth.district
            right["date"] += truth.date in [d.value for d in facts.dates]
            right["kind"] += facts.kind.value == truth.kind
            right["species"] += facts.species is not None and facts.species.value == truth.species
            chars.append(char_accuracy(text, "\n".join(truth.lines), lower=True))
        secs = (time.perf_counter() - t0) / count
        cells = " | ".join(f"{right[f] / count:.3f}" for f in fields)
        print(f"| {label} | {cells} | {float(np.mean(chars)):.3f} | {secs:.2f} |")
    print()


def _understand_with_text(poster: object, ocr_text: str) -> object:
    """understand_post on an empty post text whose poster reads as ``ocr_text`` (OCR done once per variant)."""
    from unittest import mock

    from sightings.solutions.pets.text import poster_ocr, understand

    with mock.patch.object(poster_ocr, "read_poster", lambda image: ocr_text):
        return understand.understand_post("", [poster.image], posted_at=poster.posted_at)  # type: ignore[attr-defined]


def shared_table() -> None:
    gt_path = shared_file("ocr_opencv/gt.json")
    print("## /work/shared/data\n")
    print("No poster-like images (sets: pets09, lions, cuts, ocr_opencv, neardup, motmetrics_tud).")
    if gt_path is None:
        print("ocr_opencv not found (run `make stage-data`)\n")
        return
    import cv2

    from sightings.solutions.pets.text.poster_ocr import read_poster

    gt = json.loads(gt_path.read_text())
    print("read_poster on ocr_opencv's document scans (English text, rus+eng per line):\n")
    print("| image | condition | no deskew | deskew |")
    print("|---|---|---|---|")
    for name, entry in gt.items():
        path = gt_path.parent / name
        if not entry.get("lines") or not path.exists():
            continue
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        truth = "\n".join(entry["lines"])
        accs = [char_accuracy(read_poster(image, deskew=d), truth, lower=True) for d in (False, True)]
        print(f"| {name} | {entry.get('condition', '')} | {accs[0]:.3f} | {accs[1]:.3f} |")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posters", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-posters", action="store_true")
    args = parser.parse_args()
    kind_table()
    if not args.skip_posters:
        if shutil.which("tesseract"):
            poster_table(args.posters, args.seed)
            shared_table()
        else:
            print("skip posters: tesseract is not installed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
