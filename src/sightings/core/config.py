"""Configuration: one validated settings object, and where each value came from.

Precedence, lowest first: defaults → config file (YAML or TOML) → ``SIGHTINGS_*`` environment variables
(nested with ``__``, e.g. ``SIGHTINGS_SERVER__PORT=9000``) → command-line overrides. The config file is
``--config PATH``, else ``$SIGHTINGS_CONFIG``, else ``./sightings.yaml`` / ``.yml`` / ``.toml`` if present.
Every model forbids unknown keys and describes each field; backends are chosen by ``kind`` from their registry.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from sightings.core.errors import ConfigError
from sightings.core.registry import EXECUTORS, Registry

__all__ = [
    "BackendChoice",
    "ExecutorChoice",
    "MediaSettings",
    "PetsBotsSettings",
    "PetsSettings",
    "PopularitySettings",
    "SecuritySettings",
    "ServerSettings",
    "Settings",
    "WildlifeSettings",
    "find_config_file",
    "get_loaded_settings",
    "get_settings",
    "load_settings",
    "set_config_file",
]

ENV_PREFIX = "SIGHTINGS_"
CONFIG_ENV = "SIGHTINGS_CONFIG"
CONFIG_NAMES = ("sightings.yaml", "sightings.yml", "sightings.toml")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sightings"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendChoice(_Section):
    """A backend picked by name from its registry, with options passed to its factory."""

    registry: ClassVar[Registry[Any] | None] = None

    kind: str = Field(description="registered backend name")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword options for the backend's factory")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if cls.registry is not None and value not in cls.registry:
            raise ValueError(f"unknown {cls.registry.kind} {value!r}; known: {', '.join(cls.registry.names())}")
        return value

    def create(self) -> Any:
        """Build the chosen backend."""
        if self.registry is None:  # pragma: no cover - subclasses set it
            raise ConfigError("no registry for this backend choice", where=type(self).__name__)
        return self.registry.create(self.kind, **self.options)


class ExecutorChoice(BackendChoice):
    """How batch work runs: ``inline`` (serial), ``local`` (process pool) or ``ray`` (a Ray cluster)."""

    registry = EXECUTORS
    kind: str = Field(default="local", description="executor name: inline | local | ray")


class MediaSettings(_Section):
    """Limits and defaults for reading and writing media."""

    max_image_bytes: int = Field(50_000_000, gt=0, description="largest accepted image file, bytes")
    max_image_pixels: int = Field(80_000_000, gt=0, description="largest accepted image, width × height pixels")
    max_video_bytes: int = Field(20_000_000_000, gt=0, description="largest accepted video file or upload, bytes")
    jpeg_quality: int = Field(90, ge=1, le=100, description="JPEG quality of written frames and crops")


class ServerSettings(_Section):
    """The HTTP API and web UI server (`sightings serve`)."""

    host: str = Field("127.0.0.1", description="interface to bind; 127.0.0.1 keeps it local")
    port: int = Field(8000, ge=1, le=65535, description="TCP port")
    max_upload_bytes: int = Field(25_000_000, gt=0, description="largest accepted upload, bytes")
    hold_on_outage_s: float = Field(
        20.0,
        ge=0,
        le=120,
        description="a write or prediction that meets a briefly unavailable store (catalog locked, vector store "
        "unreadable) is tried again for up to this many seconds before the client gets a 502/503 (0 = fail at once)",
    )
    compute_processes: int | None = Field(
        None,
        ge=0,
        le=64,
        description="worker processes that compute wildlife predictions (decode, gate, identify), each with its own "
        "copy of the models and galleries: no GIL shared between them. None: one per core when there are at least 2; "
        "0: in the server process, one thread per core",
    )

    def resolved_compute_processes(self) -> int:
        """``compute_processes``, with ``None`` resolved to the core count (0 on one core)."""
        if self.compute_processes is not None:
            return self.compute_processes
        from sightings.core.threads import available_cores

        cores = available_cores()
        return cores if cores >= 2 else 0


class SecuritySettings(_Section):
    """API keys with roles, the audit log, rate limits and the outbound-URL guard (see docs/security.md)."""

    keys_db: Path | None = Field(
        None, description="API keys (hashed) and the audit log, a SQLite file (default <data_dir>/security.sqlite)"
    )
    audit: bool = Field(True, description="record every write/delete (key id, method, path, status, time)")
    rate_limit_per_s: float = Field(
        30.0, ge=0, description="requests per second per API key (or per client address without one); 0: no limit"
    )
    rate_limit_burst: int = Field(120, ge=1, description="requests a client may make at once before the rate applies")
    allow_private_urls: bool = Field(
        False, description="let URL inputs reach private, loopback and link-local addresses (off: SSRF guard)"
    )
    allowed_url_hosts: list[str] = Field(
        default_factory=list,
        description="hosts or networks (CIDR) URL inputs may reach even when private (e.g. the camera LAN)",
    )
    outbound_timeout_s: float = Field(30.0, gt=0, le=3600, description="timeout of outbound HTTP calls, seconds")


class WildlifeSettings(_Section):
    """The wildlife photo-ID service (`sightings wildlife`, `/v1/...` and `/wildlife`)."""

    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="API keys accepted in the X-API-Key header on write endpoints (none set: writes are refused)",
    )
    keys_for_predict: bool = Field(False, description="also require an API key on predict endpoints")
    catalog_url: str | None = Field(
        None, description="catalog database URL (default: SQLite file <data_dir>/catalog.sqlite); sinks live there too"
    )
    vector_store: str = Field("lancedb", description="gallery vector store: lancedb | qdrant | numpy")
    vector_store_url: str | None = Field(
        None, description="Qdrant server URL (vector_store: qdrant); default: Qdrant's local on-disk mode"
    )
    embedder: str = Field("color-texture", description="global embedder registry name")
    rerank: bool = Field(True, description="RootSIFT re-rank of the closest gallery images (two-stage score)")
    rerank_max_side: int = Field(
        240,
        ge=64,
        description="RootSIFT works on photos shrunk to this longer side, pixels (gallery and query alike; "
        "smaller is faster: ~8 ms a 640-px photo at 240, ~28 at 400). After a change: "
        "`sightings wildlife reindex SPECIES`",
    )
    rerank_octave_layers: int = Field(
        3,
        ge=1,
        le=8,
        description="scale levels per octave of RootSIFT's scale space (OpenCV's default 3; 2 saves ~1.5 ms a "
        "request and passed the lions train rule, docs/wildlife.md). After a change: "
        "`sightings wildlife reindex SPECIES`",
    )
    detector_species: list[str] = Field(
        default_factory=lambda: ["lion", "leopard", "cheetah", "tiger", "jaguar", "cat", "dog", "cattle"],
        description="species the SSD-OIDv4 'no animal' check applies to (its only animal classes: cat, dog, cattle)",
    )
    resemblance: bool = Field(
        True,
        description="with the mobilenetv2-imagenet model installed: a photo whose ImageNet features are as close to "
        "the species' gallery as 90 % of the gallery's own photos are to each other passes the 'no animal' check "
        "without running the detector (fitted by `sightings wildlife calibrate`; docs/wildlife.md)",
    )
    resemblance_input: int = Field(
        160, ge=32, le=512, multiple_of=32, description="MobileNetV2 input size for the resemblance check, pixels"
    )
    top_k: int = Field(5, ge=1, le=50, description="individuals returned per prediction")
    max_side: int = Field(1024, ge=64, description="photos are downscaled on decode to this longer side, pixels")
    max_batch_files: int = Field(200, ge=1, description="most images in one batch request (files or zip members)")
    max_batch_bytes: int = Field(
        300_000_000, gt=0, description="most uncompressed bytes in one batch request (zip-bomb guard)"
    )


class PetsBotsSettings(_Section):
    """Pets intake and bots (`sightings pets vk-pull|vk-listen|telegram-bot`): they talk to the engine's HTTP API.

    Tokens are secrets: give them by environment (``SIGHTINGS_PETS__BOTS__VK_TOKEN``) or a file (``*_file``, e.g. a
    Docker/Kubernetes secret); they are never logged or shown by `sightings config show`."""

    api_url: str = Field("http://127.0.0.1:8000", description="base URL of the running engine API (`sightings serve`)")
    api_key: SecretStr | None = Field(None, description="X-API-Key sent to the engine (one of its pets.api_keys)")

    @field_validator("api_url", "vk_api_base", "telegram_api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """An http(s) URL with a host: a typo is said by `config check`, not first by a bot at run time."""
        from urllib.parse import urlsplit

        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s)://host[:port] URL, got {value!r}")
        return value

    api_key_file: Path | None = Field(None, description="file holding the engine API key (instead of api_key)")
    vk_token: SecretStr | None = Field(None, description="VK access token (a group token for long poll and comments)")
    vk_token_file: Path | None = Field(None, description="file holding the VK token (instead of vk_token)")
    vk_groups: list[int] = Field(default_factory=list, description="VK group ids pulled by `vk-pull` (positive ids)")
    vk_api_base: str | None = Field(None, description="VK API base URL instead of https://api.vk.ru (a proxy, a fake)")
    vk_api_version: str = Field("5.199", description="VK API version sent with every call")
    vk_page_size: int = Field(100, ge=1, le=100, description="posts per wall.get call")
    vk_max_posts: int = Field(1000, ge=1, description="most posts one `vk-pull` takes from a group")
    vk_comment_dry_run: bool = Field(
        True, description="VK bot only logs the comments it would post (set false to post with wall.createComment)"
    )
    telegram_token: SecretStr | None = Field(None, description="Telegram bot token from @BotFather")
    telegram_token_file: Path | None = Field(None, description="file holding the Telegram token")
    telegram_api_base: str | None = Field(
        None, description="Telegram Bot API base URL instead of https://api.telegram.org (a local Bot API server)"
    )
    language: str = Field("ru", description="language of bot messages when the user's is unknown: ru | en")
    album_wait_s: float = Field(1.5, gt=0, le=30, description="wait this long for the rest of a Telegram album")
    notify_every_s: float = Field(300.0, gt=0, description="how often the Telegram bot looks for new sure matches")
    max_retries: int = Field(5, ge=0, le=20, description="retries after a rate limit or flood control answer")
    max_retry_wait_s: float = Field(60.0, gt=0, description="longest single wait before a retry, seconds")
    state_dir: Path | None = Field(
        None, description="intake/bot state (resume points, replies sent); default <data_dir>/pets/bots"
    )


class PetsSettings(_Section):
    """Pets lost & found (`sightings pets`, `/v1/pets/...`): intake, dedup, privacy, lost↔found matching."""

    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="API keys accepted in the X-API-Key header on write endpoints (none set: writes are refused)",
    )
    catalog_url: str | None = Field(
        None, description="database URL of the pets tables (default: SQLite file <data_dir>/catalog.sqlite)"
    )
    vector_store: str = Field("lancedb", description="lost and found galleries' vector store: lancedb | qdrant | numpy")
    vector_store_url: str | None = Field(None, description="Qdrant server URL (vector_store: qdrant)")
    embedder: str = Field("color-texture", description="global embedder registry name")
    rerank: bool = Field(True, description="RootSIFT re-rank of the closest gallery crops (two-stage score)")
    rerank_max_side: int = Field(400, ge=64, description="RootSIFT works on crops shrunk to this longer side, pixels")
    detector: str = Field(
        "ssd-oidv4", description="cat/dog detector registry name, or 'none' (every photo/tile used whole, unchecked)"
    )
    detector_threshold: float = Field(0.3, ge=0.0, le=1.0, description="lowest cat/dog detection score kept")
    crop_margin: float = Field(0.1, ge=0.0, le=1.0, description="margin around an animal box, fraction of its size")
    embed_without_animal: bool = Field(
        False, description="embed whole photos of posts where the detector found no animal (flagged either way)"
    )
    split_collages: bool = Field(True, description="split grid collages (2x1, 2x2, ...) into single photos first")
    max_photos: int = Field(20, ge=1, le=200, description="most photos in one post (more: HTTP 413)")
    personal_data_days: float = Field(
        30.0, gt=0, description="phones, author, text and address of posts are purged this many days after intake"
    )
    max_side: int = Field(1024, ge=64, description="photos are downscaled on decode to this longer side, pixels")
    understand_text: bool = Field(True, description="extract kind, species, place, phones and dates from the text")
    ocr: bool = Field(True, description="also read text from poster photos (photos with no animal found)")
    privacy_sources: list[str] = Field(
        default_factory=lambda: ["vk"],
        description="sources in privacy mode: only embeddings, extracted fields and a link kept (no photos, no text)",
    )
    max_km: float = Field(10.0, gt=0, description="farthest a found pet/sighting may be from the lost one's place, km")
    max_days: float = Field(60.0, gt=0, description="a found pet/sighting may be at most this many days after the loss")
    early_days: float = Field(
        2.0, ge=0, description="a found post may predate the lost post by this many days (owners post late)"
    )
    top_k: int = Field(10, ge=1, le=100, description="matches kept per new post")
    sighting_duplicate_distance: float = Field(
        0.05,
        ge=0.0,
        le=2.0,
        description="a camera crop this close (cosine distance) to one the same camera sent within "
        "sighting_repeat_s is a repeat: not stored again (0 = keep every crop)",
    )
    sighting_repeat_s: float = Field(600.0, ge=0, description="how far apart in time two crops count as a repeat, s")
    precision_threshold: float = Field(
        0.91,
        ge=0.0,
        le=1.0,
        description="calibrated confidence at or above which a match is 'sure' (bots speak only on those); "
        "chosen for 95 % precision on the calibration half of benchmarks/bench_pets_matching.py",
    )
    dedup_photo_bits: int = Field(6, ge=0, le=32, description="pHash Hamming distance up to which photos are the same")
    dedup_text_jaccard: float = Field(
        0.8, gt=0.0, le=1.0, description="text shingle Jaccard similarity at least which two posts are the same text"
    )
    dedup_min_words: int = Field(6, ge=1, description="texts shorter than this many words are not compared")
    map_tiles_url: str | None = Field(
        None,
        description="map tile URL template for the owner's page, e.g. https://tiles.example/{z}/{x}/{y}.png "
        "(default none: offline, markers on a blank map)",
    )
    map_attribution: str = Field("", description="attribution shown under the map tiles (their licence asks for it)")
    bots: PetsBotsSettings = Field(default_factory=PetsBotsSettings, description="intake and bots")  # type: ignore[arg-type]


class PopularitySettings(_Section):
    """Popularity prediction (`POST /v1/popularity/predict`): where content runs and trained models are found.

    Requests name a run and a model by id only; both are looked up inside these folders (no client paths)."""

    result_store: Path | None = Field(
        None, description="content result store <store>/<platform>/<video>/<run_id>/ (default: <data_dir>/result_store)"
    )
    artifacts_dir: Path | None = Field(
        None, description="training runs artifacts/<run_id>/ (default: <data_dir>/popularity/artifacts)"
    )
    default_model: str | None = Field(
        None, description="model run id used when a request names none (default: the newest run in artifacts_dir)"
    )


class Settings(BaseSettings):
    """Everything configurable, validated. Build it with :func:`load_settings` or :func:`get_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True, validate_default=True
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="where stores, galleries and outputs live")
    models_dir: Path | None = Field(None, description="local models directory (default: <data_dir>/models)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="logging level")
    media: MediaSettings = Field(default_factory=MediaSettings, description="media limits")  # type: ignore[arg-type]
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server")  # type: ignore[arg-type]
    executor: ExecutorChoice = Field(default_factory=ExecutorChoice, description="batch executor")
    wildlife: WildlifeSettings = Field(default_factory=WildlifeSettings, description="wildlife photo-ID service")  # type: ignore[arg-type]
    pets: PetsSettings = Field(default_factory=PetsSettings, description="pets lost & found")  # type: ignore[arg-type]
    popularity: PopularitySettings = Field(default_factory=PopularitySettings, description="popularity prediction")  # type: ignore[arg-type]
    security: SecuritySettings = Field(default_factory=SecuritySettings, description="keys, limits, URL guard")  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _default_models_dir(self) -> Settings:
        if self.models_dir is None:
            object.__setattr__(self, "models_dir", self.data_dir / "models")
        return self

    @property
    def models_path(self) -> Path:
        """``models_dir``, resolved (never ``None`` after validation)."""
        assert self.models_dir is not None  # set by the validator
        return self.models_dir

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() merges file, environment and overrides itself (so it can say where each value came from).
        return (init_settings,)


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file in force: ``explicit``, else ``$SIGHTINGS_CONFIG``, else ./sightings.{yaml,yml,toml}."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return next((Path(n) for n in CONFIG_NAMES if Path(n).is_file()), None)


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError("config file not found" if not path.exists() else "not a file", where=path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file: {exc}", where=path) from exc
    if path.suffix.lower() == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", where=path) from exc
    elif path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"invalid YAML{line}: {getattr(exc, 'problem', exc)}", where=path) from exc
    else:
        raise ConfigError("config file must end in .yaml, .yml or .toml", where=path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config file must hold a mapping of settings at the top level", where=path)
    return data


def _dotted_to_nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _leaves(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and key != "options":
            out.update(_leaves(value, f"{path}."))
        else:
            out[path] = value
    return out


class LoadedSettings(BaseModel):
    """Settings, each value by dotted key, and its source (``default``, the file path, ``env NAME`` or ``cli``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    settings: Settings
    values: dict[str, Any]
    sources: dict[str, str]
    config_file: Path | None


def load_settings(
    config_file: str | os.PathLike[str] | None = None, overrides: Mapping[str, Any] | None = None
) -> LoadedSettings:
    """Build the settings from all layers; raise :class:`ConfigError` naming the bad value's source."""
    path = find_config_file(config_file)
    layers: list[tuple[str, dict[str, Any]]] = []
    if path is not None:
        layers.append((str(path), _read_config_file(path)))
    env = EnvSettingsSource(Settings)()
    layers.append(("env", env))
    layers.append(("cli", _dotted_to_nested(overrides or {})))

    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, data in layers:
        merged = _merge(merged, data)
        for leaf in _leaves(data):
            sources[leaf] = f"env {ENV_PREFIX}{leaf.replace('.', '__').upper()}" if name == "env" else name
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        origin = next((src for leaf, src in sources.items() if field == leaf or field.startswith(f"{leaf}.")), None)
        where = f"{origin}: {field}" if origin and origin != "cli" else field
        if origin == "cli":
            where = f"--set {field}"
        extra = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{str(err['msg']).removeprefix('Value error, ')}{extra}", where=where) from None
    full = _leaves(settings.model_dump(mode="json"))
    return LoadedSettings(
        settings=settings, values=full, sources={k: sources.get(k, "default") for k in full}, config_file=path
    )


_CONFIG_FILE: str | None = None
_OVERRIDES: dict[str, Any] = {}


def set_config_file(path: str | os.PathLike[str] | None, overrides: Mapping[str, Any] | None = None) -> None:
    """Use ``path`` and dotted ``overrides`` for :func:`get_settings` (the CLI's ``--config`` and ``--set``)."""
    global _CONFIG_FILE, _OVERRIDES  # noqa: PLW0603 - one process-wide choice, set once by the CLI
    _CONFIG_FILE = None if path is None else str(path)
    _OVERRIDES = dict(overrides or {})
    get_settings.cache_clear()
    get_loaded_settings.cache_clear()


@lru_cache(maxsize=1)
def get_loaded_settings() -> LoadedSettings:
    """The process-wide settings with their sources (cached)."""
    return load_settings(_CONFIG_FILE, _OVERRIDES)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``set_config_file`` or ``get_settings.cache_clear()`` to reload)."""
    return get_loaded_settings().settings
