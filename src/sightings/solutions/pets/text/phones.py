"""Phone numbers in Russian posts (8-9xx, +7, spaced, dashed, bracketed) as E.164, with ``phonenumbers``."""

from __future__ import annotations

import re

from sightings.core.errors import BackendUnavailableError
from sightings.solutions.pets.text.facts import Extracted

__all__ = ["extract_phones", "fix_ocr_digits"]

_OCR_RUN = re.compile(r"[+\d(][\d\s()\-–OoОоЗзбlI|]{8,}[\dOoОоЗзбlI|]")
_OCR_DIGITS = str.maketrans(
    {"O": "0", "o": "0", "О": "0", "о": "0", "З": "3", "з": "3", "б": "6", "l": "1", "I": "1", "|": "1", "–": "-"}
)


def fix_ocr_digits(text: str) -> str:
    """Letters OCR reads in place of digits (О→0, З→3, б→6, l→1) inside runs that look like phone numbers."""

    def fix(m: re.Match[str]) -> str:
        run = m.group()
        digits = sum(ch.isdigit() for ch in run)
        return run.translate(_OCR_DIGITS) if digits >= 7 else run

    return _OCR_RUN.sub(fix, text)


def extract_phones(text: str, *, source: str = "text", region: str = "RU") -> tuple[Extracted[str], ...]:
    """Valid numbers at 0.95 (0.85 from OCR), possible 10-digit ones at 0.5; in text order, no repeats."""
    try:
        import phonenumbers
    except ImportError as exc:
        raise BackendUnavailableError(
            "phone extraction needs the phonenumbers package", where="pets.text", hint="pip install 'sightings[pets]'"
        ) from exc
    if source == "ocr":
        text = fix_ocr_digits(text)
    found: dict[str, Extracted[str]] = {}
    valid_conf = 0.85 if source == "ocr" else 0.95
    for leniency, conf in ((phonenumbers.Leniency.VALID, valid_conf), (phonenumbers.Leniency.POSSIBLE, 0.5)):
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if conf < valid_conf and len(str(match.number.national_number)) != 10:
                continue  # a merely "possible" match of odd length is usually digits run together
            if e164 not in found:
                found[e164] = Extracted(e164, conf, source, match.raw_string)
    order = {e: text.find(x.span) for e, x in found.items()}
    return tuple(sorted(found.values(), key=lambda x: order[x.value]))
