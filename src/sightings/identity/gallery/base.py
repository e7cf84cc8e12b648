"""What every gallery backend shares: id and vector checks, metadata encoding, and the ``where`` filter language.

Semantics (the same for the NumPy, LanceDB, Qdrant and fake stores; see docs/gallery.md):

* ids are non-empty strings, unique within one call; ``upsert`` replaces a stored id, ``delete`` of an unknown id
  is a no-op.
* ``metric="cosine"`` (default): vectors are L2-normalised on the way in (queries too) and
  ``distance = 1 - cos``, in [0, 2]. ``metric="l2"``: vectors are stored as given and ``distance`` is the
  Euclidean distance (not squared). Smaller is closer in both.
* one dimension per gallery, fixed by ``dim=`` or by the first upsert; NaN/inf vectors (and zero vectors under
  cosine) are refused.
* metadata is a JSON-serialisable mapping per vector. The filterable fields are :data:`TEXT_FIELDS` (strings)
  and ``t`` (UTC epoch seconds; an aware ``datetime`` is converted, a naive one refused). ``t`` comes back
  as epoch seconds.
* ``where``: ``{"species": "cat"}`` equality, ``{"species": ["cat", "dog"]}`` membership (a list, tuple or set
  of strings), ``{"t": (t_min, t_max)}`` inclusive time range (either end may be ``None``), ``{"t": x}``
  exact time; several keys are AND-ed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sightings.core.errors import ConfigError, InputError
from sightings.core.protocols import SearchHit

__all__ = [
    "FILTER_FIELDS",
    "METRICS",
    "TEXT_FIELDS",
    "TIME_FIELD",
    "Between",
    "Equals",
    "Metric",
    "OneOf",
    "PreparedRows",
    "VectorStoreBase",
    "check_k",
    "check_metric",
    "first_line",
    "matches_nothing",
    "parse_where",
    "prepare_queries",
    "prepare_rows",
    "sql_where",
    "to_epoch_seconds",
]

Metric = Literal["cosine", "l2"]
METRICS: tuple[str, ...] = ("cosine", "l2")
TEXT_FIELDS: tuple[str, ...] = ("species", "side", "identity", "place", "zone", "source")
TIME_FIELD = "t"
FILTER_FIELDS: tuple[str, ...] = (*TEXT_FIELDS, TIME_FIELD)


@dataclass(frozen=True, slots=True)
class Equals:
    """``field == value`` (a string for text fields, epoch seconds for ``t``)."""

    field: str
    value: str | float


@dataclass(frozen=True, slots=True)
class OneOf:
    """``field`` is one of ``values`` (text fields only); an empty set matches nothing."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Between:
    """``low <= field <= high`` in epoch seconds; a ``None`` end is open."""

    field: str
    low: float | None
    high: float | None


Condition = Equals | OneOf | Between


@dataclass(frozen=True, slots=True)
class PreparedRows:
    """A checked upsert batch: row i of every member belongs to ``ids[i]``."""

    ids: list[str]
    vectors: npt.NDArray[np.float32]  # (n, dim), normalised under cosine
    metadata: list[dict[str, Any]]  # with ``t`` as epoch seconds
    metadata_json: list[str]
    text_columns: dict[str, list[str | None]]  # TEXT_FIELDS → value per row (None when absent)
    times: list[float | None]  # ``t`` per row


def check_metric(metric: str) -> Metric:
    """``metric`` if it is one we support, else a ConfigError."""
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}", where="gallery.metric")
    return "cosine" if metric == "cosine" else "l2"


def check_k(k: int) -> int:
    """``k`` as a positive int, else an InputError."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}", where="k")
    return int(k)


def to_epoch_seconds(value: Any, *, where: str = TIME_FIELD) -> float:
    """UTC epoch seconds from an aware datetime or a finite number."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError("naive datetime; give a timezone-aware one (UTC) or epoch seconds", where=where)
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputError(f"time must be epoch seconds or an aware datetime, got {type(value).__name__}", where=where)
    seconds = float(value)
    if not math.isfinite(seconds):
        raise InputError(f"time must be finite, got {seconds}", where=where)
    return seconds


