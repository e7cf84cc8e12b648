"""Training: one model per target × horizon, a naive baseline beside it, split-conformal intervals.

    config = load_training_config("training.yaml")          # relative paths are relative to the YAML file
    result = train(config)                                   # -> TrainResult(run_dir, metrics)

Steps: read the dataset (schema versions checked) → one time-ordered channel-group split of all rows
(``splits``) → for each target, the rows where it is known: fit the backend on train with early stopping on
valid; the interval half-width is the ⌈(n+1)·level⌉-th smallest absolute validation residual (split conformal,
log1p scale; the validation rows also chose the number of trees, so coverage can be a little under ``level``);
score model and baseline on test, overall and by age bucket → ``artifacts/<run_id>/`` written atomically.
The same config and dataset give the same metrics.json and model files (fixed seed, deterministic LightGBM,
fixed thread count).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sightings import __version__
from sightings.core.atomic import atomic_dir
from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.solutions.popularity import artifacts as art
from sightings.solutions.popularity.baseline import MedianByAgeBaseline
from sightings.solutions.popularity.dataset import DatasetTable, canonical_json, read_dataset
from sightings.solutions.popularity.encoding import FeatureEncoder
from sightings.solutions.popularity.features import CATEGORICAL_FEATURES, feature_names
from sightings.solutions.popularity.regressors import REGRESSORS, Regressor
from sightings.solutions.popularity.schema import (
    ARTIFACT_SCHEMA_VERSION,
    DATASET_SCHEMA_VERSION,
    FEATURE_SCHEMA_VERSION,
    HORIZONS_DAYS,
    METRICS,
    mask_column,
    target_column,
    target_name,
)
from sightings.solutions.popularity.scoring import score_by_age
from sightings.solutions.popularity.splits import time_group_split

__all__ = ["ModelConfig", "TrainResult", "TrainingConfig", "conformal_halfwidth", "load_training_config", "train"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    """The backend and its parameters."""

    kind: Literal["lightgbm", "catboost"] = Field("lightgbm", description="regressor backend")
    params: dict[str, Any] = Field(default_factory=dict, description="backend parameters over its defaults")
    num_threads: int = Field(1, ge=1, le=256, description="threads; fixed so that results repeat")


class SplitConfig(_Strict):
    """Shares of rows per split (time-ordered channel groups)."""

    train: float = Field(0.7, gt=0, lt=1)
    valid: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)


class TrainingConfig(_Strict):
    """``training.yaml``."""

    dataset: str = Field(description="dataset Parquet from `sightings popularity dataset`")
    out: str = Field("artifacts", description="folder of training runs; the run goes to <out>/<run_id>/")
    run_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
        description="run folder name (default: UTC time + config hash); an id the API can name: letters, digits, . _ -",
    )
    seed: int = Field(7, description="random seed of the backend")
    model: ModelConfig = Field(default_factory=ModelConfig)  # type: ignore[arg-type]
    metrics: list[str] = Field(default_factory=lambda: list(METRICS), description="count metrics to model")
    horizons: list[int] = Field(default_factory=lambda: list(HORIZONS_DAYS), description="horizons in days")
    split: SplitConfig = Field(default_factory=SplitConfig)  # type: ignore[arg-type]
    interval_level: float = Field(0.8, gt=0, lt=1, description="coverage of the prediction interval")
    plots: bool = Field(True, description="write plots/*.png")

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        bad = [m for m in value if m not in METRICS]
        if bad or not value:
            raise ValueError(f"metrics must be a non-empty subset of {list(METRICS)}, got {value}")
        return value

    @field_validator("horizons")
    @classmethod
    def _known_horizons(cls, value: list[int]) -> list[int]:
        bad = [h for h in value if h not in HORIZONS_DAYS]
        if bad or not value:
            raise ValueError(f"horizons must be a non-empty subset of {list(HORIZONS_DAYS)}, got {value}")
        return value

    def hashed(self) -> dict[str, Any]:
        """What changes the results (not where they go)."""
        return self.model_dump(mode="json", exclude={"dataset", "out", "run_id", "plots"})


def load_training_config(path: str | os.PathLike[str], **overrides: Any) -> TrainingConfig:
    """Read ``training.yaml`` (+ overrides); relative ``dataset``/``out`` are relative to the file's folder."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise NotFoundError("no such training config", where=file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", where=file) from None
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping of settings", where=file)
    given = {k: v for k, v in overrides.items() if v is not None}
    for key in ("dataset", "out"):
        if key in data and key not in given and not Path(str(data[key])).is_absolute():
            data[key] = str(file.parent / str(data[key]))
    data.update(given)
    try:
        return TrainingConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{loc}: {first['msg']}", where=file) from None


