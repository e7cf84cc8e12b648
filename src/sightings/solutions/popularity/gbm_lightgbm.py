"""LightGBM backend (``popularity`` extra): deterministic training, text model files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sightings.core.errors import BackendUnavailableError, IntegrityError

__all__ = ["DEFAULT_PARAMS", "LightGbmRegressor"]

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 10,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "min_data_per_group": 5,
    "num_boost_round": 600,
    "early_stopping_rounds": 50,
}
FORCED = {"deterministic": True, "force_col_wise": True, "use_missing": True, "zero_as_missing": False, "verbose": -1}


def _lgb() -> Any:
    try:
        import lightgbm
    except ImportError as exc:
        raise BackendUnavailableError(
            "LightGBM is not installed",
            where="popularity_regressor.lightgbm",
            hint="pip install 'sightings[popularity]'",
        ) from exc
    return lightgbm


class LightGbmRegressor:
    """GBDT regression with early stopping on the validation split."""

    kind = "lightgbm"

    def __init__(self, *, seed: int = 0, num_threads: int = 2, params: dict[str, Any] | None = None) -> None:
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.seed = seed
        self.num_threads = num_threads
        self.best_iteration = 0
        self._booster: Any = None

    def _train_params(self) -> dict[str, Any]:
        params = {k: v for k, v in self.params.items() if k not in ("num_boost_round", "early_stopping_rounds")}
        return {**params, **FORCED, "seed": self.seed, "num_threads": self.num_threads}

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
        lgb = _lgb()
        train = lgb.Dataset(x, y, feature_name=feature_names, categorical_feature=categorical, free_raw_data=False)
        callbacks = []
        valid_sets = []
        if x_valid.shape[0]:
            valid_sets = [lgb.Dataset(x_valid, y_valid, reference=train)]
            callbacks.append(lgb.early_stopping(int(self.params["early_stopping_rounds"]), verbose=False))
        self._booster = lgb.train(
            self._train_params(),
            train,
            num_boost_round=int(self.params["num_boost_round"]),
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        self.best_iteration = int(self._booster.best_iteration or self._booster.current_iteration())

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self._booster is None:
            raise IntegrityError("model is not trained", where="lightgbm")
        # a few rows: one thread (OpenMP start-up costs more than it saves); a batch: the configured threads
        threads = 1 if x.shape[0] < 256 else self.num_threads
        pred = self._booster.predict(x, num_iteration=self.best_iteration or None, num_threads=threads)
        return np.asarray(pred, dtype=np.float64)

    def save(self, stem: Path) -> Path:
        path = stem.with_suffix(".txt")
        path.write_text(self._booster.model_to_string(num_iteration=self.best_iteration or None), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> LightGbmRegressor:
        lgb = _lgb()
        model = cls()
        try:
            model._booster = lgb.Booster(model_str=path.read_text(encoding="utf-8"))
        except (OSError, lgb.basic.LightGBMError) as exc:
            raise IntegrityError(f"unreadable LightGBM model: {exc}", where=path) from None
        model.best_iteration = 0
        return model
