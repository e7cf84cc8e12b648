"""Lazy registries of swappable backends, one per backend kind.

A registry maps a name to ``"module.path:factory"``; the module is imported on first use only, so
``import sightings`` pulls in no heavy backend. An unknown name gives a :class:`ConfigError` that
lists the known ones; a backend whose optional dependency is missing gives a
:class:`BackendUnavailableError` with an install hint.

    from sightings.core.registry import EXECUTORS
    executor = EXECUTORS.create("local", workers=2)
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sightings.core.errors import BackendUnavailableError, ConfigError, SightingsError

__all__ = [
    "DETECTORS",
    "EMBEDDERS",
    "EXECUTORS",
    "JOBS",
    "LOCAL_MATCHERS",
    "METADATA_STORES",
    "OCR_ENGINES",
    "REGISTRIES",
    "TRACKERS",
    "VECTOR_STORES",
    "WAREHOUSES",
    "Registry",
    "RegistryEntry",
    "keyword_parameters",
]

T = TypeVar("T")


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _has_signature(factory: Callable[..., Any]) -> bool:
    try:
        inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without one: its options are checked when it is called
        return False
    return True


def keyword_parameters(factory: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """The parameters ``factory`` takes by name. A class whose ``__init__`` passes ``**kwargs`` on to its base's
    takes the base's too (followed up the MRO), so a backend that adds options to a shared base lists every option
    once, in the base, and still reports all of them (its defaults, whether it takes an option).

    A ``**kwargs`` that leads nowhere known (a plain function, or up to ``object``) stays in the result."""
    try:
        params = dict(inspect.signature(factory).parameters)
    except (TypeError, ValueError):  # a builtin without a signature
        return {}
    var = [name for name, p in params.items() if p.kind is inspect.Parameter.VAR_KEYWORD]
    if not var or not isinstance(factory, type):
        return params
    owners = [b for b in factory.__mro__ if "__init__" in vars(b)]  # [the class whose __init__ this is, its base, …]
    base = owners[1] if len(owners) > 1 else object
    if base is object:
        return params
    for name in var:
        del params[name]
    for name, p in keyword_parameters(base).items():
        if p.kind is not inspect.Parameter.VAR_POSITIONAL:
            params.setdefault(name, p)
    return params


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One backend: where its factory lives, what it is, and which extra installs it."""

    name: str
    target: str
    description: str = ""
    extra: str | None = None


