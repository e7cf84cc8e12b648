"""Request and response models of the wildlife photo-ID API (``/v1``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BatchLine",
    "DriftOut",
    "DriftStatsResponse",
    "GateCheckOut",
    "IndividualForm",
    "IndividualResponse",
    "MatchOut",
    "PhotoOut",
    "PredictionResponse",
    "ReviewRequest",
    "ReviewResponse",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------- requests
class IndividualForm(BaseModel):
    """Form fields of ``POST /v1/individuals`` (the photos come as ``files``, so other fields are not refused)."""

    species: str = Field(description="species id, e.g. 'lion' (created on first use)", max_length=64)
    individual_id: str = Field(description="id of the individual, e.g. 'Ayo' (created if new)", max_length=64)
    label: str | None = Field(None, description="display name (default: the id)", max_length=256)
    scientific_name: str | None = Field(
        None, description="species scientific name, e.g. 'Panthera leo'", max_length=256
    )
    vernacular_name: str | None = Field(None, description="species common name, e.g. 'lion'", max_length=256)


class ReviewRequest(_Request):
    """Body of ``POST /v1/review``."""

    prediction_id: str = Field(description="id of the prediction reviewed", max_length=64)
    decision: Literal["confirm", "correct", "reject"] = Field(
        description="confirm the top candidate, correct it to another individual, or reject the photo"
    )
    individual_id: str | None = Field(
        None, description="the right individual (needed for 'correct'; a new id creates it)", max_length=64
    )
    reviewer: str | None = Field(None, description="who decided (kept in the audit log)", max_length=128)
    note: str | None = Field(None, description="free text for the audit log", max_length=2000)


# ---------------------------------------------------------------------- responses
class GateCheckOut(BaseModel):
    """One gate check."""

    code: str = Field(description="reason code: too_small, too_dark, too_bright, too_blurry, no_animal, ...")
    passed: bool = Field(description="whether the photo passed this check")
    value: float | None = Field(None, description="measured value")
    threshold: float | None = Field(None, description="threshold it was compared with")
    skipped: str | None = Field(None, description="why the check did not run (e.g. model not installed)")
    detail: str | None = Field(None, description="extra detail (detector label, zero-shot best label)")


class MatchOut(BaseModel):
    """One candidate individual."""

    rank: int = Field(description="0 = best")
    individual_id: str = Field(description="candidate individual")
    confidence: float = Field(description="calibrated P(same individual) (raw score clipped when not calibrated)")
    calibrated: bool = Field(description="whether confidence is a calibrated probability")
    score: float = Field(description="two-stage match score")
    inliers: int = Field(description="RootSIFT inliers with the best gallery photo")
    embedding_id: str | None = Field(None, description="the gallery photo that matched best")
    thumbnail_url: str | None = Field(None, description="that gallery photo")
    evidence_url: str | None = Field(None, description="keypoint-correspondence image (query vs that photo)")


class PredictionResponse(BaseModel):
    """The answer for one photo."""

    id: str = Field(description="prediction id (use it to review)")
    species: str
    status: Literal["accepted", "unknown", "rejected"] = Field(
        description="accepted: an enrolled individual; unknown: new individual?; rejected: the gate refused it"
    )
    reason: str | None = Field(None, description="gate reason code when rejected")
    message: str = Field(description="one sentence for a person")
    individual_id: str | None = Field(None, description="the individual when accepted")
    best_candidate: str | None = Field(None, description="the closest individual, also when unknown")
    confidence: float | None = Field(None, description="calibrated confidence of the best candidate")
    matches: list[MatchOut] = Field(default_factory=list, description="top-k candidates, best first")
    gate: list[GateCheckOut] = Field(default_factory=list, description="gate checks run, in order")
    photo_url: str = Field(description="the stored photo")
    filename: str | None = None
    created_at: datetime
    event_time: datetime | None = Field(None, description="when the photo was taken (EXIF or given)")
    lat: float | None = None
    lon: float | None = None


class BatchLine(BaseModel):
    """One NDJSON line of ``POST /v1/predict-batch``."""

    index: int = Field(description="position in the batch")
    filename: str
    ok: bool
    prediction: PredictionResponse | None = None
    error: str | None = Field(None, description="why this image failed (the others are unaffected)")
    type: str | None = Field(None, description="error class")
    status_code: int | None = Field(None, description="the HTTP status this error has alone")


class PhotoOut(BaseModel):
    embedding_id: str
    thumbnail_url: str
    added: bool = Field(True, description="False: a near-duplicate of a photo already enrolled")


class IndividualResponse(BaseModel):
    """An individual and its enrolled photos."""

    id: str
    label: str
    species: str
    created_at: datetime | None = None
    photos: list[PhotoOut] = Field(default_factory=list)


class ReviewResponse(BaseModel):
    """The audit-log row written for a review."""

    id: int
    prediction_id: str
    decision: str
    individual_id: str | None
    predicted_id: str | None
    agreed: bool = Field(description="whether the reviewer agreed with the model")
    embedding_id: str | None = Field(None, description="the gallery photo the review enrolled")
    created_at: datetime


class DriftOut(BaseModel):
    species: str
    level: Literal["ok", "warn", "alert"]
    window: int
    recent: int
    rejection_rate: float | None
    mean_confidence: float | None
    baseline_confidence: float | None
    confidence_drop: float | None
    psi_mean: float | None
    ks_max: float | None
    levels: dict[str, str]
    notes: list[str]


class DriftStatsResponse(BaseModel):
    level: Literal["ok", "warn", "alert"] = Field(description="the worst level over the species")
    species: list[DriftOut]
