"""Privacy mode: for the sources it covers (``pets.privacy_sources``, default ``[vk]``) only embeddings, extracted
fields and a link to the original are kept — no photo or crop files, no full text, no author name, no OCR text.

The post's vectors still go into the lost/found gallery (they are not photos), its pHashes and the MinHash
signature of its text still serve dedup (neither can be turned back into the photo or the text), and matches are
found as for any other post; a match against it shows its link instead of a photo.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sightings.core.errors import ConfigError
from sightings.solutions.pets.posts import SOURCES

__all__ = ["PrivacyPolicy"]


@dataclass(frozen=True, slots=True)
class PrivacyPolicy:
    """Which sources are kept in privacy mode."""

    sources: frozenset[str] = frozenset({"vk"})

    def __post_init__(self) -> None:
        unknown = sorted(set(self.sources) - set(SOURCES))
        if unknown:
            raise ConfigError(
                f"unknown source(s) {', '.join(unknown)}; known: {', '.join(SOURCES)}", where="pets.privacy_sources"
            )

    @classmethod
    def of(cls, sources: Iterable[str]) -> PrivacyPolicy:
        return cls(frozenset(sources))

    def applies(self, source: str) -> bool:
        return source in self.sources

    def text(self, source: str, text: str) -> str | None:
        """The text to store (``None`` in privacy mode or when empty)."""
        return None if self.applies(source) or not text.strip() else text

    def author(self, source: str, author: str | None) -> str | None:
        return None if self.applies(source) else author

    def keeps_photos(self, source: str) -> bool:
        return not self.applies(source)