class Registry(Generic[T]):
    """Name → backend factory, resolved lazily."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, RegistryEntry] = {}
        self._resolved: dict[str, Callable[..., T]] = {}

    def register(self, name: str, target: str, *, description: str = "", extra: str | None = None) -> None:
        """Register ``target`` (``"module:attr"``) under ``name``; names are unique per registry."""
        if ":" not in target:
            raise ConfigError(f"target must look like 'module:attr', got {target!r}", where=f"{self.kind}.{name}")
        if name in self._entries:
            raise ConfigError(f"{self.kind} backend {name!r} is registered twice", where=f"{self.kind}.{name}")
        self._entries[name] = RegistryEntry(name, target, description, extra)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[RegistryEntry]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def check(self, name: str) -> RegistryEntry:
        """The entry for ``name``, or a :class:`ConfigError` listing the known names."""
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}", where=f"{self.kind}.kind") from None

    def resolve(self, name: str) -> Callable[..., T]:
        """Import and return the factory registered as ``name``."""
        if name in self._resolved:
            return self._resolved[name]
        entry = self.check(name)
        module_name, _, attr = entry.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            hint = f"pip install 'sightings[{entry.extra}]'" if entry.extra else None
            raise BackendUnavailableError(
                f"{self.kind} {name!r} needs a package that is not installed ({exc.name or exc})",
                where=f"{self.kind}.{name}",
                hint=hint,
            ) from exc
        try:
            factory: Callable[..., T] = getattr(module, attr)
        except AttributeError:
            raise ConfigError(f"{entry.target} does not exist", where=f"{self.kind}.{name}") from None
        self._resolved[name] = factory
        return factory

    def defaults(self, name: str) -> dict[str, str]:
        """The default options of backend ``name`` (``repr`` of each keyword default of its factory): what it does
        when a config does not say, so a result can record it (a changed default then reads as another setting).

        A factory whose default is resolved inside (``None`` meaning "depends on other options") names the values
        behind it in an ``IMPLIED_DEFAULTS`` mapping; each is recorded as ``"<option> (implied)"``."""
        factory = self.resolve(name)
        parameters = keyword_parameters(factory)
        out = {
            k: _ADDRESS.sub("", repr(p.default))  # no memory address in the repr of a default object
            for k, p in parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        implied = getattr(factory, "IMPLIED_DEFAULTS", None)
        if isinstance(implied, Mapping):
            out.update({f"{k} (implied)": _ADDRESS.sub("", repr(v)) for k, v in implied.items()})
        return out

    def create(self, name: str, /, **options: Any) -> T:
        """Build the backend ``name`` with ``options`` (unknown options give a ConfigError that lists the known
        ones, before anything is built)."""
        factory = self.resolve(name)
        params = keyword_parameters(factory)
        if _has_signature(factory) and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            takes = [k for k, p in params.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL]
            unknown = sorted(set(options) - set(takes))
            if unknown:
                raise ConfigError(
                    f"bad options {unknown} for {self.kind} {name!r}; it takes: {', '.join(sorted(takes)) or 'none'}",
                    where=self.kind,
                )
            required = [
                k
                for k, p in params.items()
                if p.default is inspect.Parameter.empty
                and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
                and k not in options
            ]
            if required:
                raise ConfigError(
                    f"{self.kind} {name!r} needs the option {', '.join(required)}",
                    where=self.kind,
                )
        try:
            return factory(**options)
        except TypeError as exc:
            raise ConfigError(
                f"bad options {sorted(options)} for {self.kind} {name!r}: {exc}", where=self.kind
            ) from exc


def backend_defaults(**backends: tuple[Registry[Any], str]) -> dict[str, dict[str, str] | None]:
    """``{"<kind>_defaults": registry.defaults(name)}`` for each ``kind=(registry, name)``; ``None`` for a backend
    that cannot be resolved here (not installed, unknown: using it fails later with the real error). Put in a
    run's config hash, it makes an upgrade that changes a backend's defaults read as other settings."""
    out: dict[str, dict[str, str] | None] = {}
    for kind, (registry, name) in backends.items():
        try:
            out[f"{kind}_defaults"] = registry.defaults(name)
        except SightingsError:
            out[f"{kind}_defaults"] = None
    return out


DETECTORS: Registry[Any] = Registry("detector")
TRACKERS: Registry[Any] = Registry("tracker")
EMBEDDERS: Registry[Any] = Registry("embedder")
LOCAL_MATCHERS: Registry[Any] = Registry("local_matcher")
OCR_ENGINES: Registry[Any] = Registry("ocr")
VECTOR_STORES: Registry[Any] = Registry("vector_store")
METADATA_STORES: Registry[Any] = Registry("metadata_store")
WAREHOUSES: Registry[Any] = Registry("warehouse")
EXECUTORS: Registry[Any] = Registry("executor")
JOBS: Registry[Any] = Registry("job")

REGISTRIES: dict[str, Registry[Any]] = {
    r.kind: r
    for r in (
        DETECTORS,
        TRACKERS,
        EMBEDDERS,
        LOCAL_MATCHERS,
        OCR_ENGINES,
        VECTOR_STORES,
        METADATA_STORES,
        WAREHOUSES,
        EXECUTORS,
        JOBS,
    )
}

_FAKES = "sightings.testing.fakes"
DETECTORS.register("fake", f"{_FAKES}:FakeDetector", description="scripted detections, for tests")
TRACKERS.register("fake", f"{_FAKES}:FakeTracker", description="greedy IoU association, for tests")
EMBEDDERS.register("fake", f"{_FAKES}:FakeEmbedder", description="tiny-thumbnail vector, for tests")
LOCAL_MATCHERS.register(
    "fake", f"{_FAKES}:FakeLocalMatcher", description="grid-cell thumbnails, mutual nearest neighbours, for tests"
)
OCR_ENGINES.register("fake", f"{_FAKES}:FakeOcr", description="returns preset text, for tests")
OCR_ENGINES.register(
    "tesseract",
    "sightings.vision.ocr:TesseractOcr",
    description="Tesseract binary (Debian tesseract-ocr, rus+eng), TSV lines, per-region language choice",
)
VECTOR_STORES.register("fake", f"{_FAKES}:FakeVectorStore", description="in-memory exact search, for tests")
METADATA_STORES.register("fake", f"{_FAKES}:FakeMetadataStore", description="in-memory dict, for tests")
WAREHOUSES.register("fake", f"{_FAKES}:FakeWarehouse", description="in-memory tables, for tests")
WAREHOUSES.register(
    "chdb",
    "sightings.analytics.chdb_warehouse:ChdbWarehouse",
    description="chDB embedded ClickHouse in a folder on disk; default",
    extra="retail",
)
WAREHOUSES.register(
    "clickhouse",
    "sightings.analytics.clickhouse_warehouse:ClickHouseWarehouse",
    description="ClickHouse server by URL (clickhouse-connect), same SQL as chdb",
    extra="retail",
)
EXECUTORS.register("inline", "sightings.runner.executors:InlineExecutor", description="one task at a time")
EXECUTORS.register("local", "sightings.runner.executors:LocalPoolExecutor", description="local process pool")
EXECUTORS.register(
    "ray", "sightings.runner.ray_executor:RayExecutor", description="Ray: local or a cluster by address", extra="ray"
)
JOBS.register("fake", "sightings.testing.fake_job:FakeJob", description="scripted sleeps and faults, for tests")
JOBS.register("probe", "sightings.runner.jobs:ProbeJob", description="probe one video → probe.json")
JOBS.register(
    "content",
    "sightings.solutions.content.batch:ContentJob",
    description="video content features → result_store-style run folder (manifest.json + one NPZ per module)",
    extra="content",
)
JOBS.register(
    "retail",
    "sightings.solutions.retail.batch:RetailJob",
    description="retail seller analytics for one video → warehouse rows (replace-by-run) + retail.json",
    extra="retail",
)
JOBS.register(
    "track",
    "sightings.runner.jobs:TrackJob",
    description="detect + track one video → tracks.parquet, tracks.txt, summary.json",
    extra="vision",
)

_DETECT = "sightings.vision.detect"
DETECTORS.register(
    "ssd-oidv4",
    f"{_DETECT}.ssd:SsdDetector",
    description="SSD-MobileNetV2 OpenImages-v4 TFLite (person/cat/dog + 20 classes); offline default",
    extra="vision",
)
DETECTORS.register(
    "centernet",
    f"{_DETECT}.centernet:CenterNetDetector",
    description="CenterNet-MobileNetV3 COCO (ONNX converted from npm @vladmandic/human; person/cat/dog + 77 classes)",
    extra="vision",
)
DETECTORS.register(
    "yolo-onnx",
    f"{_DETECT}.yolo_onnx:YoloOnnxDetector",
    description="Ultralytics-style YOLO ONNX export from the models dir (onnxruntime; CUDA when available)",
    extra="vision",
)
DETECTORS.register(
    "hog", f"{_DETECT}.opencv_builtin:HogPeopleDetector", description="OpenCV HOG people (fallback)", extra="vision"
)
DETECTORS.register(
    "haar-catface",
    f"{_DETECT}.opencv_builtin:HaarCatFaceDetector",
    description="OpenCV Haar frontal cat-face cascade (fallback)",
    extra="vision",
)
TRACKERS.register(
    "bytetrack",
    "sightings.vision.track.bytetrack:ByteTrackTracker",
    description="ByteTrack (roboflow trackers), lost-track buffer in seconds",
    extra="vision",
)
TRACKERS.register(
    "botsort",
    "sightings.vision.track.botsort:BotSortTracker",
    description="BoT-SORT (roboflow trackers) + HSV colour-histogram appearance gate",
    extra="vision",
)
TRACKERS.register(
    "ocsort",
    "sightings.vision.track.ocsort:OcSortTracker",
    description="OC-SORT (roboflow trackers): observation-centric re-update, momentum and recovery; no appearance",
    extra="vision",
)

# Identity engine: embedders, local-feature matchers, galleries (vector stores), catalogs (metadata stores).
_EMBED = "sightings.vision.embed"
EMBEDDERS.register(
    "color-texture",
    f"{_EMBED}.global_descriptor:ColorTextureEmbedder",
    description="weights-free global descriptor (colour + texture) for the first-stage kNN; offline default",
    extra="identity",
)
EMBEDDERS.register(
    "onnx",
    f"{_EMBED}.onnx_embedder:OnnxEmbedder",
    description="ONNX re-ID / foundation model from the models dir (OSNet, MegaDescriptor, CLIP, DINOv2 layouts)",
    extra="identity",
)
EMBEDDERS.register(
    "projected",
    "sightings.identity.head:ProjectedEmbedder",
    description="a base embedder + a metric head fitted by `sightings identity fit-head`",
    extra="identity",
)
LOCAL_MATCHERS.register(
    "rootsift",
    f"{_EMBED}.local_features:RootSiftMatcher",
    description="RootSIFT + ratio test + RANSAC similarity; score = ratio-weighted inliers (HotSpotter-style)",
    extra="identity",
)
_GALLERY = "sightings.identity.gallery"
VECTOR_STORES.register(
    "numpy", f"{_GALLERY}.numpy_store:NumpyVectorStore", description="exact search in NumPy, saved as .npz"
)
VECTOR_STORES.register(
    "lancedb",
    f"{_GALLERY}.lance_store:LanceVectorStore",
    description="LanceDB embedded on disk, ANN index (IVF-HNSW-SQ) when large; default",
    extra="identity",
)
VECTOR_STORES.register(
    "qdrant",
    f"{_GALLERY}.qdrant_store:QdrantVectorStore",
    description="Qdrant: local on-disk mode, or a server by URL",
    extra="identity",
)
METADATA_STORES.register(
    "sql",
    "sightings.identity.catalog:SqlCatalog",
    description="SQLAlchemy catalog: SQLite file by default, PostgreSQL by URL; Alembic migrations",
    extra="identity",
)