@dataclass(frozen=True, slots=True)
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    timings: dict[str, float]


def conformal_halfwidth(residuals: np.ndarray, level: float) -> float:
    """The ⌈(n+1)·level⌉-th smallest absolute residual (the largest when that exceeds n); NaN with none."""
    r = np.sort(np.abs(residuals))
    if r.size == 0:
        return math.nan
    k = min(r.size, math.ceil((r.size + 1) * level))
    return float(r[k - 1])


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            check=False,
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _versions(kind: str) -> dict[str, str]:
    from importlib import metadata

    out = {"sightings": __version__}
    for name in ("numpy", "pyarrow", "scipy", kind):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def _check_dataset(table: DatasetTable, where: str) -> None:
    have = table.metadata.get("feature_columns")
    if have != feature_names():
        raise InputError("dataset feature columns differ from this code's feature set (rebuild it)", where=where)


@dataclass(frozen=True, slots=True)
class _Fitted:
    """One target's trained model and what it reports."""

    model: Regressor
    metrics: dict[str, Any]
    interval: dict[str, Any]
    baseline: dict[str, Any]
    test: tuple[np.ndarray, np.ndarray, np.ndarray]


def _fit_target(
    config: TrainingConfig,
    encoder: FeatureEncoder,
    *,
    x_all: np.ndarray,
    y_all: np.ndarray,
    parts: dict[str, np.ndarray],
    buckets: np.ndarray,
) -> _Fitted:
    model: Regressor = REGRESSORS.create(
        config.model.kind, seed=config.seed, num_threads=config.model.num_threads, params=config.model.params
    )
    train_rows, valid_rows, test_rows = parts["train"], parts["valid"], parts["test"]
    model.fit(
        x_all[train_rows],
        y_all[train_rows],
        x_all[valid_rows],
        y_all[valid_rows],
        feature_names=list(encoder.features),
        categorical=encoder.categorical_indices,
    )
    half = conformal_halfwidth(model.predict(x_all[valid_rows]) - y_all[valid_rows], config.interval_level)
    base = MedianByAgeBaseline.fit(buckets[train_rows], y_all[train_rows])
    y_test = y_all[test_rows]
    pred = model.predict(x_all[test_rows]) if test_rows.size else np.empty(0)
    covered = np.abs(pred - y_test) <= half if test_rows.size and math.isfinite(half) else np.empty(0)
    metrics = {
        "rows": {s: int(rows.size) for s, rows in parts.items()},
        "best_iteration": model.best_iteration,
        "model": score_by_age(y_test, pred, buckets[test_rows]),
        "baseline": score_by_age(y_test, base.predict(buckets[test_rows]), buckets[test_rows]),
        "interval": {
            "level": config.interval_level,
            "halfwidth_log1p": None if not math.isfinite(half) else round(half, 6),
            "test_coverage": round(float(covered.mean()), 6) if covered.size else None,
        },
    }
    interval = {
        "method": "split-conformal: absolute residual quantile on the validation split, log1p scale",
        "level": config.interval_level,
        "halfwidth_log1p": half if math.isfinite(half) else 0.0,
        "n_calibration": int(valid_rows.size),
    }
    return _Fitted(model, metrics, interval, base.to_dict(), (y_test, pred, buckets[test_rows]))


