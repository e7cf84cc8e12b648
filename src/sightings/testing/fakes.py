"""Fake backends: small, deterministic, dependency-free implementations of each backend Protocol.

They are real implementations of the contracts (tests of code that *uses* a backend run on them),
not mocks: each behaves consistently and fails the way the real ones do on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError, NotFoundError
from sightings.core.protocols import SearchHit, TextLine, TrackedDetection
from sightings.core.types import Box, Detection, Frame

__all__ = [
    "FakeDetector",
    "FakeEmbedder",
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
    """Exact in-memory search by Euclidean distance, with equality filters on metadata."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._vectors: list[npt.NDArray[np.float32]] = []
        self._meta: list[Mapping[str, Any]] = []

    def upsert(
        self, ids: Sequence[str], vectors: npt.NDArray[np.float32], metadata: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise InputError(f"need {len(ids)} vectors as a 2-D array, got shape {vectors.shape}", where="vectors")
        if self._vectors and vectors.shape[1] != self._vectors[0].shape[0]:
            raise InputError(
                f"dimension {vectors.shape[1]} != store dimension {self._vectors[0].shape[0]}", where="vectors"
            )
        metadata = metadata or [{}] * len(ids)
        self.delete(ids)
        for i, vec, meta in zip(ids, vectors, metadata, strict=True):
            self._ids.append(i)
            self._vectors.append(vec)
            self._meta.append(dict(meta))

    def search(
        self, vector: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[SearchHit]:
        if not self._ids:
            return []
        rows = [i for i, m in enumerate(self._meta) if all(m.get(key) == val for key, val in (where or {}).items())]
        if not rows:
            return []
        dist = np.linalg.norm(np.stack([self._vectors[i] for i in rows]) - np.asarray(vector, np.float32), axis=1)
        order = np.argsort(dist, kind="stable")[:k]
        return [SearchHit(self._ids[rows[j]], float(dist[j]), self._meta[rows[j]]) for j in order]

    def delete(self, ids: Sequence[str]) -> None:
        drop = set(ids)
        keep = [i for i, x in enumerate(self._ids) if x not in drop]
        self._ids = [self._ids[i] for i in keep]
        self._vectors = [self._vectors[i] for i in keep]
        self._meta = [self._meta[i] for i in keep]

    def count(self) -> int:
        return len(self._ids)


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
    """Tables as lists of rows; ``query`` understands ``SELECT * FROM table`` and ``SELECT count() FROM table``."""

    _SELECT = re.compile(r"^\s*select\s+(\*|count\(\))\s+from\s+(\w+)\s*;?\s*$", re.IGNORECASE)

    def __init__(self) -> None:
        self._tables: dict[str, list[dict[str, Any]]] = {}

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        self._tables.setdefault(table, []).extend(dict(r) for r in rows)
        return len(rows)

    def query(self, sql: str) -> list[dict[str, Any]]:
        m = self._SELECT.match(sql)
        if not m:
            raise InputError("the fake warehouse answers only SELECT * / count() FROM table", where=sql)
        what, table = m.groups()
        if table not in self._tables:
            raise NotFoundError("no such table", where=table)
        rows = self._tables[table]
        return [{"count()": len(rows)}] if what != "*" else [dict(r) for r in rows]
