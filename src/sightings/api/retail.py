"""Retail dashboard: JSON endpoints (``/v1/retail/...``) over the warehouse and the ``/retail`` page.

The warehouse is the one ``sightings retail run`` writes: the retail config named by ``SIGHTINGS_RETAIL_CONFIG``
(its ``warehouse`` section), else chDB in ``<data_dir>/warehouse``. chDB lets one process hold a folder, so the
API opens it per request and closes it after, and a ``retail run`` in another process can write in between; with
a ClickHouse server (``warehouse: {kind: clickhouse, url: …}``) there is no such limit. Tests (and embedders) can
set ``app.state.retail_warehouse`` to an open warehouse instead. Days are UTC days.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from sightings.api.outages import HeldReadsRoute
from sightings.api.retail_schemas import (
    AlertOut,
    AlertsResponse,
    DayOut,
    DaysResponse,
    FiltersResponse,
    GapOut,
    GapsResponse,
    HourOut,
    HoursResponse,
    InteractionOut,
    InteractionsResponse,
    SellerOut,
    SellersResponse,
)
from sightings.api.static_files import add_static_route

__all__ = ["mount"]

router = APIRouter(prefix="/v1/retail", tags=["retail"], route_class=HeldReadsRoute)
pages = APIRouter(include_in_schema=False)
CONFIG_ENV = "SIGHTINGS_RETAIL_CONFIG"


def get_warehouse(request: Request) -> Iterator[Any]:
    """The app's retail warehouse: ``app.state.retail_warehouse`` if set, else opened for this request."""
    given = getattr(request.app.state, "retail_warehouse", None)
    if given is not None:
        yield given
        return
    from sightings.solutions.retail.config import load_retail_config
    from sightings.solutions.retail.pipeline import open_warehouse

    config_path = os.environ.get(CONFIG_ENV)
    config = load_retail_config(Path(config_path) if config_path else None)
    with open_warehouse(config) as wh:
        yield wh


Warehouse = Annotated[Any, Depends(get_warehouse)]
Day = Annotated[date, Query(description="UTC day, YYYY-MM-DD")]
Store = Annotated[str | None, Query(description="only this store")]
Camera = Annotated[str | None, Query(description="only this camera")]


@router.get("/filters", response_model=FiltersResponse)
def filters(wh: Warehouse, store: Store = None) -> FiltersResponse:
    """Stores and cameras with data (with ``store``: that store's cameras)."""
    from sightings.solutions.retail.reports import read_filters

    return FiltersResponse(**read_filters(wh, store=store))


@router.get("/days", response_model=DaysResponse)
def days(wh: Warehouse, store: Store = None) -> DaysResponse:
    """Days with processed video, newest first."""
    from sightings.solutions.retail.reports import list_days

    return DaysResponse(days=[DayOut(**d) for d in list_days(wh, store=store)])


@router.get("/sellers", response_model=SellersResponse)
def sellers(wh: Warehouse, day: Day, store: Store = None, camera: Camera = None) -> SellersResponse:
    """Per-seller metrics of a day and the store's totals (ratios derived from sums)."""
    from sightings.solutions.retail.reports import read_report

    report = read_report(wh, day=day, store=store, camera=camera)
    keys = set(SellerOut.model_fields) - {"seller_id"}
    rows = [
        SellerOut(seller_id=sid, **{k: v for k, v in values.items() if k in keys})
        for sid, values in sorted(report["sellers"].items())
    ]
    return SellersResponse(
        day=report["day"],
        store=store,
        runs=report["runs"],
        gaps=report["gaps"]["count"],
        gap_seconds=report["gaps"]["seconds"],
        alerts=report["alerts"],
        store_totals=report["store_totals"],
        sellers=rows,
    )


@router.get("/hours", response_model=HoursResponse)
def hours(
    wh: Warehouse,
    *,
    day: Day,
    store: Store = None,
    camera: Camera = None,
    seller: Annotated[str, Query(description="seller id; empty = the whole store")] = "",
) -> HoursResponse:
    """Per-UTC-hour chart data of a day (all 24 hours) for the store or one seller."""
    from sightings.solutions.retail.reports import read_hourly

    rows = read_hourly(wh, day=day, store=store, camera=camera, seller=seller)
    return HoursResponse(day=day.isoformat(), seller=seller, hours=[HourOut(**r) for r in rows])


