"""Tesseract OCR on shared/data/ocr_opencv: character accuracy against the line-by-line ground truth.

    python benchmarks/bench_ocr.py [--data .data/shared] [--psm 3 6] [--no-deskew]

Character accuracy = 1 - Levenshtein(predicted, truth) / len(truth) on the page text (lines joined with
newlines, runs of spaces collapsed), per image with readable ground truth; blurred images (``lines: null``) are
reported by their read time only. Baseline beside it: the same engine at another page-segmentation mode, and each
mode without and with deskew (``TesseractOcr(deskew=True)``: text lines levelled first, sightings.vision.ocr_prepare).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from sightings.evaluate.datasets import shared_file
from sightings.evaluate.text import char_accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--psm", type=int, nargs="+", default=[3, 6])
    parser.add_argument("--no-deskew", action="store_true", help="only the plain engine rows")
    args = parser.parse_args()
    gt_path = (args.data / "ocr_opencv" / "gt.json") if args.data else shared_file("ocr_opencv/gt.json")
    if gt_path is None or not gt_path.exists():
        print("skip: ocr_opencv not found (run `make stage-data`)", file=sys.stderr)
        return 0
    from PIL import Image

    from sightings.core.registry import OCR_ENGINES

    gt = json.loads(gt_path.read_text())
    print("| image | condition | psm | deskew | char accuracy | seconds |")
    print("|---|---|---|---|---|---|")
    settings = [(psm, deskew) for psm in args.psm for deskew in ((False,) if args.no_deskew else (False, True))]
    for psm, deskew in settings:
        ocr = OCR_ENGINES.create("tesseract", psm=psm, min_confidence=0.0, deskew=deskew)
        for name, entry in gt.items():
            path = gt_path.parent / name
            if not path.exists():
                continue
            image = np.asarray(Image.open(path).convert("RGB"))
            t0 = time.perf_counter()
            lines = ocr.read(image, ["eng"])
            secs = time.perf_counter() - t0
            if entry.get("lines"):
                acc = char_accuracy("\n".join(ln.text for ln in lines), "\n".join(entry["lines"]))
                shown = f"{acc:.3f}"
            else:
                shown = f"n/a ({len(lines)} lines read)"
            level = "yes" if deskew else "no"
            print(f"| {name} | {entry.get('condition', '')} | {psm} | {level} | {shown} | {secs:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
