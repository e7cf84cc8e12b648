"""Built-in batch jobs (registered in ``sightings.core.registry.JOBS``) and how a job is resolved.

    track   detect + track one video → tracks.parquet, tracks.txt (MOT), summary.json   (options: TrackOptions)
    probe   probe one video → probe.json                                                 (no options)
    fake    scripted sleeps and faults, for tests (sightings.testing.fake_job)

A solution adds its job with one line next to these, ``JOBS.register("content", "pkg.module:ContentJob")``:
a class built from the job's options (keyword arguments, validated; unknown ones are a ConfigError) with
``name``, ``version``, ``config()`` and ``run(item, out_dir, *, attempt)``
(:class:`~sightings.core.protocols.BatchJob`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import urllib.error
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.core.protocols import BatchItem, BatchJob, JobResult
from sightings.core.registry import JOBS
from sightings.runner.manifest import config_hash
from sightings.vision.pipeline import DEFAULT_DETECTOR, DEFAULT_TRACKER
from sightings.vision.track.linking import DEFAULT_LINK_S
from sightings.vision.track.postprocess import DEFAULT_SMOOTH_S

__all__ = ["JobSpec", "ProbeJob", "TrackJob", "TrackOptions", "local_source", "read_job_config", "resolve_job"]

URL_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job checked in the runner's process: its name, version, effective options and their hash."""

    name: str
    version: str
    options: dict[str, Any]
    config: dict[str, Any]
    config_hash: str


def resolve_job(name: str, options: Mapping[str, Any] | None = None) -> JobSpec:
    """Build the job once to check its name and options (ConfigError listing known jobs) and hash its config."""
    if name not in JOBS:
        known = ", ".join(JOBS.names())
        raise ConfigError(
            f"unknown job {name!r}; known: {known} (a solution registers its job in sightings.core.registry.JOBS)",
            where="--job",
        )
    opts = dict(options or {})
    job: BatchJob = JOBS.create(name, **opts)
    config = job.config()
    return JobSpec(name, job.version, opts, config, config_hash(name, job.version, config))


def _validate(model: type[BaseModel], options: Mapping[str, Any], job: str) -> Any:
    try:
        return model(**options)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "options"
        raise ConfigError(err["msg"], where=f"job {job}: {field}") from None


@contextlib.contextmanager
def local_source(item: BatchItem) -> Iterator[Path]:
    """A local path for the item's video: the path itself, or an http(s)/file URL fetched to a temporary file.

    HTTP 404/410 and a ``file://`` URL to a missing file are a :class:`NotFoundError` (permanent); other network
    failures stay ``URLError`` (retried).
    """
    if "://" not in item.source:
        yield Path(item.source)
        return
    suffix = Path(item.source.split("?", 1)[0]).suffix[:8] or ".video"
    with tempfile.TemporaryDirectory(prefix="sightings-fetch-") as tmp:
        target = Path(tmp) / f"source{suffix}"
        try:
            from sightings.core.net_guard import UrlPolicy, open_url

            policy = UrlPolicy.configured(schemes=("http", "https", "file"))
            opened = open_url(item.source, policy, where=item.source, timeout_s=URL_TIMEOUT_S)
            with opened as resp, target.open("wb") as fh:
                shutil.copyfileobj(resp, fh, 1 << 20)
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                raise NotFoundError(f"HTTP {exc.code}", where=item.source) from None
            if 400 <= exc.code < 500:
                raise InputError(f"HTTP {exc.code} {exc.reason}", where=item.source) from None
            raise
        except urllib.error.URLError as exc:  # a file:// URL to a missing file is no network trouble: not retried
            if isinstance(exc.reason, FileNotFoundError):
                raise NotFoundError("no such file", where=item.source) from None
            if isinstance(exc.reason, IsADirectoryError | PermissionError):
                raise InputError(f"cannot read: {exc.reason.strerror}", where=item.source) from None
            raise
        except ValueError as exc:
            raise InputError(f"bad URL: {exc}", where=item.source) from None
        yield target


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


class ProbeJob:
    """Probe one video (container, codec, size, fps, frames, duration) → ``probe.json``."""

    name = "probe"
    version = "1"

    def config(self) -> dict[str, Any]:
        return {}

    def run(self, item: BatchItem, out_dir: Path, *, attempt: int = 1) -> JobResult:
        from sightings.media.probe import probe

        with local_source(item) as path:
            info = probe(path)
        data = {**info.to_dict(), "path": item.source}
        _write_json(out_dir / "probe.json", data)
        return JobResult(
            empty=info.frame_count == 0,
            steps={"probe": True},
            summary={"duration_s": info.duration_s, "frames": info.frame_count, "fps": info.fps},
        )


