"""Pets post kind: rules, the text model, the labelled set and its held-out split."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.solutions.pets.text import KINDS, classify_kind
from sightings.solutions.pets.text.kind_model import default_model, fit, load_posts
from sightings.solutions.pets.text.kind_rules import rule_decision

pytest.importorskip("sklearn", reason="the pets extra (scikit-learn) is not installed")

BUILDER = Path(__file__).resolve().parents[1] / "data" / "pets" / "build_post_kinds.py"
# Held-out macro-F1 of the combined classifier: 0.962 measured (benchmarks/bench_pets_text.py), minus a margin.
HELD_OUT_MACRO_F1_FLOOR = 0.92


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("ПРОПАЛА СОБАКА! Вознаграждение. 8 916 123-45-67", "lost"),
        ("собака пропала вчера вечером в Купчино", "lost"),
        ("Кот не найден, продолжаем искать", "lost"),
        ("Найдена собака, ищем хозяина!", "found"),
        ("Кто потерял кошку? Сидит у подъезда", "found"),
        ("Нашли котёнка, ищем ему дом", "found"),  # the documented rule: a found animal stays "found"
        ("Котята ищут дом, к лотку приучены", "adoption"),
        ("Отдам в добрые руки щенка", "adoption"),
        ("Продаю корм Royal Canin 10 кг", "other"),
        ("Спасибо всем! Барсик нашёлся", "other"),
        ("Потерял ключи у метро, верните пожалуйста", "other"),
    ],
)
def test_clear_cases(text: str, kind: str) -> None:
    got = classify_kind(text)
    assert got.value == kind, got
    assert 0.5 <= got.confidence <= 1.0 and got.source == "text"


@pytest.mark.parametrize("text", ["", "   \n", "😻😻😻", "🐶❤️🙏", "!!! ???", "123"])
def test_empty_or_emoji_only_is_other_at_low_confidence(text: str) -> None:
    got = classify_kind(text)
    assert got.value == "other" and got.confidence <= 0.1


def test_not_text_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"post\.text"):
        classify_kind(None)  # type: ignore[arg-type]


def test_rules_consume_misleading_phrases() -> None:
    assert rule_decision("Кто потерял собаку? Бегает у школы").kind == "found"
    assert rule_decision("Собаку до сих пор не нашли").kind == "lost"
    assert rule_decision("Найден паспорт на имя Иванова").kind == "other"
    found_home = rule_decision("Подобрали щенка, ищем ему дом")
    assert found_home.certain and found_home.kind == "found"
    assert not rule_decision("Хорошая погода сегодня").certain


def test_labelled_set_size_split_and_kinds() -> None:
    posts = load_posts()
    assert len(posts) >= 320
    assert {p.kind for p in posts} == set(KINDS)
    test_share = sum(p.split == "test" for p in posts) / len(posts)
    assert 0.2 <= test_share <= 0.3
    for kind in KINDS:  # every kind in both splits
        assert {p.split for p in posts if p.kind == kind} == {"train", "test"}


def test_labelled_set_is_what_the_builder_builds() -> None:
    spec = importlib.util.spec_from_file_location("build_post_kinds", BUILDER)
    assert spec is not None and spec.loader is not None
    sys.path.insert(0, str(BUILDER.parent))
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        built = module.to_csv(module.build())
    finally:
        sys.path.remove(str(BUILDER.parent))
    packaged = Path(sys.modules["sightings.solutions.pets"].__file__ or "").parent / "data" / "post_kinds_ru.csv"
    assert packaged.read_text(encoding="utf-8") == built, "run: python tests/data/pets/build_post_kinds.py"


def test_fit_is_deterministic_and_beats_the_floor_on_held_out_posts() -> None:
    from sklearn.metrics import f1_score

    posts = load_posts()
    test = [p for p in posts if p.split == "test"]
    a, b = fit(posts=posts), fit(posts=posts)
    texts = [p.text for p in test[:20]]
    assert a.probabilities(texts) == b.probabilities(texts)
    model = default_model()
    predicted = [model.classify(p.text).value for p in test]
    macro = f1_score([p.kind for p in test], predicted, average="macro")
    assert macro >= HELD_OUT_MACRO_F1_FLOOR, macro


def test_fit_on_a_user_csv_and_bad_csvs(tmp_path: Path) -> None:
    good = tmp_path / "posts.csv"
    good.write_text(
        "text,kind\nПропал кот,lost\nПропала собака,lost\nНайден кот,found\nНайдена собака,found\n"
        "Пропал пёс,lost\nНайден пёс,found\n",
        encoding="utf-8",
    )
    model = fit(good)
    assert model.model_only("Пропала кошка").value == "lost"
    with pytest.raises(NotFoundError):
        fit(tmp_path / "missing.csv")
    bad_kind = tmp_path / "bad.csv"
    bad_kind.write_text("text,kind\nПропал кот,lostt\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv.*row 2"):
        load_posts(bad_kind)
    no_column = tmp_path / "nocol.csv"
    no_column.write_text("body,label\nx,lost\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column"):
        load_posts(no_column)
    one_kind = tmp_path / "one.csv"
    one_kind.write_text("text,kind\nПропал кот,lost\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        fit(one_kind)
