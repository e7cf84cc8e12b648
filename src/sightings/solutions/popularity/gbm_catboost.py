"""CatBoost backend (``popularity-catboost`` extra, ~100 MB wheel): native categorical features."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.errors import BackendUnavailableError, IntegrityError

__all__ = ["DEFAULT_PARAMS", "CatBoostRegressorBackend"]

DEFAULT_PARAMS: dict[str, Any] = {
    "iterations": 600,
    "learning_rate": 0.05,
    "depth": 6,
    "l2_leaf_reg": 3.0,
    "loss_function": "RMSE",
    "od_type": "Iter",
    "od_wait": 50,
    "nan_mode": "Min",
}


def _catboost() -> Any:
    try:
        import catboost
    except ImportError as exc:
        raise BackendUnavailableError(
            "CatBoost is not installed",
            where="popularity_regressor.catboost",
            hint="pip install 'sightings[popularity-catboost]'",
        ) from exc
    return catboost


def _frame(x: np.ndarray, names: list[str], categorical: list[int]) -> Any:
    import pandas as pd

    data: dict[str, Any] = {}
    cats = set(categorical)
    for j, name in enumerate(names):
        col = x[:, j]
        data[name] = [("missing" if math.isnan(v) else f"c{int(v)}") for v in col] if j in cats else col
    return pd.DataFrame(data, columns=names)


class CatBoostRegressorBackend:
    """CatBoost regression with overfitting detection on the validation split."""

    kind = "catboost"

    def __init__(self, *, seed: int = 0, num_threads: int = 2, params: dict[str, Any] | None = None) -> None:
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.seed = seed
        self.num_threads = num_threads
        self.best_iteration = 0
        self._model: Any = None
        self._names: list[str] = []
        self._categorical: list[int] = []

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        x_valid: np.ndarray,
        y_valid: np.ndarray,
        *,
        feature_names: list[str],
        categorical: list[int],
    ) -> None:
        cb = _catboost()
        self._names, self._categorical = list(feature_names), list(categorical)
        self._model = cb.CatBoostRegressor(
            **self.params,
            random_seed=self.seed,
            thread_count=self.num_threads,
            allow_writing_files=False,
            verbose=False,
        )
        train = cb.Pool(_frame(x, self._names, self._categorical), y, cat_features=self._categorical)
        valid = None
        if x_valid.shape[0]:
            valid = cb.Pool(_frame(x_valid, self._names, self._categorical), y_valid, cat_features=self._categorical)
        self._model.fit(train, eval_set=valid, use_best_model=valid is not None)
        self.best_iteration = int(self._model.get_best_iteration() or self._model.tree_count_)

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise IntegrityError("model is not trained", where="catboost")
        frame = _frame(x, self._names, self._categorical)
        return np.asarray(self._model.predict(frame), dtype=np.float64)

    def save(self, stem: Path) -> Path:
        path = stem.with_suffix(".cbm")
        self._model.save_model(str(path))
        return path

    @classmethod
    def load(cls, path: Path) -> CatBoostRegressorBackend:
        cb = _catboost()
        model = cls()
        model._model = cb.CatBoostRegressor()
        try:
            model._model.load_model(str(path))
        except (OSError, cb.CatBoostError) as exc:
            raise IntegrityError(f"unreadable CatBoost model: {exc}", where=path) from None
        model._names = list(model._model.feature_names_)
        model._categorical = [int(i) for i in model._model.get_cat_feature_indices()]
        return model
