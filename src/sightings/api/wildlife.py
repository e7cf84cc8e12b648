"""Wildlife photo-ID endpoints (``/v1``) and the ``/wildlife`` page.

Write endpoints (``POST /v1/individuals``, ``POST /v1/review``) need an ``X-API-Key`` header holding one of
``wildlife.api_keys`` (``SIGHTINGS_WILDLIFE__API_KEYS='["key"]'``); with no key configured they are refused.
Predict endpoints need one too when ``wildlife.keys_for_predict`` is set. Uploads are limited to
``server.max_upload_bytes`` per request (``wildlife.max_batch_bytes`` for a batch).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import SecretStr

from sightings.api.auth import authenticate, require_role
from sightings.api.outages import HeldReadsRoute, hold_through_outage, retry_backend
from sightings.api.static_files import add_static_route
from sightings.api.uploads import limit_body as _limit_body
from sightings.api.uploads import read_upload as _read_upload
from sightings.api.wildlife_schemas import (
    BatchLine,
    DriftOut,
    DriftStatsResponse,
    GateCheckOut,
    IndividualForm,
    IndividualResponse,
    MatchOut,
    PhotoOut,
    PredictionResponse,
    ReviewRequest,
    ReviewResponse,
)
from sightings.core.config import Settings
from sightings.core.errors import InputError, SightingsError, TooLargeError

__all__ = ["mount"]

log = logging.getLogger(__name__)
_OPENING = threading.Lock()
router = APIRouter(prefix="/v1", tags=["wildlife"], route_class=HeldReadsRoute)
pages = APIRouter(include_in_schema=False)
LEVELS = ("ok", "warn", "alert")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_service(request: Request) -> Any:
    """The app's WildlifeService, opened on first use (so the app starts without the identity extra)."""
    return open_service(request.app)


def open_service(app: FastAPI) -> Any:
    """The app's WildlifeService, opened (and its prediction workers started) by the first caller.

    Opening reads the catalog (the repair on start), so a database that is briefly away is waited out like any
    write (``server.hold_on_outage_s``), then the caller gets the 503."""
    service = getattr(app.state, "wildlife", None)
    if service is not None:
        return service
    budget = float(app.state.settings.server.hold_on_outage_s)
    return retry_backend(lambda: _open(app), budget_s=budget, where="opening the wildlife service")


def _open(app: FastAPI) -> Any:
    state = app.state
    with _OPENING:  # concurrent first requests: one service (two would hold two handles on each gallery)
        service = getattr(state, "wildlife", None)
        if service is not None:
            return service
        from sightings.core.threads import available_cores
        from sightings.solutions.wildlife.service import WildlifeService

        # predictions compute in worker processes (server.compute_processes: one per core by default), or here on
        # at most `cores` threads at once (kernels are single-threaded in the server: create_app)
        settings: Settings = state.settings
        service = WildlifeService(
            settings,
            detector_threads=1,
            max_parallel=available_cores(),
            compute_processes=settings.server.resolved_compute_processes(),
        )
        try:
            _repair(service)
            service.warm()  # the prediction workers load before the first answer, not during it
        except BaseException:
            service.close()
            raise
        state.wildlife = service
        state.wildlife_opened = service  # closed when the server stops (a service set by a caller is not)
        return service


def _start_workers(app: FastAPI) -> None:
    """On server start: open the service now when predictions run in worker processes (they take seconds to load
    their models and galleries); in-process serving still opens on first use."""
    settings: Settings = app.state.settings
    if settings.server.resolved_compute_processes() > 0:
        open_service(app)


def _close(app: FastAPI) -> None:
    """On server stop: stop the prediction workers and close the stores of the service the app opened."""
    service: Any = getattr(app.state, "wildlife_opened", None)
    current: Any = getattr(app.state, "wildlife", None)
    if service is None or current is not service:
        return
    app.state.wildlife = None
    app.state.wildlife_opened = None
    service.close()


