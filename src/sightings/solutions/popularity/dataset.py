"""The popularity dataset: one row per video, content + temporal + channel features, log1p growth targets.

    result = build_dataset(DatasetInputs(store, snapshots, videos, channels), DatasetOptions())
    write_dataset(result, "dataset.parquet")        # + dataset.meta.json beside it
    table = read_dataset("dataset.parquet")          # checks the schema versions

Rows: every video with snapshots, a content run in the result store (``<store>/<platform>/<video>/<run_id>/``;
the last run id in sort order, i.e. the newest) and a publication time. Videos without them are dropped and
counted. Features use only data at or before snapshot 1 (see ``features`` and ``channels``); targets follow
``targets``. The file is deterministic: fixed column order, rows sorted by (platform_id, video_id), no creation
time, input files named by file name and SHA-256 only; the same inputs give a byte-identical Parquet file.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sightings import __version__
from sightings.core.atomic import atomic_write_bytes, atomic_write_text
from sightings.core.errors import InputError, NotFoundError, SightingsError
from sightings.solutions.popularity.channels import ChannelIndex, ChannelLookup, load_channel_index
from sightings.solutions.popularity.features import (
    CATEGORICAL_FEATURES,
    ContentFeatures,
    build_feature_row,
    feature_names,
    read_content_run,
)
from sightings.solutions.popularity.schema import (
    AGE_BUCKETS,
    DATASET_SCHEMA_VERSION,
    FEATURE_SCHEMA_VERSION,
    HORIZONS_DAYS,
    KEY_COLUMNS,
    METRICS,
    REQUIRED_HORIZONS_DAYS,
    age_bucket,
    mask_column,
    target_column,
    target_name,
)
from sightings.solutions.popularity.snapshots import CleaningCounts, Snapshot, VideoInfo, load_snapshots, load_videos
from sightings.solutions.popularity.targets import HorizonRule, horizon_target

__all__ = [
    "METADATA_KEY",
    "DatasetInputs",
    "DatasetOptions",
    "DatasetResult",
    "DatasetTable",
    "build_dataset",
    "find_content_run",
    "read_dataset",
    "sidecar_path",
    "write_dataset",
]

METADATA_KEY = b"sightings.popularity"


class DatasetOptions(BaseModel):
    """Options of the dataset builder (hashed into ``config_hash``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tolerance_h: float = Field(36.0, gt=0, description="interpolate between snapshots within this many hours of t")
    snap_h: float = Field(6.0, ge=0, description="else use the nearest snapshot within this many hours of t")


@dataclass(frozen=True, slots=True)
class DatasetInputs:
    """Where the inputs are. ``videos`` defaults to the snapshots file (its metadata columns)."""

    store: Path
    snapshots: Path
    videos: Path | None = None
    channels: Path | None = None
    extra_channels: ChannelIndex | None = None


@dataclass(slots=True)
class DatasetResult:
    """Columns in their final order, the metadata and the counts of what was dropped or changed."""

    columns: dict[str, list[Any]]
    metadata: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.columns["video_id"])


@dataclass(frozen=True, slots=True)
class DatasetTable:
    """A dataset read back: columns as NumPy arrays (strings as object arrays) + its metadata."""

    columns: dict[str, np.ndarray]
    metadata: dict[str, Any]

    @property
    def n_rows(self) -> int:
        return int(self.columns["video_id"].shape[0])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def find_content_run(store: Path, platform_id: str, video_id: str) -> Path | None:
    """The newest content run of a video, or None. ``store`` is a result store (``<store>/<platform>/<video>/
    <run_id>/manifest.json``, from ``sightings content run``) or a batch's ``<out>/runs/content`` (``…/<video>/
    <config hash>/content/manifest.json``, from ``sightings batch run --job content``); newest = the latest
    ``run_id`` (it starts with the run's UTC time)."""
    folder = store / platform_id / video_id
    if not folder.is_dir():
        return None
    runs: list[tuple[str, Path]] = []
    for p in folder.iterdir():
        run = p / "content" if (p / "content" / "manifest.json").is_file() else p
        if p.is_dir() and (run / "manifest.json").is_file():
            runs.append((_run_id(run), run))
    return max(runs)[1] if runs else None


def _run_id(run: Path) -> str:
    """The run id a content run's manifest names (its folder's name when unreadable: then it is refused later)."""
    try:
        value = json.loads((run / "manifest.json").read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError, AttributeError):
        value = None
    return str(value) if value else run.name


