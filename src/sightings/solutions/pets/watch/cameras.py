"""Which cameras the watcher reads, and how it analyses them.

A camera list is a YAML file::

    defaults:            # optional: applied to every camera that does not say otherwise
      fps: 10
    cameras:
      - id: yard-1
        url: rtsp://user:secret@10.0.0.5/stream1     # or http://..., or a video file
        where: "55.7512,37.6184"                      # or lat: / lon:
        district: Хамовники
        stride: 2                                     # detect on every 2nd analysed frame

Every field is checked on load; a bad file raises :class:`~sightings.core.errors.ConfigError` naming the file,
the camera and the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sightings.core.errors import ConfigError, InputError
from sightings.media.sources import STREAM_SCHEMES, redact_url

__all__ = ["CameraConfig", "WatchOptions", "load_cameras", "parse_cameras", "unique_cameras"]


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """One camera: its id, where its pictures come from and where it stands.

    ``fps`` caps the frames analysed per second of stream (``None``: every frame); ``stride`` runs the detector on
    every ``stride``-th analysed frame (the tracker follows on those frames only).
    """

    id: str
    url: str
    lat: float
    lon: float
    district: str | None = None
    fps: float | None = None
    stride: int = 1

    def __post_init__(self) -> None:
        from sightings.solutions.pets.posts import check_point, check_source_id

        check_source_id(self.id, "camera.id")
        if not self.id:
            raise InputError("must not be empty", where="camera.id")
        if not self.url:
            raise InputError("must not be empty", where=f"camera {self.id}.url")
        check_point(self.lat, self.lon, f"camera {self.id}.where")
        if self.fps is not None and not self.fps > 0:
            raise InputError(f"must be > 0, got {self.fps}", where=f"camera {self.id}.fps")
        if self.stride < 1:
            raise InputError(f"must be >= 1, got {self.stride}", where=f"camera {self.id}.stride")

    @property
    def is_live(self) -> bool:
        """A network stream (reconnects on loss), not a file."""
        scheme = self.url.split("://", 1)[0].lower() if "://" in self.url else ""
        return scheme in STREAM_SCHEMES

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden (for logs and the health endpoint)."""
        return redact_url(self.url)


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """How every camera is analysed (``sightings pets watch`` options)."""

    window_s: float = 3.0
    """each track is summarised over windows of this many seconds: one crop (the best) per window"""
    detector: str = "ssd-oidv4"
    threshold: float = 0.4
    """lowest cat/dog score kept (also the tracker's activation threshold)"""
    tiles: str | None = None
    """SSD tile grids (``"2x2"``); off by default for speed"""
    tracker: str = "bytetrack"
    min_detections: int = 2
    """a window with fewer detections of its track is a flicker: nothing is sent"""
    queue_size: int = 2
    """frames waiting between the reader and the analyser; a full queue drops its oldest frame (live streams)"""
    dedup_bits: int = 8
    """a crop within this pHash distance of one already sent by the same camera is a near-duplicate"""
    dedup_window_s: float = 120.0
    """... when sent less than this many seconds before (any track of the camera)"""
    backoff_s: float = 0.5
    """first wait before reconnecting a lost stream; doubles up to ``max_backoff_s``"""
    max_backoff_s: float = 30.0
    read_timeout_s: float = 10.0
    realtime: bool = False
    """read files at their frame rate, like a camera (frames dropped under load); default: every frame, no drops"""

    def __post_init__(self) -> None:
        checks = {
            "window_s": self.window_s > 0,
            "threshold": 0.0 <= self.threshold <= 1.0,
            "min_detections": self.min_detections >= 1,
            "queue_size": self.queue_size >= 1,
            "dedup_bits": 0 <= self.dedup_bits <= 64,
            "dedup_window_s": self.dedup_window_s >= 0,
            "backoff_s": 0 <= self.backoff_s <= self.max_backoff_s,
            "read_timeout_s": self.read_timeout_s > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(f"invalid value {getattr(self, name)!r}", where=f"watch.{name}")


class _CameraEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, description="the camera's id (sent with each sighting)")
    url: str = Field(min_length=1, description="rtsp://, http(s)://... stream or a video file")
    where: str | None = Field(None, description="'LAT,LON' in degrees")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    district: str | None = Field(None, max_length=128)
    fps: float | None = Field(None, gt=0, description="most frames analysed per second")
    stride: int = Field(1, ge=1, description="detect on every N-th analysed frame")

    @model_validator(mode="after")
    def _one_place(self) -> _CameraEntry:
        if self.where is not None and (self.lat is not None or self.lon is not None):
            raise ValueError("give where or lat/lon, not both")
        if self.where is None and (self.lat is None or self.lon is None):
            raise ValueError("needs where: 'LAT,LON' (or lat and lon)")
        return self


class _CameraFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: dict[str, Any] = Field(default_factory=dict, description="fields applied to every camera")
    cameras: list[dict[str, Any]] = Field(min_length=1, description="the cameras")


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return f"{field}: {first['msg']}" if field else str(first["msg"])


def parse_cameras(data: Any, *, where: str = "cameras") -> list[CameraConfig]:
    """Cameras from parsed YAML (see the module docs); ``ConfigError`` naming the camera and field."""
    from sightings.solutions.pets.posts import parse_point

    if not isinstance(data, Mapping):
        raise ConfigError("must hold a mapping with a 'cameras' list", where=where)
    try:
        doc = _CameraFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_first_error(err), where=where) from None
    cameras: list[CameraConfig] = []
    for n, raw in enumerate(doc.cameras):
        label = f"{where}: camera {raw.get('id', n + 1) if isinstance(raw, Mapping) else n + 1}"
        try:
            entry = _CameraEntry.model_validate({**doc.defaults, **raw})
            point = parse_point(entry.where, "where") if entry.where is not None else (entry.lat, entry.lon)
            lat, lon = point if point is not None else (None, None)
            if lat is None or lon is None:  # pragma: no cover - the validator asked for them
                raise ConfigError("needs where", where=label)
            cameras.append(CameraConfig(entry.id, entry.url, lat, lon, entry.district, entry.fps, entry.stride))
        except ValidationError as err:
            raise ConfigError(_first_error(err), where=label) from None
        except InputError as err:
            raise ConfigError(err.reason, where=f"{label}.{err.where}") from None
    ids = [c.id for c in cameras]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ConfigError(f"camera ids must be unique, repeated: {', '.join(repeated)}", where=where)
    return cameras


def load_cameras(path: str | os.PathLike[str]) -> list[CameraConfig]:
    """The cameras listed in the YAML file at ``path``."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise ConfigError("camera list not found", where=file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", where=file) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"invalid YAML{line}: {getattr(exc, 'problem', exc)}", where=file) from exc
    return parse_cameras(data, where=str(file))


def unique_cameras(cameras: Sequence[CameraConfig]) -> list[CameraConfig]:
    """``cameras`` after checking their ids are unique (several ``--camera`` plus a file)."""
    ids = [c.id for c in cameras]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InputError(f"camera ids must be unique, repeated: {', '.join(repeated)}", where="--camera")
    if not cameras:
        raise InputError("no camera: give --camera/--url/--where or --cameras FILE", where="--camera")
    return list(cameras)
