"""Keyword rules for the kind of a pets post: strong cues that decide alone, weak cues that only vote.

    decision = rule_decision("Пропала собака! Вознаграждение")   -> RuleDecision(kind="lost", certain=True, ...)

Phrases that would mislead a plain keyword match are consumed first: "кто потерял", "видимо потерялась" are found
cues; "не нашли", "не найдена" are lost cues; "потерял ключи", "найден паспорт", "пропал свет" are not about
animals; "был найден полгода назад" is a shelter's history (adoption). The rules are certain when strong cues of
exactly one kind remain — or found together with adoption: the labelling rule (docs/pets-text.md) files a found
animal offered a new home ("нашли котёнка, ищем ему дом") as found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sightings.solutions.pets.text.facts import KINDS

__all__ = ["RuleDecision", "normalise_text", "rule_decision"]

_W = r"(?<![\w-])"  # a word start (\b does not treat "-" as a boundary the way Russian posts need)


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(_W + "(?:" + "|".join(alternatives) + r")(?![\w])")


_NOT_ANIMAL = (
    r"(?:ключ\w*|телефон\w*|паспорт\w*|кошел\w+|сумк\w+|документ\w*|карт\w+|сережк\w+|очки|перчатк\w+|рюкзак\w*)"
)
# consumed first, in this order: (pattern, kind it votes for or None, strong?)
_PHRASES: list[tuple[re.Pattern[str], str | None, bool]] = [
    (_rx(rf"(?:потерял\w*|найден\w*|нашли|нашел|нашла)\s+(?:\w+\s+)?{_NOT_ANIMAL}"), "other", True),
    (_rx(r"пропал[аио]?\s+(?:свет|интернет|газ|вода|связь|горячая\s+вода)"), "other", True),
    (
        _rx(
            r"(?:кто|кто-то|кто\s+нибудь)\s+потерял\w*",
            r"не\s+потерял\w*\s+ли",
            r"(?:видимо|наверное|может|похоже|"
            r"наверно|возможно),?\s+(?:\w+\s+)?потерял\w*",
            r"может\s+кто\s+ищет",
        ),
        "found",
        True,
    ),
    (
        _rx(
            r"(?:еще\s+|до\s+сих\s+пор\s+|так\s+и\s+)?не\s+(?:найден\w*|нашли|нашлась|нашелся|вернул\w*)",
            r"не\s+можем\s+найти",
        ),
        "lost",
        True,
    ),
    (_rx(r"не\s+(?:потерял\w*|пропал\w*)"), "other", False),
    (_rx(r"(?:был|была|были)\s+(?:найден\w*|подобран\w*|спасен\w*)"), "adoption", False),
    (_rx(r"ищ(?:ем|у)\s+(?:его|ее|им|ему|ей)?\s*(?:дом|семью|новый\s+дом|добрые\s+руки)"), "adoption", False),
]
_CUES: dict[str, list[tuple[re.Pattern[str], bool]]] = {
    "lost": [
        (
            _rx(
                r"пропал[аи]?",
                r"потерял(?:ся|ась|ись)",
                r"потеряли",
                r"убежал[аи]?",
                r"сбежал[аи]?",
                r"сорвал(?:ся|ась)",
                r"выпал[аи]?\s+из\s+окна",
                r"помогите\s+найти",
                r"разыскива\w+",
                r"нашедш\w+",
                r"ищем\s+(?:нашего|нашу|наших|свою|своего|своих)",
                r"ждем\s+домой",
            ),
            True,
        ),
        (_rx(r"вознагражд\w+", r"отзовитесь\s+кто\s+видел", r"кто\s+видел", r"если\s+увидите", r"ищем"), False),
    ],
    "found": [
        (
            _rx(
                r"найден[аоы]?",
                r"нашли",
                r"нашла",
                r"нашел",
                r"подобрал[аи]?",
                r"прибил(?:ся|ась|ись)",
                r"приблудн\w+",
                r"ищем\s+(?:хозя\w+|старых|прежних|его\s+семью|ее\s+семью)",
                r"ищу\s+хозя\w+",
                r"хозяева,?\s+отзовитесь",
                r"хозяин,?\s+отзовись",
                r"чей",
                r"чья",
                r"чьи",
                r"узнаете",
                r"потеряшка\s+у\s+нас",
                r"забрали\s+с\s+(?:улицы|дороги|трассы)",
            ),
            True,
        ),
        (_rx(r"хозя\w+", r"сидит", r"бегает", r"передержк\w+", r"в\s+ошейнике"), False),
    ],
    "adoption": [
        (
            _rx(
                r"в\s+(?:добрые|хорошие|надежные|заботливые|любящие)\s+руки",
                r"отда(?:м|дим|ю|ем)",
                r"ищ(?:ет|ут)\s+(?:\w+\s+)?(?:дом|семью|хозя\w+|любящ\w+|заботлив\w+)",
                r"пристраива\w+",
                r"в\s+дар",
                r"подар(?:ю|им)",
                r"возьмите",
                r"ищем\s+(?:любящую\s+)?семью\s+для",
            ),
            True,
        ),
        (
            _rx(
                r"бесплатно",
                r"приют\w*",
                r"стерилизован\w*",
                r"привит\w*",
                r"к\s+лотку",
                r"договор\w*",
                r"котят\w*",
                r"щенк(?:и|ов)",
                r"щенят\w*",
            ),
            False,
        ),
    ],
    "other": [
        (
            _rx(
                r"прода(?:м|ю|ется|ются|ем)",
                r"куплю",
                r"скидк\w+",
                r"акци[яи]",
                r"груминг\w*",
                r"стрижк\w+",
                r"дрессировк\w+",
                r"вязк\w+",
                r"ветклиник\w+",
                r"ветеринарк\w+",
                r"реквизит\w*",
                r"(?:нашелся|нашлась|нашлись|вернул(?:ся|ась)\s+домой|уже\s+дома)",
            ),
            True,
        ),
        (_rx(r"подскажите", r"посоветуйте", r"конкурс\w*", r"руб\w*", r"₽"), False),
    ],
}
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Lower case, "ё" as "е", runs of white space as one space."""
    return _SPACES.sub(" ", text.lower().replace("ё", "е")).strip()


