"""Generated popularity data with a planted signal: content runs, snapshots, video and channel tables.

    data = make_synthetic_set(out_dir, n_videos=200, seed=0)
    data.store, data.snapshots, data.videos, data.channels      # result_store/, snapshots.csv, videos.csv, channels.csv

Each video's lifetime views follow ``A · (1 − exp(−t/τ))`` (t hours since publication) with
``log A = 2 + 0.55·log(subscribers) + appeal + channel effect``; ``appeal`` is planted in the content features:
hook strength (story_structure), cuts per minute (video_pacing, best between 10 and 25), loudness (closer to −14
LUFS is better), on-screen text coverage (text_scoring) and category, plus noise. Likes and comments are shares
of views that depend on hook strength and the speech ratio (audio_mix). Snapshots start 1–120 h after
publication and come about daily (±5 h, some days missing); 10 % of videos stop being tracked after 10–17 days
(no 21-day target). Channels have a row as of before the period and one as of after it (the builder must skip
the later one). 5 % of videos name a channel that is not in the channel index. The content runs follow the
content run folder format (manifest.json + one NPZ per module) and pass ``sightings content validate``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SyntheticSet", "make_synthetic_set", "write_content_run"]

F32, I32, I8 = np.float32, np.int32, np.int8
START = datetime(2026, 1, 1, tzinfo=UTC)
LANGUAGES = ("en", "ru", "es")
CATEGORIES = ("music", "gaming", "news", "howto")
CATEGORY_APPEAL = {"music": 0.35, "gaming": 0.1, "news": -0.2, "howto": 0.0}


@dataclass(frozen=True, slots=True)
class _Channel:
    id: str
    subs: float
    effect: float
    created: datetime
    videos: int


@dataclass(frozen=True, slots=True)
class SyntheticSet:
    """Paths of a generated set."""

    root: Path
    store: Path
    snapshots: Path
    videos: Path
    channels: Path
    n_videos: int
    platform_id: str = "yt"


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _curve(rng: np.random.Generator, n: int, level: float, spread: float, bounds: tuple[float, float]) -> np.ndarray:
    return np.clip(level + spread * rng.standard_normal(n), *bounds).astype(F32)


def _modules(rng: np.random.Generator, latent: dict[str, float]) -> dict[str, dict[str, np.ndarray]]:
    """Schema-valid module outputs shaped by the video's latent traits."""
    duration = latent["duration_s"]
    n_shots = max(2, min(80, round(duration / 60.0 * latent["pace"]) + 1))
    n_frames = 120
    n_win = max(2, min(120, int(duration)))
    win_t = np.linspace(0, duration, n_win, endpoint=False).astype(F32)
    bounds = np.sort(rng.choice(np.arange(1, n_frames), size=min(n_shots - 1, n_frames - 1), replace=False))
    n_shots = bounds.size + 1
    shot_start = np.concatenate([[0], bounds]).astype(I32)
    starts_s = (shot_start / n_frames * duration).astype(F32)
    ends_s = np.append(starts_s[1:], duration).astype(F32)
    lengths = (ends_s - starts_s).astype(F32)
    energy = _curve(rng, n_win, 0.3 + 0.1 * latent["hook"], 0.15, (0, 1))
    sim = np.clip(rng.uniform(0.2, 0.9, (n_shots, n_shots)), 0, 1).astype(F32)
    sim = ((sim + sim.T) / 2).astype(F32)
    np.fill_diagonal(sim, 1.0)
    n_ocr = 6
    coverage = _curve(rng, n_ocr, latent["text"], 0.05, (0, 1))
    speech = latent["speech"]
    music = (1 - speech) * 0.8
    n_seg = max(1, int(duration))
    seg = rng.choice(np.array([0, 1, 2], I8), size=min(n_seg, 300), p=[1 - speech - music, speech, music])
    desc = np.clip(rng.uniform(0, 1, (4, 7)), 0, 1).astype(F32)
    return {
        "cut_detection": {
            "cut_frame": bounds.astype(I32),
            "cut_t_s": starts_s[1:],
            "cut_kind": (rng.uniform(size=bounds.size) < 0.2).astype(I8),
            "cut_start": bounds.astype(I32),
            "cut_end": bounds.astype(I32),
            "confidence": _curve(rng, bounds.size, 0.8, 0.1, (0, 1)),
            "change": _curve(rng, n_frames, 0.1, 0.05, (0, 1)),
            "shot_start": shot_start,
            "shot_start_s": starts_s,
            "shot_end_s": ends_s,
        },
        "shot_quality": {
            "sharpness": _curve(rng, n_shots, 300, 80, (0, 1e4)),
            "exposure": _curve(rng, n_shots, 0.45, 0.1, (0, 1)),
            "clipped": _curve(rng, n_shots, 0.02, 0.01, (0, 1)),
            "contrast": _curve(rng, n_shots, 0.2, 0.05, (0, 1)),
            "noise": _curve(rng, n_shots, 2.0, 0.5, (0, 50)),
            "colourfulness": _curve(rng, n_shots, 40, 10, (0, 200)),
            "shake": _curve(rng, n_shots, 0.02, 0.01, (0, 1)),
            "has_frame": np.ones(n_shots, bool),
        },
        "video_pacing": {
            "cuts_per_minute": np.asarray((n_shots - 1) / (duration / 60.0), F32),
            "shot_length_s": lengths,
            "shot_length_mean_s": np.asarray(lengths.mean(), F32),
            "shot_length_median_s": np.asarray(np.median(lengths), F32),
            "shot_length_std_s": np.asarray(lengths.std(), F32),
            "shot_length_min_s": np.asarray(lengths.min(), F32),
            "shot_length_max_s": np.asarray(lengths.max(), F32),
            "window_t_s": win_t,
            "motion_energy": _curve(rng, n_win, 0.2, 0.08, (0, 1)),
        },
        "story_structure": {
            "window_t_s": win_t,
            "energy": energy,
            "novelty": _curve(rng, n_win, 0.3, 0.1, (0, 1)),
            "hook_strength": np.asarray(latent["hook"], F32),
            "peak_position": np.asarray(rng.uniform(), F32),
        },
        "similarity_metrics": {
            "self_similarity": sim,
            "adjacent_similarity": np.array([sim[i, i + 1] for i in range(n_shots - 1)], F32),
            "repetition": np.asarray(rng.uniform(0, 0.5), F32),
            "mean_similarity": np.asarray(sim[~np.eye(n_shots, dtype=bool)].mean(), F32),
        },
        "text_scoring": {
            "t_s": np.linspace(0, duration, n_ocr, endpoint=False).astype(F32),
            "coverage": coverage,
            "n_chars": (coverage * 400).astype(I32),
            "text_height": _curve(rng, n_ocr, 0.05, 0.01, (0, 1)),
            "coverage_mean": np.asarray(coverage.mean(), F32),
            "text_frames": np.asarray((coverage > 0.01).mean(), F32),
            "text_duration_s": np.asarray((coverage > 0.01).mean() * duration, F32),
            "chars_on_screen": np.asarray(coverage.mean() * 400, F32),
        },
        "scene_classification": {
            "t_s": np.linspace(0, duration, 4, endpoint=False).astype(F32),
            "descriptor": desc,
            "descriptor_mean": desc.mean(axis=0).astype(F32),
        },
        "loudness": {
            "integrated_lufs": np.asarray(latent["lufs"], F32),
            "loudness_range_lu": np.asarray(rng.uniform(2, 15), F32),
            "true_peak_dbtp": np.asarray(min(0.0, latent["lufs"] + 12), F32),
            "window_t_s": win_t,
            "short_term_lufs": _curve(rng, n_win, latent["lufs"], 3, (-70, 10)),
        },
        "tempo": {
            "bpm": np.asarray(rng.uniform(60, 180), F32),
            "beat_strength": np.asarray(rng.uniform(0, 1), F32),
            "onset_rate_hz": np.asarray(rng.uniform(0.5, 4), F32),
            "onset_envelope": _curve(rng, 50, 1.0, 0.5, (0, 100)),
        },
        "audio_mix": {
            "speech_ratio": np.asarray((seg == 1).mean(), F32),
            "music_ratio": np.asarray((seg == 2).mean(), F32),
            "silence_ratio": np.asarray((seg == 0).mean(), F32),
            "segment_class": seg,
        },
    }


