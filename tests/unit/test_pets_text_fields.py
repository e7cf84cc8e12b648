"""Pets post fields: phones, dates, species, places (gazetteer + natasha), understand_post on text."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.solutions.pets.text import Extracted, Gazetteer, PostFacts, understand_post
from sightings.solutions.pets.text.dates import extract_dates
from sightings.solutions.pets.text.phones import extract_phones, fix_ocr_digits
from sightings.solutions.pets.text.places import extract_places
from sightings.solutions.pets.text.species import extract_species

pytest.importorskip("phonenumbers", reason="the pets extra (phonenumbers) is not installed")

POSTED = datetime.datetime(2026, 3, 14, 9, 30, tzinfo=datetime.UTC)  # a Saturday


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("звоните 8 916 123-45-67", ["+79161234567"]),
        ("+7 (926) 000-11-22 Марина", ["+79260001122"]),
        ("89031234567 или 8-921-765-43-21", ["+79031234567", "+79217654321"]),
        ("т.+7 912 555 66 77, WhatsApp +79125556677", ["+79125556677"]),
        ("тел. 8(812)123 45 67", ["+78121234567"]),
        ("Цена 1500 руб, котятам 2 месяца", []),
    ],
)
def test_phones(text: str, phones: list[str]) -> None:
    got = extract_phones(text)
    assert [p.value for p in got] == phones
    assert all(p.confidence >= 0.9 and p.source == "text" and p.span for p in got)


def test_phones_from_ocr_fix_letter_digits() -> None:
    assert fix_ocr_digits("Тел. 8 9l6 l2З-45-б7") == "Тел. 8 916 123-45-67"
    assert fix_ocr_digits("ПРОПАЛ КОТ") == "ПРОПАЛ КОТ"
    got = extract_phones("ТЕЛ. +7 (9О3) 123 45 67", source="ocr")
    assert [(p.value, p.source) for p in got] == [("+79031234567", "ocr")]


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("Пропал 12.03, видели вчера", ["2026-03-12", "2026-03-13"]),
        ("сегодня утром", ["2026-03-14"]),
        ("позавчера вечером", ["2026-03-12"]),
        ("в ночь на 5 мая", ["2025-05-05"]),  # a date a week or more after the post is last year's
        ("12 марта 2025", ["2025-03-12"]),
        ("14.02.2025 у метро", ["2025-02-14"]),
        ("3 дня назад", ["2026-03-11"]),
        ("в субботу", ["2026-03-14"]),
        ("котёнку 2.5 мес, 1.500 руб, в 10.30, 31.02", []),
        ("тел 8 916 123-45-67", []),
    ],
)
def test_dates(text: str, dates: list[str]) -> None:
    got = extract_dates(text, posted_at=POSTED)
    assert [d.value.isoformat() for d in got] == dates
    assert all(0.5 <= d.confidence <= 0.95 for d in got)


def test_dates_without_posted_at_are_less_confident() -> None:
    (with_ref,) = extract_dates("вчера", posted_at=POSTED)
    (without,) = extract_dates("вчера")
    assert without.confidence < with_ref.confidence
    assert without.value == datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "species"),
    [
        ("Пропал кот", "cat"),
        ("котята ищут дом", "cat"),
        ("Найдена собака, щенок лабрадора", "dog"),
        ("пёс и ещё раз пёс", "dog"),
        ("Который день ищем, ставьте лайки", None),
    ],
)
def test_species(text: str, species: str | None) -> None:
    got = extract_species(text)
    assert (got.value if got else None) == species


@pytest.mark.parametrize(
    ("text", "city", "district"),
    [
        ("Пропал кот в Питере, в Выборгском районе", "Санкт-Петербург", "Выборгский"),
        ("СПб, Купчино", "Санкт-Петербург", "Купчино"),
        ("в Южном Бутово", "Москва", "Бутово"),  # the city follows from a district only one city has
        ("Москва, ЮЗАО", "Москва", "ЮЗАО"),
        ("Екб, Уралмаш", "Екатеринбург", "Орджоникидзевский"),
        ("в Нижнем Новгороде на Автозаводе", "Нижний Новгород", "Автозаводский"),
        ("Центральный район, Новосибирск", "Новосибирск", "Центральный"),
        ("в Центральном районе", None, "Центральный"),  # several cities have one: no city guessed
        ("Московский проспект 10", None, None),  # a shared district name needs "район" or its city
        ("Пропал кот, 8 916 123-45-67", None, None),
    ],
)
def test_places_from_the_gazetteer(text: str, city: str | None, district: str | None) -> None:
    got = extract_places(text, Gazetteer.load_default())
    assert (got.city.value if got.city else None) == city
    assert (got.district.value if got.district else None) == district


def test_street_and_cities_outside_the_gazetteer() -> None:
    pytest.importorskip("natasha", reason="the pets extra (natasha) is not installed")
    gaz = Gazetteer.load_default()
    got = extract_places("Пропала собака, г. Тверь, ул. Советская 12, возле школы", gaz)
    assert got.city is not None and got.city.value == "Тверь" and got.city.confidence < 0.9
    assert got.street is not None and got.street.value == "ул. Советская 12"
    capitals = extract_places("ПРОПАЛА СОБАКА Г. КАЗАНЬ УЛ. ЛЕНИНА 5", gaz)
    assert capitals.city is not None and capitals.city.value == "Казань"
    assert capitals.street is not None and "ЛЕНИНА 5" in capitals.street.value


def test_gazetteer_extension(tmp_path: Path) -> None:
    extra = tmp_path / "my_places.yaml"
    extra.write_text(
        "version: 1\ncities:\n"
        "  - name: Тверь\n    aliases: [Тверь-город]\n    districts:\n      - {name: Заволжский}\n"
        "  - name: Москва\n    districts:\n      - {name: Бутово, aliases: [Бутовский лесопарк]}\n"
        "      - {name: Зябликово}\n",
        encoding="utf-8",
    )
    gaz = Gazetteer.load_default(extra=[extra])
    got = extract_places("Пропал кот в Твери, Заволжский район", gaz)
    assert got.city is not None and (got.city.value, got.city.confidence) == ("Тверь", 0.9)
    assert got.district is not None and got.district.value == "Заволжский"
    zyab = extract_places("в Зябликово", gaz)
    assert zyab.city is not None and zyab.city.value == "Москва"
    moscow = gaz.city("Москва")
    assert moscow is not None
    butovo = next(d for d in moscow.districts if d.name == "Бутово")
    assert butovo.aliases == ("Южное Бутово", "Северное Бутово", "Бутовский лесопарк")
    assert len(gaz.cities) == len(Gazetteer.load_default().cities) + 1
    facts = understand_post("Найдена кошка в Твери", gazetteer=gaz)
    assert facts.city is not None and facts.city.value == "Тверь"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("cities: [\n", "not valid YAML"),
        ("- just a list\n", "expected a mapping"),
        ("cities:\n  - aliases: [x]\n", r"cities\.0\.name"),
        ("cities:\n  - name: Тверь\n    district: []\n", r"cities\.0\.district"),
        ("version: 2\ncities: []\n", "version"),
    ],
)
def test_bad_gazetteer_yaml_is_a_config_error_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "broken_places.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        Gazetteer.from_yaml(path)
    assert "broken_places.yaml" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(NotFoundError, match=r"nowhere\.yaml"):
        Gazetteer.from_yaml(tmp_path / "nowhere.yaml")


def test_understand_post_text_only() -> None:
    facts = understand_post(
        "ПРОПАЛА СОБАКА! Хаски, девочка. Убежала вчера в Купчино, ул. Малая Балканская 20. "
        "Нашедшему вознаграждение 8 921 123-45-67",
        posted_at=POSTED,
    )
    assert isinstance(facts, PostFacts)
    assert facts.kind.value == "lost" and facts.kind.confidence > 0.9
    assert facts.species is not None and facts.species.value == "dog"
    assert facts.city is not None and facts.city.value == "Санкт-Петербург"
    assert facts.district is not None and facts.district.value == "Купчино"
    assert facts.street is not None and "Балканская" in facts.street.value
    assert [p.value for p in facts.phones] == ["+79211234567"]
    assert [d.value for d in facts.dates] == [datetime.date(2026, 3, 13)]
    assert facts.ocr_text == ""


@pytest.mark.parametrize("text", ["", "😻😻", "🐶 🐶 🐶"])
def test_understand_post_empty_or_emoji(text: str) -> None:
    facts = understand_post(text)
    assert facts.kind.value == "other" and facts.kind.confidence <= 0.1
    assert facts.species is None and facts.city is None and facts.phones == () and facts.dates == ()


def test_understand_post_bad_inputs() -> None:
    with pytest.raises(InputError, match=r"post\.text"):
        understand_post(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="posted_at"):
        understand_post("Пропал кот", posted_at=datetime.datetime(2026, 3, 14))
    with pytest.raises(InputError, match="source"):
        Extracted("lost", 0.5, "radio")
    with pytest.raises(InputError, match="confidence"):
        Extracted("lost", 1.5, "text")
