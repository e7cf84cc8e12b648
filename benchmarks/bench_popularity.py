"""Popularity on a synthetic set: model vs the naive baseline, training time, prediction latency.

    python benchmarks/bench_popularity.py [--videos 1000] [--seed 0] [--predictions 200] [--catboost]

Input: ``sightings.solutions.popularity.synthetic`` (content runs + snapshots + videos + channels with a planted
signal). Baseline: the median log1p growth of training videos in the same age bucket. Metrics on the test split
(time-ordered channel groups), log1p scale. Latency: one ``predict_run`` (read the run folder, aggregate the
features, 9 models, JSON-ready dict) with the artifact loaded once, p50/p95 over N different videos.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _train(kind: str, dataset: Path, out: Path, threads: int) -> Any:
    from sightings.solutions.popularity.report import age_table, metrics_table
    from sightings.solutions.popularity.train import TrainingConfig, train

    config = TrainingConfig.model_validate(
        {"dataset": str(dataset), "out": str(out), "run_id": kind, "seed": 7, "plots": False,
         "model": {"kind": kind, "num_threads": threads}}
    )  # fmt: skip
    t0 = time.perf_counter()
    run = train(config)
    wall = time.perf_counter() - t0
    print(f"\n### {kind}: 9 models trained in {wall:.1f} s ({threads} thread(s)); split {run.metrics['split']}\n")
    print(metrics_table(run.metrics))
    print()
    print(age_table(run.metrics, "views_14d"))
    return run


def _latency(data: Any, run_dir: Path, n: int) -> list[float]:
    from sightings.solutions.popularity.artifacts import load_artifact
    from sightings.solutions.popularity.channels import load_channel_index
    from sightings.solutions.popularity.predict import predict_run
    from sightings.solutions.popularity.snapshots import CleaningCounts, load_snapshots, load_videos

    artifact = load_artifact(run_dir)
    counts = CleaningCounts()
    series = load_snapshots(data.snapshots, counts)
    metadata = load_videos(data.videos, counts)
    channels = load_channel_index(data.channels)
    keys = sorted(series)[:n]
    times = []
    for key in [keys[0], *keys]:  # the first call warms up
        first = series[key][0]
        video = metadata[key]
        lookup = channels.lookup(video.channel_id, first.at)
        content_run = next((data.store / key[0] / key[1]).iterdir())
        t0 = time.perf_counter()
        predict_run(content_run, artifact, video=video, snapshot1=first, channel=lookup)
        times.append((time.perf_counter() - t0) * 1000)
    return times[1:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000, help="synthetic videos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--predictions", type=int, default=200, help="predictions timed for the latency")
    parser.add_argument("--threads", type=int, default=1, help="backend threads")
    parser.add_argument("--catboost", action="store_true", help="also train the CatBoost backend")
    args = parser.parse_args()
    from sightings.solutions.popularity.dataset import DatasetInputs, build_dataset, write_dataset
    from sightings.solutions.popularity.synthetic import make_synthetic_set

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        data = make_synthetic_set(root / "set", n_videos=args.videos, seed=args.seed)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = build_dataset(DatasetInputs(data.store, data.snapshots, data.videos, data.channels))
        ds, _ = write_dataset(result, root / "dataset.parquet")
        t_ds = time.perf_counter() - t0
        print(
            f"\n{args.videos} synthetic videos: generated in {t_gen:.1f} s; dataset ({result.n_rows} rows, "
            f"{len(result.metadata['feature_columns'])} features) built in {t_ds:.1f} s"
        )
        runs = {kind: _train(kind, ds, root / "artifacts", args.threads)
                for kind in ["lightgbm", *(["catboost"] if args.catboost else [])]}  # fmt: skip
        times = _latency(data, runs["lightgbm"].run_dir, args.predictions)
        print(
            f"\nprediction latency (lightgbm, 9 models, features from the run folder), {len(times)} videos: "
            f"p50 {_pct(times, 0.5):.1f} ms, p95 {_pct(times, 0.95):.1f} ms, mean {statistics.mean(times):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