KIND = {"loudness": "audio", "tempo": "audio", "audio_mix": "audio"}


def write_content_run(
    store: Path,
    platform_id: str,
    video_id: str,
    run_id: str,
    outputs: dict[str, dict[str, np.ndarray]],
    *,
    duration_s: float,
    fps: float,
) -> Path:
    """A content run folder in the documented format (``manifest.json`` + ``<module>.npz``)."""
    folder = store / platform_id / video_id / run_id
    from sightings.core.atomic import make_output_dir

    make_output_dir(folder)
    modules: dict[str, Any] = {}
    for name, arrays in outputs.items():
        np.savez(folder / f"{name}.npz", **arrays)  # type: ignore[arg-type]
        modules[name] = {
            "version": "1",
            "schema_version": "1",
            "kind": KIND.get(name, "visual"),
            "status": "ok",
            "file": f"{name}.npz",
            "keys": sorted(arrays),
            "seconds": 0.0,
        }
    for name in ("uniqueness", "clap"):
        modules[name] = {
            "version": "1",
            "schema_version": "1",
            "kind": "visual",
            "status": "skipped",
            "reason": "synthetic run",
            "seconds": 0.0,
        }
    n_frames = round(duration_s * fps)
    manifest = {
        "manifest_version": "1",
        "sightings_version": "synthetic",
        "platform_id": platform_id,
        "video_id": video_id,
        "run_id": run_id,
        "created_utc": "2026-01-01T00:00:00+00:00",
        "source": {
            "path": f"{video_id}.mp4",
            "source_fps": fps,
            "analysis_fps": 2.0,
            "n_frames": n_frames,
            "duration_s": duration_s,
            "width": 1280,
            "height": 720,
            "decode_errors": 0,
            "truncated": False,
            "codec": "h264",
        },
        "config": {"synthetic": True},
        "config_hash": "0" * 64,
        "n_shots": int(outputs["cut_detection"]["shot_start"].size),
        "timings": {"total_s": 0.0},
        "x_real_time": None,
        "warnings": [],
        "modules": modules,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def _views(amplitude: float, tau_h: float, age_h: float) -> float:
    return amplitude * (1.0 - math.exp(-age_h / tau_h))


def make_synthetic_set(
    out: str | Path, *, n_videos: int = 200, n_channels: int | None = None, seed: int = 0, span_days: int = 120
) -> SyntheticSet:
    """Write a synthetic set under ``out`` (see the module docs); the same seed gives the same files."""
    root = Path(out)
    store = root / "result_store"
    rng = np.random.default_rng(seed)
    n_ch = n_channels or max(2, n_videos // 5)
    channels: list[_Channel] = []
    for c in range(n_ch):
        subs = float(np.exp(rng.normal(9.0, 1.6)))
        channels.append(
            _Channel(
                f"ch{c:04d}",
                subs,
                float(rng.normal(0, 0.25)),
                START - timedelta(days=float(rng.uniform(60, 3000))),
                int(rng.integers(5, 900)),
            )
        )
    snap_rows: list[list[Any]] = []
    video_rows: list[list[Any]] = []
    for v in range(n_videos):
        ch = channels[int(rng.integers(n_ch))]
        latent = {
            "hook": float(rng.uniform(0.3, 3.5)),
            "pace": float(rng.uniform(2, 40)),
            "lufs": float(rng.uniform(-30, -8)),
            "text": float(rng.uniform(0, 0.4)),
            "speech": float(rng.uniform(0, 0.9)),
            "duration_s": float(rng.uniform(30, 600)),
            "fps": float(rng.choice([24.0, 25.0, 30.0, 60.0])),
        }
        category = str(rng.choice(CATEGORIES))
        appeal = (
            0.7 * (latent["hook"] - 1.9)
            + (0.6 if 10 <= latent["pace"] <= 25 else -0.2)
            - 0.06 * abs(latent["lufs"] + 14)
            + 2.0 * latent["text"]
            + CATEGORY_APPEAL[category]
            + float(rng.normal(0, 0.3))
        )
        amplitude = math.exp(2.0 + 0.55 * math.log(ch.subs) + appeal + ch.effect)
        tau = 60.0 * math.exp(float(rng.normal(0, 0.3)))
        like_rate = 0.03 * math.exp(0.25 * (latent["hook"] - 1.9) + float(rng.normal(0, 0.15)))
        comment_rate = 0.003 * math.exp(1.2 * latent["speech"] + float(rng.normal(0, 0.2)))
        published = START + timedelta(hours=float(rng.uniform(0, span_days * 24)))
        age1 = float(rng.uniform(1, 120))
        vid = f"v{v:05d}"
        missing_channel = rng.uniform() < 0.05
        video_rows.append(
            [
                "yt",
                vid,
                _iso(published),
                round(latent["duration_s"], 2),
                str(rng.choice(LANGUAGES)),
                category,
                f"gone{v:05d}" if missing_channel else ch.id,
            ]
        )
        last_day = int(rng.integers(10, 18)) if rng.uniform() < 0.1 else 24
        times = [age1] + [
            age1 + 24 * d + float(rng.uniform(-5, 5)) for d in range(1, last_day + 1) if rng.uniform() > 0.15
        ]
        for t in times:
            views = _views(amplitude, tau, t)
            snap_rows.append(
                [
                    "yt",
                    vid,
                    _iso(published + timedelta(hours=t)),
                    math.floor(views),
                    math.floor(views * like_rate),
                    math.floor(views * comment_rate),
                ]
            )
        outputs = _modules(rng, latent)
        write_content_run(
            store, "yt", vid, "20260101T000000Z-synthetc", outputs, duration_s=latent["duration_s"], fps=latent["fps"]
        )
    from sightings.core.atomic import make_output_dir

    make_output_dir(root)
    paths = {name: root / f"{name}.csv" for name in ("snapshots", "videos", "channels")}
    _write_csv(paths["snapshots"], ["platform_id", "video_id", "snapshot_at", "views", "likes", "comments"], snap_rows)
    _write_csv(
        paths["videos"],
        ["platform_id", "video_id", "published_at", "duration_sec", "language", "category", "channel_id"],
        video_rows,
    )
    channel_rows = []
    for ch in channels:
        created = _iso(ch.created)
        channel_rows.append([ch.id, round(ch.subs * 0.95), ch.videos, created, _iso(START - timedelta(days=1))])
        channel_rows.append(
            [
                ch.id,
                round(ch.subs * 40),
                ch.videos + 500,
                created,
                _iso(START + timedelta(days=span_days + 40)),
            ]
        )
    _write_csv(paths["channels"], ["channel_id", "subscribers", "total_videos", "created_at", "as_of"], channel_rows)
    return SyntheticSet(root, store, paths["snapshots"], paths["videos"], paths["channels"], n_videos)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
