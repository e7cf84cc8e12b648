"""Versions, names and fixed choices shared by the dataset builder, training and prediction.

Bump a version when the meaning of what it versions changes: a model trained on one ``FEATURE_SCHEMA_VERSION``
cannot be fed features of another (prediction refuses it with both versions named).
"""

from __future__ import annotations

import math
from typing import Final

__all__ = [
    "AGE_BUCKETS",
    "ARTIFACT_SCHEMA_VERSION",
    "DATASET_SCHEMA_VERSION",
    "FEATURE_SCHEMA_VERSION",
    "HORIZONS_DAYS",
    "KEY_COLUMNS",
    "METRICS",
    "REQUIRED_HORIZONS_DAYS",
    "age_bucket",
    "mask_column",
    "target_column",
    "target_name",
]

DATASET_SCHEMA_VERSION: Final = "1"
"""Layout of the dataset Parquet (key, feature, target and mask columns)."""
FEATURE_SCHEMA_VERSION: Final = "1"
"""The feature set: the content aggregation table + temporal, snapshot and channel features."""
ARTIFACT_SCHEMA_VERSION: Final = "1"
"""Layout of ``artifacts/<run_id>/`` (config.yaml, feature_names.json, models/, intervals)."""

METRICS: Final = ("views", "likes", "comments")
HORIZONS_DAYS: Final = (7, 14, 21)
REQUIRED_HORIZONS_DAYS: Final = (14, 21)
"""Targets at these horizons are required: a video without them is left out of that target (and counted)."""

KEY_COLUMNS: Final = (
    "platform_id",
    "video_id",
    "content_run_id",
    "channel_id",
    "snapshot1_at",
    "published_at",
    "age_bucket",
)
"""Identifying columns of a dataset row (not features); times are ISO-8601 UTC strings."""

AGE_BUCKETS: Final = (("0-24h", 0.0, 24.0), ("24-48h", 24.0, 48.0), ("48-72h", 48.0, 72.0), (">72h", 72.0, math.inf))
"""Video age at snapshot 1, hours: [lo, hi)."""


def age_bucket(age_hours: float) -> str:
    """The age bucket of a video age in hours (negative ages count as 0-24h; NaN as '>72h' is never used)."""
    for name, _lo, hi in AGE_BUCKETS:
        if age_hours < hi:
            return name
    return AGE_BUCKETS[-1][0]


def target_name(metric: str, horizon_days: int) -> str:
    """``views_7d`` — one model per target name."""
    return f"{metric}_{horizon_days}d"


def target_column(metric: str, horizon_days: int) -> str:
    """log1p of the metric's growth from snapshot 1 to snapshot 1 + horizon (NaN when unknown)."""
    return f"target__{target_name(metric, horizon_days)}"


def mask_column(metric: str, horizon_days: int) -> str:
    """True where :func:`target_column` is known."""
    return f"has__{target_name(metric, horizon_days)}"
