"""Message catalogues: every user-facing string of the bots and web pages goes through here.

    from sightings.i18n import translator
    t = translator("ru")
    t.gettext("No match yet. We will write when one appears.")
    t.ngettext("{n} possible match", "{n} possible matches", 3).format(n=3)

The catalogues are gettext ``.po`` files, ``i18n/locales/<lang>/LC_MESSAGES/sightings.po``, read with Babel at first
use (no compile step, so an edited ``.po`` works straight away). Message ids are the English text: English needs no
translation, and a message missing from a catalogue falls back to its English id. ``make i18n`` re-extracts the ids
from the code (``pybabel extract`` over ``babel.cfg``) and merges them into every catalogue; the test suite fails when
a marked string has no Russian translation (:func:`untranslated`).

Languages are chosen per user (Telegram's ``language_code``, the browser's ``Accept-Language``) with
:func:`negotiate`; the pets solution defaults to Russian, everything else to English.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sightings.core.errors import ConfigError

if TYPE_CHECKING:
    from babel.support import Translations

__all__ = [
    "DOMAIN",
    "LOCALES_DIR",
    "N_",
    "Translator",
    "available_languages",
    "extract_messages",
    "negotiate",
    "translator",
    "untranslated",
]

DOMAIN = "sightings"
LOCALES_DIR = Path(__file__).parent / "locales"
_LOCK = threading.Lock()


def N_(message: str) -> str:  # noqa: N802  # the gettext convention's name, which extraction looks for
    """Mark ``message`` for the catalogues without translating it here: a template kept in a table and translated
    where it is shown (``t.gettext(template).format(...)``)."""
    return message


def available_languages() -> tuple[str, ...]:
    """Languages that have a catalogue (``en`` is always there: ids are English)."""
    found = {p.parent.parent.name for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {"en"}))


def negotiate(preferred: str | Iterable[str] | None, default: str) -> str:
    """The best available language for ``preferred`` (``"ru-RU"``, an ``Accept-Language`` header, a list).

    ``default`` when none of them has a catalogue.
    """
    if preferred is None:
        return default
    if isinstance(preferred, str):
        # "ru-RU,ru;q=0.9,en;q=0.8" → ["ru-RU", "ru", "en"] in order of appearance (q-values are usually descending)
        preferred = [part.split(";")[0].strip() for part in preferred.split(",")]
    languages = available_languages()
    for tag in preferred:
        base = tag.replace("_", "-").split("-")[0].lower()
        if base in languages:
            return base
    return default


@dataclass(frozen=True, slots=True)
class Translator:
    """The strings of one language; ``gettext`` and ``ngettext`` as in the standard library."""

    language: str
    translations: Translations

    def gettext(self, message: str) -> str:
        """``message`` in this language (the English id when it has no translation)."""
        return str(self.translations.gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural form for ``n`` (Russian has three: 1 совпадение, 2 совпадения, 5 совпадений)."""
        return str(self.translations.ngettext(singular, plural, n))


def _catalogue_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=16)
def _load(language: str) -> Translations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import PoFileError, read_po
    from babel.support import NullTranslations, Translations

    path = _catalogue_path(language)
    if not path.is_file():
        return NullTranslations()  # type: ignore[return-value]  # English ids, no catalogue needed
    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=language, domain=DOMAIN, abort_invalid=True)
    except (PoFileError, ValueError) as exc:
        raise ConfigError(f"message catalogue is not valid: {exc}", where=str(path)) from exc
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # the in-memory .mo gives gettext's plural rules for the language
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def translator(language: str) -> Translator:
    """A :class:`Translator` for ``language`` (``ru``, ``en``, ``ru-RU`` …); unknown languages get English."""
    base = language.replace("_", "-").split("-")[0].lower() or "en"
    if base not in available_languages():
        base = "en"
    with _LOCK:
        return Translator(base, _load(base))


def extract_messages(root: Path | None = None) -> dict[str, str | tuple[str, str]]:
    """Every marked message id in the code and templates under ``root`` → its (singular, plural) or text.

    The same extraction ``pybabel extract -F babel.cfg`` runs (keywords ``gettext``, ``ngettext``, ``_``, ``N_``).
    """
    from babel.messages.extract import extract_from_dir

    root = root or Path(__file__).resolve().parents[1]
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found: dict[str, str | tuple[str, str]] = {}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(str(root), method_map):
        if isinstance(message, tuple):
            singular, plural = str(message[0]), str(message[1])
            found[singular] = (singular, plural)
        else:
            found[str(message)] = str(message)
    return found


def untranslated(language: str, root: Path | None = None) -> list[str]:
    """Marked message ids with no translation in ``language``'s catalogue (an empty list when complete)."""
    from babel.messages.pofile import read_po

    path = _catalogue_path(language)
    if not path.is_file():
        raise ConfigError(f"no message catalogue for language {language!r}", where=str(path))
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language, domain=DOMAIN)
    missing: list[str] = []
    for msgid in sorted(extract_messages(root)):
        entry = catalog.get(msgid)
        strings = entry.string if entry is not None else ""
        complete = bool(strings) and (all(strings) if isinstance(strings, tuple | list) else True)
        if not complete or (entry is not None and entry.fuzzy):
            missing.append(msgid)
    return missing
