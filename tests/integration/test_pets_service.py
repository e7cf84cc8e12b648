"""PetsService on real embedded stores (SQLite + Alembic, NumPy gallery, RootSIFT): intake, dedup, privacy,
lost↔found matching, camera sightings, feedback, all-or-nothing writes, concurrent duplicates."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pets_factories import BlobDetector, collage, encode, fake_understand, pets_service, photo_of, poster
from sightings.core.errors import InputError, MediaError, NotFoundError, TooLargeError
from sightings.solutions.pets.posts import PostDraft, SightingDraft

pytest.importorskip("sqlalchemy")
pytest.importorskip("cv2")

T0 = datetime(2025, 1, 5, 12, tzinfo=UTC)
HOME = (55.750, 37.600)


def lost(individual: int, **kw: Any) -> PostDraft:
    values: dict[str, Any] = {
        "kind": "lost",
        "text": f"Пропал кот номер {individual}, рыжий, помогите найти, звоните",
        "photos": (encode(photo_of(individual, 0)),),
        "posted_at": T0,
        "lat": HOME[0],
        "lon": HOME[1],
    }
    values.update(kw)
    return PostDraft(**values)


def found(individual: int, variant: int = 1, **kw: Any) -> PostDraft:
    values: dict[str, Any] = {
        "kind": "found",
        "text": f"Нашли кошку у подъезда {individual * 17 + variant}, ищем хозяина, тел {individual}",
        "photos": (encode(photo_of(individual, variant)),),
        "posted_at": T0 + timedelta(days=1),
        "lat": HOME[0] + 0.01,
        "lon": HOME[1],
    }
    values.update(kw)
    return PostDraft(**values)


@pytest.fixture
def service(tmp_path: Path) -> Any:
    svc = pets_service(tmp_path)
    yield svc
    svc.close()


def test_pets_migrations_agree_with_the_models(service: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from sightings.solutions.pets.store_models import VERSION_TABLE, PetsBase

    assert service.store.revision() == "p0001"
    with service.store._engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": lambda n, t, _: t != "table" or bool(n and n.startswith("pets_"))}
        )
        diff = [d for d in compare_metadata(context, PetsBase.metadata) if VERSION_TABLE not in str(d)]
    assert diff == []


def test_lost_post_finds_its_found_post_surely_and_others_not(service: Any) -> None:
    found_ids = {i: service.add_post(found(i)).post.id for i in range(5)}
    out = service.add_post(lost(3))
    assert out.status == "added" and out.post.kind == "lost" and out.post.species == "cat"
    assert out.post.text and out.post.flags == () and len(out.animals) == 1 and out.animals[0].stored
    best = out.matches[0]
    assert best.target_id == found_ids[3] and best.sure and best.calibrated and best.confidence > 0.9
    assert not any(m.sure for m in out.matches[1:])
    assert best.distance_km == pytest.approx(1.11, abs=0.02)
    views = service.lost_matches(out.post.id)
    assert views[0].target_id == found_ids[3] and views[0].photo_id is not None
    assert service.photo_path(views[0].photo_id).is_file()


def test_found_post_after_the_lost_one_is_matched_to_it(service: Any) -> None:
    lost_post = service.add_post(lost(2)).post
    out = service.add_post(found(2, 2))
    assert out.matches and out.matches[0].lost_post_id == lost_post.id and out.matches[0].sure
    assert service.lost_matches(lost_post.id)[0].target_id == out.post.id


def test_a_found_post_with_the_lost_posts_own_photo_is_a_match_not_a_copy(service: Any) -> None:
    lost_post = service.add_post(lost(3)).post
    out = service.add_post(found(3, photos=(encode(photo_of(3, 0), "JPEG"),)))  # the owner's photo, re-posted
    assert out.status == "added" and out.post.duplicate_of is None
    assert out.matches and out.matches[0].lost_post_id == lost_post.id and out.matches[0].sure


def test_species_time_and_distance_rules_filter_candidates(service: Any) -> None:
    service.add_post(found(1, species="dog"))  # same animal, but said to be a dog
    service.add_post(found(1, 2, posted_at=T0 - timedelta(days=10)))  # found before it was lost
    service.add_post(found(1, 3, lat=HOME[0] + 1.0))  # ~111 km away
    out = service.add_post(lost(1, species="cat"))
    assert out.matches == ()


def test_posts_without_photo_or_animal_are_kept_and_flagged(service: Any) -> None:
    no_photo = service.add_post(PostDraft(kind="lost", text="Пропал кот, фото нет"))
    assert no_photo.status == "added" and no_photo.post.flags == ("no_photo",) and no_photo.animals == ()
    no_animal = service.add_post(lost(4, photos=(encode(poster(1)),)))
    assert no_animal.post.flags == ("no_animal",) and no_animal.animals == () and no_animal.matches == ()
    assert service.get_post(no_animal.post.id).post.photo_count == 1
    emoji = service.add_post(PostDraft(text="🐱🐱🙏", photos=(encode(photo_of(9)),)))
    assert emoji.post.kind == "other" and emoji.animals == ()  # not lost/found: kept, not in a gallery


def test_collage_post_gives_one_crop_per_tile(service: Any) -> None:
    tiles = [photo_of(6, v) for v in range(4)]
    out = service.add_post(lost(6, photos=(encode(collage(tiles, 2, 2, gutter=6)),)))
    assert "collage" in out.post.flags and service.store.photos_of(out.post.id)[0].tiles == 4
    # one crop per tile; crops within the engine's near-duplicate distance of one already enrolled add nothing
    assert 2 <= len(out.animals) <= 4 and {a.tile_index for a in out.animals} <= {0, 1, 2, 3}


def test_privacy_mode_keeps_only_embeddings_fields_and_link(service: Any) -> None:
    service.add_post(found(5))
    out = service.add_post(
        lost(5, source="vk", source_id="-123_456", link="https://vk.com/wall-123_456", author="Анна")
    )
    post = out.post
    assert post.privacy and "privacy" in post.flags and post.text is None and post.author is None
    assert post.link == "https://vk.com/wall-123_456" and post.facts["kind"]["value"] == "lost"
    assert out.animals and not out.animals[0].stored and out.matches and out.matches[0].sure
    with pytest.raises(NotFoundError, match="privacy"):
        service.photo_path(out.animals[0].embedding_id)
    assert not list(service.crops_dir.glob(f"{post.id}*"))


def test_dedup_same_source_id_repost_same_photo_and_edited_text(service: Any) -> None:
    first = service.add_post(lost(7, source="vk", source_id="-1_100"))
    again = service.add_post(lost(7, source="vk", source_id="-1_100"))
    assert again.status == "exists" and again.post.id == first.post.id
    repost = service.add_post(lost(8, source="vk", source_id="-2_5", repost_of="-1_100", photos=()))
    assert repost.status == "duplicate" and repost.post.duplicate_of == first.post.id
    assert repost.post.duplicate_reason == "repost"
    jpeg = encode(photo_of(7, 0), "JPEG")  # the same photo, re-encoded
    same_photo = service.add_post(lost(70, text="Потерялся котик, очень ждём дома, вся семья ищет", photos=(jpeg,)))
    assert same_photo.status == "duplicate" and same_photo.post.duplicate_reason == "photo"
    edited = service.add_post(lost(7, text=lost(7).text + "!!! Репост 🙏", photos=()))
    assert edited.status == "duplicate" and edited.post.duplicate_reason == "text"
    details = service.get_post(first.post.id)
    assert set(details.duplicates) == {repost.post.id, same_photo.post.id, edited.post.id}
    assert service.store.counts()["animals"] == 1  # copies are not enrolled again


def test_original_arriving_after_its_repost_is_linked_to_it(service: Any) -> None:
    repost = service.add_post(lost(11, source="vk", source_id="-2_9", repost_of="-1_300"))
    original = service.add_post(lost(12, source="vk", source_id="-1_300"))
    assert original.status == "duplicate" and original.post.duplicate_of == repost.post.id


def test_concurrent_duplicates_give_one_post_and_one_link(tmp_path: Path) -> None:
    service = pets_service(tmp_path)
    barrier = threading.Barrier(4)
    results: list[Any] = []

    def add(draft: PostDraft) -> None:
        barrier.wait()
        results.append(service.add_post(draft))

    drafts = [
        lost(20, source="telegram", source_id="chan:1"),
        lost(20, source="telegram", source_id="chan:1"),  # the same delivery twice
        lost(20, source="telegram", source_id="chan:2"),  # the same post under another id
        lost(20, source="telegram", source_id="chan:2"),
    ]
    threads = [threading.Thread(target=add, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses == ["added", "duplicate", "exists", "exists"]
    counts = service.store.counts()
    assert counts["posts"] == 2 and counts["animals"] == 1
    kept = next(r.post for r in results if r.status == "added")
    assert [p.id for p in service.store.duplicates_of(kept.id)] == [
        r.post.id for r in results if r.status == "duplicate"
    ]
    service.close()


def test_bad_input_is_refused_before_anything_is_written(service: Any) -> None:
    with pytest.raises(MediaError, match=r"notes\.txt"):
        service.add_post(lost(1, photos=(encode(photo_of(1)), b"just some text"), photo_names=("a.png", "notes.txt")))
    with pytest.raises(TooLargeError, match="50 photos; at most 20"):
        service.add_post(lost(1, photos=(b"x",) * 50))
    assert service.store.counts()["posts"] == 0 and service.matcher("lost").gallery.count() == 0


def test_a_failed_write_leaves_no_vectors_and_no_crop_files(service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise InputError("disk says no", where="test")

    monkeypatch.setattr(service.store, "add_post", broken)
    with pytest.raises(InputError, match="disk says no"):
        service.add_post(lost(1))
    assert service.matcher("lost").gallery.count() == 0 and not list(service.crops_dir.iterdir())


def test_camera_sighting_is_matched_and_listed_with_filters(service: Any) -> None:
    lost_post = service.add_post(lost(13)).post
    service.add_post(found(13, 1, district="Выхино"))
    crop = photo_of(13, 2)[20:130, 40:160]
    seen = T0 + timedelta(days=2)
    out = service.add_sighting(
        SightingDraft("cam-7", encode(crop), seen, HOME[0], HOME[1] + 0.01, species="cat", district="Люблино")
    )
    assert out.matches and out.matches[0].lost_post_id == lost_post.id and out.matches[0].target_kind == "sighting"
    views = service.lost_matches(lost_post.id)
    assert {v.target_kind for v in views[:2]} == {"post", "sighting"}
    assert [v.target_kind for v in service.lost_matches(lost_post.id, district="Люблино")] == ["sighting"]
    assert service.lost_matches(lost_post.id, sort="time")[0].target_kind == "sighting"
    assert service.lost_matches(lost_post.id, since=seen)[0].place == "camera cam-7"
    assert service.lost_matches(lost_post.id, max_km=0.5) == []
    with pytest.raises(NotFoundError, match="not a lost one"):
        service.lost_matches(service.store.list_posts(kind="found")[0].id)
    with pytest.raises(NotFoundError):
        service.lost_matches("no-such-post")


def test_a_repeated_camera_crop_is_stored_once_per_camera_and_time_window(service: Any) -> None:
    lost_post = service.add_post(lost(14)).post
    crop = encode(photo_of(14, 2)[20:130, 40:160])
    seen = T0 + timedelta(days=2)
    first = service.add_sighting(SightingDraft("cam-1", crop, seen, HOME[0], HOME[1], species="cat"))
    again = service.add_sighting(SightingDraft("cam-1", crop, seen + timedelta(seconds=9), HOME[0], HOME[1]))
    assert not first.duplicate and again.duplicate and again.sighting.id == first.sighting.id
    assert [m.id for m in again.matches] == [m.id for m in first.matches]
    # another camera, or the same camera much later, is a new sighting
    other = service.add_sighting(SightingDraft("cam-2", crop, seen, HOME[0], HOME[1], species="cat"))
    later = service.add_sighting(SightingDraft("cam-1", crop, seen + timedelta(hours=2), HOME[0], HOME[1]))
    assert not other.duplicate and not later.duplicate
    assert service.matcher("found").gallery.count() == 3
    assert {v.target_id for v in service.lost_matches(lost_post.id)} >= {first.sighting.id, other.sighting.id}


def test_feedback_is_stored_and_recalibrates_once_there_is_enough(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(4):
        service.add_post(found(i))
    lost_ids = [service.add_post(lost(i)).post.id for i in range(4)]
    matches = [m for pid in lost_ids for m in service.store.matches_of_lost(pid)]
    assert sum(m.sure for m in matches) >= 2 and sum(not m.sure for m in matches) >= 2
    with pytest.raises(NotFoundError, match="match"):
        service.add_feedback("no-such-match", "mine")
    with pytest.raises(InputError, match="verdict"):
        service.add_feedback(matches[0].id, "maybe")
    for m in matches:
        service.add_feedback(m.id, "mine" if m.sure else "not_mine", note="test")
    first = matches[0]
    tapped = service.add_feedback(first.id, "mine" if first.sure else "not_mine", note="test")  # a double tap
    assert len(service.store.feedback(first.id)) == 1 and tapped.id == service.store.feedback(first.id)[0].id
    service.add_feedback(first.id, "not_mine" if first.sure else "mine", note="test")  # a change of mind is kept
    service.add_feedback(first.id, "mine" if first.sure else "not_mine", note="test")  # and back
    assert len(service.store.feedback(first.id)) == 3
    summary = service.calibrate()
    assert summary["source"] == "prior" and summary["needed_per_class"] == 10  # too few answers yet
    monkeypatch.setattr("sightings.solutions.pets.matching.MIN_FEEDBACK_PER_CLASS", 2)
    summary = service.calibrate()
    assert summary["source"] == "feedback" and summary["method"] == "platt"
    assert (service.root / "calibration.json").is_file() and service.calibration_source == "feedback"
    assert service.store.feedback(matches[0].id)[0].note == "test"
    again = service.add_post(found(2, 3))  # new matches use the refitted curve
    assert again.matches and again.matches[0].calibrated


def test_a_calibration_another_process_fits_is_used_by_the_next_match(tmp_path: Path) -> None:
    """The API, the bots and the watcher are separate processes on one folder: a refit by one reaches the others."""
    from sightings.identity.calibration import fit_calibrator

    service = pets_service(tmp_path)
    first = service.matcher("lost").calibrator
    assert service.calibration_source == "prior"
    refit = fit_calibrator(  # what PetsService.calibrate() in another process writes
        [0.2, 0.3, 0.4, 0.6, 0.7, 0.9], [False, False, True, False, True, True], method="platt",
        embedder=service.config.embedder, score_kind=service.score_kind,
    )  # fmt: skip
    refit.save(service.root)
    assert service.matcher("found").calibrator is not first and service.calibration_source == "feedback"
    assert service.matcher("lost").calibrator == service.matcher("found").calibrator == refit
    service.close()


def test_without_detector_photos_are_used_whole(tmp_path: Path) -> None:
    service = pets_service(tmp_path, detector=False)
    out = service.add_post(lost(3, photos=(encode(poster(2)),)))
    assert out.post.flags == ("no_detector",) and len(out.animals) == 1 and out.animals[0].species is None
    service.close()


def test_real_text_understanding_fills_the_fields(tmp_path: Path) -> None:
    pytest.importorskip("natasha")
    from pets_factories import pets_settings
    from sightings.solutions.pets.service import PetsService

    service = PetsService(pets_settings(tmp_path), detector=BlobDetector())
    text = "Пропала собака 12 марта в Купчино! Чёрный лабрадор, откликается на Граф. 8 921 123-45-67"
    out = service.add_post(PostDraft(text=text, photos=(encode(photo_of(1)),), posted_at=T0))
    post = out.post
    assert post.kind == "lost" and post.species == "cat"  # the detector's species wins over the text's
    assert "+79211234567" in post.phones and post.facts["kind"]["confidence"] > 0.5
    assert post.district is not None
    assert fake_understand("Нашли собаку").kind.value == "found"
    service.close()


def test_service_gallery_is_the_identity_engines(service: Any) -> None:
    from sightings.identity.matcher import Matcher

    assert isinstance(service.matcher("lost"), Matcher) and service.calibration_source == "prior"
    with pytest.raises(InputError):
        service.matcher("adoption")
    vec = service.matcher("found").embedder.embed([photo_of(1)])
    assert vec.shape[0] == 1 and np.isfinite(vec).all()