def train(config: TrainingConfig) -> TrainResult:
    """Run a training (see the module docs)."""
    started = time.perf_counter()
    dataset_path = Path(config.dataset)
    table = read_dataset(dataset_path)
    _check_dataset(table, str(dataset_path))
    cols = table.columns
    groups = np.array(
        [
            c if c else f"video:{p}/{v}"
            for c, p, v in zip(cols["channel_id"], cols["platform_id"], cols["video_id"], strict=True)
        ],
        dtype=object,
    )
    split = time_group_split(cols["snapshot1_at"], groups, (config.split.train, config.split.valid, config.split.test))
    train_cats = {c: cols[c][split.train] for c in CATEGORICAL_FEATURES}
    encoder = FeatureEncoder.fit(feature_names(), CATEGORICAL_FEATURES, train_cats)
    x_all = encoder.encode_columns(cols)
    dataset_info = {
        "file": dataset_path.name,
        "sha256": hashlib.sha256(dataset_path.read_bytes()).hexdigest(),
        "config_hash": table.metadata.get("config_hash"),
        "n_rows": table.n_rows,
    }
    hashed = {"training": config.hashed(), "dataset": dataset_info["sha256"], "feature_schema": FEATURE_SCHEMA_VERSION}
    chash = hashlib.sha256(canonical_json(hashed).encode()).hexdigest()
    run_id = config.run_id or f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{chash[:8]}"
    fitted: dict[str, _Fitted] = {}
    timings: dict[str, float] = {}
    for metric in config.metrics:
        for horizon in config.horizons:
            name = target_name(metric, horizon)
            t0 = time.perf_counter()
            known = cols[mask_column(metric, horizon)]
            parts = {s: split.rows(s)[known[split.rows(s)]] for s in ("train", "valid", "test")}
            if parts["train"].size < 10:
                raise InputError(
                    f"only {parts['train'].size} training rows with target {name}", where=str(dataset_path)
                )
            y_all = cols[target_column(metric, horizon)]
            fitted[name] = _fit_target(
                config, encoder, x_all=x_all, y_all=y_all, parts=parts, buckets=cols["age_bucket"]
            )
            timings[f"{name}_s"] = round(time.perf_counter() - t0, 4)
    metrics: dict[str, Any] = {"targets": {n: f.metrics for n, f in fitted.items()}, "split": split.summary()}
    out_root = Path(config.out)
    with atomic_dir(out_root / run_id, overwrite=config.run_id is not None) as tmp:
        (tmp / art.MODELS_DIR).mkdir()
        for name, f in fitted.items():
            f.model.save(tmp / art.MODELS_DIR / name)
        first_model = next(iter(fitted.values())).model
        config_doc = {
            "run_id": run_id,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": config.seed,
            "git_commit": _git_commit(),
            "package_versions": _versions(config.model.kind),
            "schema_versions": {
                "artifact": ARTIFACT_SCHEMA_VERSION,
                "feature": FEATURE_SCHEMA_VERSION,
                "dataset": DATASET_SCHEMA_VERSION,
            },
            "config_hash": chash,
            "model": {
                "kind": config.model.kind,
                "params": dict(getattr(first_model, "params", {})),
                "num_threads": config.model.num_threads,
            },
            "training": config.model_dump(mode="json"),
            "dataset": dataset_info,
            "split": {"method": "time-ordered channel groups", **split.summary()},
        }
        _write_outputs(
            tmp,
            config_doc=config_doc,
            encoder=encoder,
            intervals={n: f.interval for n, f in fitted.items()},
            baselines={n: f.baseline for n, f in fitted.items()},
            metrics=metrics,
        )
        if config.plots:
            from sightings.solutions.popularity.plots import write_plots

            t0 = time.perf_counter()
            write_plots(tmp / art.PLOTS_DIR, {n: f.test for n, f in fitted.items()}, metrics)
            timings["plots_s"] = round(time.perf_counter() - t0, 4)
        timings["total_s"] = round(time.perf_counter() - started, 4)
        (tmp / art.TIMINGS_FILE).write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
    return TrainResult(out_root / run_id, metrics, timings)


def _write_outputs(
    tmp: Path,
    *,
    config_doc: dict[str, Any],
    encoder: FeatureEncoder,
    intervals: dict[str, Any],
    baselines: dict[str, Any],
    metrics: dict[str, Any],
) -> None:
    import yaml

    (tmp / art.CONFIG_FILE).write_text(yaml.safe_dump(config_doc, sort_keys=True), encoding="utf-8")
    for file, obj in (
        (art.FEATURES_FILE, {**encoder.to_dict(), "feature_schema_version": FEATURE_SCHEMA_VERSION}),
        (art.INTERVALS_FILE, intervals),
        (art.BASELINE_FILE, baselines),
        (art.METRICS_FILE, metrics),
    ):
        (tmp / file).write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