def _repair(service: Any) -> None:
    """On start: each species gallery back in step with the catalog (a crash between the two writes)."""
    from sightings.identity.consistency import SpeciesGallery, repair_catalog

    try:
        galleries = {s.name: service.species(s.name) for s in service.store.list_species()}
        repair_catalog(service.catalog, {n: SpeciesGallery(g.matcher, g.media) for n, g in galleries.items()})
    except SightingsError as err:  # a store down now: answers say so; `sightings repair` can be run later
        log.warning("wildlife repair on start failed: %s", err)


def _wildlife_keys(settings: Settings) -> list[SecretStr]:
    return settings.wildlife.api_keys


_ENV = "SIGHTINGS_WILDLIFE__API_KEYS"
#: write endpoints: a stored key of role write/admin, or one of ``wildlife.api_keys`` (a write key)
require_key = require_role("write", legacy=_wildlife_keys, name="wildlife", env=_ENV)


def predict_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Predict endpoints: a valid X-API-Key (any role) only when ``wildlife.keys_for_predict`` is set."""
    settings = _settings(request)
    if settings.wildlife.keys_for_predict:
        authenticate(request, x_api_key, "read", legacy=settings.wildlife.api_keys, legacy_name="wildlife", env=_ENV)


# ---------------------------------------------------------------------- conversions
Lang = Annotated[
    str | None,
    Query(max_length=16, description="language of `message` (ru, en; the page's): default, as stored (English)"),
]


def _translate(lang: str | None) -> Any:
    """The catalogue's gettext for ``lang``, or None to keep each stored sentence as it is."""
    if not lang:
        return None
    from sightings.i18n import translator

    return translator(lang).gettext


def prediction_out(p: Any, translate: Any = None) -> PredictionResponse:
    """The API's view of a stored prediction; ``translate`` (a catalogue's gettext) says its sentence again in that
    language."""
    if translate is not None:
        from sightings.solutions.wildlife.service import prediction_message

        message = prediction_message(p, translate)
    else:
        message = p.message or ""
    matches = [
        MatchOut(
            rank=i,
            individual_id=m["individual_id"],
            confidence=m["confidence"],
            calibrated=m.get("calibrated", False),
            score=m.get("score", 0.0),
            inliers=m.get("inliers", 0),
            embedding_id=m.get("embedding_id"),
            thumbnail_url=f"/v1/gallery/{p.species}/{m['embedding_id']}" if m.get("embedding_id") else None,
            evidence_url=f"/v1/predictions/{p.id}/evidence/{i}" if m.get("embedding_id") else None,
        )
        for i, m in enumerate(p.matches)
    ]
    return PredictionResponse(
        id=p.id,
        species=p.species,
        status=p.status,
        reason=p.reason,
        message=message,
        individual_id=p.individual_id,
        best_candidate=p.best_candidate,
        confidence=p.confidence,
        matches=matches,
        gate=[GateCheckOut(**g) for g in p.gate],
        photo_url=f"/v1/predictions/{p.id}/photo",
        filename=p.filename,
        created_at=p.created_at,
        event_time=p.event_time,
        lat=p.lat,
        lon=p.lon,
    )


def _individual_out(service: Any, individual_id: str, added: dict[str, bool] | None = None) -> IndividualResponse:
    record, sightings = service.individual(individual_id)
    photos = [
        PhotoOut(
            embedding_id=s.embedding_id,
            thumbnail_url=f"/v1/gallery/{record.species}/{s.embedding_id}",
            added=(added or {}).get(s.embedding_id, True),
        )
        for s in sightings
    ]
    return IndividualResponse(
        id=record.id, label=record.label, species=record.species, created_at=record.created_at, photos=photos
    )


