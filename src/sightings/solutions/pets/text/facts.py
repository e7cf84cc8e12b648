"""What the text of one pets post says: each field with a confidence and where it came from."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Generic, TypeVar

from sightings.core.errors import InputError

__all__ = ["KINDS", "SOURCES", "SPECIES", "Extracted", "PostFacts"]

T = TypeVar("T")
KINDS = ("lost", "found", "adoption", "other")
SPECIES = ("cat", "dog")
SOURCES = ("text", "ocr")


@dataclass(frozen=True, slots=True)
class Extracted(Generic[T]):
    """One field with its confidence in [0, 1], its source ("text" or "ocr") and the fragment it came from."""

    value: T
    confidence: float
    source: str
    span: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise InputError(f"must be in [0, 1], got {self.confidence}", where="Extracted.confidence")
        if self.source not in SOURCES:
            raise InputError(f"must be one of {SOURCES}, got {self.source!r}", where="Extracted.source")


@dataclass(frozen=True, slots=True)
class PostFacts:
    """The kind of a post and the fields read from its text and poster images."""

    kind: Extracted[str]  # "lost" | "found" | "adoption" | "other"
    species: Extracted[str] | None  # "cat" | "dog"
    city: Extracted[str] | None  # the gazetteer's name ("Санкт-Петербург" for "в Питере")
    district: Extracted[str] | None  # the gazetteer's district name
    street: Extracted[str] | None  # a street/address fragment as written
    phones: tuple[Extracted[str], ...]  # E.164, "+79161234567"
    dates: tuple[Extracted[datetime.date], ...]
    ocr_text: str  # text read from the poster images ("" when none)

    def __post_init__(self) -> None:
        if self.kind.value not in KINDS:
            raise InputError(f"must be one of {KINDS}, got {self.kind.value!r}", where="PostFacts.kind")
        if self.species is not None and self.species.value not in SPECIES:
            raise InputError(f"must be one of {SPECIES}, got {self.species.value!r}", where="PostFacts.species")
