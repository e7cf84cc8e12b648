"""``/docs``: Swagger UI from the ``swagger-ui-py`` package's files, served by the app (no CDN).

FastAPI's own ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from jsdelivr and Google Fonts, so offline they are
blank pages. Here the same Swagger UI page takes its script and style from ``/static/vendor/swagger-ui/``;
``/redoc`` sends you to ``/docs``; ``/favicon.ico`` is Swagger UI's icon (every page asked for one).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from sightings.api.static_files import vendor_package

__all__ = ["mount", "swagger_ui_dir"]

_PREFIX = "/static/vendor/swagger-ui"
_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
    "LICENSE": "text/plain",
}

router = APIRouter(include_in_schema=False)


def swagger_ui_dir() -> Path:
    """Swagger UI's files as the ``swagger-ui-py`` package installed them."""
    swagger_ui = vendor_package(
        "swagger_ui", needed_for="the API reference page needs Swagger UI", install="swagger-ui-py"
    )
    return Path(str(swagger_ui.__file__)).parent / "static"


@router.get("/docs")
def docs() -> HTMLResponse:
    """The API reference (OpenAPI from ``/openapi.json``)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="sightings — API reference",
        swagger_js_url=f"{_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{_PREFIX}/favicon-32x32.png",
    )


@router.get("/redoc")
def redoc() -> RedirectResponse:
    return RedirectResponse("/docs")


@router.get(_PREFIX + "/{name}")
def swagger_file(name: str) -> FileResponse:
    if name not in _FILES:  # a fixed list: nothing else in the package folder is served
        raise HTTPException(404, "no such file")
    return FileResponse(swagger_ui_dir() / name, media_type=_FILES[name], headers={"Cache-Control": "max-age=86400"})


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(swagger_ui_dir() / "favicon-32x32.png", media_type="image/png")


def mount(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and the files they need to ``app`` (created with ``docs_url=None, redoc_url=None``)."""
    app.include_router(router)
