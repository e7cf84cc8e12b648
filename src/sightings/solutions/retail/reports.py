"""Reading the retail warehouse back: the day report (CLI), alerts, and the dashboard's JSON (API).

Days are UTC days (the warehouse keeps UTC; ``hour`` is the UTC start of an hour). Every function takes optional
``store`` / ``camera`` filters, quoted with :func:`~sightings.analytics.warehouse_base.sql_literal`. Ratios are
derived from sums by :func:`~sightings.solutions.retail.metrics.summarise` — one definition of each everywhere
(interaction_ratio = served customers / the store's customers).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sightings.analytics.warehouse_base import sql_literal
from sightings.core.protocols import Warehouse
from sightings.solutions.retail.metrics import summarise

__all__ = [
    "HOURLY_METRICS",
    "database_of",
    "list_days",
    "read_alerts",
    "read_filters",
    "read_gaps",
    "read_hourly",
    "read_interactions",
    "read_report",
]

HOURLY_METRICS = (
    "customers",
    "served_customers",
    "interactions",
    "successful_interactions",
    "interaction_seconds",
    "purchases",
    "revenue",
)


def database_of(warehouse: Warehouse) -> str:
    """The ClickHouse database the warehouse's tables live in (``sightings`` unless the backend says)."""
    return str(getattr(warehouse, "database", "sightings"))


def _where(column: str, day: date | None, **equals: str | None) -> str:
    parts = [f"toDate({column}) = {sql_literal(day)}"] if day is not None else ["1"]
    parts += [f"{k} = {sql_literal(v)}" for k, v in equals.items() if v is not None]
    return " AND ".join(parts)


def read_report(
    warehouse: Warehouse, *, day: date, store: str | None = None, camera: str | None = None
) -> dict[str, Any]:
    """Day totals per seller (and '' = store) from ``metrics``, with derived ratios; runs, gaps and alerts counted."""
    db = database_of(warehouse)
    rows = warehouse.query(
        f"SELECT seller_id, name, sum(value) AS value FROM {db}.metrics "
        f"WHERE {_where('hour', day, store=store, camera=camera)} GROUP BY seller_id, name"
    )
    runs = warehouse.query(
        f"SELECT count() AS n FROM {db}.runs WHERE {_where('started_at', day, store=store, camera=camera)}"
    )
    gaps = warehouse.query(
        f"SELECT count() AS n, sum(duration_s) AS s FROM {db}.gaps "
        f"WHERE {_where('started_at', day, store=store, camera=camera)}"
    )
    alerts = warehouse.query(
        f"SELECT count() AS n FROM {db}.alerts WHERE {_where('ts', day, store=store, camera=camera)}"
    )
    summary = summarise(rows)
    return {
        "day": day.isoformat(),
        "store": store,
        "runs": int(runs[0]["n"]) if runs else 0,
        "gaps": {"count": int(gaps[0]["n"]) if gaps else 0, "seconds": float(gaps[0]["s"] or 0) if gaps else 0.0},
        "alerts": int(alerts[0]["n"]) if alerts else 0,
        "store_totals": summary.get("", {}),
        "sellers": {k: v for k, v in summary.items() if k},
    }


def list_days(warehouse: Warehouse, *, store: str | None = None) -> list[dict[str, Any]]:
    """Days with processed runs, newest first: runs, cameras (each store's counted apart) and video seconds per
    day."""
    rows = warehouse.query(
        "SELECT toDate(started_at) AS day, count() AS runs, uniqExact(store, camera) AS cameras, "
        "sum(duration_s) AS video_s "
        f"FROM {database_of(warehouse)}.runs WHERE {_where('started_at', None, store=store)} "
        "GROUP BY day ORDER BY day DESC"
    )
    return [
        {"day": r["day"].isoformat(), "runs": int(r["runs"]), "cameras": int(r["cameras"]), "video_s": r["video_s"]}
        for r in rows
    ]


def read_filters(warehouse: Warehouse, *, store: str | None = None) -> dict[str, list[str]]:
    """Stores and cameras present in ``runs`` (for the dashboard's filters); with ``store``, that store's cameras."""
    rows = warehouse.query(f"SELECT DISTINCT store, camera FROM {database_of(warehouse)}.runs ORDER BY store, camera")
    return {
        "stores": sorted({str(r["store"]) for r in rows}),
        "cameras": sorted({str(r["camera"]) for r in rows if store is None or r["store"] == store}),
    }


def read_hourly(
    warehouse: Warehouse, *, day: date, store: str | None = None, camera: str | None = None, seller: str = ""
) -> list[dict[str, Any]]:
    """Per UTC hour of ``day``: the :data:`HOURLY_METRICS` of ``seller`` ('' = the store), hours 0–23 all present."""
    rows = warehouse.query(
        f"SELECT toHour(hour) AS h, name, sum(value) AS value FROM {database_of(warehouse)}.metrics "
        f"WHERE {_where('hour', day, store=store, camera=camera, seller_id=seller)} GROUP BY h, name"
    )
    by_hour: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(HOURLY_METRICS, 0.0))
    for r in rows:
        if r["name"] in HOURLY_METRICS:
            by_hour[int(r["h"])][str(r["name"])] = float(r["value"])
    return [{"hour": h, **by_hour[h]} for h in range(24)]


def read_interactions(
    warehouse: Warehouse,
    *,
    day: date,
    store: str | None = None,
    camera: str | None = None,
    seller: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Interaction episodes of ``day``, in time order (at most ``limit``)."""
    rows = warehouse.query(
        "SELECT store, camera, seller_id, customer_track, started_at, ended_at, duration_s, zone, purchased, amount "
        f"FROM {database_of(warehouse)}.interactions "
        f"WHERE {_where('started_at', day, store=store, camera=camera, seller_id=seller)} "
        f"ORDER BY started_at LIMIT {int(limit)}"
    )
    return [{**r, "started_at": r["started_at"].isoformat(), "ended_at": r["ended_at"].isoformat()} for r in rows]


def read_alerts(
    warehouse: Warehouse, *, day: date, store: str | None = None, camera: str | None = None
) -> list[dict[str, Any]]:
    """Alerts of ``day``, in time order."""
    rows = warehouse.query(
        "SELECT store, camera, ts, kind, severity, value, message, run_id "
        f"FROM {database_of(warehouse)}.alerts WHERE {_where('ts', day, store=store, camera=camera)} ORDER BY ts, kind"
    )
    return [{**r, "ts": r["ts"].isoformat()} for r in rows]


def read_gaps(
    warehouse: Warehouse, *, day: date, store: str | None = None, camera: str | None = None
) -> list[dict[str, Any]]:
    """Recording gaps starting on ``day``, in time order."""
    rows = warehouse.query(
        "SELECT store, camera, kind, started_at, ended_at, duration_s, run_id "
        f"FROM {database_of(warehouse)}.gaps WHERE {_where('started_at', day, store=store, camera=camera)} "
        "ORDER BY started_at"
    )
    return [{**r, "started_at": r["started_at"].isoformat(), "ended_at": r["ended_at"].isoformat()} for r in rows]
