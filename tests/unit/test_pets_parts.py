"""Pets engine parts without stores: post model, dedup signatures, collage split, crops, matching rules, views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pets_factories import BlobDetector, collage, natural_photo, photo_of, poster
from sightings.core.errors import ConfigError, InputError
from sightings.core.types import Box
from sightings.solutions.pets.animals import AnimalCrop, AnimalFinder, post_species
from sightings.solutions.pets.collage import split_collage
from sightings.solutions.pets.dedup import DuplicateIndex, normalise_text, signature_similarity, text_signature
from sightings.solutions.pets.matching import MatchRules, haversine_km, prior_calibrator
from sightings.solutions.pets.posts import CameraSighting, MatchRecord, PostDraft, PostRecord, parse_point
from sightings.solutions.pets.privacy import PrivacyPolicy
from sightings.solutions.pets.views import match_views

T0 = datetime(2025, 1, 5, 12, tzinfo=UTC)


# ---------------------------------------------------------------------- post model
def test_post_draft_validates_fields_and_names_photos() -> None:
    draft = PostDraft(kind="lost", photos=(b"a", b"b"), lat=55.7, lon=37.6)
    assert draft.photo_names == ("photo 1", "photo 2") and draft.source == "manual"
    with pytest.raises(InputError, match=r"post\.kind"):
        PostDraft(kind="stolen")
    with pytest.raises(InputError, match=r"post\.source"):
        PostDraft(source="facebook")
    with pytest.raises(InputError, match="lat and lon go together"):
        PostDraft(lat=55.0)
    with pytest.raises(InputError, match="timezone-aware"):
        PostDraft(posted_at=datetime(2025, 1, 1))  # a naive time
    with pytest.raises(InputError, match=r"post\.source_id"):
        PostDraft(source_id="bad id with spaces")
    # every backend refuses a NUL the same way, naming the field (PostgreSQL's insert failed, naming the database)
    with pytest.raises(InputError, match=r"post\.text: contains a NUL"):
        PostDraft(text="пропал кот\x00")
    with pytest.raises(InputError, match=r"post\.district: contains a NUL"):
        PostDraft(district="\x00")
    with pytest.raises(InputError, match=r"post\.phones: contains a NUL"):
        PostDraft(phones=("+7 900\x00",))


def test_parse_point() -> None:
    assert parse_point("55.75, 37.62") == (55.75, 37.62)
    assert parse_point("55.75 37.62") == (55.75, 37.62)
    assert parse_point("") is None
    for bad in ("55.75", "north,south", "95,10", "10,200"):
        with pytest.raises(InputError):
            parse_point(bad)


# ---------------------------------------------------------------------- dedup
LOST = "Пропал кот Рыжик 5 января в районе Выхино! Рыжий, белая грудка, ошейник синий. Звоните 8 916 123-45-67"


def test_text_signature_sees_small_edits_not_other_posts() -> None:
    assert normalise_text("Ёжик, СРОЧНО!!! 🐱 https://vk.com/wall-1_2") == "ежик срочно"
    a = text_signature(LOST)
    edited = text_signature(LOST.replace("Рыжик", "Рыжик!!") + " 🙏 Репост, пожалуйста")
    other = text_signature("Найдена собака у метро Кузьминки, ошейник без адреса, ищем хозяина, телефон 8 903 555")
    assert a is not None and edited is not None and other is not None
    assert signature_similarity(a, edited) >= 0.7
    assert signature_similarity(a, other) < 0.2
    assert text_signature("Пропал кот") is None  # too short to compare
    assert text_signature("🐱🐱🐱 🙏") is None  # emoji only


def test_duplicate_index_by_photo_hash_and_text() -> None:
    index = DuplicateIndex()
    index.add("p1", phashes=["ffff0000ffff0000"], signature=text_signature(LOST))
    assert index.same_photo(["ffff0000ffff0001"], max_bits=6) == "p1"
    assert index.same_photo(["0000ffff0000ffff"], max_bits=6) is None
    assert index.same_text(text_signature(LOST + " репост"), min_similarity=0.7) == "p1"
    assert index.same_text(None, min_similarity=0.7) is None
    assert len(index) == 1


def test_copies_are_found_among_posts_of_the_same_kind_only() -> None:
    index = DuplicateIndex()
    index.add("lost-1", kind="lost", phashes=["ffff0000ffff0000"], signature=text_signature(LOST))
    index.add("found-1", kind="found", phashes=["ffff0000ffff0003"])
    # a found post showing the lost pet's photo is a match to make, not a copy of the lost post
    assert index.same_photo(["ffff0000ffff0001"], max_bits=6, kind="found") == "found-1"
    assert index.same_photo(["ffff0000ffff0001"], max_bits=6, kind="lost") == "lost-1"
    assert index.same_photo(["ffff0000ffff0001"], max_bits=6, kind="adoption") is None
    assert index.same_text(text_signature(LOST + " репост"), min_similarity=0.7, kind="found") is None
    assert index.same_text(text_signature(LOST + " репост"), min_similarity=0.7, kind="lost") == "lost-1"


# ---------------------------------------------------------------------- collages
@pytest.mark.parametrize(("rows", "cols", "gutter"), [(1, 2, 0), (2, 1, 6), (2, 2, 0), (2, 2, 8), (1, 3, 4), (3, 3, 0)])
def test_grid_collages_split_into_their_tiles(rows: int, cols: int, gutter: int) -> None:
    tiles = [natural_photo(i + 10 * rows + cols, width=180, height=140) for i in range(rows * cols)]
    split = split_collage(collage(tiles, rows, cols, gutter=gutter))
    assert (split.rows, split.cols, len(split.tiles)) == (rows, cols, rows * cols)
    for tile, original in zip(split.tiles, tiles, strict=True):
        assert abs(tile.box.width - 180) <= 2 and abs(tile.box.height - 140) <= 2
        h, w = min(tile.image.shape[0], 140), min(tile.image.shape[1], 180)
        assert np.abs(tile.image[:h, :w].astype(int) - original[:h, :w].astype(int)).mean() < 3


def test_two_photos_over_one_is_split_by_rows_then_columns() -> None:
    top = collage([natural_photo(1, width=150, height=120), natural_photo(2, width=150, height=120)], 1, 2, gutter=4)
    bottom = natural_photo(3, width=top.shape[1], height=120)
    image = np.concatenate([top, np.full((4, top.shape[1], 3), 255, np.uint8), bottom])
    split = split_collage(image)
    assert len(split.tiles) == 3 and split.rows == 2


@pytest.mark.parametrize("seed", range(8))
def test_single_photos_stay_whole(seed: int) -> None:
    for image in (natural_photo(100 + seed), photo_of(seed), poster(seed)):
        split = split_collage(image)
        assert not split.is_collage and split.tiles[0].image is image


def test_collage_refuses_non_images() -> None:
    with pytest.raises(InputError, match="collage"):
        split_collage(np.zeros((10, 10), np.float32))  # type: ignore[arg-type]


# ---------------------------------------------------------------------- animals
def test_finder_crops_with_margin_and_species() -> None:
    finder = AnimalFinder(BlobDetector("dog"), threshold=0.3, margin=0.1)
    crops = finder.find(photo_of(1), photo_index=2, tile_index=1)
    assert len(crops) == 1
    crop = crops[0]
    assert crop.species == "dog" and crop.photo_index == 2 and crop.tile_index == 1 and crop.detected
    assert crop.box.width > 96 and crop.image.shape[:2] == (round(crop.box.height), round(crop.box.width))
    assert finder.find(poster()) == []


def test_finder_without_detector_uses_whole_photo() -> None:
    image = photo_of(1)
    crops = AnimalFinder(None).find(image)
    assert len(crops) == 1 and not crops[0].detected and crops[0].species is None and crops[0].image is image


def test_post_species_vote_and_text_tie_break() -> None:
    def crop(species: str, score: float) -> AnimalCrop:
        return AnimalCrop(np.zeros((2, 2, 3), np.uint8), Box(0, 0, 2, 2), species, score)

    assert post_species([crop("dog", 0.9), crop("cat", 0.4)], "cat") == "dog"
    assert post_species([crop("dog", 0.5), crop("cat", 0.5)], "cat") == "cat"
    assert post_species([], "dog") == "dog"
    assert post_species([], None) is None


# ---------------------------------------------------------------------- matching rules
def test_haversine_and_rules() -> None:
    assert haversine_km(55.7558, 37.6173, 59.9343, 30.3351) == pytest.approx(634, abs=3)  # Moscow–St Petersburg
    rules = MatchRules(max_km=10, max_days=30, early_days=2)
    lo, hi = rules.time_window("lost", T0)
    assert (lo, hi) == (T0 - timedelta(days=2), T0 + timedelta(days=30))
    lo, hi = rules.time_window("found", T0)
    assert (lo, hi) == (T0 - timedelta(days=30), T0 + timedelta(days=2))
    where = rules.where_for("lost", species="cat", t=T0)
    assert where["species"] == ["cat", "unknown"] and where["t"][0] < where["t"][1]
    assert "species" not in rules.where_for("lost", species=None, t=T0)
    assert rules.close_enough(None) and rules.close_enough(9.9) and not rules.close_enough(10.1)
    assert rules.close_enough(12, max_km=15)
    with pytest.raises(ConfigError):
        MatchRules(max_km=0)


def test_prior_calibrator_is_monotone_and_only_for_the_default_embedder() -> None:
    cal = prior_calibrator("color-texture", "two-stage")
    p = cal.predict([0.7, 0.9, 1.1, 1.3])
    assert np.all(np.diff(p) > 0) and p[0] < 0.05 and p[-1] > 0.95
    assert prior_calibrator("onnx", "two-stage") is None


def test_privacy_policy() -> None:
    policy = PrivacyPolicy.of(["vk"])
    assert policy.applies("vk") and not policy.applies("manual")
    assert policy.text("vk", "Пропал кот") is None and policy.text("manual", "Пропал кот") == "Пропал кот"
    assert policy.text("manual", "   ") is None
    assert policy.author("vk", "Анна") is None and not policy.keeps_photos("vk") and policy.keeps_photos("telegram")
    with pytest.raises(ConfigError, match="facebook"):
        PrivacyPolicy.of(["facebook"])


# ---------------------------------------------------------------------- views
def _post(pid: str, kind: str, *, lat: float, lon: float, district: str | None = None, days: float = 0) -> PostRecord:
    when = T0 + timedelta(days=days)
    return PostRecord(pid, "manual", pid, kind, when, when, lat=lat, lon=lon, district=district, species="cat")


def test_match_views_filter_and_sort() -> None:
    lost = _post("L", "lost", lat=55.75, lon=37.60)
    posts = {
        "F1": _post("F1", "found", lat=55.76, lon=37.60, district="Выхино", days=1),  # ~1.1 km
        "F2": _post("F2", "found", lat=55.80, lon=37.60, district="Люблино", days=3),  # ~5.6 km
    }
    sightings = {"S1": CameraSighting("S1", "cam7", T0 + timedelta(days=2), 55.75, 37.61, "S1-0", T0)}

    def match(target: str, kind: str, confidence: float) -> MatchRecord:
        return MatchRecord(
            f"m{target}",
            "L",
            kind,
            target,
            confidence,
            1.0,
            True,
            confidence >= 0.9,
            T0,
            target_embedding_id=f"{target}-0",
        )

    matches = [match("F1", "post", 0.5), match("F2", "post", 0.95), match("S1", "sighting", 0.7)]
    stored = {"F1-0", "S1-0"}
    views = match_views(lost, matches, posts, sightings, stored)
    assert [v.target_id for v in views] == ["F2", "S1", "F1"]
    assert views[0].photo_id is None and views[1].photo_id == "S1-0" and views[1].place == "camera cam7"
    assert [v.target_id for v in match_views(lost, matches, posts, sightings, stored, sort="time")] == [
        "F2",
        "S1",
        "F1",
    ]
    by_distance = match_views(lost, matches, posts, sightings, stored, sort="distance")
    assert [v.target_id for v in by_distance] == ["S1", "F1", "F2"]
    assert [v.target_id for v in match_views(lost, matches, posts, sightings, stored, max_km=2)] == ["S1", "F1"]
    assert [v.target_id for v in match_views(lost, matches, posts, sightings, stored, district="выхино")] == ["F1"]
    assert [v.target_id for v in match_views(lost, matches, posts, sightings, stored, sure_only=True)] == ["F2"]
    since = T0 + timedelta(days=1.5)
    assert {v.target_id for v in match_views(lost, matches, posts, sightings, stored, since=since)} == {"F2", "S1"}
    far_home = match_views(lost, matches, posts, sightings, stored, home=(55.80, 37.60), sort="distance")
    assert far_home[0].target_id == "F2" and far_home[0].distance_km == pytest.approx(5.56, abs=0.05)
    with pytest.raises(InputError, match="sort"):
        match_views(lost, matches, posts, sightings, stored, sort="price")