def _iso(value: Any) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _usable_content(
    key: tuple[str, str],
    series: list[Snapshot],
    videos: dict[tuple[str, str], VideoInfo],
    store: Path,
    counts: Counter[str],
) -> tuple[VideoInfo, ContentFeatures] | None:
    """The video's metadata and content features, or None (the reason counted)."""
    video = videos.get(key)
    if video is None:
        counts["dropped_no_video_metadata"] += 1
        return None
    if video.published_at is None:
        counts["dropped_no_published_at"] += 1
        return None
    if series[0].at < video.published_at:
        counts["dropped_snapshot1_before_publish"] += 1
        return None
    run_dir = find_content_run(store, *key)
    if run_dir is None:
        counts["dropped_no_content_run"] += 1
        return None
    try:
        content = read_content_run(run_dir)
    except SightingsError:
        counts["dropped_content_run_unreadable"] += 1
        return None
    for problem in content.problems:
        counts[f"content_module_unavailable__{problem.split(':', 1)[0]}"] += 1
    return video, content


def build_dataset(inputs: DatasetInputs, options: DatasetOptions | None = None) -> DatasetResult:
    """Build the dataset rows (see the module docs)."""
    opts = options or DatasetOptions.model_validate({})
    rule = HorizonRule(opts.tolerance_h, opts.snap_h)
    if not inputs.store.is_dir():
        raise NotFoundError("no such result store folder", where=inputs.store)
    cleaning = CleaningCounts()
    series_by_video = load_snapshots(inputs.snapshots, cleaning)
    videos = load_videos(inputs.videos or inputs.snapshots, cleaning)
    channels = load_channel_index(inputs.channels) if inputs.channels is not None else ChannelIndex()
    counts: Counter[str] = Counter()
    targets = [(m, h) for m in METRICS for h in HORIZONS_DAYS]
    columns: dict[str, list[Any]] = {c: [] for c in (*KEY_COLUMNS, *feature_names())}
    for m, h in targets:
        columns[target_column(m, h)] = []
        columns[mask_column(m, h)] = []
    runs: list[str] = []
    counts["videos_without_snapshots"] = len(set(videos) - set(series_by_video))
    for key, series in series_by_video.items():
        usable = _usable_content(key, series, videos, inputs.store, counts)
        if usable is None:
            continue
        video, content = usable
        first = series[0]
        lookup = _channel(video, channels, inputs.extra_channels, first.at, counts)
        runs.append(f"{key[0]}/{key[1]}/{content.run_id}")
        _append(columns, content, video, first.at, build_feature_row(content, video, first, lookup))
        for m, h in targets:
            value = horizon_target(series, m, h, rule)
            columns[target_column(m, h)].append(value.value)
            columns[mask_column(m, h)].append(not math.isnan(value.value))
            if math.isnan(value.value):
                counts[f"rows_without_target__{target_name(m, h)}"] += 1
            if value.clipped:
                counts[f"negative_growth_clipped__{target_name(m, h)}"] += 1
    all_counts = {**cleaning.to_dict(), **dict(sorted(counts.items()))}
    metadata = _metadata(inputs, opts, runs, len(columns["video_id"]), all_counts)
    return DatasetResult(columns, metadata, all_counts)


def _metadata(
    inputs: DatasetInputs, opts: DatasetOptions, runs: list[str], n_rows: int, counts: dict[str, int]
) -> dict[str, Any]:
    config = {
        "options": opts.model_dump(mode="json"),
        "dataset_schema_version": DATASET_SCHEMA_VERSION,
        "feature_schema_version": FEATURE_SCHEMA_VERSION,
    }
    file_inputs = {"snapshots": inputs.snapshots, "videos": inputs.videos, "channels": inputs.channels}
    return {
        "dataset_schema_version": DATASET_SCHEMA_VERSION,
        "feature_schema_version": FEATURE_SCHEMA_VERSION,
        "sightings_version": __version__,
        "package_versions": _versions(),
        "config": config,
        "config_hash": hashlib.sha256(canonical_json(config).encode()).hexdigest(),
        "inputs": {k: {"file": p.name, "sha256": _sha256(p)} for k, p in file_inputs.items() if p is not None},
        "content_runs": {"n": len(runs), "sha256": hashlib.sha256("\n".join(runs).encode()).hexdigest()},
        "n_rows": n_rows,
        "feature_columns": feature_names(),
        "categorical_columns": list(CATEGORICAL_FEATURES),
        "targets": {
            target_name(m, h): {
                "column": target_column(m, h),
                "mask": mask_column(m, h),
                "required": h in REQUIRED_HORIZONS_DAYS,
            }
            for m in METRICS
            for h in HORIZONS_DAYS
        },
        "horizon_rule": {"tolerance_h": opts.tolerance_h, "snap_h": opts.snap_h},
        "age_buckets_h": [[n, lo, None if math.isinf(hi) else hi] for n, lo, hi in AGE_BUCKETS],
        "counts": counts,
    }


