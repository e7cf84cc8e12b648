"""``PetsService``: the one engine service of pets lost & found — the API, the CLI, the bots and the watcher all go
through it (the bots and the watcher over the HTTP API), never through copies of its stores.

    service = PetsService()
    out = service.add_post(PostDraft(source="manual", kind="lost", text="Пропал кот", photos=(jpeg,), lat=.., lon=..))
    out.status, out.post.id, out.post.flags, [m.confidence for m in out.matches]
    service.lost_matches(out.post.id, max_km=5, sort="distance")      # → [MatchView], best first
    service.add_sighting(SightingDraft(camera_id="cam1", crop=jpeg, seen_at=t, lat=.., lon=..))
    service.add_feedback(match_id, "mine")
    service.calibrate()                                               # refit confidence on owners' answers

A post goes: photos decoded and checked (all before any write) → collages split → cats/dogs found and cropped →
text understood (``sightings.solutions.pets.text``) → dedup (repost, same photo, same text) → crops enrolled in the
``lost`` or ``found`` gallery and the rows written, all or nothing → matched against the other gallery (calibrated
confidence, species, distance, time window) → matches stored. See docs/pets.md.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.config import Settings, get_settings
from sightings.core.errors import InputError, NotFoundError
from sightings.core.file_stamps import FileStamps
from sightings.core.types import Box
from sightings.solutions.pets.animals import AnimalCrop, AnimalFinder, create_animal_detector
from sightings.solutions.pets.dedup import DuplicateIndex, text_signature
from sightings.solutions.pets.matching import (
    MatchQuery,
    MatchRules,
    build_matcher,
    load_calibrator_or_prior,
    match_records,
)
from sightings.solutions.pets.posts import (
    VERDICTS,
    AnimalRecord,
    CameraSighting,
    FeedbackRecord,
    MatchRecord,
    PostDraft,
    PostOutcome,
    PostRecord,
    SightingDraft,
)
from sightings.solutions.pets.preparation import PhotoLimits, PreparedPost, merge_fields, prepare_photos
from sightings.solutions.pets.privacy import PrivacyPolicy
from sightings.solutions.pets.store import PetsStore, PhotoHash
from sightings.solutions.pets.views import MatchView, PostDetails, SightingOutcome, match_views

__all__ = ["GALLERIES", "PetsService"]

log = logging.getLogger(__name__)
GALLERIES = ("lost", "found")
_DEFAULT: Any = object()


class PetsService:
    """Posts in, lost↔found matches out. Thread-safe: writes are serialised, matching of different posts may run
    in parallel.

    Args:
        settings: the settings (``pets`` section); default: the process-wide ones.
        root: where galleries and crop files live (default ``<data_dir>/pets``).
        detector: a cat/dog :class:`~sightings.core.protocols.Detector`, ``None`` for none; default: the one named by
            ``pets.detector`` (``ssd-oidv4``), or none when its model is not installed.
        understand: ``(text, posters, posted_at) → PostFacts`` (posters: BGR arrays of the photos where no animal was
            found); default: ``sightings.solutions.pets.text``'s ``understand_post`` (OCR of posters when ``pets.ocr``).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        root: Path | None = None,
        detector: Any = _DEFAULT,
        understand: Callable[[str, Sequence[npt.NDArray[np.uint8]], datetime | None], Any] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.config = self.settings.pets
        self.root = root or self.settings.data_dir / "pets"
        self.crops_dir = self.root / "crops"
        self.crops_dir.mkdir(parents=True, exist_ok=True)
        url = self.config.catalog_url
        self.store = PetsStore(url, path=None if url else self.settings.data_dir / "catalog.sqlite")
        self.rules = MatchRules(self.config.max_km, self.config.max_days, self.config.early_days)
        self.privacy = PrivacyPolicy.of(self.config.privacy_sources)
        media = self.settings.media
        self.limits = PhotoLimits(
            self.config.max_photos,
            self.config.max_side,
            media.max_image_bytes,
            media.max_image_pixels,
            self.config.split_collages,
        )
        self._detector = detector
        self._finder: AnimalFinder | None = None
        self._understand = understand
        self._matchers: dict[str, Any] = {}
        self._gallery_locks = {name: threading.RLock() for name in GALLERIES}
        self._write = threading.RLock()
        self._setup = threading.Lock()
        self._dedup: DuplicateIndex | None = None
        self.calibration_source = "none"
        self._calibration_file = FileStamps(self.root / "calibration.json")

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ engine parts (lazy)
    @property
    def score_kind(self) -> str:
        return "two-stage" if self.config.rerank else "cosine"

    def matcher(self, gallery: str) -> Any:
        """The identity engine's matcher over the ``lost`` or ``found`` gallery."""
        if gallery not in GALLERIES:
            raise InputError(f"must be one of {', '.join(GALLERIES)}, got {gallery!r}", where="gallery")
        with self._setup:
            if self._calibration_file.changed() and self._matchers:  # another process (API, bot) refitted it
                calibrator, self.calibration_source = load_calibrator_or_prior(
                    self.root, embedder=self.config.embedder, score_kind=self.score_kind
                )
                for loaded in self._matchers.values():
                    loaded.calibrator = calibrator
            if gallery not in self._matchers:
                matcher = build_matcher(
                    self.root / gallery,
                    embedder=self.config.embedder,
                    vector_store=self.config.vector_store,
                    vector_store_url=self.config.vector_store_url,
                    collection=f"pets_{gallery}",
                    rerank=self.config.rerank,
                    rerank_max_side=self.config.rerank_max_side,
                )
                matcher.calibrator, self.calibration_source = load_calibrator_or_prior(
                    self.root, embedder=self.config.embedder, score_kind=self.score_kind
                )
                self._matchers[gallery] = matcher
            return self._matchers[gallery]

    def finder(self) -> AnimalFinder:
        with self._setup:
            if self._finder is None:
                detector = self._detector
                if detector is _DEFAULT:
                    detector = create_animal_detector(
                        self.config.detector,
                        models_dir=self.settings.models_path,
                        threshold=self.config.detector_threshold,
                    )
                self._finder = AnimalFinder(
                    detector, threshold=self.config.detector_threshold, margin=self.config.crop_margin
                )
            return self._finder

    def _dedup_index(self) -> DuplicateIndex:
        with self._setup:
            if self._dedup is None:
                index = DuplicateIndex()
                for post_id, kind, phash in self.store.originals_with_photos():
                    index.add(post_id, kind=kind, phashes=[phash])
                for post_id, kind, signature in self.store.originals_with_text():
                    index.add(post_id, kind=kind, signature=signature)
                self._dedup = index
            return self._dedup

    def _facts(self, draft: PostDraft, prepared: PreparedPost) -> Any:
        # the text package reads posters as OpenCV does: BGR
        posters = tuple(np.ascontiguousarray(p[..., ::-1]) for p in prepared.posters) if self.config.ocr else ()
        if not self.config.understand_text or (not draft.text.strip() and not posters):
            return None
        if self._understand is not None:
            return self._understand(draft.text, posters, draft.posted_at)
        from sightings.solutions.pets.text import understand_post

        return understand_post(draft.text, posters, posted_at=draft.posted_at, ocr=self.config.ocr)

    # ------------------------------------------------------------------ posts
    def add_post(self, draft: PostDraft) -> PostOutcome:
        """Take a post in: checked, understood, deduplicated, stored (all or nothing), matched."""
        prepared = prepare_photos(draft, self.finder(), self.limits)
        privacy = self.privacy.applies(draft.source)
        fields = merge_fields(draft, self._facts(draft, prepared), prepared.crops, keep_ocr_text=not privacy)
        crops = prepared.crops
        if not crops and self.config.embed_without_animal:
            crops = tuple(
                AnimalCrop(p.image, Box(0, 0, p.width, p.height), None, None, p.index, 0, detected=False)
                for p in prepared.photos
            )
        post_id = uuid.uuid4().hex
        source_id = draft.source_id or post_id
        signature = text_signature(draft.text, min_words=self.config.dedup_min_words) if draft.text else None
        phashes = [p.phash for p in prepared.photos]
        record = PostRecord(
            id=post_id,
            source=draft.source,
            source_id=source_id,
            kind=fields.kind,
            created_at=datetime.now(UTC),
            posted_at=fields.posted_at,
            link=draft.link,
            text=self.privacy.text(draft.source, draft.text),
            author=self.privacy.author(draft.source, draft.author),
            species=fields.species,
            city=fields.city,
            district=fields.district,
            address=fields.address,
            phones=fields.phones,
            lat=draft.lat,
            lon=draft.lon,
            repost_of=draft.repost_of,
            flags=prepared.flags + (("privacy",) if privacy else ()),
            privacy=privacy,
            photo_count=len(prepared.photos),
            facts=fields.facts,
        )
        photo_rows = [PhotoHash(p.index, p.phash, p.width, p.height, p.tiles) for p in prepared.photos]
        with self._write:
            existing = self.store.find_post(draft.source, source_id)
            if existing is not None:
                return self._exists(existing)
            duplicate_of, reason = self._duplicate_of(draft, source_id, record.kind, phashes, signature)
            if duplicate_of is not None:
                record = replace(record, duplicate_of=duplicate_of, duplicate_reason=reason)
                if self.store.add_post(record, photos=photo_rows, text_signature=signature) is None:
                    return self._exists(self._stored(draft.source, source_id))
                return PostOutcome(record, "duplicate")
            animals, enrolled = self._enrol(record, crops, keep_files=not privacy)
            try:
                stored = self.store.add_post(record, photos=photo_rows, animals=animals, text_signature=signature)
            except BaseException:
                self._undo(record.kind, [a.embedding_id for a in animals])
                raise
            if stored is None:  # another process stored this source id meanwhile
                self._undo(record.kind, [a.embedding_id for a in animals])
                return self._exists(self._stored(draft.source, source_id))
            self._dedup_index().add(post_id, kind=record.kind, phashes=phashes, signature=signature)
        query = MatchQuery(record.kind, post_id, record.species, record.posted_at, record.lat, record.lon, enrolled)
        return PostOutcome(record, "added", tuple(animals), tuple(self._match(query)))

    def _stored(self, source: str, source_id: str) -> PostRecord:
        found = self.store.find_post(source, source_id)
        if found is None:  # pragma: no cover - the unique constraint said it exists
            raise NotFoundError("post vanished while being stored", where=f"{source} {source_id}")
        return found

    def _exists(self, post: PostRecord) -> PostOutcome:
        matches = self.store.matches_of_lost(post.id) if post.kind == "lost" else []
        return PostOutcome(post, "exists", tuple(self.store.animals_of(post.id)), tuple(matches))

    def _root(self, post: PostRecord | None) -> PostRecord | None:
        for _ in range(8):  # follow duplicate links to the post kept
            if post is None or post.duplicate_of is None:
                return post
            post = self.store.get_post(post.duplicate_of)
        return post

    def _duplicate_of(
        self, draft: PostDraft, source_id: str, kind: str, phashes: Sequence[str], signature: Sequence[int] | None
    ) -> tuple[str | None, str | None]:
        """The post this one copies: a repost (any kind), or the same photo or text in a post of the same kind (a
        found post showing the photo of a lost one is what matching is for, not a copy)."""
        if draft.repost_of is not None:
            original = self._root(self.store.find_post(draft.source, draft.repost_of))
            if original is not None:
                return original.id, "repost"
        reposts = self.store.reposts_of(draft.source, source_id)  # its repost came first
        if reposts:
            return reposts[0].id, "repost"
        index = self._dedup_index()
        same = index.same_photo(phashes, max_bits=self.config.dedup_photo_bits, kind=kind)
        if same is not None:
            return same, "photo"
        same = index.same_text(signature, min_similarity=self.config.dedup_text_jaccard, kind=kind)
        return (same, "text") if same is not None else (None, None)

    def _enrol(
        self, record: PostRecord, crops: Sequence[AnimalCrop], *, keep_files: bool
    ) -> tuple[list[AnimalRecord], tuple[tuple[str, npt.NDArray[np.uint8], npt.NDArray[np.float32]], ...]]:
        """Crops of a lost/found post into its gallery (and crop files unless private); undone on failure."""
        if record.kind not in GALLERIES or not crops:
            return [], ()
        matcher = self.matcher(record.kind)
        animals: list[AnimalRecord] = []
        enrolled: list[tuple[str, npt.NDArray[np.uint8], npt.NDArray[np.float32]]] = []
        try:
            for n, crop in enumerate(crops):
                eid = f"{record.id}-{n}"
                species = record.species or crop.species or "unknown"  # the post's decision: given > detector > text
                meta = {"species": species, "t": record.posted_at, "source": "post"}
                vector = matcher.embed(crop.image)  # once: enrolment and matching both use it
                with self._gallery_locks[record.kind]:
                    done = matcher.enrol(crop.image, identity=record.id, embedding_id=eid, metadata=meta, vector=vector)
                if not done.added:
                    continue
                enrolled.append((eid, crop.image, vector))
                if keep_files:
                    self._save_crop(eid, crop.image)
                animals.append(
                    AnimalRecord(
                        eid,
                        record.id,
                        record.kind,
                        crop.photo_index,
                        crop.tile_index,
                        crop.box,
                        crop.species,
                        crop.score,
                        stored=keep_files,
                    )
                )
        except BaseException:
            self._undo(record.kind, [eid for eid, _, _ in enrolled])
            raise
        return animals, tuple(enrolled)

    def _undo(self, gallery: str, embedding_ids: Sequence[str]) -> None:
        if not embedding_ids:
            return
        with self._gallery_locks[gallery]:
            self.matcher(gallery).forget(list(embedding_ids))
        for eid in embedding_ids:
            (self.crops_dir / f"{eid}.jpg").unlink(missing_ok=True)

    def _save_crop(self, embedding_id: str, image: npt.NDArray[np.uint8]) -> None:
        import cv2

        from sightings.core.atomic import atomic_write_bytes

        quality = self.settings.media.jpeg_quality
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
            raise InputError("JPEG encoding failed", where=embedding_id)
        atomic_write_bytes(self.crops_dir / f"{embedding_id}.jpg", encoded.tobytes())

    # ------------------------------------------------------------------ matching
    def _match(self, query: MatchQuery) -> list[MatchRecord]:
        """Match a new lost post against found posts and sightings, or a found post / sighting against lost posts;
        store and return the plausible candidates (best first, at most ``pets.top_k``)."""
        other = "found" if query.kind == "lost" else "lost"
        if query.kind not in ("lost", "found", "sighting") or not query.crops:
            return []
        matcher = self.matcher(other)
        where = self.rules.where_for("lost" if query.kind == "lost" else "found", species=query.species, t=query.t)
        best: dict[str, tuple[Any, str]] = {}
        for eid, image, vector in query.crops:  # both galleries use the same embedder (pets.embedder)
            with self._gallery_locks[other]:
                if matcher.gallery.count() == 0:
                    return []
                found = matcher.identify(image, k=self.config.top_k * 2, where=where, query_id=eid, vector=vector)
            for m in found:
                if m.candidate is None:
                    continue
                if m.candidate not in best or m.evidence["score"] > best[m.candidate][0].evidence["score"]:
                    best[m.candidate] = (m, eid)
        if not best:
            return []
        posts = self.store.posts(list(best))
        sightings = self.store.sightings([c for c in best if c not in posts])
        records = match_records(
            query, best, posts, sightings, rules=self.rules, precision_threshold=self.config.precision_threshold
        )
        records.sort(key=lambda r: -r.confidence)
        return self.store.upsert_matches(records[: self.config.top_k])

    # ------------------------------------------------------------------ camera sightings (#7 watcher)
    def add_sighting(self, draft: SightingDraft) -> SightingOutcome:
        """A street-camera crop: into the found gallery (a candidate for every lost post), matched against lost."""
        from sightings.media.images import read_image

        media = self.settings.media
        image = read_image(
            draft.crop,
            max_bytes=media.max_image_bytes,
            max_pixels=media.max_image_pixels,
            max_side=self.config.max_side,
            where="crop",
        ).image
        matcher = self.matcher("found")
        sid = uuid.uuid4().hex
        eid = f"{sid}-0"
        sighting = CameraSighting(
            sid,
            draft.camera_id,
            draft.seen_at,
            draft.lat,
            draft.lon,
            eid,
            datetime.now(UTC),
            draft.species,
            draft.score,
            draft.district,
        )
        meta = {"species": draft.species or "unknown", "t": draft.seen_at, "source": "camera"}
        vector = matcher.embed(image)  # once: the repeat check, enrolment and matching all use it
        with self._write:  # the repeat check and the write under one lock: two copies at once store one
            repeat = self._repeated_sighting(matcher, vector, draft)
            if repeat is not None:
                matches = tuple(self.store.matches_of_target("sighting", repeat.id))
                return SightingOutcome(repeat, matches, duplicate=True)
            with self._gallery_locks["found"]:
                matcher.enrol(image, identity=sid, embedding_id=eid, metadata=meta, vector=vector)
            try:
                self._save_crop(eid, image)
                animal = AnimalRecord(
                    eid, None, "found", species=draft.species, score=draft.score, stored=True, sighting_id=sid
                )
                self.store.add_sighting(sighting, animal)
            except BaseException:
                self._undo("found", [eid])
                raise
        query = MatchQuery("sighting", sid, draft.species, draft.seen_at, draft.lat, draft.lon, ((eid, image, vector),))
        return SightingOutcome(sighting, tuple(self._match(query)))

    def _repeated_sighting(
        self, matcher: Any, vector: npt.NDArray[np.float32], draft: SightingDraft
    ) -> CameraSighting | None:
        """A stored sighting of the same camera within ``pets.sighting_repeat_s`` whose crop is a near-duplicate
        (cosine distance ≤ ``pets.sighting_duplicate_distance``) of this one: the found gallery keeps one of them."""
        limit = self.config.sighting_duplicate_distance
        if limit <= 0 or matcher.gallery.count() == 0:
            return None
        for hit in matcher.gallery.search(vector, k=5, where={"source": "camera"}):
            if hit.distance > limit:
                break
            try:
                animal = self.store.get_animal(hit.id)
                if animal.sighting_id is None:
                    continue
                stored = self.store.get_sighting(animal.sighting_id)
            except NotFoundError:  # a vector whose rows are gone (being deleted): not a repeat
                continue
            apart_s = abs((stored.seen_at - draft.seen_at).total_seconds())
            if stored.camera_id == draft.camera_id and apart_s <= self.config.sighting_repeat_s:
                return stored
        return None

    # ------------------------------------------------------------------ reading
    def get_post(self, post_id: str) -> PostDetails:
        post = self.store.get_post(post_id)
        duplicates = tuple(p.id for p in self.store.duplicates_of(post_id))
        matches = (
            self.store.matches_of_lost(post_id)
            if post.kind == "lost"
            else self.store.matches_of_target("post", post_id)
        )
        return PostDetails(post, tuple(self.store.animals_of(post_id)), duplicates, len(matches))

    def lost_matches(
        self,
        post_id: str,
        *,
        district: str | None = None,
        max_km: float | None = None,
        since: datetime | None = None,
        sort: str = "confidence",
        limit: int = 50,
        sure_only: bool = False,
        home: tuple[float, float] | None = None,
    ) -> list[MatchView]:
        """The current top matches of a lost post (found posts and camera sightings), filtered and sorted."""
        post = self.store.get_post(post_id)
        if post.kind != "lost":
            raise NotFoundError(f"post is a {post.kind!r} post, not a lost one", where=f"lost post {post_id}")
        matches = self.store.matches_of_lost(post_id)
        posts = self.store.posts([m.target_id for m in matches if m.target_kind == "post"])
        sightings = self.store.sightings([m.target_id for m in matches if m.target_kind == "sighting"])
        stored = self.store.stored_crops([m.target_embedding_id for m in matches if m.target_embedding_id])
        return match_views(
            post,
            matches,
            posts,
            sightings,
            stored,
            district=district,
            max_km=max_km,
            since=since,
            sort=sort,
            limit=limit,
            sure_only=sure_only,
            home=home,
        )

    def photo_path(self, embedding_id: str) -> Path:
        """The stored crop of an animal (NotFoundError when unknown or not kept: privacy mode)."""
        animal = self.store.get_animal(embedding_id)
        path = self.crops_dir / f"{animal.embedding_id}.jpg"
        if not animal.stored or not path.is_file():
            raise NotFoundError("no photo kept for this crop (privacy mode)", where=f"photo {embedding_id}")
        return path

    # ------------------------------------------------------------------ feedback and calibration
    def add_feedback(
        self, match_id: str, verdict: str, *, note: str | None = None, author: str | None = None
    ) -> FeedbackRecord:
        """An owner's "mine" / "not_mine" about a match (kept; used by :meth:`calibrate`). The same answer again
        from the same author (a double tap on a bot's button) is the stored one, not a second row."""
        if verdict not in VERDICTS:
            raise InputError(f"must be one of {', '.join(VERDICTS)}, got {verdict!r}", where="verdict")
        with self._write:
            theirs = [f for f in self.store.feedback(match_id) if f.author == author]
            if theirs and theirs[-1].verdict == verdict and (note is None or theirs[-1].note == note):
                return theirs[-1]
            return self.store.add_feedback(FeedbackRecord(match_id, verdict, note=note, author=author))

    def calibrate(self) -> dict[str, Any]:
        """Refit P(same animal) on owners' answers once there are enough of each kind; else keep the prior."""
        from sightings.identity.calibration import fit_calibrator
        from sightings.solutions.pets.matching import MIN_FEEDBACK_PER_CLASS

        pairs = self.store.feedback_pairs()
        positives = sum(1 for _, mine, _ in pairs if mine)
        negatives = len(pairs) - positives
        summary: dict[str, Any] = {"pairs": len(pairs), "mine": positives, "not_mine": negatives}
        if min(positives, negatives) < MIN_FEEDBACK_PER_CLASS:
            self.matcher("lost")
            return {**summary, "source": self.calibration_source, "needed_per_class": MIN_FEEDBACK_PER_CLASS}
        cal = fit_calibrator(
            [s for s, _, _ in pairs],
            [m for _, m, _ in pairs],
            method="platt" if len(pairs) < 200 else "isotonic",
            embedder=self.config.embedder,
            score_kind=self.score_kind,
        )
        cal.save(self.root)
        with self._setup:
            self._calibration_file.mark()  # its own write: nothing to load again
            for matcher in self._matchers.values():
                matcher.calibrator = cal
            self.calibration_source = "feedback"
        return {**summary, "source": "feedback", "method": cal.method}
