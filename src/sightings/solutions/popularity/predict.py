"""Prediction from a content run: the training feature path, inverse log1p, a conformal interval, stable JSON.

    artifact = load_artifact("artifacts/<run_id>")
    result = predict_run(run_dir, artifact, video=VideoInfo(...), snapshot1=Snapshot(...), channel=lookup)
    text = render_json(result)

The answer's shape::

    {"video_id": ..., "run_id": <content run id>,
     "predictions": {"views": {"7d": {"value": 1234.5, "confidence": {"level": 0.8, "low": ..., "high": ...}}, ...}},
     "features_used": {<feature>: <value or null>, ...},
     "model_info": {"artifact_run_id", "kind", "config_hash", "schema_versions", "interval_method", "target", ...}}

``value`` is the expected growth of the count from snapshot 1 to snapshot 1 + horizon (``expm1`` of the model's
log1p prediction, at least 0); ``low``/``high`` come from the split-conformal half-width h on the log1p scale:
``expm1(pred ± h)`` (low at least 0). Features missing from the inputs (no snapshot, no channel, no metadata) are
NaN and follow the backend's missing-value rule. JSON: sorted keys, floats rounded to 4 decimals, NaN as null.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sightings.core.errors import InputError
from sightings.solutions.popularity.artifacts import ModelArtifact
from sightings.solutions.popularity.channels import ChannelIndex, ChannelLookup
from sightings.solutions.popularity.features import build_feature_row, read_content_run
from sightings.solutions.popularity.snapshots import CleaningCounts, Snapshot, VideoInfo, load_snapshots, load_videos

__all__ = ["DECIMALS", "inputs_from_files", "predict_run", "render_json"]

DECIMALS = 4
INTERVAL_METHOD = "split-conformal: absolute residual quantile on the validation split, log1p scale"
TARGET = "growth of the count from snapshot 1 to snapshot 1 + horizon (expm1 of the log1p prediction)"


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        rounded = round(value, DECIMALS)
        return 0.0 if rounded == 0 else rounded
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _split_target(name: str) -> tuple[str, str]:
    metric, _, horizon = name.rpartition("_")
    return metric, horizon


def predict_run(
    run_dir: str | Path,
    artifact: ModelArtifact,
    *,
    video: VideoInfo | None = None,
    snapshot1: Snapshot | None = None,
    channel: ChannelLookup | None = None,
) -> dict[str, Any]:
    """Predict every target of ``artifact`` for one content run (see the module docs)."""
    content = read_content_run(run_dir)
    info = video or VideoInfo(content.platform_id, content.video_id)
    if snapshot1 is not None and info.published_at is not None and snapshot1.at < info.published_at:
        # the dataset drops such videos (dropped_snapshot1_before_publish): no model saw a negative age
        raise InputError(
            f"the first snapshot ({snapshot1.at.isoformat()}) is before publication ({info.published_at.isoformat()})",
            where=f"{content.platform_id}/{content.video_id}",
        )
    row = build_feature_row(content, info, snapshot1, channel or ChannelLookup(False))
    x = artifact.encoder.encode_row(row)
    predictions: dict[str, dict[str, Any]] = {}
    for name in artifact.targets:
        target = artifact.target_model(name)
        pred = float(target.model.predict(x)[0])
        metric, horizon = _split_target(name)
        predictions.setdefault(metric, {})[horizon] = {
            "value": max(0.0, math.expm1(pred)),
            "confidence": {
                "level": target.level,
                "low": max(0.0, math.expm1(pred - target.halfwidth)),
                "high": math.expm1(pred + target.halfwidth),
            },
        }
    features_used = {name: row.get(name) for name in artifact.encoder.features}
    model_info = {
        **artifact.info(),
        "interval_method": INTERVAL_METHOD,
        "target": TARGET,
        "snapshot1_at": snapshot1.at.strftime("%Y-%m-%dT%H:%M:%SZ") if snapshot1 is not None else None,
        "content_problems": list(content.problems),
    }
    answer: dict[str, Any] = _clean(
        {
            "video_id": info.video_id,
            "run_id": content.run_id,
            "predictions": predictions,
            "features_used": features_used,
            "model_info": model_info,
        }
    )
    return answer


def render_json(prediction: dict[str, Any]) -> str:
    """Deterministic JSON text: sorted keys, 2-space indent, UTF-8, no NaN."""
    return json.dumps(prediction, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def inputs_from_files(
    platform_id: str,
    video_id: str,
    *,
    snapshots: Path | None = None,
    videos: Path | None = None,
    channels: Path | None = None,
) -> tuple[VideoInfo | None, Snapshot | None, ChannelLookup | None]:
    """The video's metadata, first snapshot and channel (as of that snapshot) from the same tables as training."""
    counts = CleaningCounts()
    snapshot1 = None
    if snapshots is not None:
        series = load_snapshots(snapshots, counts).get((platform_id, video_id))
        snapshot1 = series[0] if series else None
    video = None
    meta_file = videos or snapshots
    if meta_file is not None:
        try:
            video = load_videos(meta_file, counts).get((platform_id, video_id))
        except InputError:
            if videos is not None:
                raise
            video = None  # the snapshots file has no metadata columns
    lookup = None
    if channels is not None and video is not None and snapshot1 is not None:
        from sightings.solutions.popularity.channels import load_channel_index

        index: ChannelIndex = load_channel_index(channels)
        lookup = index.lookup(video.channel_id, snapshot1.at)
    return video, snapshot1, lookup
