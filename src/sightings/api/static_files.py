"""The pages' own script and style files, served by the app (no CDN): one route per page, a fixed list of names;
and the third-party files the pages use, from the PyPI packages that ship them (:func:`vendor_package`).

add_static_route(pages, "/wildlife/static", ["wildlife.js", "wildlife.css"])
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from sightings.core.errors import BackendUnavailableError

__all__ = ["STATIC_DIR", "add_static_route", "vendor_package"]

STATIC_DIR = Path(__file__).parent / "static"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


def add_static_route(router: APIRouter, prefix: str, names: Iterable[str]) -> None:
    """``GET {prefix}/{name}`` for exactly ``names`` (files in ``api/static``); any other name is a 404."""
    allowed = frozenset(names)
    unknown = [n for n in allowed if Path(n).suffix not in MEDIA_TYPES]
    if unknown:
        raise ValueError(f"no media type for {unknown}")

    def static_file(name: str) -> Response:
        if name not in allowed:
            raise HTTPException(404, "no such file")
        return Response((STATIC_DIR / name).read_text(encoding="utf-8"), media_type=MEDIA_TYPES[Path(name).suffix])

    router.add_api_route(f"{prefix}/{{name}}", static_file, methods=["GET"], include_in_schema=False)


def vendor_package(module: str, *, needed_for: str, install: str) -> ModuleType:
    """The installed package whose files a page serves (Leaflet, Swagger UI), or a BackendUnavailableError saying
    what needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailableError(needed_for, where=module, hint=f"pip install {install}") from exc