def _channel(
    video: VideoInfo, index: ChannelIndex, extra: ChannelIndex | None, at: Any, counts: Counter[str]
) -> ChannelLookup:
    lookup = index.lookup(video.channel_id, at)
    if not lookup.found and extra is not None:
        lookup = extra.lookup(video.channel_id, at)
    if not lookup.found:
        counts["missing_channel"] += 1
    counts["channel_rows_after_snapshot1_skipped"] += lookup.future_rows_skipped
    return lookup


def _append(
    columns: dict[str, list[Any]], content: ContentFeatures, video: VideoInfo, at: Any, row: dict[str, Any]
) -> None:
    age = row["video_age_hours_at_snapshot1"]
    keys = {
        "platform_id": video.platform_id,
        "video_id": video.video_id,
        "content_run_id": content.run_id,
        "channel_id": video.channel_id,
        "snapshot1_at": _iso(at),
        "published_at": _iso(video.published_at),
        "age_bucket": age_bucket(age),
    }
    for name, value in {**keys, **row}.items():
        columns[name].append(value)


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("numpy", "pyarrow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``dataset.parquet`` → ``dataset.meta.json``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.meta.json")


def _arrow_table(result: DatasetResult) -> Any:
    import pyarrow as pa

    fields = []
    arrays = []
    categorical = set(CATEGORICAL_FEATURES)
    for name, values in result.columns.items():
        if name in KEY_COLUMNS or name in categorical:
            typ = pa.string()
        elif name.startswith("has__"):
            typ = pa.bool_()
        else:
            typ = pa.float64()
        fields.append(pa.field(name, typ))
        arrays.append(pa.array(values, type=typ, from_pandas=True))
    meta = {METADATA_KEY: canonical_json(result.metadata).encode("utf-8")}
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))


def write_dataset(result: DatasetResult, out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write the Parquet file (zstd, metadata in the key-value metadata) and the sidecar JSON, atomically."""
    import pyarrow.parquet as pq

    target = Path(out)
    if target.suffix.lower() != ".parquet":
        raise InputError("the dataset file must end in .parquet", where=target)
    buf = io.BytesIO()
    pq.write_table(_arrow_table(result), buf, compression="zstd", write_statistics=True)
    atomic_write_bytes(target, buf.getvalue())
    side = atomic_write_text(sidecar_path(target), json.dumps(result.metadata, indent=2, sort_keys=True) + "\n")
    return target, side


def read_dataset(path: str | os.PathLike[str]) -> DatasetTable:
    """Read a dataset Parquet file; another dataset or feature schema version is an InputError naming both."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = Path(path)
    if not file.is_file():
        raise NotFoundError("no such dataset file", where=file)
    try:
        table = pq.read_table(file)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"unreadable Parquet file: {exc}", where=file) from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise InputError("not a popularity dataset (no sightings.popularity metadata)", where=file)
    metadata = json.loads(raw)
    for key, want in (
        ("dataset_schema_version", DATASET_SCHEMA_VERSION),
        ("feature_schema_version", FEATURE_SCHEMA_VERSION),
    ):
        if metadata.get(key) != want:
            raise InputError(
                f"{key.replace('_', ' ')} {metadata.get(key)!r}, this code reads {want!r} (rebuild the dataset)",
                where=file,
            )
    columns: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name)
        if name in KEY_COLUMNS or name in CATEGORICAL_FEATURES:
            columns[name] = np.array(col.to_pylist(), dtype=object)
        elif name.startswith("has__"):
            columns[name] = np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool)
        else:
            columns[name] = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    return DatasetTable(columns, metadata)
