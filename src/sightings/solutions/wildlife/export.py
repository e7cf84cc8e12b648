"""Exports of the predictions: a plain CSV, and a Darwin Core occurrence CSV for GBIF/OBIS.

Darwin Core (https://dwc.tdwg.org/terms/): one row per prediction that names an individual — accepted by the model
(``basisOfRecord=MachineObservation``) or set by a reviewer (``HumanObservation``, the reviewer in
``identifiedBy``). Rejected photos and "new individual?" answers without review are left out; rows a reviewer
rejected too. Coordinates are WGS84 decimal degrees (``geodeticDatum``), times ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from sightings.solutions.wildlife.store import PredictionRecord, ReviewRecord, SpeciesRecord

__all__ = ["CSV_COLUMNS", "DWC_COLUMNS", "dwc_rows", "predictions_csv", "to_csv"]

CSV_COLUMNS = (
    "prediction_id",
    "created_at",
    "species",
    "status",
    "reason",
    "individual_id",
    "best_candidate",
    "confidence",
    "event_time",
    "lat",
    "lon",
    "filename",
    "source",
    "review_decision",
    "reviewed_individual_id",
    "reviewer",
)
DWC_COLUMNS = (
    "occurrenceID",
    "basisOfRecord",
    "eventDate",
    "scientificName",
    "vernacularName",
    "organismID",
    "individualCount",
    "decimalLatitude",
    "decimalLongitude",
    "geodeticDatum",
    "associatedMedia",
    "identifiedBy",
    "dateIdentified",
    "identificationRemarks",
    "occurrenceRemarks",
)


def _iso(value: Any) -> str:
    return "" if value is None else value.isoformat().replace("+00:00", "Z")


def to_csv(columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as CSV text (header first; missing keys empty)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def predictions_csv(predictions: Iterable[PredictionRecord], reviews: Mapping[str, ReviewRecord]) -> str:
    """Every prediction with its latest review."""
    rows = []
    for p in predictions:
        r = reviews.get(p.id)
        rows.append(
            {
                "prediction_id": p.id,
                "created_at": _iso(p.created_at),
                "species": p.species,
                "status": p.status,
                "reason": p.reason,
                "individual_id": p.individual_id,
                "best_candidate": p.best_candidate,
                "confidence": p.confidence,
                "event_time": _iso(p.event_time),
                "lat": p.lat,
                "lon": p.lon,
                "filename": p.filename,
                "source": p.source,
                "review_decision": r.decision if r else None,
                "reviewed_individual_id": r.individual_id if r else None,
                "reviewer": r.reviewer if r else None,
            }
        )
    return to_csv(CSV_COLUMNS, rows)


def dwc_rows(
    predictions: Iterable[PredictionRecord],
    reviews: Mapping[str, ReviewRecord],
    species: Mapping[str, SpeciesRecord],
    *,
    media_base_url: str = "",
) -> list[dict[str, Any]]:
    """Darwin Core occurrence rows (see the module docs)."""
    rows = []
    for p in predictions:
        review = reviews.get(p.id)
        if review is not None:
            if review.decision == "reject" or review.individual_id is None:
                continue
            organism, basis = review.individual_id, "HumanObservation"
            identified_by, identified = review.reviewer or "reviewer", review.created_at
            said = p.individual_id or (f"rejected: {p.reason}" if p.status == "rejected" else "unknown")
            remarks = f"{review.decision} of a sightings prediction (model said {said})"
        elif p.status == "accepted" and p.individual_id:
            organism, basis = p.individual_id, "MachineObservation"
            identified_by, identified = "sightings photo-ID", p.created_at
            remarks = f"calibrated confidence {p.confidence:.3f}" if p.confidence is not None else ""
        else:
            continue
        sp = species.get(p.species)
        has_place = p.lat is not None and p.lon is not None
        rows.append(
            {
                "occurrenceID": f"urn:sightings:prediction:{p.id}",
                "basisOfRecord": basis,
                "eventDate": _iso(p.event_time or p.created_at),
                "scientificName": (sp.scientific_name if sp and sp.scientific_name else p.species),
                "vernacularName": (sp.vernacular_name if sp and sp.vernacular_name else p.species),
                "organismID": organism,
                "individualCount": 1,
                "decimalLatitude": p.lat if has_place else None,
                "decimalLongitude": p.lon if has_place else None,
                "geodeticDatum": "WGS84" if has_place else None,
                "associatedMedia": f"{media_base_url.rstrip('/')}/v1/predictions/{p.id}/photo"
                if media_base_url
                else (p.filename or p.media_uri),
                "identifiedBy": identified_by,
                "dateIdentified": _iso(identified),
                "identificationRemarks": remarks,
                "occurrenceRemarks": p.filename,
            }
        )
    return rows
