"""Dates in Russian posts: "12.03", "12.03.2025", "12 марта", "в ночь на 5 мая", "вчера", "3 дня назад", "в субботу".

Relative words and dates without a year are resolved against ``posted_at`` (a date without a year is put in the
latest year that does not make it more than a week after the post). Without ``posted_at`` they are resolved
against today, at lower confidence. Confidence: 0.9 for a date with a month name or a full dd.mm.yyyy, 0.8 for
dd.mm, 0.85 for сегодня/вчера/позавчера, 0.7 for "N дней назад", 0.6 for a weekday; × 0.7 without ``posted_at``.
"""

from __future__ import annotations

import datetime
import re

from sightings.solutions.pets.text.facts import Extracted

__all__ = ["extract_dates"]

_MONTHS = {
    "январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6,
    "июл": 7, "август": 8, "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12,
}  # fmt: skip
_MONTH_NAME = (
    r"(январ[ьяе]|феврал[ьяе]|март[ае]?|апрел[ьяе]|ма[йяе]|июн[ьяе]|июл[ьяе]|август[ае]?|сентябр[ьяе]|"
    r"октябр[ьяе]|ноябр[ьяе]|декабр[ьяе])"
)
_DAY_MONTH = re.compile(r"(?<!\d)(\d{1,2})\s*" + _MONTH_NAME + r"(?:\s+(\d{4}))?(?!\w)", re.IGNORECASE)
_NUMERIC = re.compile(
    r"(?<![\d.,/:+-])(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2}))?(?![\d./,:-]*\d)"
    r"(?!\s*(?:мес|кг|г\b|гр|лет|год|руб|р\b|р\.|тыс|т\.р|%|см|м\b|км|₽|ч\b|час|мин))",
    re.IGNORECASE,
)
_RELATIVE = re.compile(r"(?<!\w)(сегодня|вчера|позавчера)(?!\w)", re.IGNORECASE)
_AGO = re.compile(
    r"(?<!\w)(\d{1,2}|два|две|три|четыре|пять|неделю)\s*(дн[яей]+|день|недел[юиь])?\s+назад(?!\w)", re.IGNORECASE
)
_WEEKDAY = re.compile(
    r"(?<!\w)в[о]?\s+(понедельник|вторник|среду|четверг|пятницу|субботу|воскресенье)(?!\w)", re.IGNORECASE
)
_WEEKDAYS = ("понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье")
_NUMBERS = {"два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5}
_RELATIVE_DAYS = {"сегодня": 0, "вчера": 1, "позавчера": 2}


def _month(word: str) -> int:
    word = word.lower()
    return next(n for stem, n in _MONTHS.items() if word.startswith(stem))


def _with_year(day: int, month: int, year: int | None, ref: datetime.date) -> datetime.date | None:
    try:
        if year is not None:
            return datetime.date(year if year >= 100 else 2000 + year, month, day)
        guess = datetime.date(ref.year, month, day)
    except ValueError:
        return None
    if guess > ref + datetime.timedelta(days=7):
        try:
            guess = datetime.date(ref.year - 1, month, day)
        except ValueError:  # 29 February
            return None
    return guess


def extract_dates(
    text: str, *, posted_at: datetime.datetime | None = None, source: str = "text"
) -> tuple[Extracted[datetime.date], ...]:
    """Every date the text mentions, in text order; one entry per date (the most confident mention)."""
    ref = posted_at.date() if posted_at is not None else datetime.datetime.now(datetime.UTC).date()
    scale = 1.0 if posted_at is not None else 0.7
    found: list[tuple[int, datetime.date, float, str]] = []
    for m in _DAY_MONTH.finditer(text):
        date = _with_year(int(m.group(1)), _month(m.group(2)), int(m.group(3)) if m.group(3) else None, ref)
        if date is not None:
            found.append((m.start(), date, 0.9 if m.group(3) else 0.9 * scale, m.group()))
    for m in _NUMERIC.finditer(text):
        year = int(m.group(3)) if m.group(3) else None
        date = _with_year(int(m.group(1)), int(m.group(2)), year, ref)
        if date is not None:
            found.append((m.start(), date, 0.9 if year else 0.8 * scale, m.group()))
    for m in _RELATIVE.finditer(text):
        days = _RELATIVE_DAYS[m.group(1).lower()]
        found.append((m.start(), ref - datetime.timedelta(days=days), 0.85 * scale, m.group()))
    for m in _AGO.finditer(text):
        amount, unit = m.group(1).lower(), (m.group(2) or "").lower()
        if amount == "неделю":
            days = 7
        else:
            n = _NUMBERS[amount] if amount in _NUMBERS else int(amount)
            days = n * 7 if unit.startswith("недел") else n
        if 0 < days <= 60:
            found.append((m.start(), ref - datetime.timedelta(days=days), 0.7 * scale, m.group()))
    for m in _WEEKDAY.finditer(text):
        back = (ref.weekday() - _WEEKDAYS.index(m.group(1).lower())) % 7
        found.append((m.start(), ref - datetime.timedelta(days=back), 0.6 * scale, m.group()))
    best: dict[datetime.date, tuple[int, datetime.date, float, str]] = {}
    for item in found:
        if item[1] not in best or item[2] > best[item[1]][2]:
            best[item[1]] = item
    return tuple(Extracted(date, round(conf, 3), source, span) for _, date, conf, span in sorted(best.values()))
