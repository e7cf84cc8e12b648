"""Character accuracy of recognised text (sightings.evaluate.text)."""

from __future__ import annotations

import pytest

from sightings.evaluate.text import char_accuracy, levenshtein, normalise_text


def test_levenshtein_counts_single_character_edits() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "кот") == 3 and levenshtein("кот", "кот") == 0


def test_char_accuracy_ignores_layout_whitespace_and_floors_at_zero() -> None:
    assert normalise_text("  Пропал   кот \n\n 8 921 ") == "Пропал кот\n8 921"
    assert char_accuracy("Пропал  кот\n", "Пропал кот") == 1.0
    assert char_accuracy("ПРОПАЛ КОТ", "Пропал кот", lower=True) == 1.0
    assert char_accuracy("Пропал кит", "Пропал кот") == pytest.approx(0.9)
    assert char_accuracy("completely different and much longer", "кот") == 0.0
