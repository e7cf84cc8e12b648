"""Cities and their districts (with aliases), found in Russian text whatever the case ending.

    gaz = Gazetteer.load_default()                         # the packaged data/gazetteer_ru.yaml
    gaz = Gazetteer.load_default(extra=["my_places.yaml"])  # plus a user's file, merged over it
    hits = gaz.find("Пропал кот в Питере, в Выборгском районе")   -> [PlaceHit(city…), PlaceHit(district…)]

A name matches a run of words when each word starts with the name word's stem and the rest is a Russian ending
("Питер" → "в Питере", "Выборгский" → "в Выборгском"); names of four letters or fewer ("ЮЗАО", "СПб", "Екб")
match whole words only. A district whose name several cities share ("Центральный") is flagged
``needs_context``: the resolver takes it next to "район"/"р-н" or when the post names the city.
The YAML schema (extra keys are errors)::

    version: 1
    cities:
      - name: Москва
        aliases: [Мск]
        districts:
          - {name: Бутово, aliases: [Южное Бутово]}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from os import PathLike
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sightings.core.errors import ConfigError, NotFoundError

__all__ = ["City", "District", "Gazetteer", "PlaceHit", "normalise_word", "words"]

_WORD = re.compile(r"[0-9A-Za-zА-Яа-яЁё]+(?:-[0-9A-Za-zА-Яа-яЁё]+)*")
# Russian case endings a name may take
_ENDINGS = frozenset((
    "а", "я", "у", "ю", "е", "и", "ы", "о", "ой", "ей", "ом", "ем", "ам", "ям", "ах", "ях", "ами", "ями", "ий", "ый",
    "ая", "ое", "ые", "ие", "ого", "его", "ому", "ему", "ым", "им", "ую", "юю", "ых", "их", "ыми", "ими",
))  # fmt: skip
_STEM_CUT = re.compile(r"(ий|ый|ой|ая|ое|ые|ие|[аеиоуыэюяйь])$")
_DEFAULT = "gazetteer_ru.yaml"


def normalise_word(word: str) -> str:
    """Lower case, "ё" as "е"."""
    return word.lower().replace("ё", "е")


def words(text: str) -> list[tuple[str, int, int]]:
    """The words of ``text`` (hyphenated ones kept whole), normalised, with their character spans."""
    return [(normalise_word(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


def _stems(word: str) -> tuple[str, ...]:
    """Stems a text word may start with to be an inflected form of ``word``; () means an exact match only."""
    if len(word) <= 3:
        return ()
    stem = _STEM_CUT.sub("", word)
    found = [stem] if len(stem) >= 3 else []
    if re.search(r"[ео]к$", word):  # fleeting vowel: Академгородок → Академгородке
        found.append(word[:-2] + word[-1])
    return tuple(found)


def _part_matches(token: str, name: str) -> bool:
    if token == name:
        return True
    return any(token.startswith(s) and token[len(s) :] in _ENDINGS for s in _stems(name))


def _word_matches(token: str, name: str) -> bool:
    """``token`` (a text word) is ``name`` (a gazetteer word) in some case; hyphenated words match part by part."""
    if token == name:
        return True
    t_parts, n_parts = token.split("-"), name.split("-")
    if len(t_parts) != len(n_parts):
        return False
    return all(_part_matches(t, n) for t, n in zip(t_parts, n_parts, strict=True))


@dataclass(frozen=True, slots=True)
class District:
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class City:
    name: str
    aliases: tuple[str, ...] = ()
    districts: tuple[District, ...] = ()


@dataclass(frozen=True, slots=True)
class PlaceHit:
    """One mention of a city or a district in a text (character span ``start:end``)."""

    city: str
    district: str | None  # None for a mention of the city itself
    start: int
    end: int
    text: str
    needs_context: bool = False  # a district name several cities share


class _DistrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="the district's name as the post's fields give it")
    aliases: list[str] = Field(default_factory=list, description="other names, abbreviations, informal names")


class _CityModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="the city's name as the post's fields give it")
    aliases: list[str] = Field(default_factory=list, description="other names and abbreviations (Питер, СПб)")
    districts: list[_DistrictModel] = Field(default_factory=list, description="districts with their aliases")


class _GazetteerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(1, ge=1, le=1, description="schema version")
    cities: list[_CityModel] = Field(description="the cities")


class Gazetteer:
    """Cities → districts with aliases; :meth:`find` lists their mentions in a text."""

    def __init__(self, cities: Iterable[City]) -> None:
        self.cities: tuple[City, ...] = tuple(cities)
        # (pattern words, city, district or None); longer patterns first so "Южное Бутово" beats "Бутово"
        patterns: dict[tuple[tuple[str, ...], str, str | None], None] = {}
        owners: dict[tuple[str, ...], set[str]] = {}
        for city in self.cities:
            for name in (city.name, *city.aliases):
                patterns[(tuple(w for w, _, _ in words(name)), city.name, None)] = None
            for district in city.districts:
                for name in (district.name, *district.aliases):
                    pattern = tuple(w for w, _, _ in words(name))
                    patterns[(pattern, city.name, district.name)] = None
                    owners.setdefault(pattern, set()).add(city.name)
        self._shared = frozenset(p for p, cities in owners.items() if len(cities) > 1)
        self._patterns = sorted((p for p in patterns if p[0]), key=lambda p: -len(p[0]))

    def __repr__(self) -> str:
        return f"Gazetteer({len(self.cities)} cities)"

    def city(self, name: str) -> City | None:
        return next((c for c in self.cities if c.name == name), None)

    @classmethod
    def from_yaml(cls, path: str | PathLike[str]) -> Gazetteer:
        """Read a gazetteer file (schema in the module docstring); a bad file is a ConfigError naming it."""
        import yaml

        file = Path(path)
        if not file.is_file():
            raise NotFoundError("gazetteer file does not exist", where=file)
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"not valid YAML: {str(exc).splitlines()[0]}", where=file) from None
        return cls._from_data(raw, file)

    @classmethod
    def _from_data(cls, raw: object, where: str | PathLike[str]) -> Gazetteer:
        if not isinstance(raw, dict):
            raise ConfigError("expected a mapping with 'cities' at the top", where=where)
        try:
            model = _GazetteerModel.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{loc}: {err['msg']}", where=where) from None
        return cls(
            City(
                c.name,
                tuple(c.aliases),
                tuple(District(d.name, tuple(d.aliases)) for d in c.districts),
            )
            for c in model.cities
        )

    @classmethod
    def load_default(cls, extra: Sequence[str | PathLike[str]] = ()) -> Gazetteer:
        """The packaged gazetteer, with the files in ``extra`` merged over it in order."""
        gaz = _packaged()
        for path in extra:
            gaz = gaz.merged(cls.from_yaml(path))
        return gaz

    def merged(self, other: Gazetteer) -> Gazetteer:
        """This gazetteer plus ``other``: new cities added; a known city gains the new aliases and districts."""
        cities = {c.name: c for c in self.cities}
        for city in other.cities:
            old = cities.get(city.name)
            if old is None:
                cities[city.name] = city
                continue
            districts = {d.name: d for d in old.districts}
            for d in city.districts:
                prev = districts.get(d.name)
                aliases = (*prev.aliases, *(a for a in d.aliases if a not in prev.aliases)) if prev else d.aliases
                districts[d.name] = District(d.name, aliases)
            aliases = (*old.aliases, *(a for a in city.aliases if a not in old.aliases))
            cities[city.name] = City(city.name, aliases, tuple(districts.values()))
        return Gazetteer(cities.values())

    def find(self, text: str) -> list[PlaceHit]:
        """Every mention of a known city or district, in text order (overlaps: the longest name wins)."""
        tokens = words(text)
        taken = [False] * len(tokens)
        hits: list[tuple[int, PlaceHit]] = []
        for pattern, city, district in self._patterns:
            n = len(pattern)
            for i in range(len(tokens) - n + 1):
                if any(taken[i : i + n]) and not any(
                    h.start == tokens[i][1] and h.end == tokens[i + n - 1][2] for _, h in hits
                ):
                    continue
                if all(_word_matches(tokens[i + k][0], pattern[k]) for k in range(n)):
                    start, end = tokens[i][1], tokens[i + n - 1][2]
                    shared = district is not None and pattern in self._shared
                    hits.append((i, PlaceHit(city, district, start, end, text[start:end], shared)))
                    for k in range(n):
                        taken[i + k] = True
        return [h for _, h in sorted(hits, key=lambda ih: (ih[0], ih[1].city, ih[1].district or ""))]


@cache
def _packaged() -> Gazetteer:
    ref = resources.files("sightings.solutions.pets") / "data" / _DEFAULT
    import yaml

    return Gazetteer._from_data(
        yaml.safe_load(ref.read_text(encoding="utf-8")), f"sightings/solutions/pets/data/{_DEFAULT}"
    )
