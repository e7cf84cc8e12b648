"""Features of one video: content aggregations from a run folder + temporal, snapshot-1 and channel features.

The dataset builder and prediction both call :func:`read_content_run` and :func:`build_feature_row`, so a model
sees the same features in training and in use.

Content runs are read from their files (``manifest.json`` + ``<module>.npz``, the format documented in
docs/content.md) with the engine's readers (:mod:`sightings.runner.run_folders`), not through the content package:
solutions do not import each other. Each module's output is
reduced by a fixed aggregation table (:data:`CONTENT_AGGREGATIONS`, also in docs/popularity.md):

- ``scalar``: the value as is;
- ``curve``: a series reduced to ``mean``, ``std``, ``p10``, ``p90`` (NaN for an empty series);
- ``mean``: the mean of a series only; ``count``: its length;
- ``vector``: one column per named element.

A module that is absent, ``skipped``, ``failed``, of another schema version than the table was written for, or
whose NPZ cannot be read gives NaN in all its columns and 0 in ``content__<module>__ok``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sightings.core.errors import InputError, IntegrityError, NotFoundError
from sightings.runner.run_folders import MANIFEST, load_manifest, load_module
from sightings.solutions.popularity.channels import ChannelLookup
from sightings.solutions.popularity.snapshots import Snapshot, VideoInfo

__all__ = [
    "CATEGORICAL_FEATURES",
    "CONTENT_AGGREGATIONS",
    "MODULE_SCHEMA_VERSIONS",
    "Aggregation",
    "ContentFeatures",
    "build_feature_row",
    "content_feature_names",
    "feature_names",
    "read_content_run",
]

MANIFEST_VERSIONS = ("1",)
CURVE_STATS = ("mean", "std", "p10", "p90")
SCENE_DESCRIPTOR = ("sky", "greenery", "brightness", "saturation", "warmth", "edge_density", "texture_entropy")
How = Literal["scalar", "curve", "mean", "count", "vector"]


@dataclass(frozen=True, slots=True)
class Aggregation:
    """How one NPZ key of one module becomes feature columns."""

    module: str
    key: str
    how: How
    names: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        base = f"content__{self.module}__{self.key}"
        if self.how == "curve":
            return [f"{base}__{s}" for s in CURVE_STATS]
        if self.how == "vector":
            return [f"{base}__{n}" for n in self.names]
        if self.how in ("mean", "count"):
            return [f"{base}__{self.how}"]
        return [base]

    def reduce(self, arr: np.ndarray) -> list[float]:
        values = np.asarray(arr, dtype=np.float64)
        finite = values[np.isfinite(values)].ravel()
        out: list[float]
        if self.how == "count":
            out = [float(values.size)]
        elif self.how == "vector":
            flat = values.ravel()
            out = [float(v) for v in flat] if flat.size == len(self.names) else [math.nan] * len(self.names)
        elif self.how == "scalar":
            out = [float(finite[0]) if values.size == 1 and finite.size == 1 else math.nan]
        elif finite.size == 0:
            out = [math.nan] * len(self.columns())
        elif self.how == "mean":
            out = [float(finite.mean())]
        else:
            p10, p90 = np.percentile(finite, [10, 90])
            out = [float(finite.mean()), float(finite.std()), float(p10), float(p90)]
        return out


def _agg(module: str, how: How, *keys: str, names: tuple[str, ...] = ()) -> tuple[Aggregation, ...]:
    return tuple(Aggregation(module, k, how, names) for k in keys)


CONTENT_AGGREGATIONS: tuple[Aggregation, ...] = (
    *_agg("cut_detection", "count", "cut_frame"),
    *_agg("cut_detection", "mean", "cut_kind", "confidence"),
    *_agg("cut_detection", "curve", "change"),
    *_agg("shot_quality", "curve", "sharpness", "exposure", "clipped", "contrast", "noise", "colourfulness", "shake"),
    *_agg(
        "video_pacing",
        "scalar",
        "cuts_per_minute",
        "shot_length_mean_s",
        "shot_length_median_s",
        "shot_length_std_s",
        "shot_length_min_s",
        "shot_length_max_s",
    ),
    *_agg("video_pacing", "curve", "motion_energy"),
    *_agg("story_structure", "curve", "energy", "novelty"),
    *_agg("story_structure", "scalar", "hook_strength", "peak_position"),
    *_agg("similarity_metrics", "scalar", "repetition", "mean_similarity"),
    *_agg("similarity_metrics", "curve", "adjacent_similarity"),
    *_agg("text_scoring", "scalar", "coverage_mean", "text_frames", "text_duration_s", "chars_on_screen"),
    *_agg("text_scoring", "mean", "text_height"),
    *_agg("uniqueness", "scalar", "uniqueness", "near_duplicate_share", "corpus_size"),
    *_agg("scene_classification", "vector", "descriptor_mean", names=SCENE_DESCRIPTOR),
    *_agg("loudness", "scalar", "integrated_lufs", "loudness_range_lu", "true_peak_dbtp"),
    *_agg("loudness", "curve", "short_term_lufs"),
    *_agg("tempo", "scalar", "bpm", "beat_strength", "onset_rate_hz"),
    *_agg("audio_mix", "scalar", "speech_ratio", "music_ratio", "silence_ratio"),
)
"""The fixed content aggregation table (``clap`` is not used: its size depends on the model)."""

MODULE_SCHEMA_VERSIONS: Mapping[str, str] = dict.fromkeys((a.module for a in CONTENT_AGGREGATIONS), "1")
"""Module schema versions the table was written for; another version gives NaN (counted as a mismatch)."""

_KEYS: Mapping[str, tuple[str, ...]] = {
    m: tuple(a.key for a in CONTENT_AGGREGATIONS if a.module == m) for m in MODULE_SCHEMA_VERSIONS
}

BASE_NUMERIC_FEATURES = (
    "video_age_hours_at_snapshot1",
    "duration_sec",
    "fps",
    "publish_hour_utc",
    "publish_weekday",
    "snapshot1_views_log1p",
    "snapshot1_likes_log1p",
    "snapshot1_comments_log1p",
    "snapshot1_views_per_hour_log1p",
    "snapshot1_likes_per_view",
    "snapshot1_comments_per_view",
    "channel_subscribers_log1p",
    "channel_total_videos_log1p",
    "channel_age_days",
    "channel_missing",
)
CATEGORICAL_FEATURES = ("language", "category")


def content_feature_names() -> list[str]:
    """Content columns in table order, then one ``content__<module>__ok`` flag per module."""
    cols = [c for a in CONTENT_AGGREGATIONS for c in a.columns()]
    return cols + [f"content__{m}__ok" for m in MODULE_SCHEMA_VERSIONS]


def feature_names() -> list[str]:
    """Every feature column, in the fixed order of the dataset and the models."""
    return [*BASE_NUMERIC_FEATURES, *CATEGORICAL_FEATURES, *content_feature_names()]


@dataclass(frozen=True, slots=True)
class ContentFeatures:
    """Aggregated content features of one run folder."""

    platform_id: str
    video_id: str
    run_id: str
    duration_s: float
    fps: float
    values: dict[str, float]
    problems: tuple[str, ...] = field(default=())


def _manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    data = load_manifest(run_dir)
    if not isinstance(data.get("modules"), dict):
        raise IntegrityError("manifest has no 'modules' object", where=path)
    version = str(data.get("manifest_version"))
    if version not in MANIFEST_VERSIONS:
        raise InputError(f"manifest version {version!r}; this code reads {', '.join(MANIFEST_VERSIONS)}", where=path)
    return data


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def read_content_run(run_dir: str | Path) -> ContentFeatures:
    """Aggregate a content run folder (see the module docs); module problems are listed, not raised."""
    folder = Path(run_dir)
    manifest = _manifest(folder)
    modules: dict[str, Any] = manifest["modules"]
    values: dict[str, float] = {}
    problems: list[str] = []
    loaded: dict[str, dict[str, np.ndarray] | None] = {}
    for module, want in MODULE_SCHEMA_VERSIONS.items():
        entry = modules.get(module)
        arrays: dict[str, np.ndarray] | None = None
        if not isinstance(entry, dict):
            problems.append(f"{module}: absent")
        elif entry.get("status") != "ok":
            problems.append(f"{module}: {entry.get('status')}")
        elif str(entry.get("schema_version")) != want:
            problems.append(f"{module}: schema version {entry.get('schema_version')!r}, features need {want!r}")
        else:
            try:
                arrays = load_module(folder, module, file=str(entry.get("file") or ""), keys=_KEYS[module])
            except (NotFoundError, IntegrityError) as exc:
                problems.append(f"{module}: unreadable NPZ ({type(exc).__name__})")
        loaded[module] = arrays
        values[f"content__{module}__ok"] = 0.0 if arrays is None else 1.0
    for agg in CONTENT_AGGREGATIONS:
        arrays = loaded[agg.module]
        if arrays is None or agg.key not in arrays:
            reduced = [math.nan] * len(agg.columns())
        else:
            reduced = agg.reduce(arrays[agg.key])
        values.update(zip(agg.columns(), reduced, strict=True))
    source: dict[str, Any] = manifest["source"] if isinstance(manifest.get("source"), dict) else {}
    return ContentFeatures(
        platform_id=str(manifest.get("platform_id", "")),
        video_id=str(manifest.get("video_id", "")),
        run_id=str(manifest.get("run_id", folder.name)),
        duration_s=_number(source.get("duration_s")),
        fps=_number(source.get("source_fps")),
        values=values,
        problems=tuple(problems),
    )


def _log1p(value: float) -> float:
    return math.log1p(value) if math.isfinite(value) and value >= 0 else math.nan


def _ratio(num: float, den: float) -> float:
    return num / den if math.isfinite(num) and math.isfinite(den) and den > 0 else math.nan


def build_feature_row(
    content: ContentFeatures, video: VideoInfo, snapshot1: Snapshot | None, channel: ChannelLookup
) -> dict[str, float | str | None]:
    """One row of features, every column of :func:`feature_names`; only data at or before snapshot 1.

    ``snapshot1`` is the first snapshot (None when unknown: its features are NaN); ``channel`` was looked up as
    of snapshot 1's time.
    """
    published = video.published_at
    at = snapshot1.at if snapshot1 is not None else None
    age_h = (at - published).total_seconds() / 3600.0 if at is not None and published is not None else math.nan
    views = snapshot1.views if snapshot1 is not None else math.nan
    likes = snapshot1.likes if snapshot1 is not None else math.nan
    comments = snapshot1.comments if snapshot1 is not None else math.nan
    channel_age = (
        (at - channel.created_at).total_seconds() / 86400.0
        if at is not None and channel.created_at is not None
        else math.nan
    )
    duration = video.duration_sec if math.isfinite(video.duration_sec) else content.duration_s
    row: dict[str, float | str | None] = {
        "video_age_hours_at_snapshot1": age_h,
        "duration_sec": duration,
        "fps": content.fps,
        "publish_hour_utc": float(published.hour) + published.minute / 60.0 if published else math.nan,
        "publish_weekday": float(published.weekday()) if published else math.nan,
        "snapshot1_views_log1p": _log1p(views),
        "snapshot1_likes_log1p": _log1p(likes),
        "snapshot1_comments_log1p": _log1p(comments),
        "snapshot1_views_per_hour_log1p": _log1p(_ratio(views, max(age_h, 1.0) if math.isfinite(age_h) else age_h)),
        "snapshot1_likes_per_view": _ratio(likes, views),
        "snapshot1_comments_per_view": _ratio(comments, views),
        "channel_subscribers_log1p": _log1p(channel.subscribers),
        "channel_total_videos_log1p": _log1p(channel.total_videos),
        "channel_age_days": channel_age,
        "channel_missing": 0.0 if channel.found else 1.0,
        "language": video.language,
        "category": video.category,
    }
    row.update(content.values)
    return {name: row.get(name, math.nan) for name in feature_names()}
