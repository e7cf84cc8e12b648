"""Pets lost & found endpoints (``/v1/pets``): posts in, lost↔found matches out, feedback, camera sightings.

Write endpoints (``POST``) need an ``X-API-Key`` header holding one of ``pets.api_keys``
(``SIGHTINGS_PETS__API_KEYS='["key"]'``); with no key configured they are refused. The bots and the street-camera
watcher use this API (they hold no store of their own). Every answer comes from the one ``PetsService``.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, SecretStr

from sightings.api.auth import require_role
from sightings.api.outages import HeldReadsRoute, hold_through_outage
from sightings.api.pets_schemas import (
    AnimalOut,
    FeedbackRequest,
    FeedbackResponse,
    MatchesResponse,
    MatchOut,
    MatchViewOut,
    PostResponse,
    SightingResponse,
)
from sightings.api.uploads import limit_body, read_upload
from sightings.core.config import Settings
from sightings.core.errors import InputError, SightingsError, TooLargeError, UnsupportedMediaError
from sightings.core.types import as_utc

__all__ = ["mount"]

log = logging.getLogger(__name__)
_OPENING = threading.Lock()
router = APIRouter(prefix="/v1/pets", tags=["pets"], route_class=HeldReadsRoute)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_service(request: Request) -> Any:
    """The app's PetsService, opened on first use."""
    state = request.app.state
    service = getattr(state, "pets", None)
    if service is None:
        with _OPENING:  # concurrent first requests: one service (two would hold two handles on each gallery)
            service = getattr(state, "pets", None)
            if service is None:
                from sightings.solutions.pets.service import PetsService

                service = state.pets = PetsService(_settings(request))
    _upkeep(state, service)
    return service


def _upkeep(state: Any, service: Any) -> None:
    """On the service's first use, repair the galleries against the rows (a crash between the two writes); then
    and once a day, purge personal data older than ``pets.personal_data_days``."""
    import time

    from sightings.solutions.pets.retention import purge_personal_data, repair_pets

    now = time.monotonic()
    last = getattr(state, "pets_upkeep_at", None)
    if last is not None and now - last < 86400:
        return
    state.pets_upkeep_at = now
    try:
        if last is None:
            repair_pets(service)
        purge_personal_data(service)
    except SightingsError as err:  # a store down now: the next day (or restart) tries again
        log.warning("pets upkeep (repair, purge) failed: %s", err)


class DeletedResponse(BaseModel):
    """What a deletion removed."""

    kind: str = Field(description="post | sighting")
    id: str
    embeddings: int = Field(description="crops removed from the galleries (vectors, files)")
    matches: int = Field(description="matches removed (with their feedback)")


def _pets_keys(settings: Settings) -> list[SecretStr]:
    return settings.pets.api_keys


_ENV = "SIGHTINGS_PETS__API_KEYS"
#: write endpoints: a stored key of role write/admin, or one of ``pets.api_keys`` (a write key)
require_key = require_role("write", legacy=_pets_keys, name="pets", env=_ENV)
#: deletions: a stored key of role admin (the configured ``pets.api_keys`` are write keys only)
require_admin = require_role("admin", legacy=_pets_keys, name="pets", env=_ENV)


CLOCK_SKEW_S = 3600.0
"""How far ahead of the server's clock a posted or seen time may be (a camera or phone clock a little fast)."""


def _utc(t: datetime | None) -> datetime | None:
    """A time from a form: naive means UTC."""
    if t is None:
        return None
    return as_utc(t)


def _not_future(t: datetime, where: str) -> datetime:
    """``t`` in UTC; more than :data:`CLOCK_SKEW_S` ahead of the server's clock is refused (422)."""
    out = as_utc(t)
    now = datetime.now(UTC)
    if (out - now).total_seconds() > CLOCK_SKEW_S:
        raise InputError(
            f"{out.isoformat()} is in the future (the server's clock says {now.isoformat(timespec='seconds')})",
            where=where,
        )
    return out