@router.get("/interactions", response_model=InteractionsResponse)
def interactions(
    wh: Warehouse,
    *,
    day: Day,
    store: Store = None,
    camera: Camera = None,
    seller: Annotated[str | None, Query(description="only this seller")] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="at most this many")] = 500,
) -> InteractionsResponse:
    """Interaction episodes of a day, in time order."""
    from sightings.solutions.retail.reports import read_interactions

    rows = read_interactions(wh, day=day, store=store, camera=camera, seller=seller, limit=limit)
    return InteractionsResponse(day=day.isoformat(), items=[InteractionOut(**r) for r in rows])


@router.get("/alerts", response_model=AlertsResponse)
def alerts(wh: Warehouse, day: Day, store: Store = None, camera: Camera = None) -> AlertsResponse:
    """Camera health and drift alerts of a day."""
    from sightings.solutions.retail.reports import read_alerts

    rows = read_alerts(wh, day=day, store=store, camera=camera)
    return AlertsResponse(day=day.isoformat(), items=[AlertOut(**r) for r in rows])


@router.get("/gaps", response_model=GapsResponse)
def gaps(wh: Warehouse, day: Day, store: Store = None, camera: Camera = None) -> GapsResponse:
    """Recording gaps of a day."""
    from sightings.solutions.retail.reports import read_gaps

    rows = read_gaps(wh, day=day, store=store, camera=camera)
    return GapsResponse(day=day.isoformat(), items=[GapOut(**r) for r in rows])


def page_strings(t: Any) -> dict[str, Any]:
    """The sentences and KPI labels ``retail.js`` writes at run time, in the page's language ({name} fields filled
    there); the KPI keys (``data-kpi``) stay English."""
    kpis = [
        ("customers", t.gettext("customers")),
        ("served customers", t.gettext("served customers")),
        ("interaction ratio", t.gettext("interaction ratio")),
        ("interactions", t.gettext("interactions")),
        ("success rate", t.gettext("success rate")),
        ("avg interaction", t.gettext("avg interaction")),
        ("revenue", t.gettext("revenue")),
        ("avg purchase, consulted", t.gettext("avg purchase, consulted")),
        ("avg purchase, not consulted", t.gettext("avg purchase, not consulted")),
        ("videos · gaps · alerts", t.gettext("videos · gaps · alerts")),
    ]
    return {
        "kpis": dict(kpis),
        "no_sellers": t.gettext("no sellers found for this day"),
        "no_alerts": t.gettext("no alerts — cameras look healthy"),
        "no_interactions": t.gettext("no interactions"),
        "bought": t.gettext("yes {amount}"),
        "not_bought": t.gettext("no"),
        "no_video": t.gettext("No processed video yet: run `sightings retail run` first."),
        "loading": t.gettext("loading…"),
        "day_status": t.gettext("{day}: videos {runs}, sellers {sellers}, interactions {interactions}"),
        "could_not_load": t.gettext("could not load: {error}"),
        "day_option": t.gettext("{day} (videos: {runs})"),
    }


@pages.get("/retail", response_class=HTMLResponse)
def retail_page(request: Request, lang: Annotated[str | None, Query(max_length=16)] = None) -> HTMLResponse:
    """The dashboard in English, or another catalogue language by ``?lang=`` / Accept-Language."""
    from sightings.api.app import TEMPLATES
    from sightings.api.page_i18n import page_translator

    t = page_translator(request, lang, default="en")
    context = {"_": t.gettext, "lang": t.language, "strings": page_strings(t)}
    return TEMPLATES.TemplateResponse(request, "retail.html", context)


add_static_route(pages, "/retail/static", ["retail.js", "retail.css"])


def mount(app: FastAPI) -> None:
    """Add the retail dashboard API and page to ``app``."""
    app.include_router(router)
    app.include_router(pages)
