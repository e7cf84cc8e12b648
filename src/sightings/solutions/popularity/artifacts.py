"""``artifacts/<run_id>/``: what a training run leaves, and loading it back for prediction.

    config.yaml          seed, git commit, package versions, schema versions, config_hash, training config,
                         dataset (file, sha256, config_hash), split summary, created_utc
    feature_names.json   feature order + categorical vocabularies (the encoder)
    models/<target>.txt  one LightGBM model per target × horizon (``.cbm`` for CatBoost)
    intervals.json       per target: split-conformal half-width on the log1p scale, level, calibration size
    baseline.json        the naive baseline's medians per target and age bucket
    metrics.json         MAE / RMSE / Spearman overall and by age bucket, model and baseline (deterministic)
    timings.json         seconds (not deterministic, so apart from metrics.json)
    plots/*.png          predicted vs actual per target, model vs baseline MAE

:func:`load_artifact` refuses an artifact of another artifact or feature schema version, naming both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sightings.core.errors import InputError, IntegrityError, NotFoundError
from sightings.core.json_files import read_json
from sightings.solutions.popularity.encoding import FeatureEncoder
from sightings.solutions.popularity.regressors import Regressor, load_regressor
from sightings.solutions.popularity.schema import ARTIFACT_SCHEMA_VERSION, FEATURE_SCHEMA_VERSION

__all__ = ["CONFIG_FILE", "FEATURES_FILE", "INTERVALS_FILE", "METRICS_FILE", "ModelArtifact", "load_artifact"]

CONFIG_FILE = "config.yaml"
FEATURES_FILE = "feature_names.json"
INTERVALS_FILE = "intervals.json"
BASELINE_FILE = "baseline.json"
METRICS_FILE = "metrics.json"
TIMINGS_FILE = "timings.json"
MODELS_DIR = "models"
PLOTS_DIR = "plots"
MODEL_SUFFIX = {"lightgbm": ".txt", "catboost": ".cbm"}


@dataclass(frozen=True, slots=True)
class TargetModel:
    """One target's model and interval."""

    target: str
    model: Regressor
    halfwidth: float
    level: float


class ModelArtifact:
    """A loaded training run; models are read on first use."""

    def __init__(self, path: Path, config: dict[str, Any], encoder: FeatureEncoder, intervals: dict[str, Any]) -> None:
        self.path = path
        self.config = config
        self.encoder = encoder
        self.intervals = intervals
        self.kind = str(config["model"]["kind"])
        self.run_id = str(config["run_id"])
        self._models: dict[str, TargetModel] = {}

    @property
    def targets(self) -> list[str]:
        return list(self.intervals)

    def target_model(self, target: str) -> TargetModel:
        if target not in self._models:
            file = self.path / MODELS_DIR / f"{target}{MODEL_SUFFIX.get(self.kind, '.bin')}"
            if not file.is_file():
                raise NotFoundError(f"model file of target {target!r} is missing", where=file)
            info = self.intervals[target]
            self._models[target] = TargetModel(
                target, load_regressor(self.kind, file), float(info["halfwidth_log1p"]), float(info["level"])
            )
        return self._models[target]

    def info(self) -> dict[str, Any]:
        """What a prediction says about the model that made it."""
        return {
            "artifact_run_id": self.run_id,
            "kind": self.kind,
            "config_hash": self.config.get("config_hash"),
            "schema_versions": self.config.get("schema_versions"),
            "dataset_config_hash": (self.config.get("dataset") or {}).get("config_hash"),
            "git_commit": self.config.get("git_commit"),
        }


def _json(path: Path) -> Any:
    if not path.is_file():
        raise NotFoundError("missing from the model artifact", where=path)
    return read_json(path, "JSON")


def load_artifact(path: str | Path) -> ModelArtifact:
    """Open ``artifacts/<run_id>/``; another schema version is an InputError naming both versions."""
    import yaml

    folder = Path(path)
    config_file = folder / CONFIG_FILE
    if not folder.is_dir():
        raise NotFoundError("no such model artifact folder", where=folder)
    if not config_file.is_file():
        raise NotFoundError("no config.yaml (not a popularity model artifact)", where=folder)
    try:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise IntegrityError(f"unreadable config.yaml: {exc}", where=config_file) from None
    if not isinstance(config, dict):
        raise IntegrityError("config.yaml is not a mapping", where=config_file)
    versions = config.get("schema_versions") or {}
    have = (str(versions.get("artifact")), str(versions.get("feature")))
    want = (ARTIFACT_SCHEMA_VERSION, FEATURE_SCHEMA_VERSION)
    if have != want:
        raise InputError(
            f"model artifact has artifact schema {have[0]} / feature schema {have[1]}, this code reads artifact "
            f"schema {want[0]} / feature schema {want[1]} (retrain with `sightings popularity train`)",
            where=config_file,
        )
    encoder = FeatureEncoder.from_dict(_json(folder / FEATURES_FILE))
    intervals = _json(folder / INTERVALS_FILE)
    return ModelArtifact(folder, config, encoder, intervals)
