"""Retail options: one pydantic model (``extra="forbid"``), read from ``retail.yaml``.

analysis_fps: 1.0
cameras:
  cam1:
    zones:
      - {name: counter, kind: counter, points: [[0, 0], [320, 0], [320, 80], [0, 80]]}
      - {name: till, kind: checkout, points: [[320, 0], [640, 0], [640, 120], [320, 120]]}
roles: {counter_share: 0.5}
interactions: {distance_px: 150, distance_m: 1.5, min_duration_s: 10, gap_tolerance_s: 3}
purchases: {window_before_s: 120, window_after_s: 60}
schedule: shifts.csv            # or a Google Sheets CSV-export URL
archive: {url: "https://archive.example/api", time_zone: Europe/Moscow}
gaps: {min_gap_s: 5}
health: {camera_off_s: 300, frozen_s: 60, empty_scene_s: 1800, drift_psi: 0.25, opening_hours: "09:00-21:00"}
warehouse: {kind: chdb}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.solutions.retail.zones import CameraZones
from sightings.vision.track.linking import DEFAULT_LINK_S
from sightings.vision.track.postprocess import DEFAULT_SMOOTH_S

__all__ = [
    "ArchiveOptions",
    "GapOptions",
    "HealthOptions",
    "InteractionOptions",
    "PurchaseOptions",
    "RetailConfig",
    "RoleOptions",
    "WarehouseOptions",
    "config_from_mapping",
    "load_retail_config",
]


def _checked(parse: Callable[[str], object], value: str) -> str:
    """``value`` if ``parse`` takes it; its ConfigError as the ValueError pydantic reports (one line, the field named
    by :func:`config_from_mapping`)."""
    try:
        parse(value)
    except ConfigError as exc:
        raise ValueError(exc.reason) from None
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleOptions(_Section):
    counter_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a track whose foot point is in a counter zone at least this share of its "
        "points is a seller (several at once); with no counter zone or none passing, the longest-present track is",
    )
    min_seller_s: float = Field(60.0, ge=0, description="a seller is present at least this many seconds")
    min_customer_s: float = Field(3.0, ge=0, description="shorter tracks are ignored (flicker, passers-by)")


class InteractionOptions(_Section):
    distance_px: float = Field(150.0, gt=0, description="seller and customer foot points at most this far apart, px")
    distance_m: float = Field(
        1.5, gt=0, description="the same on the floor plane, metres: used instead for cameras with a `floor` homography"
    )
    release_factor: float = Field(
        1.25,
        ge=1.0,
        description="hysteresis: a pair already close stays close while at most distance × this apart (1 = none)",
    )
    min_duration_s: float = Field(10.0, ge=0, description="an episode lasts at least this long, seconds")
    gap_tolerance_s: float = Field(3.0, ge=0, description="episodes of one pair closer than this are merged, s")


class PurchaseOptions(_Section):
    window_before_s: float = Field(120.0, ge=0, description="a customer in the checkout zone this long before ...")
    window_after_s: float = Field(60.0, ge=0, description="... or this long after a receipt can have made it")


class ArchiveOptions(_Section):
    url: str | None = Field(None, description="camera-archive base URL (Ivideon-style REST; `retail run --archive`)")
    token: str | None = Field(
        None, description="bearer token (better: --archive-token or SIGHTINGS_RETAIL_ARCHIVE_TOKEN, not the file)"
    )
    time_zone: str = Field("UTC", description="the store's time zone: which hours make up --day (IANA or ±HH:MM)")

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        from sightings.solutions.retail.hours import parse_time_zone

        return _checked(parse_time_zone, value)

    timeout_s: float = Field(30.0, gt=0, description="read timeout per request, seconds")
    retries: int = Field(3, ge=0, description="extra tries after a failed request (exponential back-off)")
    backoff_s: float = Field(0.5, ge=0, description="first back-off pause, seconds (doubles each try)")


class GapOptions(_Section):
    min_gap_s: float = Field(
        5.0, gt=0, description="a timestamp jump inside a file, or a pause between files, longer than this is a gap"
    )


class HealthOptions(_Section):
    camera_off_s: float = Field(300.0, gt=0, description="a gap at least this long raises camera_off")
    black_luma: float = Field(16.0, ge=0, le=255, description="mean luma (0–255) below this is a black frame")
    black_s: float = Field(60.0, gt=0, description="black frames for at least this long raise black")
    frozen_diff: float = Field(
        0.5, ge=0, description="mean absolute luma difference (0–255) below this = the same picture"
    )
    frozen_s: float = Field(60.0, gt=0, description="the same picture for at least this long raises frozen")
    empty_scene_s: float = Field(1800.0, gt=0, description="nobody detected for at least this long: empty_scene")
    drift_psi: float = Field(
        0.25, gt=0, description="population stability index vs the camera's baseline at or above this: drift"
    )
    min_baseline_frames: int = Field(100, ge=1, description="a run with fewer analysed frames makes no baseline")
    baseline_dir: str | None = Field(None, description="baselines folder (default <data_dir>/retail/baselines)")
    opening_hours: str | None = Field(
        None,
        description="HH:MM-HH:MM in the store's time zone (archive.time_zone): `retail run --day` raises camera_off "
        "for opening hours with no recording of an expected camera (every camera in `cameras`), none = no check",
    )

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        from sightings.solutions.retail.hours import parse_opening_hours

        return None if value is None else _checked(parse_opening_hours, value)


class WarehouseOptions(_Section):
    kind: str = Field("chdb", description="warehouse registry name: chdb (embedded) or clickhouse (server)")
    path: str | None = Field(None, description="chDB folder (default <data_dir>/warehouse)")
    url: str | None = Field(None, description="ClickHouse server URL (kind clickhouse)")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from sightings.core.registry import WAREHOUSES

        if value not in WAREHOUSES:  # said with the config file's name, before anything opens
            raise ValueError(f"unknown warehouse {value!r}; known: {', '.join(WAREHOUSES.names())}")
        return value


class RetailConfig(_Section):
    """Everything a retail run needs besides the videos and receipts."""

    analysis_fps: float | None = Field(1.0, gt=0, description="frames analysed per second of video")
    stride: int | None = Field(None, ge=1, description="analyse every N-th frame instead of analysis_fps")
    detector: str = Field(
        "centernet",
        description="detector registry name (default centernet: CenterNet-MobileNetV3 COCO on the whole frame; "
        "person AP50 0.83 vs the SSD's 0.72 on PETS09 frames 1-200 at the same cost, docs/detectors.md)",
    )
    tracker: str = Field(
        "botsort",
        description="tracker registry name (default botsort: at 1 analysis fps its colour gate keeps ids better than "
        "bytetrack, chosen on PETS09 frames 1-200; docs/retail-accuracy.md)",
    )
    threshold: float | None = Field(None, ge=0, le=1, description="detector score threshold")
    tiles: str = Field(
        "none",
        description="tile grids for the detector: 'none' = whole frame only (default: ≥ 20× real time at 1 fps), "
        "'2x2,2x3' for wide views with small, far people (≈ 10× real time)",
    )
    interpolate_s: float = Field(
        DEFAULT_LINK_S,
        ge=0,
        description="fill track gaps up to this many seconds (default: every gap the linker bridges, so a customer "
        "hidden behind the seller keeps a position; docs/retail-accuracy.md)",
    )
    link_s: float = Field(
        DEFAULT_LINK_S,
        ge=0,
        description="re-join tracks broken for up to this many seconds before interpolating (0 = off)",
    )
    link_embedder: str | None = Field(
        None,
        description="the linker compares people by this ONNX embed model in the models directory (a person re-ID "
        "model imported with `sightings models import`) instead of body colours; none ships with sightings "
        "(docs/tracking.md)",
    )
    backward_check: bool = Field(
        True,
        description="before linking, cut tracks where a backward tracking pass over the same boxes disagrees (identity "
        "swaps among people standing together; PETS09: 12.9 / 18.0 / 7.6 % -> 7.6 / 8.5 / 6.8 % at strides 1 / 5 / 10, "
        "docs/tracking.md); false = the tracks of before (about 1 KB of memory per box until a video ends)",
    )
    entrance_doorways: bool = Field(
        False,
        description="the linker takes each camera's entrance zones for doorways: no long (second-stage) link from a "
        "track that ended in one to a track that began in one (someone left, someone else came in). Off by default: "
        "on a busy synthetic door it removes 36 % / 20 % of false links at 300 / 1200 people an hour, short of the "
        "30 % its rule asked (docs/tracking.md)",
    )
    smooth_s: float = Field(
        DEFAULT_SMOOTH_S, ge=0, description="average each box with its track's boxes this many s either side (0 = off)"
    )
    resample_s: float = Field(
        0.25,
        ge=0,
        description="analyse tracks on a grid this fine: boxes move in a straight line between analysed frames "
        "(0 = only the analysed frames; chosen on PETS09 frames 1-200, docs/retail-accuracy.md)",
    )
    detector_options: dict[str, Any] = Field(default_factory=dict, description="extra detector options")
    tracker_options: dict[str, Any] = Field(default_factory=dict, description="extra tracker options")
    cameras: dict[str, CameraZones] = Field(default_factory=dict, description="zones per camera id")
    roles: RoleOptions = Field(
        default_factory=lambda: RoleOptions.model_validate({}), description="seller/customer rules"
    )
    interactions: InteractionOptions = Field(
        default_factory=lambda: InteractionOptions.model_validate({}), description="episode rules"
    )
    purchases: PurchaseOptions = Field(
        default_factory=lambda: PurchaseOptions.model_validate({}), description="receipt join window"
    )
    schedule: str | None = Field(None, description="shift schedule: CSV path or Google Sheets CSV-export URL")
    archive: ArchiveOptions = Field(
        default_factory=lambda: ArchiveOptions.model_validate({}), description="camera-archive client"
    )
    gaps: GapOptions = Field(default_factory=lambda: GapOptions.model_validate({}), description="recording gaps")
    health: HealthOptions = Field(
        default_factory=lambda: HealthOptions.model_validate({}), description="camera health and drift alerts"
    )
    warehouse: WarehouseOptions = Field(
        default_factory=lambda: WarehouseOptions.model_validate({}), description="where rows go"
    )

    @model_validator(mode="after")
    def _fps_or_stride(self) -> RetailConfig:
        if self.stride is None and self.analysis_fps is None:
            raise ValueError("give analysis_fps or stride")
        return self

    @property
    def sampling(self) -> tuple[float | None, int | None]:
        """(fps, stride) for the sampler: ``stride`` wins over ``analysis_fps`` when given."""
        return (None, self.stride) if self.stride is not None else (self.analysis_fps, None)

    def zones_for(self, camera: str) -> CameraZones:
        return self.cameras.get(camera) or CameraZones.model_validate({})

    def analysis_settings(self) -> dict[str, Any]:
        """The options that change results (not where rows go or videos come from: no token either), with the
        detector's and tracker's own defaults and the tracking code's version, so an upgrade that changes one of them
        reads as other settings."""
        from sightings.core.registry import DETECTORS, TRACKERS, backend_defaults
        from sightings.vision.track import TRACKING_VERSION

        # opening hours decide day-level coverage rows, which every run rewrites: no video's analysis depends on them
        data = self.model_dump(mode="json", exclude={"warehouse": True, "archive": True, "health": {"opening_hours"}})
        if not self.entrance_doorways:  # off (the default) keeps the hashes of videos finished before it existed
            del data["entrance_doorways"]
        for camera in data["cameras"].values():  # the same for a camera without its own registers
            if not camera.get("registers"):
                camera.pop("registers", None)
        defaults = backend_defaults(detector=(DETECTORS, self.detector), tracker=(TRACKERS, self.tracker))
        return {**data, **defaults, "tracking_version": TRACKING_VERSION}

    def analysis_hash(self) -> str:
        """SHA-256 (16 hex) of :meth:`analysis_settings`: a finished video with the same hash is not analysed again."""
        data = self.analysis_settings()
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def config_from_mapping(data: dict[str, Any], *, where: str) -> RetailConfig:
    try:
        return RetailConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")  # our own validators: their message alone
        raise ConfigError(msg, where=f"{where}: {loc}" if loc else where) from None


def load_retail_config(path: Path | None) -> RetailConfig:
    """The retail options from a YAML/JSON/TOML file (None → defaults); ConfigError names the bad field."""
    if path is None:
        return RetailConfig.model_validate({})
    from sightings.runner.jobs import read_job_config

    if not path.exists():
        raise NotFoundError("retail config not found", where=path)
    try:
        data = read_job_config(path)
    except InputError as exc:
        raise ConfigError(exc.reason, where=path) from None
    return config_from_mapping(data, where=str(path))
