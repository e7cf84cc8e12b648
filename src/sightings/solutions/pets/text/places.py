"""City, district and street of a post: the gazetteer first, natasha (Russian NER + address parser) for the rest.

City: the first gazetteer city named (0.9); else the city of the districts named, when they agree (0.75); else a
"город" part of natasha's address parser (0.6) or a natasha LOC span (0.4). District: the first gazetteer district
that fits the city (0.85; 0.6 for a district several cities share, taken only next to "район"/"р-н" or with its
city named); else a "район" part of the address parser (0.5). Street: natasha's address parser (street-type parts
and the house number after them, 0.75), else a "ул./улица/проспект/…" pattern (0.7).

natasha loads its models (~1 s, shipped in its wheels, no download) once per process, on first use; without
natasha installed the gazetteer and the street pattern still work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from sightings.solutions.pets.text.facts import Extracted
from sightings.solutions.pets.text.gazetteer import Gazetteer, PlaceHit

__all__ = ["Places", "extract_places", "natasha_tools"]

_DISTRICT_WORD = re.compile(r"(?<!\w)(?:район\w*|р-н\w*|р-не|р\.|округ\w*|мкр\w*|микрорайон\w*)(?!\w)", re.IGNORECASE)
_STREET_TYPES = {"улица", "проспект", "переулок", "шоссе", "бульвар", "набережная", "площадь", "проезд", "тупик",
                 "аллея", "линия"}  # fmt: skip
_STREET = re.compile(
    r"(?<!\w)(?:ул\.|улиц[аеуы]|пр-т|пр\.|просп\.|проспект[аеу]?|пер\.|переул\w+|бульвар\w*|б-р|ш\.|шоссе|наб\.|"
    r"набережн\w+|пл\.|площад\w+)\s*[А-ЯЁA-Z0-9][\w\-]+(?:\s+[А-ЯЁ][\w\-]+)?(?:,?\s*(?:д\.|дом)?\s*\d+[а-я]?)?",
)
_HOUSE = re.compile(r",?\s*(?:д\.|дом)?\s*\d+[а-я]?(?![\d\w])")
_STREET_AFTER = re.compile(r"(?<!\w)[А-ЯЁ][а-яё]+(?:ая|ий|ой|ый)\s+(?:ул\.|улица|пр\.|проспект|ш\.|шоссе)")


@dataclass(frozen=True, slots=True)
class Places:
    city: Extracted[str] | None
    district: Extracted[str] | None
    street: Extracted[str] | None


@cache
def natasha_tools() -> tuple[Any, Any, Any] | None:
    """(segmenter, NER tagger, address extractor), loaded once; None when natasha is not installed."""
    try:
        from natasha import AddrExtractor, MorphVocab, NewsEmbedding, NewsNERTagger, Segmenter
    except ImportError:
        return None
    return Segmenter(), NewsNERTagger(NewsEmbedding()), AddrExtractor(MorphVocab())


def _near_district_word(text: str, hit: PlaceHit) -> bool:
    before, after = text[max(0, hit.start - 12) : hit.start], text[hit.end : hit.end + 12]
    return bool(_DISTRICT_WORD.search(before) or _DISTRICT_WORD.search(after))


def _for_natasha(text: str) -> str:
    """Posters are often in capitals, which natasha does not read: words capitalised (same length, same offsets)."""
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) / len(letters) > 0.6:
        return re.sub(r"\w+", lambda m: m.group().capitalize(), text)
    return text


def _natasha(text: str) -> tuple[list[tuple[str, int, int, str]], list[tuple[str, int, int]]]:
    """Address parts (type, start, stop, value) and LOC spans (text, start, stop) from natasha; empty without it."""
    tools = natasha_tools()
    if tools is None or not text.strip():
        return [], []
    from natasha import Doc

    segmenter, ner, addr = tools
    prepared = _for_natasha(text)
    doc = Doc(prepared)
    doc.segment(segmenter)
    doc.tag_ner(ner)
    locs = [(text[s.start : s.stop], s.start, s.stop) for s in doc.spans if s.type == "LOC"]
    parts = []
    for match in addr(prepared):
        fact = match.fact
        parts.append((str(fact.type or ""), match.start, match.stop, str(fact.value)))
    return parts, locs


def _street(text: str, parts: list[tuple[str, int, int, str]], source: str) -> Extracted[str] | None:
    for i, (kind, start, street_end, _) in enumerate(parts):
        if kind in _STREET_TYPES:
            end = street_end
            if i + 1 < len(parts) and parts[i + 1][0] == "дом" and parts[i + 1][1] - street_end <= 6:
                end = parts[i + 1][2]
            elif house := _HOUSE.match(text, street_end):
                end = house.end()
            return Extracted(text[start:end].strip(" ,."), 0.75, source, text[start:end])
    m = _STREET.search(text) or _STREET_AFTER.search(text)
    if m:
        return Extracted(m.group().strip(" ,."), 0.7, source, m.group())
    return None


def extract_places(text: str, gazetteer: Gazetteer, *, source: str = "text") -> Places:
    """City, district and street of ``text`` (each None when not found)."""
    hits = gazetteer.find(text)
    cities = [h for h in hits if h.district is None]
    city: Extracted[str] | None = None
    if cities:
        city = Extracted(cities[0].city, 0.9, source, cities[0].text)
    districts = [h for h in hits if h.district is not None]
    if city is not None:
        own = [h for h in districts if h.city == city.value]
        districts = own or [h for h in districts if not h.needs_context]
    else:
        districts = [h for h in districts if not h.needs_context or _near_district_word(text, h)]
    district: Extracted[str] | None = None
    if districts:
        first = districts[0]
        same_span = [h for h in districts if h.start == first.start]
        owners = {h.city for h in same_span}
        sure = 0.85 if not first.needs_context else 0.6
        if city is not None:
            sure = 0.85 if first.city == city.value else 0.5  # 0.5: a district of another city than the one named
        district = Extracted(str(first.district), sure, source, first.text)
        if city is None and len(owners) == 1:
            city = Extracted(first.city, 0.75, source, first.text)
    parts, locs = _natasha(text)
    if city is None:
        named = [p for p in parts if p[0] == "город"]
        if named:
            city = Extracted(named[0][3], 0.6, source, text[named[0][1] : named[0][2]])
        else:
            known = {(h.start, h.end) for h in hits} | {(p[1], p[2]) for p in parts if p[0] in _STREET_TYPES}
            loose = [loc for loc in locs if not any(s < loc[2] and loc[1] < e for s, e in known)]
            if loose and not _DISTRICT_WORD.search(text[loose[0][2] : loose[0][2] + 12]):
                city = Extracted(loose[0][0], 0.4, source, loose[0][0])
    if district is None:
        areas = [p for p in parts if p[0] == "район"]
        if areas:
            district = Extracted(areas[0][3], 0.5, source, text[areas[0][1] : areas[0][2]])
    return Places(city, district, _street(text, parts, source))
