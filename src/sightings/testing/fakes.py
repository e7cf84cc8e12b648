"""Fake backends: small, deterministic, dependency-free implementations of each backend Protocol.

They are real implementations of the contracts (tests of code that *uses* a backend run on them),
not mocks: each behaves consistently and fails the way the real ones do on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError, NotFoundError
from sightings.core.protocols import LocalFeatures, LocalMatch, SearchHit, TextLine, TrackedDetection
from sightings.core.types import Box, Detection, Frame

__all__ = [
    "FakeDetector",
    "FakeEmbedder",
    "FakeLocalMatcher",
    "FakeMetadataStore",
    "FakeOcr",
    "FakeTracker",
    "FakeVectorStore",
    "FakeWarehouse",
]


class FakeDetector:
    """Returns the detections scripted per frame index (``{frame: [(x1, y1, x2, y2, label, score), ...]}``)."""

    def __init__(self, script: Mapping[int, Sequence[tuple[float, float, float, float, str, float]]] | None = None):
        self.script = dict(script or {})
        self.labels = sorted({row[4] for rows in self.script.values() for row in rows}) or ["object"]

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]:
        return [
            [
                Detection(f.index, Box(x1, y1, x2, y2), label, score)
                for x1, y1, x2, y2, label, score in self.script.get(f.index, [])
            ]
            for f in frames
        ]


class FakeTracker:
    """Greedy IoU association with the previous frame; a new id for anything unmatched."""

    def __init__(self, iou_threshold: float = 0.3) -> None:
        self.iou_threshold = iou_threshold
        self.reset()

    def reset(self) -> None:
        self._next_id = 1
        self._last: list[TrackedDetection] = []

    def update(self, frame: Frame, detections: Sequence[Detection]) -> list[TrackedDetection]:
        free = list(self._last)
        out: list[TrackedDetection] = []
        for det in sorted(detections, key=lambda d: -d.score):
            best = max(free, key=lambda t: t.detection.box.iou(det.box), default=None)
            if (
                best is not None
                and best.detection.label == det.label
                and best.detection.box.iou(det.box) >= self.iou_threshold
            ):
                free.remove(best)
                out.append(TrackedDetection(best.track_id, det))
            else:
                out.append(TrackedDetection(self._next_id, det))
                self._next_id += 1
        self._last = out
        return out


class FakeEmbedder:
    """A 4×4 grey thumbnail + mean colour, L2-normalised (dim 19)."""

    dim = 19

    def embed(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(images), self.dim), np.float32)
        for i, img in enumerate(images):
            if img.ndim != 3 or img.shape[0] < 4 or img.shape[1] < 4:
                raise InputError(f"image {i} must be at least 4×4 RGB, got shape {img.shape}", where="FakeEmbedder")
            grey = img.astype(np.float32).mean(axis=2)
            h, w = grey.shape
            thumb = grey[: h - h % 4, : w - w % 4].reshape(4, (h - h % 4) // 4, 4, (w - w % 4) // 4).mean(axis=(1, 3))
            vec = np.concatenate([thumb.ravel(), img.reshape(-1, 3).mean(axis=0)]) + 1e-3
            out[i] = vec / np.linalg.norm(vec)
        return out


class FakeOcr:
    """Reads the preset ``text`` (one line per ``\\n``) as if it filled the image."""

    def __init__(self, text: str = "") -> None:
        self.text = text

    def read(self, image: npt.NDArray[np.uint8], languages: Sequence[str] = ("eng",)) -> list[TextLine]:
        h, w = image.shape[:2]
        lines = [t for t in self.text.splitlines() if t.strip()]
        step = h / max(1, len(lines))
        return [TextLine(t, Box(0, i * step, w, (i + 1) * step), 1.0, languages[0]) for i, t in enumerate(lines)]


class FakeVectorStore:
    """Exact in-memory search with the gallery semantics (sightings.identity.gallery.base), written independently.

    Cosine distance (1 - cos) on normalised vectors by default, or ``metric="l2"``; filters: equality, membership
    (a list of strings) and an inclusive ``t`` range in epoch seconds (aware datetimes converted).
    """

    _FIELDS = ("species", "side", "identity", "place", "zone", "source", "t")

    def __init__(self, metric: str = "cosine") -> None:
        if metric not in ("cosine", "l2"):
            raise InputError(f"unknown metric {metric!r}", where="metric")
        self.metric = metric
        self._dim: int | None = None
        self._rows: dict[str, tuple[npt.NDArray[np.float32], dict[str, Any]]] = {}

    @property
    def dim(self) -> int | None:
        return self._dim

    def _vectors(self, vectors: Any, where: str) -> npt.NDArray[np.float32]:
        arr = np.atleast_2d(np.asarray(vectors, np.float32))
        if arr.ndim != 2:
            raise InputError(f"need a 2-D array, got shape {arr.shape}", where=where)
        if self._dim is not None and arr.shape[1] != self._dim:
            raise InputError(f"embedding dimension mismatch: expects {self._dim}, got {arr.shape[1]}", where=where)
        if not np.isfinite(arr).all():
            raise InputError("vector contains NaN or inf", where=where)
        if self.metric == "cosine":
            norms = np.linalg.norm(arr, axis=1, keepdims=True)
            if (norms == 0).any():
                raise InputError("zero vector under cosine distance", where=where)
            arr = arr / norms
        return arr

    @staticmethod
    def _time(value: Any) -> float:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise InputError("naive datetime", where="t")
            return value.timestamp()
        return float(value)

    def upsert(
        self, ids: Sequence[str], vectors: npt.NDArray[np.float32], metadata: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        arr = self._vectors(vectors, "vectors")
        if len(arr) != len(ids) or len(set(ids)) != len(ids):
            raise InputError(f"need {len(ids)} vectors and unique ids, got shape {arr.shape}", where="vectors")
        metadata = metadata or [{}] * len(ids)
        for i, vec, meta in zip(ids, arr, metadata, strict=True):
            row = dict(meta)
            if row.get("t") is not None:
                row["t"] = self._time(row["t"])
            self._rows[i] = (vec, row)
        if ids:
            self._dim = arr.shape[1]

    def _keep(self, meta: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
        for key, want in where.items():
            if key not in self._FIELDS:
                raise InputError(f"cannot filter on {key!r}", where="where")
            have = meta.get(key)
            if key == "t" and isinstance(want, tuple | list):
                low, high = (None if w is None else self._time(w) for w in want)
                if have is None or (low is not None and have < low) or (high is not None and have > high):
                    return False
            elif isinstance(want, list | tuple | set | frozenset):
                if have not in want:
                    return False
            elif have is None or have != (self._time(want) if key == "t" else want):
                return False
        return True

    def search(
        self, vector: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[SearchHit]:
        return self.search_many(np.asarray(vector, np.float32).reshape(1, -1), k, where)[0]

    def search_many(
        self, vectors: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[list[SearchHit]]:
        if k < 1:
            raise InputError(f"k must be positive, got {k}", where="k")
        queries = self._vectors(vectors, "query")
        rows = [(i, v, m) for i, (v, m) in self._rows.items() if self._keep(m, where or {})]
        out: list[list[SearchHit]] = []
        for q in queries:
            if self.metric == "cosine":
                dist = [max(0.0, 1.0 - float(np.dot(v, q))) for _, v, _ in rows]
            else:
                dist = [float(np.linalg.norm(v - q)) for _, v, _ in rows]
            order = sorted(range(len(rows)), key=lambda j: dist[j])[:k]
            out.append([SearchHit(rows[j][0], dist[j], rows[j][2]) for j in order])
        return out

    def delete(self, ids: Sequence[str]) -> None:
        for i in ids:
            self._rows.pop(i, None)

    def count(self) -> int:
        return len(self._rows)


class FakeMetadataStore:
    """Records in a dict."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}

    def put(self, record_id: str, record: Mapping[str, Any]) -> None:
        self._records[record_id] = dict(record)

    def get(self, record_id: str) -> Mapping[str, Any]:
        try:
            return self._records[record_id]
        except KeyError:
            raise NotFoundError("no such record", where=record_id) from None

    def find(self, **equals: Any) -> list[Mapping[str, Any]]:
        return [r for r in self._records.values() if all(r.get(k) == v for k, v in equals.items())]