@dataclass(frozen=True, slots=True)
class RuleDecision:
    """What the rules say: ``kind`` is the best-voted kind (``None`` when no cue fired)."""

    kind: str | None
    certain: bool
    strong: dict[str, list[str]] = field(default_factory=dict)  # kind -> strong cue fragments
    weak: dict[str, list[str]] = field(default_factory=dict)  # kind -> weak cue fragments

    @property
    def span(self) -> str:
        cues = self.strong.get(self.kind or "", []) or self.weak.get(self.kind or "", [])
        return cues[0] if cues else ""


def rule_decision(text: str) -> RuleDecision:
    """Strong and weak cues of every kind in ``text`` and the decision they make."""
    rest = normalise_text(text)
    strong: dict[str, list[str]] = {k: [] for k in KINDS}
    weak: dict[str, list[str]] = {k: [] for k in KINDS}
    for pattern, kind, is_strong in _PHRASES:
        for m in pattern.finditer(rest):
            if kind is not None:
                (strong if is_strong else weak)[kind].append(m.group())
        rest = pattern.sub(" # ", rest)
    for kind, groups in _CUES.items():
        for pattern, is_strong in groups:
            (strong if is_strong else weak)[kind].extend(m.group() for m in pattern.finditer(rest))
    strong = {k: v for k, v in strong.items() if v}
    weak = {k: v for k, v in weak.items() if v}
    kinds = set(strong)
    certain = len(kinds) == 1 or kinds == {"found", "adoption"}
    if kinds == {"found", "adoption"}:
        best: str | None = "found"
    elif strong or weak:
        best = max(KINDS, key=lambda k: (2 * len(strong.get(k, [])) + len(weak.get(k, [])), -KINDS.index(k)))
    else:
        best = None
    return RuleDecision(best if certain or best else None, certain and best is not None, strong, weak)
