"""``WildlifeService``: enrol individuals, predict who is in a photo (with the gate), review predictions.

    service = WildlifeService()                       # settings: data dir, catalog URL, embedder, vector store
    service.enrol(photo_bytes, species="lion", individual="Ayo")
    service.calibrate("lion")                         # confidence, open-set and gate thresholds from the gallery
    p = service.predict(photo_bytes, species="lion")  # PredictionRecord, stored in the sinks
    p.status, p.individual_id, p.confidence, p.reason, p.message
    service.review(p.id, "confirm")                   # confirmed photo → gallery; every decision → audit log

Individuals are catalog identities (``SqlCatalog``) with ``species`` set; each enrolled photo is a catalog sighting
whose ``embedding_id`` is its vector in the species gallery. Writes are all-or-nothing: an enrolment whose catalog
row fails is removed from the gallery again; a prediction is one row written after everything else succeeded.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_bytes
from sightings.core.config import Settings, get_settings
from sightings.core.errors import ConfigError, InputError, NotFoundError, SightingsError
from sightings.core.replicas import ReplicaPool
from sightings.core.threads import InstancePool
from sightings.core.types import Place
from sightings.i18n import N_
from sightings.identity.catalog.records import IdentityRecord, SightingRecord
from sightings.identity.consistency import crash_point
from sightings.media.images import ImageSource, load_image, read_exif, read_image
from sightings.solutions.wildlife.gate import (
    REASONS,
    GateCheck,
    GateResult,
    GateSettings,
    animal_check,
    distribution_check,
    image_quality_checks,
    sentence,
)
from sightings.solutions.wildlife.reports import WildlifeReports
from sightings.solutions.wildlife.resemblance import ResemblanceEmbedder, load_resemblance_embedder
from sightings.solutions.wildlife.species import SpeciesCalibration, SpeciesIndex, check_name, project
from sightings.solutions.wildlife.store import (
    PredictionRecord,
    ReviewRecord,
    SpeciesRecord,
    WildlifeStore,
    new_prediction_id,
)

__all__ = ["Analysis", "CheckedPhoto", "EnrolOutcome", "WildlifeReports", "WildlifeService"]


@dataclass(frozen=True, slots=True)
class EnrolOutcome:
    """One enrolled photo: ``added`` False when it was a near-duplicate of ``embedding_id`` already there."""

    individual_id: str
    species: str
    embedding_id: str
    added: bool


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Analysis:
    """The CPU-bound part of a prediction (decode, gate, identify), as a worker process sends it back."""

    gate: GateResult
    matches: list[dict[str, Any]]
    unknown: bool
    projection: list[float] | None
    t: datetime | None
    lat: float | None
    lon: float | None
    query_jpeg: bytes | None
    """The photo to store: ``None`` when it is the upload itself (a JPEG not shrunk on decode), else re-encoded."""


def _replica(settings: Settings) -> WildlifeService:
    """The service a prediction worker process holds (:class:`~sightings.core.replicas.ReplicaPool`), with its
    models and galleries loaded before it takes its first prediction."""
    service = WildlifeService(settings, detector_threads=1)
    service.preload()
    return service


@dataclass(frozen=True, slots=True, eq=False)
class _Photo:
    image: npt.NDArray[np.uint8]
    t: datetime | None
    lat: float | None
    lon: float | None
    upload_as_is: bool = False  # the upload is a JPEG that decodes to ``image`` as is (stored without re-encoding)


@dataclass(frozen=True, slots=True, eq=False)
class CheckedPhoto:
    """A photo :meth:`WildlifeService.check_enrol` passed for ``individual`` of ``species``, decoded once:
    :meth:`WildlifeService.enrol_checked` enrols it."""

    species: str
    individual: str
    where: str | None
    photo: _Photo


def _same_species(record: IdentityRecord, species: str) -> None:
    """An existing individual enrolled again must be enrolled under its own species."""
    if record.species != species:
        raise InputError(
            f"individual {record.id!r} is a {record.species or 'non-wildlife'} record, not {species!r}",
            where="individual",
        )


class WildlifeService:
    """The wildlife photo-ID service (thread-safe: writes are serialised, predictions run in parallel)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        root: Path | None = None,
        gate: GateSettings | None = None,
        use_detector: bool | None = None,
        use_clip: bool | None = None,
        detector_threads: int = 2,
        max_parallel: int | None = None,
        compute_processes: int = 0,
    ) -> None:
        """``detector_threads``: threads of the animal detector's interpreter; ``max_parallel``: most predictions
        computing at once in this process (``None``: no bound; the API server passes its core count, see
        ``serving``); ``compute_processes``: worker processes that compute predictions instead (0: this process;
        the API server's default is one per core, ``server.compute_processes``)."""
        from sightings.identity.catalog import SqlCatalog

        self.settings = settings or get_settings()
        self.config = self.settings.wildlife
        self.root = root or self.settings.data_dir / "wildlife"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "queries").mkdir(exist_ok=True)
        url = self.config.catalog_url
        db_path = None if url else self.settings.data_dir / "catalog.sqlite"
        self.catalog = SqlCatalog(url, path=db_path)
        self.store = WildlifeStore(url, path=db_path)
        self.gate_settings = gate or GateSettings()
        self._use_detector = use_detector
        self._use_clip = use_clip
        self._clip: Any = None
        self._resemblance: ResemblanceEmbedder | None = None
        self._loaded_optional = False
        self._species: dict[str, SpeciesIndex] = {}
        self._write = threading.RLock()
        self._detectors: InstancePool[Any] | None = None
        self._detector_threads = detector_threads
        if max_parallel is not None and max_parallel < 1:
            raise ConfigError(f"must be >= 1 or None, got {max_parallel}", where="max_parallel")
        self._max_parallel = max_parallel
        self._compute: AbstractContextManager[Any] = (
            threading.BoundedSemaphore(max_parallel) if max_parallel else contextlib.nullcontext()
        )
        if compute_processes < 0:
            raise ConfigError(f"must be >= 0, got {compute_processes}", where="compute_processes")
        if compute_processes and self.config.vector_store == "qdrant" and not self.config.vector_store_url:
            log.info("wildlife: Qdrant's local mode locks its folder to one process: predictions compute here")
            compute_processes = 0
        self._workers: ReplicaPool | None = None
        if compute_processes:
            self._workers = ReplicaPool(
                functools.partial(_replica, self.settings), compute_processes, name="wildlife prediction workers"
            )

    def preload(self) -> None:
        """Load the optional models and open every species' gallery now rather than on first use."""
        self._optional_models()
        try:
            names = [record.name for record in self.store.list_species()]
        except SightingsError as err:  # the store is down now: galleries open on first use instead
            log.warning("wildlife: galleries not preloaded: %s", err)
            return
        for name in names:
            try:
                self.species(name)
            except SightingsError as err:  # a broken gallery answers with its own error when asked
                log.warning("wildlife: species %s not preloaded: %s", name, err)

    def warm(self) -> None:
        """Start the prediction workers now (each loads the models and opens the galleries before its first
        prediction); nothing to do without workers."""
        if self._workers is not None:
            self._workers.warm()

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
        self.catalog.close()
        self.store.close()

    # ------------------------------------------------------------------ helpers
    def _optional_models(self) -> None:
        """Load the animal detector and the CLIP gate once, when their models are installed (or forced)."""
        if self._loaded_optional:
            return
        with self._write:  # concurrent first predictions: load once
            if not self._loaded_optional:
                self._load_optional_models()

    def _load_optional_models(self) -> None:
        from sightings.models.store import ModelStore

        models = self.settings.models_path
        installed = ModelStore(models)
        if self._use_detector is not False and "ssd-mobilenetv2-oidv4" in installed:
            from sightings.core.registry import DETECTORS

            def make() -> Any:
                return DETECTORS.create(
                    "ssd-oidv4",
                    models_dir=models,
                    classes=("Cat", "Dog", "Cattle"),
                    score_threshold=0.1,
                    num_threads=self._detector_threads,
                )

            # one per prediction computing at once (an interpreter is not thread-safe); the first made now
            self._detectors = InstancePool(make, self._max_parallel or 1, first=make())
        if self.config.resemblance:
            self._resemblance = load_resemblance_embedder(models, self.config.resemblance_input)
        if self._use_clip is not False:
            from sightings.solutions.wildlife.clip_gate import load_clip_gate

            self._clip = load_clip_gate(models)
        self._loaded_optional = True

    def species(self, name: str, *, create: bool = False) -> SpeciesIndex:
        """The gallery of a species (NotFoundError unless it exists or ``create``)."""
        check_name(name, "species")
        with self._write:
            index = self._species.get(name)
            if index is None:
                if not create:
                    self.store.get_species(name)  # NotFoundError for an unknown species
                index = SpeciesIndex(
                    self.root,
                    name,
                    embedder_name=self.config.embedder,
                    vector_store=self.config.vector_store,
                    rerank=self.config.rerank,
                    vector_store_url=self.config.vector_store_url,
                    rerank_max_side=self.config.rerank_max_side,
                    rerank_octave_layers=self.config.rerank_octave_layers,
                )
                self._species[name] = index
            else:
                index.follow_calibration()  # another process may have re-calibrated it
            return index

    def _decode(self, source: ImageSource, where: str | None) -> _Photo:
        media = self.settings.media
        loaded = read_image(
            source,
            max_bytes=media.max_image_bytes,
            max_pixels=media.max_image_pixels,
            max_side=self.config.max_side,
            where=where,
        )
        exif: Mapping[str, Any] = {}
        try:
            exif = read_exif(source, max_pixels=media.max_image_pixels, where=where)
        except InputError:
            exif = {}
        t = exif.get("datetime")
        as_is = loaded.kind == "jpeg" and loaded.image.shape[:2] == (loaded.height, loaded.width)
        return _Photo(
            loaded.image,
            t if isinstance(t, datetime) and t.tzinfo else None,
            exif.get("lat"),
            exif.get("lon"),
            as_is and isinstance(source, bytes | bytearray | memoryview),
        )

    # ------------------------------------------------------------------ individuals
    def add_species(self, name: str, *, scientific_name: str | None = None, vernacular_name: str | None = None) -> None:
        check_name(name, "species")
        self.store.put_species(SpeciesRecord(name, scientific_name, vernacular_name))
        self.species(name, create=True)

    def individual(self, individual_id: str) -> tuple[IdentityRecord, list[SightingRecord]]:
        """An individual and its enrolled photos (NotFoundError if unknown)."""
        check_name(individual_id, "individual")
        record = self.catalog.get_identity(individual_id)
        if record.species is None or record.attributes.get("solution") != "wildlife":
            raise NotFoundError("no such individual in the wildlife catalogue", where=f"individual {individual_id}")
        return record, self.catalog.sightings_of(individual_id)

    def _ensure_individual(self, individual_id: str, species: str, label: str | None) -> None:
        try:
            record = self.catalog.get_identity(individual_id)
        except NotFoundError:
            attributes = {"solution": "wildlife"}
            self.catalog.add_identity(
                label or individual_id,
                identity_id=individual_id,
                species=species,
                source="wildlife",
                attributes=attributes,
            )
            return
        _same_species(record, species)

    def check_enrol(
        self,
        source: ImageSource,
        *,
        species: str,
        individual: str,
        where: str | None = None,
        check_quality: bool = True,
    ) -> CheckedPhoto:
        """Everything :meth:`enrol` would refuse this photo for (ids, an individual of another species, decoding, the
        quality gate), writing nothing: a caller enrolling several photos checks them all before enrolling any, then
        enrols each with :meth:`enrol_checked`."""
        check_name(individual, "individual")
        check_name(species, "species")
        photo = self._decode(source, where)
        if check_quality:
            result = GateResult(image_quality_checks(photo.image, self.gate_settings), species)
            if not result.passed:
                raise InputError(result.message or "unusable photo", where=where or "photo")
        with contextlib.suppress(NotFoundError):
            _same_species(self.catalog.get_identity(individual), species)
        return CheckedPhoto(species, individual, where, photo)

    def enrol(
        self,
        source: ImageSource,
        *,
        species: str,
        individual: str,
        label: str | None = None,
        where: str | None = None,
        check_quality: bool = True,
        media_uri: str | None = None,
    ) -> EnrolOutcome:
        """Enrol one photo of ``individual`` (created if new); no retraining, findable at once."""
        checked = self.check_enrol(
            source, species=species, individual=individual, where=where, check_quality=check_quality
        )
        return self.enrol_checked(checked, label=label, media_uri=media_uri)

    def enrol_checked(
        self, checked: CheckedPhoto, *, label: str | None = None, media_uri: str | None = None
    ) -> EnrolOutcome:
        """Enrol a photo :meth:`check_enrol` passed (the second half of :meth:`enrol`)."""
        species, individual, where, photo = checked.species, checked.individual, checked.where, checked.photo
        with self._write:
            if species not in {s.name for s in self.store.list_species()}:
                self.store.put_species(SpeciesRecord(species))
            index = self.species(species, create=True)
            self._ensure_individual(individual, species, label)
            eid = f"{species}-{uuid.uuid4().hex[:16]}"
            done = index.matcher.enrol(
                photo.image, identity=individual, embedding_id=eid, metadata={"species": species}
            )
            if not done.added:
                return EnrolOutcome(individual, species, done.duplicate_of or eid, False)
            try:
                index.save_media(eid, photo.image)
                crash_point("wildlife.enrol")  # test hook: vector and photo written, catalog row not yet
                place = Place(lat=photo.lat, lon=photo.lon) if photo.lat is not None and photo.lon is not None else None
                self.catalog.add_sighting(
                    SightingRecord(
                        eid,
                        media_uri=media_uri or where,
                        identity_id=individual,
                        source="wildlife",
                        t=photo.t,
                        place=place,
                        species=species,
                        embedder=self.config.embedder,
                        dim=index.matcher.embedder.dim,
                    )
                )
            except BaseException:
                index.matcher.forget([eid])
                (index.media / f"{eid}.png").unlink(missing_ok=True)
                raise
            return EnrolOutcome(individual, species, eid, True)

    def calibrate(self, species: str, *, max_queries: int = 400) -> SpeciesCalibration:
        """Refit the species' confidence, open-set, gate and drift baseline on its gallery + review pairs."""
        index = self.species(species)
        entries = [(s.embedding_id, s.identity_id or "") for s in self.catalog.find_sightings(species=species)]
        pairs = self.review_pairs(species)
        self._optional_models()
        with self._write:
            return index.calibrate(
                [e for e in entries if e[1]], pairs, max_queries=max_queries, resemblance=self._resemblance
            )

    def reindex(self, species: str, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Extract the re-rank's local features of every gallery photo again (from the stored photos) with the
        current settings, then re-calibrate; after a change of ``wildlife.rerank_max_side`` or
        ``rerank_octave_layers``. Returns the count."""
        index = self.species(species)
        if index.matcher.local_store is None:
            raise ConfigError("re-ranking is off (wildlife.rerank: false): there are no local features", where=species)
        ids = [s.embedding_id for s in self.catalog.find_sightings(species=species)]
        with self._write:
            count = index.matcher.reextract_local(
                ((eid, load_image(index.media_path(eid))) for eid in ids),
                progress=None if progress is None else (lambda done: progress(done, len(ids))),
            )
        self.calibrate(species)
        return count

    def review_pairs(self, species: str) -> list[tuple[float, bool]]:
        """(score, same individual) pairs from reviewer decisions, for re-calibration."""
        pairs: list[tuple[float, bool]] = []
        for review in self.store.latest_reviews().values():
            pred = self.store.get_prediction(review.prediction_id)
            if pred.species != species or review.decision == "reject":
                continue
            for match in pred.matches:
                if match.get("score") is not None:
                    pairs.append((float(match["score"]), match.get("individual_id") == review.individual_id))
        return pairs

    # ------------------------------------------------------------------ predict
    def run_gate(self, image: npt.NDArray[np.uint8], index: SpeciesIndex) -> tuple[GateResult, Any]:
        """All gate checks for ``image``; returns the result and the embedding (``None`` if not reached)."""
        result = GateResult(image_quality_checks(image, self.gate_settings), index.name)
        if not result.passed:
            return result, None
        self._optional_models()
        if index.name not in self.config.detector_species:
            check = GateCheck("no_animal", True, skipped=f"the detector has no class for {index.name!r}")
        elif (shortcut := index.resemblance_check(self._resemblance, image)) is not None:
            check = GateCheck("no_animal", True, skipped=shortcut)
        elif self._detectors is not None:
            with self._detectors.borrow() as detector:
                check = animal_check(detector, image, self.gate_settings)
        else:
            check = animal_check(None, image, self.gate_settings)
        result = result.with_checks([check])
        if not result.passed:
            return result, None
        vector = index.matcher.embed(image)
        threshold = index.calibration.ood_threshold if index.calibration else None
        result = result.with_checks([distribution_check(index.nearest_distance(vector), threshold)])
        if result.passed and self._clip is not None:
            result = result.with_checks([self._clip.check(image, index.name)])
        elif result.passed:
            result = result.with_checks([GateCheck("not_target_species", True, skipped="no CLIP model installed")])
        return result, vector

    def predict(
        self,
        source: ImageSource,
        *,
        species: str,
        k: int | None = None,
        filename: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        t: datetime | None = None,
        origin: str = "api",
        store: bool = True,
    ) -> PredictionRecord:
        """Gate, then identify; the answer is stored in the sinks (one row) and returned.

        The computing part (:meth:`analyse`) runs in a prediction worker process when the service has them, else
        here (at most ``max_parallel`` at once); storing runs here."""
        self.species(species)  # NotFoundError for an unknown species, before anything is decoded
        upload = bytes(source) if isinstance(source, bytes | bytearray | memoryview) else None  # (picklable)
        if self._workers is not None:
            found: Analysis = self._workers.call(
                "analyse", source if upload is None else upload, species=species, k=k, filename=filename, keep=store
            )
        else:
            with self._compute:  # the CPU-bound part; storing (disk, database) is outside the bound
                found = self.analyse(source, species=species, k=k, filename=filename, keep=store)
        gate, matches = found.gate, found.matches
        status, individual, best, confidence = "rejected", None, None, None
        calibrated = bool(matches) and bool(matches[0]["calibrated"])
        if gate.passed:
            best = matches[0]["individual_id"] if matches else None
            # a raw score is no probability: without a calibration nothing is accepted and no confidence is given
            confidence = (matches[0]["confidence"] if calibrated else None) if matches else 0.0
            status = "unknown" if found.unknown or not matches or not calibrated else "accepted"
            individual = None if status == "unknown" else best
        pid = new_prediction_id()
        record = PredictionRecord(
            id=pid,
            species=species,
            status=status,
            created_at=datetime.now(UTC),
            reason=gate.reason,
            message=gate.message if not gate.passed else _answer_sentence(species, status, best, confidence, matches),
            individual_id=individual,
            best_candidate=best,
            confidence=confidence,
            matches=matches,
            gate=[c.as_dict() for c in gate.checks],
            media_uri=f"queries/{pid}.jpg",
            filename=filename,
            event_time=t or found.t,
            lat=lat if lat is not None else found.lat,
            lon=lon if lon is not None else found.lon,
            projection=found.projection,
            source=origin,
        )
        if store:
            query = found.query_jpeg if found.query_jpeg is not None else upload
            if query is not None:
                atomic_write_bytes(self.root / "queries" / f"{pid}.jpg", query)
            try:
                self.store.add_predictions([record])
            except BaseException:
                (self.root / "queries" / f"{pid}.jpg").unlink(missing_ok=True)
                raise
        return record

    def analyse(
        self,
        source: ImageSource,
        *,
        species: str,
        k: int | None = None,
        filename: str | None = None,
        keep: bool = True,
    ) -> Analysis:
        """Decode, gate and identify one photo (no storing): the work a prediction worker does. ``keep``: the photo
        will be stored, so encode it when it is not the upload as is."""
        index = self.species(species)
        photo = self._decode(source, filename)
        gate, vector = self.run_gate(photo.image, index)
        found = index.matcher.identify(photo.image, k=k or self.config.top_k, vector=vector) if gate.passed else []
        ranked = [m for m in found if m.candidate is not None]
        matches = [
            {
                "individual_id": m.candidate,
                "confidence": round(float(m.confidence), 6),
                "score": round(float(m.evidence.get("score", 0.0)), 6),
                "distance": round(float(m.distance), 6),
                "embedding_id": m.evidence.get("embedding_id"),
                "inliers": int(m.evidence.get("inliers", 0)),
                "calibrated": bool(m.evidence.get("calibrated", False)),
            }
            for m in ranked
        ]
        return Analysis(
            gate=gate,
            matches=matches if gate.passed else [],
            unknown=bool(found) and found[0].candidate is None,
            projection=None if vector is None else project(vector)[0].round(6).tolist(),
            t=photo.t,
            lat=photo.lat,
            lon=photo.lon,
            query_jpeg=None if photo.upload_as_is or not keep else _encode_query(photo.image),
        )

    def query_image_path(self, prediction_id: str) -> Path:
        path = self.root / "queries" / f"{check_name(prediction_id, 'prediction')}.jpg"
        if not path.is_file():
            raise NotFoundError("no stored photo for this prediction", where=f"prediction {prediction_id}")
        return path

    # ------------------------------------------------------------------ review
    def _added_by_review(self, prediction_id: str, embedding_ids: Sequence[str | None]) -> list[str]:
        """Of ``embedding_ids``, those a review of this prediction added to the gallery (not a near-duplicate it
        found already there: that photo belongs to its own enrolment)."""
        out = []
        for eid in dict.fromkeys(e for e in embedding_ids if e):
            try:
                if self.catalog.get_sighting(eid).media_uri == f"prediction:{prediction_id}":
                    out.append(eid)
            except NotFoundError:
                continue  # already gone
        return out

    def review(
        self,
        prediction_id: str,
        decision: str,
        *,
        individual: str | None = None,
        reviewer: str | None = None,
        note: str | None = None,
    ) -> ReviewRecord:
        """``confirm`` (the top candidate, or ``individual``), ``correct`` (to ``individual``, created if new) or
        ``reject`` (not usable). Confirmed/corrected photos are enrolled; every decision is in the audit log. A
        photo the gate rejected is enrolled only if it passes enrolment's quality check (else InputError, nothing
        recorded: ``reject`` it, or enrol a better photo)."""
        pred = self.store.get_prediction(check_name(prediction_id, "prediction"))
        if decision not in ("confirm", "correct", "reject"):
            raise InputError(f"must be confirm, correct or reject, got {decision!r}", where="decision")
        top = pred.best_candidate
        if decision == "confirm":
            final = individual or top
            if final is None:
                raise InputError("nothing to confirm: the prediction has no candidate; use correct", where="decision")
        elif decision == "correct":
            if not individual:
                raise InputError("correct needs the right individual id", where="individual")
            final = individual
        else:
            final = None
        agreed = (final == pred.individual_id) if decision != "reject" else pred.status == "rejected"
        score = next((m.get("score") for m in pred.matches if m.get("individual_id") == final), None)
        with self._write:
            # the latest decision about a photo is the one that counts: a photo already enrolled by an earlier
            # review of it stays when this one names the same individual, and leaves the gallery otherwise
            earlier = self.store.reviews(prediction_id=pred.id)
            kept = earlier[-1].embedding_id if earlier and earlier[-1].individual_id == final else None
            stale = self._added_by_review(pred.id, [r.embedding_id for r in earlier if r.embedding_id != kept])
            enrolled: EnrolOutcome | None = None
            if final is not None and kept is None:
                # a photo the gate turned away goes through enrolment's quality check (too dark, small, blurry
                # photos are refused there too); one that passed the gate was checked already
                enrolled = self.enrol(
                    self.query_image_path(pred.id),
                    species=pred.species,
                    individual=final,
                    check_quality=pred.status == "rejected",
                    media_uri=f"prediction:{pred.id}",
                )
            try:
                recorded = self.store.add_review(
                    ReviewRecord(
                        pred.id,
                        decision,
                        agreed,
                        individual_id=final,
                        predicted_id=pred.individual_id,
                        score=score,
                        reviewer=reviewer,
                        note=note,
                        embedding_id=enrolled.embedding_id if enrolled else kept,
                    )
                )
            except BaseException:
                if enrolled is not None and enrolled.added:
                    self.species(pred.species).matcher.forget([enrolled.embedding_id])
                    self.catalog.delete_sightings([enrolled.embedding_id])
                raise
            if stale:  # after the audit row: a failure above leaves the earlier decision's enrolment in place
                self.species(pred.species).matcher.forget(stale)
                self.catalog.delete_sightings(stale)
            return recorded


def _encode_query(image: npt.NDArray[np.uint8]) -> bytes | None:
    """The photo as identified, when it is not the upload as is (a shrunk or non-JPEG upload): JPEG quality 92."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return encoded.tobytes() if ok else None


