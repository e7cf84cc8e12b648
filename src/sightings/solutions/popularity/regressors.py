"""Gradient-boosting backends behind one protocol, chosen by name: ``lightgbm`` (default) or ``catboost``.

    model = REGRESSORS.create("lightgbm", seed=7, num_threads=2, params={...})
    model.fit(x, y, x_valid, y_valid, feature_names=names, categorical=[5, 6])
    model.save(folder / "views_7d")            # -> views_7d.txt (LightGBM) / views_7d.cbm (CatBoost)
    model = load_regressor("lightgbm", file)

``x`` is a float64 matrix; categorical columns hold vocabulary codes (0, 1, …) with NaN for missing/unknown.
Missing values: LightGBM learns at each split which side NaN goes to (``use_missing``); CatBoost's numeric NaN
goes below every value (``nan_mode=Min``) and a missing category is its own category. The registry is the core
:class:`~sightings.core.registry.Registry` (lazy imports, install hints); it stays inside this solution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sightings.core.errors import ConfigError
from sightings.core.registry import Registry

__all__ = ["REGRESSORS", "Regressor", "load_regressor"]


@runtime_checkable
class Regressor(Protocol):
    """A trained-on-demand regression model on the log1p scale."""

    kind: str
    best_iteration: int

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        x_valid: np.ndarray,
        y_valid: np.ndarray,
        *,
        feature_names: list[str],
        categorical: list[int],
    ) -> None: ...

    def predict(self, x: np.ndarray) -> np.ndarray: ...

    def save(self, stem: Path) -> Path: ...


REGRESSORS: Registry[Regressor] = Registry("popularity_regressor")
REGRESSORS.register(
    "lightgbm",
    "sightings.solutions.popularity.gbm_lightgbm:LightGbmRegressor",
    description="LightGBM GBDT, deterministic (deterministic=True, force_col_wise, fixed threads); default",
    extra="popularity",
)
REGRESSORS.register(
    "catboost",
    "sightings.solutions.popularity.gbm_catboost:CatBoostRegressorBackend",
    description="CatBoost ordered boosting with native categorical features",
    extra="popularity-catboost",
)


def load_regressor(kind: str, path: Path) -> Regressor:
    """A saved model of backend ``kind`` (the class's ``load``)."""
    factory: Any = REGRESSORS.resolve(kind)
    loader = getattr(factory, "load", None)
    if loader is None:  # pragma: no cover - every backend has one
        raise ConfigError(f"backend {kind!r} cannot load saved models", where=str(path))
    model: Regressor = loader(path)
    return model
