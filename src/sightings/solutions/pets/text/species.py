"""Cat or dog, from the words of a post (кот, кошка, котята, пёс, собака, щенок, breeds)."""

from __future__ import annotations

import re

from sightings.solutions.pets.text.facts import Extracted
from sightings.solutions.pets.text.kind_rules import normalise_text

__all__ = ["extract_species"]

_W = r"(?<![\w-])"
_CAT = re.compile(
    _W + r"(?:кот|кота|коту|котом|коте|коты|котов|котэ|котик\w*|котен(?:ок|ка|ку|ком|ке)|котят\w*|котейк\w*|кошк\w*|"
    r"кошеч\w*|кис(?:а|у|ы|ка|ку|ки|кой|уля\w*)|британ(?:ец|ца|цу|ка|ку|ской|ский|ская|скую)|шотланд\w+|"
    r"мейн-кун\w*|сфинкс\w*|перс(?:идск\w+)?|вислоух\w+)(?!\w)"
)
_DOG = re.compile(
    _W + r"(?:собак\w*|собач\w*|пес|пса|псу|псом|песик\w*|песель\w*|щен(?:ок|ка|ку|ком|ки|ков|ята|ят|ятами|очек)\w*|"
    r"кобел\w+|хаски|овчар\w+|лабрадор\w*|той-терьер\w*|терьер\w*|шпиц\w*|такс(?:а|у|ы|ой|ик\w*)|корги|бигл\w*|"
    r"йорк\w*|лайк(?:а|у|ой)|метис\w*|мальтипу|ретривер\w*|дворняж\w*|двортерьер\w*|пудел\w*|чихуа\w*|мопс\w*|"
    r"алабай\w*|спаниел\w*|доберман\w*|ротвейлер\w*|стаффорд\w*|джек-рассел\w*)(?!\w)"
)


def extract_species(text: str, *, source: str = "text") -> Extracted[str] | None:
    """The species most words point to; confidence: 0.55 at a tie, 0.85 for one word, up to 0.95 when all agree."""
    norm = normalise_text(text)
    cats, dogs = list(_CAT.finditer(norm)), list(_DOG.finditer(norm))
    if not cats and not dogs:
        return None
    if len(cats) == len(dogs):  # a tie: the first mention wins, at low confidence
        first = min(cats[0], dogs[0], key=lambda m: m.start())
        return Extracted("cat" if first in cats else "dog", 0.55, source, first.group())
    winner, loser, species = (cats, dogs, "cat") if len(cats) > len(dogs) else (dogs, cats, "dog")
    share = len(winner) / (len(winner) + len(loser))
    confidence = min(0.85 if len(winner) == 1 else 0.95, 0.5 + 0.45 * share)
    return Extracted(species, round(confidence, 3), source, winner[0].group())
