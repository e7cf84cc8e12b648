"""Message catalogues: Russian plural forms, language negotiation, completeness of the Russian catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightings.core.errors import ConfigError
from sightings.i18n import available_languages, extract_messages, negotiate, translator, untranslated


def test_russian_catalogue_translates_with_three_plural_forms() -> None:
    t = translator("ru-RU")
    assert t.language == "ru"
    assert t.gettext("No match yet. We will write when one appears.").startswith("Совпадений пока нет")
    forms = [t.ngettext("{n} possible match", "{n} possible matches", n).format(n=n) for n in (1, 3, 5, 21, 11)]
    assert forms == [
        "1 возможное совпадение",
        "3 возможных совпадения",
        "5 возможных совпадений",
        "21 возможное совпадение",
        "11 возможных совпадений",
    ]


def test_english_and_unknown_languages_fall_back_to_the_english_ids() -> None:
    for language in ("en", "de", ""):
        t = translator(language)
        assert t.language == "en"
        message = "No match yet. We will write when one appears."
        assert t.gettext(message) == message
        assert t.ngettext("{n} possible match", "{n} possible matches", 2) == "{n} possible matches"


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [("ru-RU,ru;q=0.9,en;q=0.8", "ru"), ("de-DE,en;q=0.5", "en"), ("fr", "ru"), (None, "ru"), (["en_GB"], "en")],
)
def test_negotiate_picks_the_first_available_language(preferred: object, expected: str) -> None:
    assert negotiate(preferred, default="ru") == expected  # type: ignore[arg-type]
    assert {"en", "ru"} <= set(available_languages())


def test_every_marked_string_in_the_code_has_a_russian_translation() -> None:
    assert untranslated("ru") == []


def test_a_new_marked_string_is_reported_until_translated(tmp_path: Path) -> None:
    (tmp_path / "bot.py").write_text(
        't.gettext("No match yet. We will write when one appears.")\n'
        't.gettext("A brand new message")\n'
        't.ngettext("{n} possible match", "{n} possible matches", n)\n',
        encoding="utf-8",
    )
    assert set(extract_messages(tmp_path)) == {
        "No match yet. We will write when one appears.",
        "A brand new message",
        "{n} possible match",
    }
    assert untranslated("ru", tmp_path) == ["A brand new message"]


def test_a_missing_catalogue_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no message catalogue"):
        untranslated("xx")
