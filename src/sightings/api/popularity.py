"""Popularity prediction endpoint: ``POST /v1/popularity/predict``.

The request names a content run and a model **by id only**; the server looks them up inside its configured
folders (``popularity.result_store``, default ``<data_dir>/result_store``; ``popularity.artifacts_dir``, default
``<data_dir>/popularity/artifacts``). Ids are 1–128 letters, digits, ``.``, ``_``, ``-`` starting with a letter or
digit, and the resolved folder must lie inside its root, so a request can reach no other server path. The
answer is the same deterministic JSON as ``sightings popularity predict``.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sightings.api.outages import HeldReadsRoute
from sightings.core.config import Settings
from sightings.core.errors import InputError, IntegrityError, NotFoundError

__all__ = ["PredictRequest", "PredictionResponse", "mount"]

router = APIRouter(prefix="/v1/popularity", tags=["popularity"], route_class=HeldReadsRoute)

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # Infinity is no count: 422, not "unknown"


def _whole(value: float | None) -> float | None:
    """A count is a whole number (as the CLI's CSV reader says too): 1.5 views is a typo, not data."""
    if value is not None and not float(value).is_integer():
        raise ValueError(f"a count must be a whole number, got {value}")
    return value


class SnapshotIn(_In):
    """The video's first snapshot (counts at a time); features use nothing later."""

    snapshot_at: datetime = Field(description="time of the snapshot, ISO-8601 (no offset: UTC)")
    views: float | None = Field(None, ge=0, description="views at that time")
    likes: float | None = Field(None, ge=0, description="likes at that time")
    comments: float | None = Field(None, ge=0, description="comments at that time")

    _counts = field_validator("views", "likes", "comments")(_whole)


class VideoIn(_In):
    """Video metadata."""

    published_at: datetime | None = Field(None, description="publication time, ISO-8601")
    duration_sec: float | None = Field(None, ge=0, description="duration, seconds (default: from the content run)")
    language: str | None = Field(None, max_length=64, description="language code")
    category: str | None = Field(None, max_length=128, description="platform category")
    channel_id: str | None = Field(None, max_length=128, description="channel id")


class ChannelIn(_In):
    """The channel; counts with an ``as_of`` later than the snapshot are not used (no leakage)."""

    subscribers: float | None = Field(None, ge=0)
    total_videos: float | None = Field(None, ge=0)
    created_at: datetime | None = Field(None, description="channel creation time")
    as_of: datetime | None = Field(None, description="when the counts were read (none: taken as valid at any time)")

    _counts = field_validator("subscribers", "total_videos")(_whole)


class PredictRequest(_In):
    """A content run in the server's result store, a model in its artifacts folder, and optional inputs."""

    platform_id: Id = Field(description="platform id (folder of the result store)")
    video_id: Id = Field(description="video id (folder of the result store)")
    run_id: Id | None = Field(None, description="content run id (default: the video's newest run)")
    model: Id | None = Field(None, description="training run id (default: popularity.default_model or the newest)")
    video: VideoIn | None = None
    snapshot: SnapshotIn | None = None
    channel: ChannelIn | None = None


class Interval(BaseModel):
    level: float = Field(description="coverage the interval was calibrated for")
    low: float | None
    high: float | None


class PredictionValue(BaseModel):
    value: float | None = Field(description="expected growth of the count from snapshot 1 to snapshot 1 + horizon")
    confidence: Interval


class PredictionResponse(BaseModel):
    """The prediction JSON (keys sorted, floats rounded to 4 decimals)."""

    video_id: str
    run_id: str = Field(description="content run id")
    predictions: dict[str, dict[str, PredictionValue]] = Field(description="metric → horizon ('7d') → value")
    features_used: dict[str, float | str | None]
    model_info: dict[str, Any]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _inside(root: Path, *parts: str) -> Path:
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if not path.is_relative_to(base):
        raise InputError("resolves outside its configured folder", where="/".join(parts))
    return path


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def _newest(folder: Path, marker: str, what: str, *, by_time: bool = False) -> str:
    """The newest folder holding ``marker`` whose name is a valid id (one a request could name too): by name for
    content runs (their ids start with the UTC time), by ``marker``'s time for models (named as their trainer
    chose)."""
    runs = [p for p in folder.iterdir() if (p / marker).is_file() and _ID.fullmatch(p.name)] if folder.is_dir() else []
    if not runs:
        raise NotFoundError(f"no {what}", where=folder.name or "store")
    newest = max(runs, key=lambda p: ((p / marker).stat().st_mtime, p.name) if by_time else (0.0, p.name))
    return newest.name


def _artifact(request: Request, model_dir: Path) -> Any:
    from sightings.solutions.popularity.artifacts import load_artifact

    state = request.app.state
    cache: dict[tuple[str, float], Any] | None = getattr(state, "popularity_models", None)
    if cache is None:
        cache = state.popularity_models = {}
    config = model_dir / "config.yaml"
    key = (str(model_dir), config.stat().st_mtime if config.is_file() else 0.0)
    if key not in cache:
        try:
            loaded = load_artifact(model_dir)
        except (NotFoundError, InputError, IntegrityError) as exc:
            # the model exists (its folder was found) but cannot be used: the server's fault, not the request's;
            # named by its id only, never by the server's paths
            raise IntegrityError(
                f"model {model_dir.name!r} cannot be loaded: {exc.reason}", where="popularity model"
            ) from None
        cache.clear()
        cache[key] = loaded
    return cache[key]


@router.post("/predict", response_model=PredictionResponse, responses={404: {"description": "run or model not found"}})
def predict(body: PredictRequest, request: Request) -> Response:
    """Predict views/likes/comments growth at 7/14/21 days (value + interval) for a content run."""
    from sightings.solutions.popularity.channels import ChannelIndex, ChannelInfo
    from sightings.solutions.popularity.predict import predict_run, render_json
    from sightings.solutions.popularity.snapshots import Snapshot, VideoInfo

    settings = _settings(request)
    cfg = settings.popularity
    store = cfg.result_store or settings.data_dir / "result_store"
    artifacts = cfg.artifacts_dir or settings.data_dir / "popularity" / "artifacts"
    video_dir = _inside(store, body.platform_id, body.video_id)
    run_id = body.run_id or _newest(video_dir, "manifest.json", f"content run of {body.platform_id}/{body.video_id}")
    run_dir = _inside(store, body.platform_id, body.video_id, run_id)
    if not (run_dir / "manifest.json").is_file():
        raise NotFoundError(
            "no such content run in the result store", where=f"{body.platform_id}/{body.video_id}/{run_id}"
        )
    model_id = (
        body.model or cfg.default_model or _newest(artifacts.resolve(), "config.yaml", "trained model", by_time=True)
    )
    model_dir = _inside(artifacts, model_id)
    if not (model_dir / "config.yaml").is_file():
        raise NotFoundError("no such trained model", where=f"model {model_id}")
    artifact = _artifact(request, model_dir)
    nan = float("nan")
    snapshot = None
    if body.snapshot is not None:
        s = body.snapshot
        snapshot = Snapshot(
            _utc(s.snapshot_at),
            nan if s.views is None else s.views,
            nan if s.likes is None else s.likes,
            nan if s.comments is None else s.comments,
        )
    v = body.video or VideoIn.model_validate({})
    video = VideoInfo(
        body.platform_id,
        body.video_id,
        _utc(v.published_at) if v.published_at else None,
        nan if v.duration_sec is None else v.duration_sec,
        v.language,
        v.category,
        v.channel_id,
    )
    lookup = None
    if body.channel is not None and snapshot is not None:
        c = body.channel
        row = ChannelInfo(
            v.channel_id or "channel",
            nan if c.subscribers is None else c.subscribers,
            nan if c.total_videos is None else c.total_videos,
            _utc(c.created_at) if c.created_at else None,
            _utc(c.as_of) if c.as_of else None,
        )
        lookup = ChannelIndex([row]).lookup(row.channel_id, snapshot.at)
    result = predict_run(run_dir, artifact, video=video, snapshot1=snapshot, channel=lookup)
    return Response(content=render_json(result), media_type="application/json")


def _utc(moment: datetime) -> datetime:
    from sightings.core.types import as_utc

    return as_utc(moment)


def mount(app: FastAPI) -> None:
    """Add the popularity API to ``app``."""
    app.include_router(router)
