"""Response models of the retail dashboard API (``/v1/retail/...``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "AlertOut",
    "AlertsResponse",
    "DayOut",
    "DaysResponse",
    "FiltersResponse",
    "GapOut",
    "GapsResponse",
    "HourOut",
    "HoursResponse",
    "InteractionOut",
    "InteractionsResponse",
    "SellerOut",
    "SellersResponse",
]


class FiltersResponse(BaseModel):
    stores: list[str] = Field(description="stores with processed runs")
    cameras: list[str] = Field(description="cameras with processed runs")


class DayOut(BaseModel):
    day: str = Field(description="UTC day, YYYY-MM-DD")
    runs: int = Field(description="videos processed")
    cameras: int = Field(description="distinct cameras")
    video_s: float = Field(description="seconds of video processed")


class DaysResponse(BaseModel):
    days: list[DayOut] = Field(description="days with data, newest first")


class SellerOut(BaseModel):
    seller_id: str = Field(
        description="schedule name, or <camera>/<UTC start>/track-<id> (one video's track) without a schedule"
    )
    interactions: float = Field(0, description="interaction episodes")
    successful_interactions: float = Field(0, description="episodes that ended in a purchase")
    served_customers: float = Field(0, description="distinct customers served")
    interaction_seconds: float = Field(0, description="total episode time, s")
    revenue: float = Field(0, description="receipt amounts credited to this seller's episodes")
    interaction_ratio: float | None = Field(None, description="served customers / the store's customers")
    success_rate: float | None = Field(None, description="successful / interactions")
    avg_interaction_s: float | None = Field(None, description="mean episode length, s")


class SellersResponse(BaseModel):
    day: str
    store: str | None
    runs: int = Field(description="videos processed that day")
    gaps: int = Field(description="recording gaps that day")
    gap_seconds: float = Field(description="seconds without video that day")
    alerts: int = Field(description="alerts that day")
    store_totals: dict[str, float | None] = Field(description="the store's sums and derived ratios")
    sellers: list[SellerOut] = Field(description="one row per seller, by seller id")


class HourOut(BaseModel):
    hour: int = Field(description="UTC hour 0–23")
    customers: float
    served_customers: float
    interactions: float
    successful_interactions: float
    interaction_seconds: float
    purchases: float
    revenue: float


class HoursResponse(BaseModel):
    day: str
    seller: str = Field(description="'' = the whole store")
    hours: list[HourOut]


class InteractionOut(BaseModel):
    store: str
    camera: str
    seller_id: str
    customer_track: int
    started_at: str = Field(description="ISO 8601, UTC")
    ended_at: str = Field(description="ISO 8601, UTC")
    duration_s: float
    zone: str
    purchased: bool
    amount: float


class InteractionsResponse(BaseModel):
    day: str
    items: list[InteractionOut]


class AlertOut(BaseModel):
    store: str
    camera: str
    ts: str = Field(description="ISO 8601, UTC")
    kind: str = Field(description="camera_off, black, frozen, empty_scene, drift_count, drift_confidence")
    severity: str = Field(description="info, warning, critical")
    value: float = Field(description="seconds for spans, PSI for drift")
    message: str
    run_id: str


class AlertsResponse(BaseModel):
    day: str
    items: list[AlertOut]


class GapOut(BaseModel):
    store: str
    camera: str
    kind: str = Field(description="in_file, between_files or not_recorded (opening hours without a file)")
    started_at: str
    ended_at: str
    duration_s: float
    run_id: str


class GapsResponse(BaseModel):
    day: str
    items: list[GapOut]