class TrackOptions(BaseModel):
    """Options of the ``track`` job (the same meaning as the flags of ``sightings track``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: str = Field(DEFAULT_DETECTOR, description="detector registry name")
    tracker: str = Field(DEFAULT_TRACKER, description="tracker registry name")
    fps: float | None = Field(None, gt=0, description="analysis frames per second (default: every frame)")
    stride: int | None = Field(None, ge=1, description="analyse every N-th frame")
    classes: list[str] | None = Field(None, description="labels to keep, e.g. [person, cat]")
    threshold: float | None = Field(None, ge=0, le=1, description="detector score threshold")
    tiles: str = Field(
        "2x2,2x3",
        description="tile grids to also detect on where the detector supports it (ssd-oidv4; as `sightings track "
        "--tiles`): "
        "'2x2,2x3', '2x2' or 'none'",
    )
    interpolate_s: float = Field(1.0, ge=0, description="fill track gaps up to this many seconds (0 = off)")
    link_s: float = Field(
        DEFAULT_LINK_S, ge=0, description="re-join broken tracks across gaps up to this many seconds (0 = off)"
    )
    link_embedder: str | None = Field(
        None, description="link by this ONNX embed model in the models dir (a person re-ID model), not colours"
    )
    smooth_s: float = Field(
        DEFAULT_SMOOTH_S, ge=0, description="average each box with its track's boxes this many s either side (0 = off)"
    )
    detector_options: dict[str, Any] = Field(default_factory=dict, description="extra detector factory options")
    tracker_options: dict[str, Any] = Field(default_factory=dict, description="extra tracker factory options")


class TrackJob:
    """Detect + track one video with :func:`~sightings.vision.pipeline.track_video` (as ``sightings track``)."""

    name = "track"
    version = "1"

    def __init__(self, **options: Any) -> None:
        from sightings.core.registry import DETECTORS, TRACKERS

        self.options: TrackOptions = _validate(TrackOptions, options, self.name)
        if self.options.fps is not None and self.options.stride is not None:
            raise ConfigError("give at most one of fps or stride", where="job track: fps/stride")
        DETECTORS.check(self.options.detector)
        TRACKERS.check(self.options.tracker)
        self._detector: Any = None
        self._link_embedder: Any = None

    def config(self) -> dict[str, Any]:
        from sightings.core.registry import DETECTORS, TRACKERS, backend_defaults
        from sightings.vision.track import TRACKING_VERSION

        opts = self.options
        defaults = backend_defaults(detector=(DETECTORS, opts.detector), tracker=(TRACKERS, opts.tracker))
        # a changed backend default, or tracking code that gives other tracks: another config
        return {**opts.model_dump(mode="json"), **defaults, "tracking_version": TRACKING_VERSION}

    def _detector_object(self) -> Any:
        if self._detector is None:
            from sightings.vision.pipeline import create_detector

            o = self.options
            self._detector = create_detector(
                o.detector, options=o.detector_options, tiles=o.tiles, classes=o.classes, threshold=o.threshold
            )
        return self._detector

    def _link_embedder_object(self) -> Any:
        if self._link_embedder is None and self.options.link_embedder is not None and self.options.link_s:
            from sightings.vision.pipeline import create_link_embedder

            self._link_embedder = create_link_embedder(self.options.link_embedder)
        return self._link_embedder

    def run(self, item: BatchItem, out_dir: Path, *, attempt: int = 1) -> JobResult:
        from sightings.evaluate.mot_io import write_mot
        from sightings.vision.pipeline import create_tracker, track_video
        from sightings.vision.track_output import write_tracks_parquet

        o = self.options
        with local_source(item) as path:
            result = track_video(
                path,
                detector=self._detector_object(),
                tracker=create_tracker(o.tracker, options=o.tracker_options),
                fps=o.fps,
                stride=o.stride,
                classes=o.classes,
                interpolate_gap_s=o.interpolate_s,
                link_s=o.link_s,
                link_embedder=self._link_embedder_object(),
                smooth_s=o.smooth_s,
            )
        write_mot(out_dir / "tracks.txt", result.to_mot())
        write_tracks_parquet(out_dir / "tracks.parquet", result.to_columns())
        summary = {"video": item.source, "detector": o.detector, "tracker": o.tracker, **result.summary()}
        _write_json(out_dir / "summary.json", summary)
        return JobResult(
            empty=not result.tracks,
            steps={"decode": result.frames > 0, "detect": True, "track": True},
            summary={k: summary[k] for k in ("frames", "tracks", "boxes", "seconds", "frames_per_s")},
        )


def read_job_config(path: Path) -> dict[str, Any]:
    """The job's options from a YAML, JSON or TOML file holding one mapping (empty file: no options)."""
    if not path.exists():
        raise NotFoundError("job config not found", where=path)
    if not path.is_file():
        raise InputError("job config is not a file", where=path)
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
        if suffix in (".yaml", ".yml"):
            import yaml

            try:
                data: Any = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ConfigError(f"invalid YAML: {str(exc).splitlines()[0]}", where=path) from None
        elif suffix == ".json":
            data = json.loads(text) if text.strip() else None
        elif suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            raise ConfigError("job config must end in .yaml, .yml, .json or .toml", where=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", where=path) from None
    except ValueError as exc:  # JSON and TOML parse errors are ValueErrors
        raise ConfigError(f"invalid {suffix.lstrip('.').upper()}: {str(exc).splitlines()[0]}", where=path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("job config must hold a mapping of options", where=path)
    return data