# ---------------------------------------------------------------------- individuals
@router.post("/individuals", response_model=IndividualResponse, dependencies=[Depends(require_key)])
def create_individual(
    request: Request,
    form: Annotated[IndividualForm, Form()],
    files: Annotated[list[UploadFile], File(description="one or more photos of the individual")],
) -> IndividualResponse:
    """Enrol an individual (new or existing) from photos; no retraining. All photos are checked first."""
    settings = _settings(request)
    _limit_body(request, settings.wildlife.max_batch_bytes)
    service = get_service(request)
    blobs = [
        (f.filename or f"photo-{i}", _read_upload(f, settings.server.max_upload_bytes, image=True))
        for i, f in enumerate(files)
    ]
    if not blobs:
        raise InputError("send at least one photo", where="files")

    checked = hold_through_outage(  # every photo first (ids, decoding, the quality gate): one bad one refuses all
        lambda: [
            service.check_enrol(data, species=form.species, individual=form.individual_id, where=name)
            for name, data in blobs
        ],
        request,
        where="POST /v1/individuals",
    )
    if form.scientific_name or form.vernacular_name:
        service.add_species(form.species, scientific_name=form.scientific_name, vernacular_name=form.vernacular_name)
    outcomes = [
        hold_through_outage(
            lambda photo=photo: service.enrol_checked(photo, label=form.label),  # type: ignore[misc]
            request,
            where="POST /v1/individuals",
        )
        for photo in checked
    ]
    return _individual_out(service, form.individual_id, {o.embedding_id: o.added for o in outcomes})


@router.get("/individuals/{individual_id}", response_model=IndividualResponse)
def get_individual(request: Request, individual_id: str) -> IndividualResponse:
    """An individual and its enrolled photos (404 when unknown)."""
    return _individual_out(get_service(request), individual_id)


@router.get("/gallery/{species}/{embedding_id}", response_class=FileResponse)
def gallery_photo(request: Request, species: str, embedding_id: str) -> FileResponse:
    """An enrolled photo (thumbnail of a candidate)."""
    from sightings.solutions.wildlife.species import check_name

    index = get_service(request).species(species)
    return FileResponse(index.media_path(check_name(embedding_id, "embedding")), media_type="image/png")


# ---------------------------------------------------------------------- predict
@router.post("/predict-single", response_model=PredictionResponse, dependencies=[Depends(predict_key)])
def predict_single(
    request: Request,
    *,
    file: Annotated[UploadFile, File(description="the photo (JPEG, PNG, WebP, ...)")],
    species: Annotated[str, Form(description="species gallery to search")],
    k: Annotated[int | None, Form(ge=1, le=50, description="candidates to return")] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    lang: Lang = None,
) -> PredictionResponse:
    """Gate, then who is this: top-k individuals with calibrated confidence (stored in the sinks)."""
    settings = _settings(request)
    _limit_body(request, settings.server.max_upload_bytes + 65536)
    data = _read_upload(file, settings.server.max_upload_bytes, image=True)
    service = get_service(request)
    prediction = hold_through_outage(
        lambda: service.predict(data, species=species, k=k, filename=file.filename, lat=lat, lon=lon),
        request,
        where="POST /v1/predict-single",
    )
    return prediction_out(prediction, _translate(lang))


