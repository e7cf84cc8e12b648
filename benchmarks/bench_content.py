"""Whole content pipeline (all modules) on a generated 720p video: × real time, per-module seconds.

    python benchmarks/bench_content.py [--seconds 30] [--workers 2] [--fps 2]

Input: a generated 1280×720 25-fps H.264 edit (sightings.solutions.content.synthetic: textured shots, pans,
hard cuts, dissolves, fades, flashes) with an AAC click track at 120 BPM, cached under benchmarks/.cache/.
Every module runs (uniqueness against a fresh reference corpus; clap is skipped unless a CLAP ONNX model is in
the models dir). × real time = video duration / wall time of ``run_content`` (decode + cuts + segmenter frames +
modules + writing the run folder). Goal: ≥ 10×.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

CACHE_DIR = Path(__file__).resolve().parent / ".cache"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="approximate video length")
    parser.add_argument("--workers", type=int, default=2, help="module threads")
    parser.add_argument("--fps", type=float, default=2.0, help="analysis fps")
    args = parser.parse_args()
    from sightings.solutions.content.context import ContentOptions
    from sightings.solutions.content.pipeline import run_content
    from sightings.solutions.content.synthetic import make_edited_video

    CACHE_DIR.mkdir(exist_ok=True)
    n_shots = max(2, round(args.seconds / 2.7))
    video = CACHE_DIR / f"content_720p_{n_shots}shots.mp4"
    if not video.exists():
        t0 = time.perf_counter()
        make_edited_video(video, seed=7, n_shots=n_shots, width=1280, height=720, audio_bpm=120.0)
        print(f"generated {video.name} in {time.perf_counter() - t0:.0f} s")
    with tempfile.TemporaryDirectory() as tmp:
        options = ContentOptions(workers=args.workers, analysis_fps=args.fps, corpus_dir=str(Path(tmp) / "corpus"))
        t0 = time.perf_counter()
        result = run_content(video, platform_id="bench", video_id="v720p", options=options, store=Path(tmp) / "rs")
        wall = time.perf_counter() - t0
    m = result.manifest
    duration = m["source"]["duration_s"]
    print(f"\n{video.name}: {duration:.1f} s, {m['source']['n_frames']} frames, {m['n_shots']} shots")
    print("| stage | seconds |")
    print("|---|---|")
    for key, value in m["timings"].items():
        print(f"| {key} | {value:.2f} |")
    print("\n| module | status | seconds |")
    print("|---|---|---|")
    for name, entry in m["modules"].items():
        print(f"| {name} | {entry['status']} | {entry['seconds']:.2f} |")
    print(
        f"\n**{duration / wall:.1f}× real time** ({wall:.2f} s wall for {duration:.1f} s of 720p video, "
        f"{args.workers} module threads, analysis {args.fps} fps)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
