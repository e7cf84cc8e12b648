"""Text understanding of Russian lost/found pet posts: kind, species, place, phones, dates, poster OCR.

    from sightings.solutions.pets.text import understand_post, classify_kind, read_poster, Gazetteer

    facts = understand_post("Пропала собака 12 марта в Купчино! 8 921 123-45-67", posted_at=when)
    facts.kind            -> Extracted("lost", 0.97, "text", "пропала")
    facts.city.value      -> "Санкт-Петербург" (from the district), facts.phones[0].value -> "+79211234567"

Modules: facts (Extracted, PostFacts), kind_rules + kind_model (the classifier), species, phones, dates,
gazetteer + places (city/district/street), poster_ocr (read_poster), poster_render (synthetic posters for tests
and the benchmark), understand (understand_post). Needs the ``pets`` extra (natasha, phonenumbers, scikit-learn)
and, for posters, the ``vision`` extra (OpenCV) and the tesseract binary. See docs/pets-text.md.
"""

from __future__ import annotations

from sightings.solutions.pets.text.facts import KINDS, Extracted, PostFacts
from sightings.solutions.pets.text.gazetteer import Gazetteer
from sightings.solutions.pets.text.kind_model import classify_kind
from sightings.solutions.pets.text.poster_ocr import read_poster
from sightings.solutions.pets.text.understand import understand_post

__all__ = ["KINDS", "Extracted", "Gazetteer", "PostFacts", "classify_kind", "read_poster", "understand_post"]