def _check_dim(got: int, dim: int | None, where: str) -> None:
    if dim is not None and got != dim:
        raise InputError(f"embedding dimension mismatch: gallery expects {dim}, got {got}", where=where)


def _finite_normalised(vectors: npt.NDArray[np.float32], metric: Metric, where: str) -> npt.NDArray[np.float32]:
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise InputError(f"vector {bad} contains NaN or inf", where=where)
    if metric != "cosine":
        return np.ascontiguousarray(vectors, np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    if (norms == 0).any():
        bad = int(np.flatnonzero(norms == 0)[0])
        raise InputError(f"vector {bad} is all zeros (no direction under cosine distance)", where=where)
    return np.ascontiguousarray(vectors / norms[:, None], np.float32)


def _as_matrix(vectors: Any, where: str) -> npt.NDArray[np.float32]:
    try:
        arr = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"vectors must be a numeric array ({exc})", where=where) from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise InputError(f"vectors must be a 2-D array (n, dim), got shape {arr.shape}", where=where)
    return arr


def prepare_queries(vectors: Any, dim: int | None, metric: Metric) -> npt.NDArray[np.float32]:
    """Query vectors as a checked (n, dim) float32 array (one vector is accepted as shape (dim,))."""
    arr = _as_matrix(vectors, "query")
    _check_dim(arr.shape[1], dim, "query")
    return _finite_normalised(arr, metric, "query")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _normalise_metadata(meta: Mapping[str, Any], row: int) -> dict[str, Any]:
    if not isinstance(meta, Mapping):
        raise InputError(f"metadata must be a mapping, got {type(meta).__name__}", where=f"metadata[{row}]")
    out = {str(key): value for key, value in meta.items()}
    for field in TEXT_FIELDS:
        value = out.get(field)
        if value is not None and not isinstance(value, str):
            raise InputError(f"must be a string, got {type(value).__name__}", where=f"metadata[{row}].{field}")
    if out.get(TIME_FIELD) is not None:
        out[TIME_FIELD] = to_epoch_seconds(out[TIME_FIELD], where=f"metadata[{row}].{TIME_FIELD}")
    return out


def prepare_rows(
    ids: Sequence[str],
    vectors: Any,
    metadata: Sequence[Mapping[str, Any]] | None,
    *,
    dim: int | None,
    metric: Metric,
) -> PreparedRows:
    """Check an upsert batch (ids, vectors, metadata) and encode it for storage."""
    if isinstance(ids, str):
        raise InputError("ids must be a sequence of strings, not one string", where="ids")
    id_list = list(ids)
    for i, sid in enumerate(id_list):
        if not isinstance(sid, str) or not sid:
            raise InputError(f"ids must be non-empty strings, got {sid!r}", where=f"ids[{i}]")
    if len(set(id_list)) != len(id_list):
        seen: set[str] = set()
        dup = next(s for s in id_list if s in seen or seen.add(s))  # type: ignore[func-returns-value]
        raise InputError(f"id {dup!r} appears twice in one upsert", where="ids")
    arr = _as_matrix(vectors, "vectors") if id_list else np.zeros((0, dim or 1), np.float32)
    if arr.shape[0] != len(id_list):
        raise InputError(f"{len(id_list)} ids but {arr.shape[0]} vectors", where="vectors")
    _check_dim(arr.shape[1], dim, "vectors")
    arr = _finite_normalised(arr, metric, "vectors")
    metas = list(metadata) if metadata is not None else [{} for _ in id_list]
    if len(metas) != len(id_list):
        raise InputError(f"{len(id_list)} ids but {len(metas)} metadata entries", where="metadata")
    normalised = [_normalise_metadata(m, i) for i, m in enumerate(metas)]
    encoded = []
    for i, meta in enumerate(normalised):
        try:
            encoded.append(json.dumps(meta, default=_json_default, ensure_ascii=False, sort_keys=True))
        except (TypeError, ValueError) as exc:
            raise InputError(f"metadata is not JSON-serialisable ({exc})", where=f"metadata[{i}]") from None
    decoded = [json.loads(text) for text in encoded]  # what a search gives back, the same for every backend
    return PreparedRows(
        ids=id_list,
        vectors=arr,
        metadata=decoded,
        metadata_json=encoded,
        text_columns={f: [m.get(f) for m in decoded] for f in TEXT_FIELDS},
        times=[m.get(TIME_FIELD) for m in decoded],
    )


