"""Batch runner benchmark: videos/minute with 1 and 2 local workers and Ray, and the runner's own overhead.

Usage::

    python benchmarks/bench_batch.py [--videos 40] [--no-ray] [--no-track]

One generated list (``--videos`` × 320×240, 2 s, 10 fps H.264 clips, cached under ``benchmarks/.cache/batch``),
run through each job with each executor into a fresh output folder:

* ``noop``  the fake job with ``probe: false`` and no sleep: everything measured is the runner itself
  (worker start-up, IPC, the run folder + manifest with checksums, fsync'd state line, progress.json);
* ``wait``  the fake job sleeping 0.1 s per video: work that does not use the CPU (downloads, remote calls);
* ``probe`` the probe job (PyAV opens each file);
* ``track`` the track job with the real SSD-OIDv4 detector (whole frame, no tiles) + ByteTrack at 5 analysis
  fps, when the model is installed (``sightings models install``), else the row says it is skipped.

Wall time includes starting the workers (and Ray). ``overhead/video`` = (wall × workers − Σ job seconds) /
videos: worker time per video spent outside the job (start-up included, so it shrinks with longer batches).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(__file__).resolve().parent / ".cache" / "batch"
sys.path.insert(0, str(REPO_ROOT / "tests"))


def make_list(n: int) -> Path:
    from factories import make_video

    folder = CACHE_DIR / f"v{n}"
    list_path = folder / "videos.csv"
    if list_path.is_file():
        return list_path
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        path = folder / f"clip{i:03d}.mp4"
        if not path.is_file():
            make_video(path, seconds=2.0, fps=10, width=320, height=240, gop=10)
        rows.append({"path": path.name, "platform_id": "bench", "video_id": f"clip{i:03d}"})
    with list_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "platform_id", "video_id"])
        writer.writeheader()
        writer.writerows(rows)
    return list_path


def ssd_available() -> bool:
    from sightings.core.config import get_settings

    return (get_settings().models_path / "ssd-mobilenetv2-oidv4").exists()


def run_one(list_path: Path, job: str, options: dict[str, Any], executor: str, workers: int) -> dict[str, Any]:
    from sightings.runner.batch import BatchOptions, run_batch

    out = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        extra = {"num_cpus": workers} if executor == "ray" else {}
        t0 = time.perf_counter()
        result = run_batch(
            list_path,
            job,
            options,
            out,
            BatchOptions(executor=executor, workers=workers, executor_options=extra, retries=0),
        )
        wall = time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    n = result.summary.total
    complete = result.summary.counts["done"] + result.summary.counts["empty"]
    return {
        "job": job,
        "executor": f"{executor} ×{workers}",
        "videos": n,
        "complete": complete,
        "wall_s": wall,
        "per_min": n / wall * 60,
        "job_s": result.job_seconds,
        "overhead_ms": (wall * workers - result.job_seconds) / n * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=40)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-track", action="store_true")
    args = parser.parse_args()

    list_path = make_list(args.videos)
    jobs: list[tuple[str, str, dict[str, Any]]] = [
        ("noop", "fake", {"probe": False}),
        ("wait", "fake", {"probe": False, "sleep_s": 0.1}),
        ("probe", "probe", {}),
    ]
    if args.no_track:
        print("track: skipped (--no-track)")
    elif not ssd_available():
        print("track: skipped (the SSD-OIDv4 model is not installed: sightings models install)")
    else:
        jobs.append(("track", "track", {"detector": "ssd-oidv4", "tracker": "bytetrack", "fps": 5, "tiles": "none"}))
    executors = [("local", 1), ("local", 2)]
    if args.no_ray:
        print("ray: skipped (--no-ray)")
    elif importlib.util.find_spec("ray") is None:
        print("ray: skipped (not installed: pip install 'sightings[ray]')")
    else:
        executors.append(("ray", 2))

    header = f"| {'job':6} | {'executor':9} | videos | complete | wall s | videos/min | Σ job s | overhead/video ms |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for label, job, options in jobs:
        for executor, workers in executors:
            row = run_one(list_path, job, options, executor, workers)
            print(
                f"| {label:6} | {row['executor']:9} | {row['videos']:6d} | {row['complete']:8d} | "
                f"{row['wall_s']:6.2f} | {row['per_min']:10.0f} | {row['job_s']:7.2f} | {row['overhead_ms']:17.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