# ---------------------------------------------------------------------- conversions
def _match_out(m: Any) -> MatchOut:
    return MatchOut(
        id=m.id,
        lost_post_id=m.lost_post_id,
        target_kind=m.target_kind,
        target_id=m.target_id,
        confidence=m.confidence,
        calibrated=m.calibrated,
        sure=m.sure,
        score=m.score,
        distance_km=m.distance_km,
    )


def _animal_out(a: Any) -> AnimalOut:
    return AnimalOut(
        embedding_id=a.embedding_id,
        gallery=a.gallery,
        photo_index=a.photo_index,
        tile_index=a.tile_index,
        box=None if a.box is None else [round(v, 1) for v in a.box.xyxy],
        species=a.species,
        score=a.score,
        photo_url=f"/v1/pets/photos/{a.embedding_id}" if a.stored else None,
    )


def _post_out(
    post: Any, animals: Any, *, status: str | None = None, matches: Any = (), duplicates: Any = (), match_count: int = 0
) -> PostResponse:
    return PostResponse(
        id=post.id,
        status=status,  # type: ignore[arg-type]  # one of the three, from PostOutcome
        source=post.source,
        source_id=post.source_id,
        link=post.link,
        kind=post.kind,
        species=post.species,
        city=post.city,
        district=post.district,
        address=post.address,
        phones=list(post.phones),
        lat=post.lat,
        lon=post.lon,
        posted_at=post.posted_at,
        created_at=post.created_at,
        text=post.text,
        duplicate_of=post.duplicate_of,
        duplicate_reason=post.duplicate_reason,
        duplicates=list(duplicates),
        flags=list(post.flags),
        privacy=post.privacy,
        photo_count=post.photo_count,
        facts=dict(post.facts),
        animals=[_animal_out(a) for a in animals],
        match_count=match_count or len(matches),
        matches=[_match_out(m) for m in matches],
    )


# ---------------------------------------------------------------------- posts
@router.post("/posts", response_model=PostResponse, dependencies=[Depends(require_key)])
def create_post(
    request: Request,
    *,
    photos: Annotated[
        list[UploadFile] | None, File(description="photos of the pet (JPEG, PNG, WebP...); none is accepted, flagged")
    ] = None,
    text: Annotated[str, Form(max_length=20000, description="the post's text (Russian or English)")] = "",
    kind: Annotated[
        Literal["lost", "found", "adoption", "other"] | None,
        Form(description="lost | found | adoption | other (default: read from the text)"),
    ] = None,
    source: Annotated[Literal["vk", "telegram", "manual"], Form(description="where the post comes from")] = "manual",
    source_id: Annotated[str | None, Form(description="the post's id at its source (dedup key)")] = None,
    link: Annotated[str | None, Form(max_length=2000, description="link to the original post")] = None,
    author: Annotated[
        str | None, Form(max_length=256, description="author's contact (dropped in privacy mode)")
    ] = None,
    posted_at: Annotated[datetime | None, Form(description="when it was posted (ISO 8601; naive = UTC)")] = None,
    where: Annotated[str | None, Form(description="'LAT,LON' in degrees (or give lat and lon)")] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    species: Annotated[Literal["cat", "dog"] | None, Form(description="cat | dog when the poster knows")] = None,
    city: Annotated[str | None, Form(max_length=128)] = None,
    district: Annotated[str | None, Form(max_length=128)] = None,
    address: Annotated[str | None, Form(max_length=256)] = None,
    repost_of: Annotated[
        str | None, Form(description="source id of the post this one re-posts (VK copy_history)")
    ] = None,
) -> PostResponse:
    """Add a lost/found/adoption post: photos checked, text understood, dedup, crops into the lost/found gallery,
    matched against the other side. A post without photos is kept and flagged ``no_photo``; a file that is not an
    image is refused (422, naming it); more than ``pets.max_photos`` photos is refused (413)."""
    from sightings.solutions.pets.posts import PostDraft, parse_point

    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaError(
            f"content type {content_type or 'none'!r}; send multipart/form-data (text and photos as form fields)",
            where="POST /v1/pets/posts",
        )
    settings = _settings(request)
    uploads = photos or []
    if len(uploads) > settings.pets.max_photos:
        raise TooLargeError(f"{len(uploads)} photos; at most {settings.pets.max_photos} per post", where="photos")
    per_file = settings.server.max_upload_bytes
    limit_body(request, per_file * max(1, len(uploads)) + 1_000_000)
    blobs = [read_upload(f, per_file, image=True) for f in uploads]
    names = tuple(f.filename or f"photo {i + 1}" for i, f in enumerate(uploads))
    point = parse_point(where) if where else None
    if point is not None and (lat is not None or lon is not None):
        raise InputError("give where or lat/lon, not both", where="where")
    lat, lon = point if point is not None else (lat, lon)
    if not uploads and not text.strip() and not repost_of:
        raise InputError("a post needs text, photos or both (or repost_of)", where="POST /v1/pets/posts")
    draft = PostDraft(
        source=source,
        source_id=source_id,
        link=link,
        text=text,
        photos=tuple(blobs),
        photo_names=names,
        author=author,
        posted_at=None if posted_at is None else _not_future(posted_at, "posted_at"),
        kind=kind,
        species=species,
        city=city,
        district=district,
        address=address,
        lat=lat,
        lon=lon,
        repost_of=repost_of,
    )
    service = get_service(request)
    outcome = hold_through_outage(lambda: service.add_post(draft), request, where="POST /v1/pets/posts")
    return _post_out(outcome.post, outcome.animals, status=outcome.status, matches=outcome.matches)


