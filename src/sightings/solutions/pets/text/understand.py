"""One call that reads a pets post: its kind and fields from the text and, where the text lacks them, its posters.

    facts = understand_post(text, posters=[bgr], posted_at=post_time)   -> PostFacts

The text decides first. A field the text does not give (species, city, district, street) is taken from the
posters' OCR text with source "ocr"; phones and dates from the posters are added to the text's (no repeats).
The kind comes from the posters only when the text's answer is weak (confidence < 0.6, e.g. a photo posted with
"репост!" or nothing): then the stronger of the two wins.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError
from sightings.solutions.pets.text.dates import extract_dates
from sightings.solutions.pets.text.facts import Extracted, PostFacts
from sightings.solutions.pets.text.gazetteer import Gazetteer
from sightings.solutions.pets.text.kind_model import default_model
from sightings.solutions.pets.text.phones import extract_phones
from sightings.solutions.pets.text.places import extract_places
from sightings.solutions.pets.text.species import extract_species

__all__ = ["WEAK_KIND", "understand_post"]

WEAK_KIND = 0.6


def _merge(first: tuple[Extracted[object], ...], extra: tuple[Extracted[object], ...]) -> tuple[Extracted[object], ...]:
    seen = {x.value for x in first}
    return first + tuple(x for x in extra if x.value not in seen)


def understand_post(
    text: str,
    posters: Sequence[npt.NDArray[np.uint8]] = (),
    *,
    posted_at: datetime.datetime | None = None,
    gazetteer: Gazetteer | None = None,
    ocr: bool = True,
) -> PostFacts:
    """Kind, species, place, phones and dates of a post (text + optional BGR poster images)."""
    if not isinstance(text, str):
        raise InputError(f"expected the post text as str, got {type(text).__name__}", where="post.text")
    if posted_at is not None and posted_at.tzinfo is None:
        raise InputError("must be timezone-aware (UTC)", where="post.posted_at")
    if isinstance(posters, np.ndarray):
        raise InputError("give a sequence of images, not one array", where="post.posters")
    gaz = gazetteer if gazetteer is not None else Gazetteer.load_default()
    ocr_text = ""
    if ocr and posters:
        from sightings.solutions.pets.text.poster_ocr import read_poster

        ocr_text = "\n".join(t for t in (read_poster(image) for image in posters) if t)
    model = default_model()
    kind = model.classify(text)
    species = extract_species(text)
    places = extract_places(text, gaz)
    city, district, street = places.city, places.district, places.street
    phones: tuple[Extracted[str], ...] = extract_phones(text)
    dates: tuple[Extracted[datetime.date], ...] = extract_dates(text, posted_at=posted_at)
    if ocr_text:
        if kind.confidence < WEAK_KIND:
            from_poster = model.classify(ocr_text, source="ocr")
            kind = from_poster if from_poster.confidence > kind.confidence else kind
        species = species or extract_species(ocr_text, source="ocr")
        if city is None or district is None or street is None:
            seen = extract_places(ocr_text, gaz, source="ocr")
            city, district, street = city or seen.city, district or seen.district, street or seen.street
        phones = _merge(phones, extract_phones(ocr_text, source="ocr"))  # type: ignore[assignment,arg-type]
        dates = _merge(dates, extract_dates(ocr_text, posted_at=posted_at, source="ocr"))  # type: ignore[assignment,arg-type]
    return PostFacts(kind, species, city, district, street, phones, dates, ocr_text)
