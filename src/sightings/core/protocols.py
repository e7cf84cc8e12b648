"""The interface of each swappable backend kind. Every registered backend implements one of these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from sightings.core.types import Box, Detection, Frame

__all__ = [
    "BatchItem",
    "BatchJob",
    "Detector",
    "Embedder",
    "Executor",
    "JobResult",
    "LocalFeatures",
    "LocalMatch",
    "LocalMatcher",
    "MetadataStore",
    "OcrEngine",
    "SearchHit",
    "TextLine",
    "TrackedDetection",
    "Tracker",
    "VectorStore",
    "Warehouse",
]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of text read from an image."""

    text: str
    box: Box
    score: float
    language: str | None = None


@dataclass(frozen=True, slots=True)
class TrackedDetection:
    """A detection assigned to a track id by a tracker."""

    track_id: int
    detection: Detection


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One nearest-neighbour result: an id and its distance (smaller is closer)."""

    id: str
    distance: float
    metadata: Mapping[str, Any]


@runtime_checkable
class Detector(Protocol):
    """Finds objects in frames."""

    labels: Sequence[str]

    def detect(self, frames: Sequence[Frame]) -> list[list[Detection]]: ...


@runtime_checkable
class Tracker(Protocol):
    """Links detections over frames into tracks."""

    def update(self, frame: Frame, detections: Sequence[Detection]) -> list[TrackedDetection]: ...

    def reset(self) -> None: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns image crops into fixed-size vectors."""

    dim: int

    def embed(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class LocalFeatures:
    """Keypoints and descriptors of one image (row i of each array = keypoint i)."""

    keypoints_xy: npt.NDArray[np.float32]  # (n, 2) pixel coordinates in the image that was given
    descriptors: npt.NDArray[np.float32]  # (n, d)
    image_size: tuple[int, int]  # (width, height) in pixels

    def __len__(self) -> int:
        return int(self.keypoints_xy.shape[0])


@dataclass(frozen=True, slots=True)
class LocalMatch:
    """Geometrically verified correspondences between two images."""

    inliers: int  # correspondences that survive the ratio test and RANSAC
    score: float  # pair score, larger is more similar (inliers, possibly weighted)
    pairs: npt.NDArray[np.int64]  # (inliers, 2): index into a's keypoints, index into b's


@runtime_checkable
class LocalMatcher(Protocol):
    """Scores an image pair by verified local-feature correspondences (HotSpotter-style re-ranking).

    ``signature`` names the extraction settings: features stored under one signature are not comparable with
    features extracted under another (see :class:`~sightings.identity.matcher.LocalFeatureStore`)."""

    @property
    def signature(self) -> str: ...

    def extract(self, image: npt.NDArray[np.uint8]) -> LocalFeatures: ...

    def match(self, a: LocalFeatures, b: LocalFeatures) -> LocalMatch: ...


@runtime_checkable
class OcrEngine(Protocol):
    """Reads text lines from an image."""

    def read(self, image: npt.NDArray[np.uint8], languages: Sequence[str] = ("eng",)) -> list[TextLine]: ...


@runtime_checkable
class VectorStore(Protocol):
    """Stores vectors with metadata; answers top-k nearest neighbours with an optional metadata filter.

    Distance is cosine distance (1 - cos, vectors L2-normalised on the way in) unless the store was built with
    ``metric="l2"``; smaller is closer. Upsert replaces a stored id; deleting an unknown id is a no-op.
    ``where``: ``{"species": "cat"}`` equality, ``{"species": ["cat", "dog"]}`` membership,
    ``{"t": (t_min, t_max)}`` inclusive UTC epoch-seconds range. See sightings.identity.gallery.base.
    """

    @property
    def dim(self) -> int | None:
        """The vector dimension, or None while an empty store has not been given one."""
        ...

    def upsert(
        self, ids: Sequence[str], vectors: npt.NDArray[np.float32], metadata: Sequence[Mapping[str, Any]] | None = None
    ) -> None: ...

    def search(
        self, vector: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[SearchHit]: ...

    def search_many(
        self, vectors: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[list[SearchHit]]: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def count(self) -> int: ...


@runtime_checkable
class MetadataStore(Protocol):
    """Records about sightings and identities, keyed by id."""

    def put(self, record_id: str, record: Mapping[str, Any]) -> None: ...

    def get(self, record_id: str) -> Mapping[str, Any]: ...

    def find(self, **equals: Any) -> list[Mapping[str, Any]]: ...


@runtime_checkable
class Warehouse(Protocol):
    """An analytics store: append rows to tables, read them back with SQL.

    ``create_schema()`` makes the tables and views (idempotent); ``replace(table, rows, key={"run_id": r})``
    makes ``rows`` the only rows matching ``key`` (re-running a video never doubles its rows); ``insert`` is
    all-or-nothing per call; ``tables()`` lists table and view names. See sightings.analytics.warehouse_base.
    """

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int: ...

    def query(self, sql: str) -> list[dict[str, Any]]: ...

    def create_schema(self) -> None: ...

    def replace(self, table: str, rows: Sequence[Mapping[str, Any]], *, key: Mapping[str, Any]) -> int: ...

    def tables(self) -> list[str]: ...


@runtime_checkable
class Executor(Protocol):
    """Runs a function over items, possibly in parallel; results come back in input order."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One row of a batch list: a video (path or URL) and the ids that key its runs."""

    source: str
    platform_id: str
    video_id: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    """optional extra columns of the list, passed to the job as given"""


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a batch job reports for one video (its files are in the folder it was given)."""

    empty: bool = False
    """the job ran fine but found nothing (no tracks, no frames): a complete run, counted as ``empty``"""
    steps: Mapping[str, bool] = field(default_factory=dict)
    """component → succeeded, for the per-step success rates of ``sightings batch status``"""
    summary: Mapping[str, Any] = field(default_factory=dict)
    """small JSON-ready facts (counts, timings) copied into the run's manifest"""


@runtime_checkable
class BatchJob(Protocol):
    """Work done on one video by ``sightings batch run``; built by ``JOBS.create(name, **options)``.

    ``version`` and ``config()`` (the effective options, defaults filled in, JSON-ready) are hashed into the
    run key, so a changed option or a new job version makes new runs instead of reusing old outputs.
    """

    name: str
    version: str

    def config(self) -> dict[str, Any]: ...

    def run(self, item: BatchItem, out_dir: Path, *, attempt: int = 1) -> JobResult: ...