@router.get("/posts/{post_id}", response_model=PostResponse)
def get_post(request: Request, post_id: str) -> PostResponse:
    """A stored post with its crops and the copies linked to it (404 when unknown)."""
    details = get_service(request).get_post(post_id)
    return _post_out(details.post, details.animals, duplicates=details.duplicates, match_count=details.match_count)


@router.get("/lost/{post_id}/matches", response_model=MatchesResponse)
def lost_matches(
    request: Request,
    post_id: str,
    *,
    district: Annotated[str | None, Query(description="only candidates in this district")] = None,
    max_km: Annotated[float | None, Query(gt=0, description="only candidates within this radius of home, km")] = None,
    since: Annotated[
        datetime | None, Query(description="only candidates seen/posted since (ISO 8601; naive = UTC)")
    ] = None,
    sort: Annotated[Literal["confidence", "time", "distance"], Query(description="order")] = "confidence",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    sure_only: Annotated[bool, Query(description="only matches at or above the precision threshold")] = False,
    home: Annotated[str | None, Query(description="'LAT,LON' of home (default: where the pet was lost)")] = None,
) -> MatchesResponse:
    """getCurrentTopMatches: found posts and camera sightings that may be this lost pet, with photo, calibrated
    confidence, time, place, district, species and distances (404 when the post is unknown or not a lost one)."""
    from sightings.solutions.pets.posts import parse_point

    service = get_service(request)
    views = service.lost_matches(
        post_id,
        district=district,
        max_km=max_km,
        since=_utc(since),
        sort=sort,
        limit=limit,
        sure_only=sure_only,
        home=parse_point(home, "home") if home else None,
    )
    out = [
        MatchViewOut(
            **{k: getattr(v, k) for k in MatchViewOut.model_fields if k != "photo_url"},
            photo_url=f"/v1/pets/photos/{v.photo_id}" if v.photo_id else None,
        )
        for v in views
    ]
    return MatchesResponse(
        lost_post_id=post_id,
        count=len(out),
        precision_threshold=service.config.precision_threshold,
        calibration=service.calibration_source,
        matches=out,
    )


@router.post("/matches/{match_id}/feedback", response_model=FeedbackResponse, dependencies=[Depends(require_key)])
def match_feedback(request: Request, match_id: str, body: FeedbackRequest) -> FeedbackResponse:
    """The owner says "mine" or "not_mine" (404 for an unknown match); kept and used to re-calibrate."""
    service = get_service(request)
    fb = hold_through_outage(
        lambda: service.add_feedback(match_id, body.verdict, note=body.note, author=body.author),
        request,
        where="POST /v1/pets/matches/feedback",
    )
    return FeedbackResponse(id=fb.id or 0, match_id=fb.match_id, verdict=fb.verdict, created_at=fb.created_at)