def _parse_condition(field: str, value: Any) -> Condition:
    if field == TIME_FIELD:
        if isinstance(value, tuple | list):
            if len(value) != 2:
                raise InputError(f"a time range is (t_min, t_max), got {len(value)} values", where=f"where.{field}")
            low, high = (None if v is None else to_epoch_seconds(v, where=f"where.{field}") for v in value)
            if low is not None and high is not None and low > high:
                raise InputError(f"empty time range: {low} > {high}", where=f"where.{field}")
            return Between(field, low, high)
        return Equals(field, to_epoch_seconds(value, where=f"where.{field}"))
    if isinstance(value, str):
        return Equals(field, value)
    if isinstance(value, list | tuple | set | frozenset):
        values = tuple(sorted(value)) if isinstance(value, set | frozenset) else tuple(value)
        if not all(isinstance(v, str) for v in values):
            raise InputError("membership values must be strings", where=f"where.{field}")
        return OneOf(field, values)
    raise InputError(f"expected a string or a list of strings, got {type(value).__name__}", where=f"where.{field}")


def parse_where(where: Mapping[str, Any] | None) -> tuple[Condition, ...]:
    """The conditions of a ``where`` mapping (AND-ed); unknown fields give an InputError listing the known ones."""
    if not where:
        return ()
    if not isinstance(where, Mapping):
        raise InputError(f"where must be a mapping, got {type(where).__name__}", where="where")
    conditions: list[Condition] = []
    for field, value in where.items():
        if field not in FILTER_FIELDS:
            raise InputError(f"cannot filter on {field!r}; filterable: {', '.join(FILTER_FIELDS)}", where="where")
        conditions.append(_parse_condition(field, value))
    return tuple(conditions)


def matches_nothing(conditions: Sequence[Condition]) -> bool:
    """True when a condition can never hold (an empty membership list), so a search can skip the backend."""
    return any(isinstance(c, OneOf) and not c.values for c in conditions)


def first_line(exc: BaseException) -> str:
    """``Type: first line`` of a backend exception's message, minus Rust source locations (for one-line errors)."""
    lines = str(exc).strip().splitlines()
    line = re.sub(r",\s*/\S+\.rs:\d+:\d+", "", lines[0] if lines else "")
    return f"{type(exc).__name__}: {line}"[:300]


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_where(conditions: Sequence[Condition]) -> str | None:
    """The conditions as a SQL boolean expression (DataFusion dialect, as LanceDB takes), or None for no filter."""
    parts: list[str] = []
    for cond in conditions:
        if isinstance(cond, OneOf):
            parts.append(f"{cond.field} IN ({', '.join(_sql_text(v) for v in cond.values)})")
        elif isinstance(cond, Between):
            if cond.low is not None:
                parts.append(f"{cond.field} >= {cond.low!r}")
            if cond.high is not None:
                parts.append(f"{cond.field} <= {cond.high!r}")
        elif isinstance(cond.value, str):
            parts.append(f"{cond.field} = {_sql_text(cond.value)}")
        else:
            parts.append(f"{cond.field} = {cond.value!r}")
    return " AND ".join(f"({p})" for p in parts) or None


class VectorStoreBase:
    """What every gallery backend shares: ``dim`` and single-vector ``search`` through ``search_many``."""

    _dim: int | None

    @property
    def dim(self) -> int | None:
        """Vector dimension, fixed by the first upsert (None while the gallery is empty and untyped)."""
        return self._dim

    def search(
        self, vector: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[SearchHit]:
        """Top-``k`` hits for one vector (see :meth:`search_many`)."""
        return self.search_many(np.asarray(vector, np.float32).reshape(1, -1), k, where)[0]

    def search_many(
        self, vectors: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[list[SearchHit]]:
        raise NotImplementedError