@router.post("/predict-batch", dependencies=[Depends(predict_key)], response_class=StreamingResponse)
def predict_batch(
    request: Request,
    *,
    files: Annotated[list[UploadFile], File(description="photos, or one .zip of photos")],
    species: Annotated[str, Form(description="species gallery to search")],
    k: Annotated[int | None, Form(ge=1, le=50)] = None,
    lang: Lang = None,
) -> StreamingResponse:
    """Many photos (or a zip): one NDJSON line per image as it is done; a bad image (one over
    ``server.max_upload_bytes`` too) fails alone. The whole batch is refused (4xx, nothing stored) when empty, too
    large, or a zip is unsafe."""
    from sightings.solutions.wildlife.intake import BatchItem, check_batch, read_zip

    config = _settings(request).wildlife
    max_image_bytes = _settings(request).server.max_upload_bytes  # per image, as on every upload route
    _limit_body(request, config.max_batch_bytes)
    service = get_service(request)
    service.species(species)  # 404 before anything is read
    items: list[BatchItem] = []
    total = 0
    for upload in files:
        data = upload.file.read(config.max_batch_bytes + 1)
        total += len(data)
        if total > config.max_batch_bytes:
            raise TooLargeError(f"batch over {config.max_batch_bytes} bytes", where="upload")
        name = upload.filename or f"file-{len(items)}"
        if data[:4] == b"PK\x03\x04" or name.lower().endswith(".zip"):
            items += read_zip(data, where=name, max_files=config.max_batch_files, max_bytes=config.max_batch_bytes)
        else:
            items.append(BatchItem(name, data))
    items = check_batch(items, max_files=config.max_batch_files)
    translate = _translate(lang)

    def line(i: int, item: BatchItem) -> str:
        try:
            if len(item.data) > max_image_bytes:
                raise TooLargeError(f"over the upload limit of {max_image_bytes} bytes", where=item.name)
            pred = hold_through_outage(
                lambda: service.predict(item.data, species=species, k=k, filename=item.name, origin="batch"),
                request,
                where="POST /v1/predict-batch",
            )
            out = BatchLine(
                index=i,
                filename=item.name,
                ok=True,
                prediction=prediction_out(pred, translate),
                error=None,
                type=None,
                status_code=None,
            )
        except SightingsError as err:
            out = BatchLine(
                index=i,
                filename=item.name,
                ok=False,
                error=str(err),
                type=type(err).__name__,
                status_code=err.http_status,
            )
        return out.model_dump_json() + "\n"

    def lines() -> Iterator[str]:
        # one prediction per core at a time (kernels are single-threaded when serving); lines in input order
        from concurrent.futures import ThreadPoolExecutor

        from sightings.core.threads import available_cores

        pool = ThreadPoolExecutor(max_workers=available_cores(), thread_name_prefix="wildlife-batch")
        try:
            yield from pool.map(line, range(len(items)), items)
        finally:  # the client went away: drop what has not started
            pool.shutdown(wait=True, cancel_futures=True)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/predictions/{prediction_id}", response_model=PredictionResponse)
def get_prediction(request: Request, prediction_id: str, lang: Lang = None) -> PredictionResponse:
    return prediction_out(get_service(request).store.get_prediction(prediction_id), _translate(lang))


@router.get("/predictions/{prediction_id}/photo", response_class=FileResponse)
def prediction_photo(request: Request, prediction_id: str) -> FileResponse:
    return FileResponse(get_service(request).query_image_path(prediction_id), media_type="image/jpeg")


@router.get("/predictions/{prediction_id}/evidence/{rank}", response_class=Response)
def prediction_evidence(request: Request, prediction_id: str, rank: int) -> Response:
    """Keypoint correspondences between the photo and the rank-th candidate's best gallery photo (PNG)."""
    from sightings.solutions.wildlife.service import WildlifeReports

    png = WildlifeReports(get_service(request)).evidence_png(prediction_id, rank)
    return Response(png, media_type="image/png")


# ---------------------------------------------------------------------- review, drift, export
@router.post("/review", response_model=ReviewResponse, dependencies=[Depends(require_key)])
def review(request: Request, body: ReviewRequest) -> ReviewResponse:
    """A biologist's decision: confirm or correct (the photo is enrolled) or reject; kept in the audit log."""
    service = get_service(request)
    rec = hold_through_outage(
        lambda: service.review(
            body.prediction_id, body.decision, individual=body.individual_id, reviewer=body.reviewer, note=body.note
        ),
        request,
        where="POST /v1/review",
    )
    return ReviewResponse(
        id=rec.id or 0,
        prediction_id=rec.prediction_id,
        decision=rec.decision,
        individual_id=rec.individual_id,
        predicted_id=rec.predicted_id,
        agreed=rec.agreed,
        embedding_id=rec.embedding_id,
        created_at=rec.created_at,
    )