class FakeWarehouse:
    """Tables as lists of rows; ``query`` understands ``SELECT * FROM table`` and ``SELECT count() FROM table``.

    Without a ``schema`` a table is made by its first insert and rows are not checked. With one (a
    ``sightings.analytics.warehouse_schema.WarehouseSchema``, passed in so this layer imports nothing above it)
    rows are validated exactly like the ClickHouse backends and ``create_schema`` makes its (empty) tables.
    """

    _SELECT = re.compile(r"^\s*select\s+(\*|count\(\))\s+from\s+(\w+)\s*;?\s*$", re.IGNORECASE)

    def __init__(self, schema: Any = None) -> None:
        self._schema = schema
        self._tables: dict[str, list[dict[str, Any]]] = {}

    def _checked(self, table: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if self._schema is None:
            return [dict(r) for r in rows]
        spec = self._schema.table(table)
        return [dict(zip(spec.column_names, values, strict=True)) for values in spec.validate_rows(rows)]

    def create_schema(self) -> None:
        for name in getattr(self._schema, "table_names", ()):
            self._tables.setdefault(name, [])

    def tables(self) -> list[str]:
        return sorted(self._tables)

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        checked = self._checked(table, rows)
        self._tables.setdefault(table, []).extend(checked)
        return len(checked)

    def replace(self, table: str, rows: Sequence[Mapping[str, Any]], *, key: Mapping[str, Any]) -> int:
        if not key:
            raise InputError("replace needs a non-empty key, e.g. {'run_id': ...}", where=f"{table} key")
        checked = self._checked(table, rows)
        for i, row in enumerate(checked):
            for name, value in key.items():
                if row.get(name) != value:
                    raise InputError(
                        f"value {row.get(name)!r} differs from the replace key {value!r}",
                        where=f"{table}[row {i}].{name}",
                    )
        kept = [r for r in self._tables.get(table, []) if any(r.get(k) != v for k, v in key.items())]
        self._tables[table] = kept + checked
        return len(checked)

    def query(self, sql: str) -> list[dict[str, Any]]:
        m = self._SELECT.match(sql)
        if not m:
            raise InputError("the fake warehouse answers only SELECT * / count() FROM table", where=sql)
        what, table = m.groups()
        if table not in self._tables:
            raise NotFoundError("no such table", where=table)
        rows = self._tables[table]
        return [{"count()": len(rows)}] if what != "*" else [dict(r) for r in rows]


class FakeLocalMatcher:
    """Grid "keypoints": the centre of each textured 8×8 cell, described by its 4×4 zero-mean thumbnail.

    Matching keeps mutual nearest neighbours with cosine >= ``min_cosine`` (no geometry); score = their count.
    A flat or smaller-than-8×8 image has no keypoints (0 rows), like the real matchers; a non-uint8 array or a wrong
    shape is an :class:`InputError`.
    """

    cell = 8

    def __init__(self, min_cosine: float = 0.95) -> None:
        self.min_cosine = float(min_cosine)

    @property
    def signature(self) -> str:
        return f"fake-grid cell={self.cell}"

    def extract(self, image: npt.NDArray[np.uint8]) -> LocalFeatures:
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise InputError("expected a uint8 (H, W) or (H, W, C) array", where="FakeLocalMatcher.extract")
        grey = image.astype(np.float32) if image.ndim == 2 else image.astype(np.float32).mean(axis=2)
        h, w = grey.shape
        c = self.cell
        xy: list[tuple[float, float]] = []
        desc: list[npt.NDArray[np.float32]] = []
        for y in range(0, h - c + 1, c):
            for x in range(0, w - c + 1, c):
                patch = grey[y : y + c, x : x + c].reshape(4, c // 4, 4, c // 4).mean(axis=(1, 3)).ravel()
                patch = patch - patch.mean()
                norm = float(np.linalg.norm(patch))
                if norm > 4.0:
                    xy.append((x + c / 2 - 0.5, y + c / 2 - 0.5))
                    desc.append((patch / norm).astype(np.float32))
        return LocalFeatures(
            np.array(xy, np.float32).reshape(-1, 2), np.array(desc, np.float32).reshape(-1, 16), (int(w), int(h))
        )

    def match(self, a: LocalFeatures, b: LocalFeatures) -> LocalMatch:
        if len(a) == 0 or len(b) == 0:
            return LocalMatch(0, 0.0, np.zeros((0, 2), np.int64))
        sim = a.descriptors @ b.descriptors.T
        best_b = sim.argmax(axis=1)
        best_a = sim.argmax(axis=0)
        rows = np.arange(len(a))
        keep = (best_a[best_b] == rows) & (sim[rows, best_b] >= self.min_cosine)
        pairs = np.stack([rows[keep], best_b[keep]], axis=1).astype(np.int64)
        return LocalMatch(len(pairs), float(len(pairs)), pairs)
