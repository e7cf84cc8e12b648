"""Request and response bodies of the pets API (``/v1/pets/...``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AnimalOut",
    "FeedbackRequest",
    "FeedbackResponse",
    "MatchOut",
    "MatchViewOut",
    "MatchesResponse",
    "PostResponse",
    "SightingResponse",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnimalOut(_Out):
    """One cat/dog crop of a post photo (or a camera sighting) and its vector in the lost/found gallery."""

    embedding_id: str = Field(description="id of the crop's vector in the gallery; also the photo id")
    gallery: str = Field(description="lost | found")
    photo_index: int = Field(description="which photo of the post (0-based)")
    tile_index: int = Field(description="which tile of a collage photo (0 when not a collage)")
    box: list[float] | None = Field(description="[x1, y1, x2, y2] of the crop in its tile, pixels")
    species: str | None = Field(description="cat | dog, from the detector (null: photo used whole)")
    score: float | None = Field(description="detector score in [0, 1]")
    photo_url: str | None = Field(description="the crop image; null in privacy mode")


class MatchOut(_Out):
    """A stored lost↔found match."""

    id: str = Field(description="match id (for feedback)")
    lost_post_id: str = Field(description="the lost post")
    target_kind: Literal["post", "sighting"] = Field(description="a found post or a street-camera sighting")
    target_id: str = Field(description="id of the found post or sighting")
    confidence: float = Field(description="calibrated P(same animal) in [0, 1] (raw score when calibrated is false)")
    calibrated: bool = Field(description="confidence is a calibrated probability")
    sure: bool = Field(description="confidence >= pets.precision_threshold: bots speak only on these")
    score: float = Field(description="the identity engine's two-stage similarity score (larger is closer)")
    distance_km: float | None = Field(description="km between the two places (null: a place is unknown)")


class PostResponse(_Out):
    """A stored post (``status`` and ``matches`` only in the answer to ``POST /v1/pets/posts``)."""

    id: str
    status: Literal["added", "duplicate", "exists"] | None = Field(
        None, description="added: new; duplicate: stored and linked to duplicate_of; exists: this source id was known"
    )
    source: str = Field(description="vk | telegram | manual")
    source_id: str = Field(description="id at the source (for manual posts: the post id)")
    link: str | None
    kind: str = Field(description="lost | found | adoption | other")
    species: str | None = Field(description="cat | dog (detector vote; the text breaks ties)")
    city: str | None
    district: str | None
    address: str | None
    phones: list[str] = Field(description="E.164 numbers")
    lat: float | None
    lon: float | None
    posted_at: datetime
    created_at: datetime
    text: str | None = Field(description="the post's text; null in privacy mode")
    duplicate_of: str | None = Field(description="the post kept when this one is a copy")
    duplicate_reason: str | None = Field(description="repost | photo | text")
    duplicates: list[str] = Field(default_factory=list, description="copies linked to this post")
    flags: list[str] = Field(description="no_photo, no_animal, no_detector, collage, privacy")
    privacy: bool = Field(description="stored in privacy mode (only embeddings, extracted fields and the link)")
    photo_count: int
    facts: dict[str, Any] = Field(description="fields read from the text/posters, each with confidence and source")
    animals: list[AnimalOut]
    match_count: int = Field(0, description="stored matches of this post")
    matches: list[MatchOut] = Field(default_factory=list, description="matches found when the post was added")


class MatchViewOut(_Out):
    """One candidate for a lost pet: a found post or a camera sighting, with where, when and how sure."""

    match_id: str
    target_kind: Literal["post", "sighting"]
    target_id: str
    confidence: float = Field(description="calibrated P(same animal)")
    calibrated: bool
    sure: bool = Field(description="at or above pets.precision_threshold")
    score: float
    seen_at: datetime = Field(description="when the found post was posted / the camera saw it (UTC)")
    lat: float | None
    lon: float | None
    district: str | None
    place: str | None = Field(description="the found post's address, or 'camera <id>'")
    species: str | None
    breed: str | None = Field(description="breed when known (no breed model yet: null)")
    link: str | None = Field(description="the found post's link at its source")
    photo_url: str | None = Field(description="the matched crop (null when not kept: privacy mode)")
    distance_km: float | None = Field(description="km from where the pet was lost")
    distance_from_home_km: float | None = Field(description="km from home (?home=LAT,LON, default: where lost)")


class MatchesResponse(_Out):
    """``GET /v1/pets/lost/{id}/matches``: the current top matches of a lost pet."""

    lost_post_id: str
    count: int
    precision_threshold: float = Field(description="confidence at or above which a match is 'sure'")
    calibration: str = Field(description="where confidence comes from: feedback | prior | none")
    matches: list[MatchViewOut]


class FeedbackRequest(BaseModel):
    """The owner's answer about a match."""

    model_config = ConfigDict(extra="forbid")

    verdict: Literal["mine", "not_mine"] = Field(description="mine: this is my pet; not_mine: it is not")
    note: str | None = Field(None, max_length=2000, description="free text")
    author: str | None = Field(None, max_length=256, description="who answered (bot user id, ...)")


class FeedbackResponse(_Out):
    id: int
    match_id: str
    verdict: str
    created_at: datetime


class SightingResponse(_Out):
    """A stored street-camera sighting and the lost pets it may be."""

    id: str
    camera_id: str
    seen_at: datetime
    lat: float
    lon: float
    species: str | None
    district: str | None
    photo_url: str
    matches: list[MatchOut]
    duplicate: bool = Field(
        False, description="true: a near-duplicate crop of this camera was stored moments before; this is that one"
    )
