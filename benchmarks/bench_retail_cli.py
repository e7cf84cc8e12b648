"""The retail accuracy loop through the command line, on real data: `retail run`, then `retail accuracy --gt`.

    python benchmarks/bench_retail_cli.py [--out DIR] [--keep]

Builds a store folder from PETS09-S2L1 frames 1–400 (``pets09/vtest.avi`` re-encoded to a 40-s H.264 MP4 at 10 fps,
named ``pets_pets_20261130-100000Z.mp4``), the accuracy benchmark's zones and thresholds
(``bench_retail_accuracy.CONFIG``) with a chDB warehouse inside the folder, and its 8 seeded receipts as a CSV. Then
runs, as a user would:

    sightings retail run videos --store pets --day 2026-11-30 --receipts receipts.csv --config retail.yaml
    sightings retail accuracy pets/pets/20261130T100000Z --gt gt_1_400.txt --receipts receipts.csv --config retail.yaml

and prints both outputs. Unlike ``bench_retail_accuracy.py`` it goes through the production sampler (1 analysis
fps on the re-encoded file), the warehouse and the CLI's own accuracy code, so the two agreeing is a check on both.
Needs the evaluation data (``make stage-data``; ``SIGHTINGS_SHARED_DATA``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_retail_accuracy as accuracy
from sightings.evaluate.datasets import PETS09_MISSING, pets09_files

START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
NAME = "pets_pets_20261130-100000Z.mp4"
RUN_ID = "pets/pets/20261130T100000Z"


def build_folder(root: Path, video: Path, gt: Path) -> None:
    """The store folder: the clip as MP4, retail.yaml, receipts.csv and the ground truth."""
    import av

    (root / "videos").mkdir(parents=True, exist_ok=True)
    with av.open(str(video)) as src, av.open(str(root / "videos" / NAME), "w") as dst:
        stream = dst.add_stream("libx264", rate=int(accuracy.FPS))
        stream.width, stream.height, stream.pix_fmt = 768, 576, "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            if i >= accuracy.FRAMES:
                break
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)
    lines = ["time,amount,register,receipt_id"]
    for r in accuracy.receipts():
        lines.append(f"{(START + (r.ts - accuracy.START)).isoformat()},{r.amount:.2f},{r.register},{r.receipt_id}")
    (root / "receipts.csv").write_text("\n".join(lines) + "\n")
    config = {**accuracy.CONFIG, "warehouse": {"path": str(root / "warehouse")}}
    (root / "retail.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(gt, root / "gt_1_400.txt")


def sightings(*args: str, cwd: Path) -> str:
    """Run the installed ``sightings`` command (the one beside this Python) and return its output; exit on failure."""
    exe = Path(sys.executable).with_name("sightings")
    done = subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"sightings {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="build the folder here (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    files = pets09_files()
    if files is None:
        print(f"skipped: {PETS09_MISSING}")
        return
    video, gt = files
    root = args.out or Path(tempfile.mkdtemp(prefix="sightings-retail-cli-"))
    try:
        build_folder(root, video, gt)
        day = START.date().isoformat()
        print(sightings("retail", "run", "videos", "--store", "pets", "--day", day, "--receipts", "receipts.csv",
                        "--config", "retail.yaml", cwd=root))  # fmt: skip
        print(sightings("retail", "accuracy", RUN_ID, "--gt", "gt_1_400.txt", "--receipts", "receipts.csv",
                        "--config", "retail.yaml", cwd=root))  # fmt: skip
    finally:
        if args.out is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"folder: {root}")


if __name__ == "__main__":
    main()