_UNCALIBRATED = N_(
    "Not calibrated yet: the closest is {best} (score {score:.2f}, not a probability), and nothing is accepted until "
    "`sightings wildlife calibrate {species}` has run (it needs photos of two or more individuals)."
)
_ACCEPTED = N_("Most likely {best} (confidence {confidence:.0%}).")
_NOTHING_ENROLLED = N_("No enrolled individual to compare with: this may be a new individual.")
_NEW_INDIVIDUAL = N_("New individual? The closest is {best}, but not close enough (confidence {confidence:.0%}).")


def _same(text: str) -> str:
    return text


def _answer_sentence(
    species: str,
    status: str,
    best: str | None,
    confidence: float | None,
    matches: Sequence[Mapping[str, Any]],
    *,
    translate: Callable[[str], str] = _same,
) -> str:
    """The sentence of an answer the gate let through; without a calibration, the closest and its raw score."""
    if matches and not matches[0].get("calibrated", False):
        return translate(_UNCALIBRATED).format(best=best, score=float(matches[0]["confidence"]), species=species)
    if status == "accepted":
        return translate(_ACCEPTED).format(best=best, confidence=confidence or 0.0)
    if best is None:
        return translate(_NOTHING_ENROLLED)
    return translate(_NEW_INDIVIDUAL).format(best=best, confidence=confidence or 0.0)


def prediction_message(p: PredictionRecord, translate: Callable[[str], str]) -> str:
    """The stored prediction's sentence again, in another language (``translate``: a catalogue's gettext): from its
    status, gate checks and matches, the way :meth:`WildlifeService.predict` wrote it in English."""
    if p.status == "rejected":
        failed = next((g for g in p.gate if not g.get("passed", True)), None)
        if failed is None or failed.get("code") not in REASONS:
            return p.message or ""
        return sentence(
            str(failed["code"]),
            value=float(failed.get("value") or 0.0),
            threshold=float(failed.get("threshold") or 0.0),
            species=p.species,
            detail=str(failed.get("detail") or ""),
            translate=translate,
        )
    return _answer_sentence(p.species, p.status, p.best_candidate, p.confidence, p.matches, translate=translate)
