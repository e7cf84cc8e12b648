"""Cut detection: ours vs PySceneDetect's ContentDetector and AdaptiveDetector, same videos, same run.

    python benchmarks/bench_cuts.py [--data .data/shared] [--repeat 3] [--synthetic N]

Videos: shared/data/cuts (bikes.mp4 — hard cuts; edit_dev.mp4 — hard cuts, dissolves, fades, flashes that are not
cuts) and, with ``--synthetic N``, N generated edits (sightings.solutions.content.synthetic; the tuning set).
Scores: precision / recall / F1 with ±2 frames (a gradual transition is found by a prediction inside its span ±2;
frame 0 is not counted), frames/s = frames / wall time including decoding (best of ``--repeat``).
Our thresholds were tuned on generated videos only, never on the shared videos reported here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sightings.evaluate.cuts import CutScore, score_cuts
from sightings.evaluate.datasets import shared_file


def _ours(all_frames: bool) -> Callable[[Path], list[int]]:
    def run(path: Path) -> list[int]:
        from sightings.solutions.content.cuts import detect_cuts

        return detect_cuts(path, all_frames=all_frames).shot_starts

    return run


def _scenedetect(kind: str) -> Callable[[Path], list[int]]:
    def run(path: Path) -> list[int]:
        from scenedetect import AdaptiveDetector, ContentDetector, SceneManager, open_video

        video = open_video(str(path))
        manager = SceneManager()
        manager.add_detector(ContentDetector() if kind == "content" else AdaptiveDetector())
        manager.detect_scenes(video)
        return [scene[0].frame_num for scene in manager.get_scene_list()]

    return run


def _videos(data: Path | None, n_synthetic: int, tmp: Path) -> list[tuple[str, Path, dict[str, object]]]:
    out: list[tuple[str, Path, dict[str, object]]] = []
    for video, truth in (("cuts/bikes.mp4", "cuts/bikes_gt.json"), ("cuts/edit_dev.mp4", "cuts/edit_dev.json")):
        vp = (data / video) if data else shared_file(video)
        tp = (data / truth) if data else shared_file(truth)
        if vp is None or tp is None or not vp.exists() or not tp.exists():
            print(f"skip {video}: not found (run `make stage-data`)", file=sys.stderr)
            continue
        out.append((vp.name, vp, json.loads(tp.read_text())))
    if n_synthetic:
        from sightings.solutions.content.synthetic import make_edited_video

        for k in range(n_synthetic):
            vp = tmp / f"synthetic_{k}.mp4"
            edit = make_edited_video(vp, seed=500 + k, n_shots=12, width=640, height=360).to_dict()
            out.append((vp.name, vp, edit))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="evaluation data folder (default: auto)")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per method (best is reported)")
    parser.add_argument("--synthetic", type=int, default=0, help="also score N generated edits")
    args = parser.parse_args()
    methods: dict[str, Callable[[Path], list[int]]] = {
        "sightings (default: reference frames)": _ours(False),
        "sightings --all-frames": _ours(True),
        "PySceneDetect ContentDetector": _scenedetect("content"),
        "PySceneDetect AdaptiveDetector": _scenedetect("adaptive"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        videos = _videos(args.data, args.synthetic, Path(tmp))
        if not videos:
            print("no videos", file=sys.stderr)
            return 1
        totals: dict[str, CutScore] = {m: CutScore(0, 0, 0) for m in methods}
        speed: dict[str, tuple[int, float]] = dict.fromkeys(methods, (0, 0.0))
        print("| video | method | P | R | F1 | frames/s |")
        print("|---|---|---|---|---|---|")
        for name, path, truth in videos:
            n_frames = int(truth.get("num_frames", 0))  # type: ignore[call-overload]
            for method, fn in methods.items():
                best = float("inf")
                preds: list[int] = []
                for _ in range(max(1, args.repeat)):
                    t0 = time.perf_counter()
                    preds = fn(path)
                    best = min(best, time.perf_counter() - t0)
                gradual = truth.get("gradual", [])
                score = score_cuts(preds, truth["cuts"], gradual)  # type: ignore[arg-type]
                totals[method] = totals[method] + score
                frames, secs = speed[method]
                speed[method] = (frames + n_frames, secs + best)
                print(
                    f"| {name} | {method} | {score.precision:.2f} | {score.recall:.2f} | {score.f1:.2f} "
                    f"| {n_frames / best:.0f} |"
                )
        print()
        print("| all videos | P | R | F1 | frames/s | speed vs ContentDetector |")
        print("|---|---|---|---|---|---|")
        base = speed["PySceneDetect ContentDetector"]
        base_fps = base[0] / base[1] if base[1] else 0.0
        for method, score in totals.items():
            frames, secs = speed[method]
            fps = frames / secs if secs else 0.0
            print(
                f"| {method} | {score.precision:.2f} | {score.recall:.2f} | {score.f1:.2f} | {fps:.0f} "
                f"| {fps / base_fps:.2f}× |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
