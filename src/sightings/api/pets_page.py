"""The owner's page of a lost pet: ``/pets/lost/{id}`` — a sortable, filterable table of matches and a map.

The page speaks Russian by default (``?lang=en`` or the browser's ``Accept-Language`` for English); every string
comes from the message catalogue. Its data come from ``GET /v1/pets/lost/{id}/matches`` (fetched by
``pets_matches.js``), its map is Leaflet from the ``xstatic-leaflet`` package served by the app at
``/static/vendor/leaflet/`` (no CDN, no vendored copy), its tiles from ``pets.map_tiles_url`` when set — without
them the markers stand on a blank background and the page says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from sightings.api.static_files import add_static_route, vendor_package
from sightings.core.errors import NotFoundError

__all__ = ["leaflet_dir", "mount", "page_strings"]

_VENDOR_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".map": "application/json"}

pages = APIRouter(include_in_schema=False)


def leaflet_dir() -> Path:
    """Leaflet's files as the ``xstatic-leaflet`` package installed them."""
    leaflet = vendor_package("xstatic.pkg.leaflet", needed_for="the map needs Leaflet", install="'sightings[pets]'")
    return Path(leaflet.BASE_DIR)


def page_strings(t: Any) -> dict[str, str]:
    """The strings the page's script shows, in the page's language."""
    return {
        "confidence": t.gettext("Confidence"),
        "seen": t.gettext("Seen"),
        "place": t.gettext("Place"),
        "district": t.gettext("District"),
        "distance": t.gettext("From home"),
        "species": t.gettext("Species"),
        "photo": t.gettext("Photo"),
        "link": t.gettext("Link"),
        "open_post": t.gettext("Open the post"),
        "camera": t.gettext("Street camera"),
        "found_post": t.gettext("Found post"),
        "km": t.gettext("{km} km"),
        "no_matches": t.gettext("No matches yet for these filters."),
        "count": t.gettext("Matches shown: {n}"),
        "loading": t.gettext("Loading matches…"),
        "error": t.gettext("Could not load the matches: {error}"),
        "cat": t.gettext("cat"),
        "dog": t.gettext("dog"),
        "unknown": t.gettext("unknown"),
        "all_districts": t.gettext("all districts"),
        "strong": t.gettext("strong"),
        "good": t.gettext("good"),
        "fair": t.gettext("fair"),
        "weak": t.gettext("weak"),
        "sure": t.gettext("sure match"),
        "home": t.gettext("Where the pet was lost"),
        "show_on_map": t.gettext("Show on the map"),
    }


def _language(request: Request, lang: str | None) -> str:
    from sightings.api.page_i18n import page_translator

    return page_translator(request, lang, default="ru").language


@pages.get("/pets/lost/{post_id}", response_class=HTMLResponse)
def lost_pet_page(
    request: Request,
    post_id: str,
    lang: str | None = Query(None, description="ru | en (default: the browser's language, else Russian)"),
) -> HTMLResponse:
    """The owner's page: the lost pet, its matches (table + map), filters by district, radius and time."""
    from sightings.api.app import TEMPLATES
    from sightings.api.pets import get_service
    from sightings.i18n import translator

    t = translator(_language(request, lang))
    settings = request.app.state.settings
    context: dict[str, Any] = {"_": t.gettext, "lang": t.language, "post_id": post_id}
    try:
        details = get_service(request).get_post(post_id)
        if details.post.kind != "lost":
            raise NotFoundError("not a lost post", where=post_id)
    except NotFoundError:
        return TEMPLATES.TemplateResponse(request, "pets_matches.html", {**context, "missing": True}, status_code=404)
    post = details.post
    photo = next((a.embedding_id for a in details.animals if a.stored), None)
    context.update(
        missing=False,
        post=post,
        species=t.gettext(post.species) if post.species in ("cat", "dog") else None,
        photo_url=f"/v1/pets/photos/{photo}" if photo else None,
        config={
            "postId": post_id,
            "lang": t.language,
            "matchesUrl": f"/v1/pets/lost/{post_id}/matches",
            "home": None if post.lat is None or post.lon is None else [post.lat, post.lon],
            "tilesUrl": settings.pets.map_tiles_url,
            "attribution": settings.pets.map_attribution,
            "strings": page_strings(t),
        },
        other_lang="en" if t.language == "ru" else "ru",
    )
    return TEMPLATES.TemplateResponse(request, "pets_matches.html", context)


add_static_route(pages, "/pets/static", ["pets_matches.js", "pets_matches.css"])


@pages.get("/static/vendor/leaflet/{path:path}")
def leaflet_static(path: str) -> FileResponse:
    """Leaflet (from the xstatic-leaflet package): leaflet.js, leaflet.css, images/..."""
    root = leaflet_dir().resolve()
    file = (root / path).resolve()
    if not file.is_relative_to(root) or not file.is_file() or file.suffix not in _VENDOR_TYPES:
        raise HTTPException(404, "no such file")
    return FileResponse(file, media_type=_VENDOR_TYPES[file.suffix], headers={"Cache-Control": "max-age=86400"})


def mount(app: FastAPI) -> None:
    """Add the owner's page and its assets to ``app``."""
    app.include_router(pages)
