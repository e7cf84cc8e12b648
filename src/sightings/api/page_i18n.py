"""The language of a web page: ``?lang=`` first, then the browser's ``Accept-Language``, then the page's default
(Russian for the pets pages, English for the others — docs/i18n.md)."""

from __future__ import annotations

from fastapi import Request

from sightings.i18n import Translator, negotiate, translator

__all__ = ["page_translator"]


def page_translator(request: Request, lang: str | None, *, default: str) -> Translator:
    """The :class:`~sightings.i18n.Translator` for this request's page."""
    return translator(negotiate(lang if lang else request.headers.get("accept-language"), default=default))