@router.get("/photos/{photo_id}", response_class=FileResponse)
def photo(request: Request, photo_id: str) -> FileResponse:
    """A crop (JPEG) of a post's animal or a camera sighting (404 when unknown or not kept: privacy mode)."""
    return FileResponse(get_service(request).photo_path(photo_id), media_type="image/jpeg")


# ---------------------------------------------------------------------- camera sightings (#7 watcher)
@router.post("/sightings", response_model=SightingResponse, dependencies=[Depends(require_key)])
def create_sighting(
    request: Request,
    *,
    crop: Annotated[UploadFile, File(description="the crop of one cat or dog (JPEG, PNG...)")],
    camera_id: Annotated[str, Form(description="the camera's id")],
    lat: Annotated[float, Form(ge=-90, le=90, description="camera latitude, degrees")],
    lon: Annotated[float, Form(ge=-180, le=180, description="camera longitude, degrees")],
    seen_at: Annotated[datetime, Form(description="when it was seen (ISO 8601; naive = UTC)")],
    species: Annotated[Literal["cat", "dog"] | None, Form(description="the detector's species")] = None,
    score: Annotated[float | None, Form(ge=0, le=1, description="detector score")] = None,
    district: Annotated[str | None, Form(max_length=128, description="the camera's district")] = None,
) -> SightingResponse:
    """A street-camera sighting from the watcher: stored, added to the found side, matched against lost pets."""
    from sightings.solutions.pets.posts import SightingDraft

    settings = _settings(request)
    limit_body(request, settings.server.max_upload_bytes + 65536)
    data = read_upload(crop, settings.server.max_upload_bytes, image=True)
    seen = _not_future(seen_at, "seen_at")
    draft = SightingDraft(camera_id, data, seen, lat, lon, species=species, score=score, district=district)
    service = get_service(request)
    out = hold_through_outage(lambda: service.add_sighting(draft), request, where="POST /v1/pets/sightings")
    s = out.sighting
    return SightingResponse(
        id=s.id,
        camera_id=s.camera_id,
        seen_at=s.seen_at,
        lat=s.lat,
        lon=s.lon,
        species=s.species,
        district=s.district,
        photo_url=f"/v1/pets/photos/{s.embedding_id}",
        matches=[_match_out(m) for m in out.matches],
        duplicate=out.duplicate,
    )


# ---------------------------------------------------------------------- deletion (admin)
@router.delete("/posts/{post_id}", response_model=DeletedResponse, dependencies=[Depends(require_admin)])
def delete_post(request: Request, post_id: str) -> DeletedResponse:
    """Remove a post everywhere: its rows, photos' crops and their vectors in the galleries, its matches and their
    feedback (admin key; 404 when unknown). Kept in the audit log."""
    from sightings.solutions.pets.retention import delete_post as remove

    report = remove(get_service(request), post_id)
    return DeletedResponse(kind=report.kind, id=report.id, embeddings=len(report.embeddings), matches=report.matches)


@router.delete("/sightings/{sighting_id}", response_model=DeletedResponse, dependencies=[Depends(require_admin)])
def delete_sighting(request: Request, sighting_id: str) -> DeletedResponse:
    """Remove a camera sighting everywhere: its row, crop, vector and the matches pointing to it (admin key)."""
    from sightings.solutions.pets.retention import delete_sighting as remove

    report = remove(get_service(request), sighting_id)
    return DeletedResponse(kind=report.kind, id=report.id, embeddings=len(report.embeddings), matches=report.matches)


def mount(app: FastAPI) -> None:
    """Add the pets API (and the owner's page, ``sightings.api.pets_page``) to ``app``."""
    app.include_router(router)
    from sightings.api.pets_page import mount as mount_page

    mount_page(app)
