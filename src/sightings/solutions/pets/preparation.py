"""From a :class:`PostDraft` to what the service stores: decoded photos with their hashes, collage tiles, animal
crops, flags, and the post's fields (given ones first, then what the text says).

    prepared = prepare_photos(draft, finder, limits)      # every photo checked before anything is written
    fields = merge_fields(draft, facts, prepared.crops)   # kind, species, place, phones, facts with confidence

A photo that is not an image fails the whole post with an error naming it; more than ``max_photos`` photos is a
:class:`TooLargeError` (HTTP 413). A post without photos is kept and flagged ``no_photo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import TooLargeError
from sightings.solutions.pets.animals import AnimalCrop, AnimalFinder, post_species
from sightings.solutions.pets.posts import KINDS, PostDraft

__all__ = ["PhotoLimits", "PostFields", "PreparedPhoto", "PreparedPost", "merge_fields", "prepare_photos"]

KIND_MIN_CONFIDENCE = 0.5
"""The text's kind is used when the poster gave none and the classifier is at least this sure (else ``other``)."""


@dataclass(frozen=True, slots=True)
class PhotoLimits:
    max_photos: int = 20
    max_side: int = 1024
    max_bytes: int = 50_000_000
    max_pixels: int = 80_000_000
    split_collages: bool = True


@dataclass(frozen=True, slots=True, eq=False)
class PreparedPhoto:
    """One decoded photo: pixels (downscaled to ``max_side``), pHash, size, how many collage tiles it held."""

    index: int
    name: str
    image: npt.NDArray[np.uint8]
    phash: str
    tiles: int

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class PreparedPost:
    photos: tuple[PreparedPhoto, ...]
    crops: tuple[AnimalCrop, ...]
    flags: tuple[str, ...]
    posters: tuple[npt.NDArray[np.uint8], ...]
    """photos where the detector found no animal: likely posters, read by OCR"""


def prepare_photos(draft: PostDraft, finder: AnimalFinder, limits: PhotoLimits) -> PreparedPost:
    """Decode, hash, split collages and find animals in every photo of ``draft``."""
    from sightings.media.hashing import image_hash
    from sightings.media.images import read_image
    from sightings.solutions.pets.collage import split_collage

    if len(draft.photos) > limits.max_photos:
        raise TooLargeError(f"{len(draft.photos)} photos; at most {limits.max_photos} per post", where="photos")
    decoded = [
        read_image(
            source,
            max_bytes=limits.max_bytes,
            max_pixels=limits.max_pixels,
            max_side=limits.max_side,
            where=name,
        ).image
        for source, name in zip(draft.photos, draft.photo_names, strict=True)
    ]  # all photos decoded first: one bad file refuses the post before any work or write
    photos: list[PreparedPhoto] = []
    crops: list[AnimalCrop] = []
    posters: list[npt.NDArray[np.uint8]] = []
    collage = False
    for index, (image, name) in enumerate(zip(decoded, draft.photo_names, strict=True)):
        split = split_collage(image) if limits.split_collages else None
        tiles = [t.image for t in split.tiles] if split is not None else [image]
        collage = collage or len(tiles) > 1
        found: list[AnimalCrop] = []
        for tile_index, tile in enumerate(tiles):
            found += finder.find(tile, photo_index=index, tile_index=tile_index)
        if not found:
            posters.append(image)
        crops += found
        photos.append(PreparedPhoto(index, name, image, str(image_hash(image)), len(tiles)))
    flags: list[str] = []
    if not photos:
        flags.append("no_photo")
    elif not finder.has_detector:
        flags.append("no_detector")
    elif not crops:
        flags.append("no_animal")
    if collage:
        flags.append("collage")
    return PreparedPost(tuple(photos), tuple(crops), tuple(flags), tuple(posters))


@dataclass(frozen=True, slots=True)
class PostFields:
    """A post's fields after merging what was given with what the text says."""

    kind: str
    species: str | None
    city: str | None
    district: str | None
    address: str | None
    phones: tuple[str, ...]
    posted_at: datetime
    facts: Mapping[str, Any]


def _extracted(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"value": value.value, "confidence": round(float(value.confidence), 4), "source": value.source}


def facts_json(facts: Any, *, keep_ocr_text: bool) -> dict[str, Any]:
    """The text understanding's answer as JSON (values, confidences, sources; no text fragments)."""
    if facts is None:
        return {}
    out: dict[str, Any] = {
        name: _extracted(getattr(facts, name)) for name in ("kind", "species", "city", "district", "street")
    }
    out["phones"] = [_extracted(p) for p in facts.phones]
    out["dates"] = [
        {"value": d.value.isoformat(), "confidence": round(float(d.confidence), 4), "source": d.source}
        for d in facts.dates
    ]
    if keep_ocr_text and facts.ocr_text:
        out["ocr_text"] = facts.ocr_text
    return out


def _value(facts: Any, name: str) -> Any:
    field = getattr(facts, name, None) if facts is not None else None
    return None if field is None else field.value


def merge_fields(
    draft: PostDraft, facts: Any, crops: tuple[AnimalCrop, ...], *, keep_ocr_text: bool = True
) -> PostFields:
    """Given fields win; the text fills the gaps; species is the detector's vote with the text as tie-breaker."""
    kind = draft.kind
    if kind is None and facts is not None and facts.kind.confidence >= KIND_MIN_CONFIDENCE:
        kind = facts.kind.value if facts.kind.value in KINDS else None
    text_species = draft.species or _value(facts, "species")
    species = draft.species or post_species(crops, text_species)
    phones = list(draft.phones)
    for p in getattr(facts, "phones", ()) if facts is not None else ():
        if p.value not in phones:
            phones.append(p.value)
    return PostFields(
        kind=kind or "other",
        species=species,
        city=draft.city or _value(facts, "city"),
        district=draft.district or _value(facts, "district"),
        address=draft.address or _value(facts, "street"),
        phones=tuple(phones),
        posted_at=draft.posted_at or datetime.now(UTC),
        facts=facts_json(facts, keep_ocr_text=keep_ocr_text),
    )
