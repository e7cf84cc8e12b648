"""The FastAPI application: health, OpenAPI docs, home page, and one router per solution."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from sightings import __version__
from sightings.core.config import Settings, get_settings
from sightings.core.errors import SightingsError

__all__ = ["HealthResponse", "create_app"]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class HealthResponse(BaseModel):
    """Answer of ``GET /health``."""

    status: str = Field(description="'ok' when the service is up")
    version: str = Field(description="sightings version")
    models_dir: str = Field(description="models directory in use")
    models_installed: list[str] = Field(description="names of installed models")


class ErrorResponse(BaseModel):
    """Body of every 4xx/5xx answer raised by the project."""

    error: str = Field(description="one line: what went wrong and where")
    type: str = Field(description="error class, e.g. InputError")


log = logging.getLogger(__name__)

AppHook = Callable[[FastAPI], None]


def on_start(app: FastAPI, hook: AppHook) -> None:
    """Run ``hook(app)`` when the server starts, on a thread of its own (slow set-up, e.g. starting worker
    processes, must not hold the server back from answering /health)."""
    app.state.start_hooks.append(hook)


def on_stop(app: FastAPI, hook: AppHook) -> None:
    """Run ``hook(app)`` when the server stops (after the last request)."""
    app.state.stop_hooks.append(hook)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    for hook in app.state.start_hooks:
        threading.Thread(target=_run_hook, args=(hook, app), name=f"start-{hook.__name__}", daemon=True).start()
    yield
    for hook in app.state.stop_hooks:
        _run_hook(hook, app)


def _run_hook(hook: AppHook, app: FastAPI) -> None:
    try:
        hook(app)
    except Exception as err:  # a failed warm-up or clean-up is logged; requests then do the work or say why
        log.warning("%s: %s", hook.__name__, err)


def _validation_line(error: Mapping[str, Any]) -> str:
    """One of FastAPI's validation errors as ``where: reason``; an error of the whole body (empty, not an object,
    not JSON) is said to be in the request body, and invalid JSON says where and why."""
    loc = tuple(error.get("loc", ()))
    reason = str(error.get("msg", "invalid request")).removeprefix("Value error, ")  # our validators' own words
    if error.get("type") == "json_invalid":  # loc is ("body", character offset)
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        why = (error.get("ctx") or {}).get("error")
        reason = f"not valid JSON{at}" + (f": {why}" if why else "")
        loc = loc[:1]
    where = ".".join(str(p) for p in loc if p not in ("body", "query", "path", "header", "form"))
    if not where and loc[:1] == ("body",):
        where = "request body"
    return f"{where}: {reason}" if where else reason


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app (uvicorn calls this as a factory).

    The server's parallelism is its concurrent requests, so OpenBLAS and OpenCV calls run on one thread each in
    this process (:func:`sightings.core.threads.single_threaded_kernels`), and the allocator keeps the working
    buffers of one request for the next (:func:`sightings.core.memory.keep_freed_memory`); both are measured in
    docs/wildlife.md.
    """
    from sightings.core.memory import keep_freed_memory
    from sightings.core.threads import single_threaded_kernels

    single_threaded_kernels()
    keep_freed_memory()
    settings = settings or get_settings()
    app = FastAPI(
        title="sightings",
        version=__version__,
        description="Photos and video → sightings → identities, matches, events, metrics and features.",
        lifespan=_lifespan,
        docs_url=None,  # FastAPI's pages load from a CDN: sightings.api.docs_page serves them offline
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.start_hooks = []
    app.state.stop_hooks = []
    from sightings.api.limits import install_security

    install_security(app)

    @app.exception_handler(SightingsError)
    async def _sightings_error(_: Request, exc: SightingsError) -> JSONResponse:
        body = ErrorResponse(error=str(exc), type=type(exc).__name__)
        return JSONResponse(status_code=exc.http_status, content=body.model_dump())

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's own checks (a missing form field, a number out of range) in the same shape as ours, one line
        in ``error``; FastAPI's list stays in ``detail`` for clients that read it."""
        errors = exc.errors()
        message = _validation_line(errors[0] if errors else {})
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # FastAPI's list without the inputs it quotes: a NaN or a huge body in there would break the reply itself
        detail = [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in errors]
        content = {"error": message + more, "type": "RequestValidationError", "detail": jsonable_encoder(detail)}
        return JSONResponse(status_code=422, content=content)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Errors raised as HTTP exceptions (a missing API key, an unknown route) in the same shape too."""
        content = {"error": str(exc.detail), "type": "HTTPException", "detail": exc.detail}
        return JSONResponse(status_code=exc.status_code, content=content, headers=getattr(exc, "headers", None))

    @app.get("/health", response_model=HealthResponse, tags=["service"])
    def health() -> HealthResponse:
        """Liveness and what the service sees (version, models)."""
        from sightings.models.store import ModelStore

        try:
            installed = [m.name for m in ModelStore(settings.models_path).list()]
        except SightingsError:
            installed = []
        return HealthResponse(
            status="ok", version=__version__, models_dir=str(settings.models_path), models_installed=installed
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        # from the OpenAPI document: included routers are not flat in app.routes with every FastAPI version
        endpoints = {
            (path, ", ".join(sorted({t for op in item.values() if isinstance(op, dict) for t in op.get("tags", [])})))
            for path, item in app.openapi().get("paths", {}).items()
        }
        return TEMPLATES.TemplateResponse(
            request, "home.html", {"version": __version__, "endpoints": sorted(e for e in endpoints if e[1])}
        )

    from sightings.api.docs_page import mount as mount_docs

    mount_docs(app)
    from sightings.api.wildlife import mount as mount_wildlife

    mount_wildlife(app)
    from sightings.api.pets import mount as mount_pets

    mount_pets(app)
    from sightings.api.popularity import mount as mount_popularity

    mount_popularity(app)
    from sightings.api.retail import mount as mount_retail

    mount_retail(app)
    return app
