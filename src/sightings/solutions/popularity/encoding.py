"""Feature rows → the float matrix every backend reads; categorical columns become vocabulary codes.

The vocabulary of each categorical feature is the sorted set of values seen in the training split; a missing or
unseen value is NaN (each backend's missing-value rule then applies). The same :class:`FeatureEncoder`, stored in
``feature_names.json``, encodes training columns and a prediction's feature row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FeatureEncoder"]


@dataclass(frozen=True, slots=True)
class FeatureEncoder:
    """Feature order + vocabularies of the categorical features."""

    features: tuple[str, ...]
    vocab: Mapping[str, tuple[str, ...]]

    @classmethod
    def fit(
        cls, features: Sequence[str], categorical: Sequence[str], columns: Mapping[str, np.ndarray]
    ) -> FeatureEncoder:
        vocab = {c: tuple(sorted({str(v) for v in columns[c] if v is not None})) for c in categorical}
        return cls(tuple(features), vocab)

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, f in enumerate(self.features) if f in self.vocab]

    def _code(self, name: str, value: Any) -> float:
        if value is None:
            return math.nan
        try:
            return float(self.vocab[name].index(str(value)))
        except ValueError:
            return math.nan

    def encode_columns(self, columns: Mapping[str, np.ndarray], rows: np.ndarray | None = None) -> np.ndarray:
        """The matrix of ``rows`` (all when None) of a column table."""
        n = len(next(iter(columns.values())))
        idx = np.arange(n) if rows is None else rows
        out = np.empty((idx.size, len(self.features)), dtype=np.float64)
        for j, name in enumerate(self.features):
            col = columns[name][idx]
            if name in self.vocab:
                out[:, j] = [self._code(name, v) for v in col]
            else:
                out[:, j] = np.asarray(col, dtype=np.float64)
        return out

    def encode_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """A one-row matrix from a feature row (a missing key is NaN)."""
        values = []
        for name in self.features:
            value = row.get(name)
            if name in self.vocab:
                values.append(self._code(name, value))
            else:
                values.append(math.nan if value is None else float(value))
        return np.asarray([values], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "categorical": {k: list(v) for k, v in self.vocab.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureEncoder:
        return cls(tuple(data["features"]), {k: tuple(v) for k, v in data["categorical"].items()})