@router.get("/drift-stats", response_model=DriftStatsResponse)
def drift_stats(
    request: Request,
    species: Annotated[str | None, Query(description="one species (default: all)")] = None,
    window: Annotated[int, Query(ge=10, le=10000, description="recent predictions to look at")] = 200,
) -> DriftStatsResponse:
    """Rolling confidence, rejection rate and embedding shift (PSI/KS) vs the calibration baseline."""
    from sightings.solutions.wildlife.service import WildlifeReports

    service = get_service(request)
    names = [species] if species else [s.name for s in service.store.list_species()]
    reports = [DriftOut(**WildlifeReports(service).drift(n, window=window).as_dict()) for n in names]
    worst = max((LEVELS.index(r.level) for r in reports), default=0)
    return DriftStatsResponse(level=("ok", "warn", "alert")[worst], species=reports)


@router.get("/export", response_class=PlainTextResponse)
def export(
    request: Request,
    format: Annotated[str, Query(pattern="^(csv|dwc)$", description="csv (all predictions) or dwc")] = "csv",
    species: str | None = None,
) -> PlainTextResponse:
    """Predictions as CSV, or Darwin Core occurrences (GBIF/OBIS)."""
    from sightings.solutions.wildlife.service import WildlifeReports

    reports = WildlifeReports(get_service(request))
    base = str(request.base_url).rstrip("/")
    text = reports.export_dwc(species, media_base_url=base) if format == "dwc" else reports.export_csv(species)
    return PlainTextResponse(text, media_type="text/csv")


@router.get("/species")
def list_species(request: Request) -> list[dict[str, Any]]:
    """Species with a gallery."""
    return [
        {"name": s.name, "scientific_name": s.scientific_name, "vernacular_name": s.vernacular_name}
        for s in get_service(request).store.list_species()
    ]


# ---------------------------------------------------------------------- page
def page_strings(t: Any) -> dict[str, str]:
    """The sentences ``wildlife.js`` writes at run time, in the page's language ({name} fields filled there)."""
    return {
        "no_species": t.gettext("No species enrolled yet: use `sightings wildlife enrol` first."),
        "confidence": t.gettext("confidence {pct}%"),
        "unreadable": t.gettext("{name}: could not be read"),
        "rejected": t.gettext("Rejected: {reason}"),
        "new_individual": t.gettext("New individual?"),
        "saving": t.gettext("saving…"),
        "not_saved": t.gettext("not saved: {error}"),
        "confirmed": t.gettext("confirmed: {id} (added to the gallery)"),
        "corrected": t.gettext("corrected: {id} (added to the gallery)"),
        "type_id": t.gettext("type the right individual id first"),
        "identifying": t.gettext("identifying {n} photo(s)…"),
        "done": t.gettext("done: {n} result(s)"),
        "failed": t.gettext("failed: {error}"),
        "gallery_photo": t.gettext("gallery photo of {id}"),
        # the gate's reason codes, short, for a rejected photo's title
        "reason_too_small": t.gettext("too small"),
        "reason_too_dark": t.gettext("too dark"),
        "reason_too_bright": t.gettext("too bright"),
        "reason_too_blurry": t.gettext("too blurry"),
        "reason_no_animal": t.gettext("no animal"),
        "reason_out_of_distribution": t.gettext("unlike the gallery"),
        "reason_not_target_species": t.gettext("another species"),
    }


@pages.get("/wildlife", response_class=HTMLResponse)
def wildlife_page(request: Request, lang: Annotated[str | None, Query(max_length=16)] = None) -> HTMLResponse:
    """The page in English, or another catalogue language by ``?lang=`` / Accept-Language."""
    from sightings.api.app import TEMPLATES
    from sightings.api.page_i18n import page_translator

    t = page_translator(request, lang, default="en")
    keys_needed = _settings(request).wildlife.keys_for_predict
    context = {"keys_for_predict": keys_needed, "_": t.gettext, "lang": t.language, "strings": page_strings(t)}
    return TEMPLATES.TemplateResponse(request, "wildlife.html", context)


add_static_route(pages, "/wildlife/static", ["wildlife.js", "wildlife.css"])


def mount(app: FastAPI) -> None:
    """Add the wildlife API and page to ``app``."""
    from sightings.api.app import on_start, on_stop

    app.include_router(router)
    app.include_router(pages)
    on_start(app, _start_workers)
    on_stop(app, _close)
