"""One species' gallery on disk, and its self-calibration (confidence, open-set threshold, gate, drift baseline).

    <root>/<species>/gallery/           vector store (lancedb by default)
    <root>/<species>/local/             RootSIFT keypoints per enrolled image
    <root>/<species>/media/<eid>.png    the enrolled image (thumbnails, evidence, re-calibration)
    <root>/<species>/calibration.json   score → P(same individual) + open-set threshold (identity.calibration)
    <root>/<species>/gate.json          out-of-distribution threshold, drift baseline, what it was fitted on
    <root>/<species>/resemblance.npy    ImageNet features of the gallery photos (the gate's resemblance shortcut)

Calibration uses the gallery itself, leave-one-out: each enrolled image is a query against all the others, scored
exactly as :class:`~sightings.identity.matcher.Matcher` scores (cosine of the global descriptor, RootSIFT inliers
fused by :func:`~sightings.identity.rerank.fuse_scores` for the closest ``rerank`` images, maximum per identity).
A query whose individual has no other image is an open-set "stranger". Reviewer disagreements add their pairs.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_bytes
from sightings.core.errors import ConfigError, InputError, IntegrityError, NotFoundError
from sightings.core.file_stamps import FileStamps
from sightings.identity.matcher import LocalFeatureStore, Matcher
from sightings.identity.rerank import fuse_scores
from sightings.solutions.wildlife.resemblance import (
    MIN_GALLERY,
    SAMPLE,
    VECTORS_FILE,
    ResemblanceEmbedder,
    fit_threshold,
    nearest_distance,
)
from sightings.vision.embed.local_features import PRE_STAMP_SIGNATURE

__all__ = ["PROJECTION_DIMS", "SpeciesCalibration", "SpeciesIndex", "check_name", "project", "rerank_matcher"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PROJECTION_DIMS = 8
OOD_QUANTILE = 0.99
OOD_MARGIN = 1.25
BASELINE_SAMPLE = 500


def rerank_matcher(max_side: int, octave_layers: int) -> Any:
    """The RootSIFT matcher of the re-rank (and of the evidence pictures) for the ``wildlife.rerank_*`` settings."""
    from sightings.core.registry import LOCAL_MATCHERS

    return LOCAL_MATCHERS.create("rootsift", max_side=max_side, octave_layers=octave_layers)


def check_name(value: str, what: str) -> str:
    """A species or individual id: letters, digits, ``._-``, 1-64 characters, starting with a letter or digit."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise InputError(f"{value!r} is not a valid {what} id (letters, digits, '.', '_', '-'; at most 64)", where=what)
    return value


def project(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Fixed random projections (seed 0) of embeddings to :data:`PROJECTION_DIMS` numbers, for drift statistics."""
    vectors = np.atleast_2d(np.asarray(vectors, np.float64))
    projected: npt.NDArray[np.float64] = vectors @ _projection(vectors.shape[1])
    return projected


@functools.lru_cache(maxsize=8)
def _projection(dim: int) -> npt.NDArray[np.float64]:
    """The (dim, PROJECTION_DIMS) matrix, made once per dimension (every prediction projects its embedding)."""
    matrix: npt.NDArray[np.float64] = np.random.default_rng(0).standard_normal((dim, PROJECTION_DIMS)) / np.sqrt(dim)
    matrix.setflags(write=False)
    return matrix


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpeciesCalibration:
    """What calibration found on the gallery (saved as ``gate.json``)."""

    gallery_images: int
    identities: int
    ood_threshold: float | None
    nn_distance_median: float | None
    pairs: int
    positives: int
    review_pairs: int
    calibrated: bool
    open_set_threshold: float | None
    baseline_confidence: float | None
    baseline_projection: list[list[float]] = field(default_factory=list)  # (n, PROJECTION_DIMS) sample
    created_at: str = ""
    resemblance_threshold: float | None = None  # the gate's resemblance shortcut (wildlife.resemblance)
    resemblance_model: str | None = None  # its embedder's signature (model, checksum, input size)
    resemblance_images: int | None = None  # gallery photos in resemblance.npy (a seeded sample of a big gallery)
    precision_target: float | None = None  # what the open-set threshold was chosen for
    target_reached: bool | None = None  # False: no threshold reaches it, so no prediction is accepted

    @property
    def warning(self) -> str | None:
        """One line for the user when calibration leaves the species accepting nothing, else None."""
        if self.target_reached is not False:
            return None
        target = self.precision_target or 0.95
        return (
            f"no confidence threshold reaches {target:.0%} precision on this gallery, so no prediction will be "
            "accepted: each answer is 'unknown' with its closest candidates. Add photos (several per individual), "
            "or confirm and correct predictions (sightings wildlife review), then calibrate again"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def load(cls, path: Path) -> SpeciesCalibration | None:
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as err:
            raise IntegrityError(f"unreadable species calibration ({err})", where=path) from None


class SpeciesIndex:
    """The matcher and files of one species (see the module docs)."""

    def __init__(
        self,
        root: Path,
        name: str,
        *,
        embedder_name: str,
        vector_store: str,
        rerank: bool,
        vector_store_url: str | None = None,
        rerank_max_side: int = 240,
        rerank_octave_layers: int = 3,
    ) -> None:
        from sightings.core.registry import EMBEDDERS, VECTOR_STORES

        self.name = check_name(name, "species")
        self.folder = root / name
        self.media = self.folder / "media"
        self.media.mkdir(parents=True, exist_ok=True)
        self.embedder_name = embedder_name
        if vector_store == "qdrant" and vector_store_url:
            gallery = VECTOR_STORES.create("qdrant", url=vector_store_url, collection=f"wildlife_{name}")
        else:
            gallery_path = self.folder / ("gallery.npz" if vector_store == "numpy" else "gallery")
            gallery = VECTOR_STORES.create(vector_store, path=gallery_path)
        self.matcher = Matcher(
            EMBEDDERS.create(embedder_name),
            gallery,
            embedder_name=embedder_name,
            local_matcher=rerank_matcher(rerank_max_side, rerank_octave_layers) if rerank else None,
            local_store=LocalFeatureStore(self.folder / "local", unstamped_as=PRE_STAMP_SIGNATURE) if rerank else None,
        )
        self.calibration: SpeciesCalibration | None = None
        self.resemblance: npt.NDArray[np.float32] | None = None
        self._calibration_files = FileStamps(
            self.folder / "gate.json", self.folder / "calibration.json", self.folder / VECTORS_FILE
        )
        self.reload_calibration()

    @property
    def score_kind(self) -> str:
        return "two-stage" if self.matcher.local_matcher is not None else "cosine"

    def follow_calibration(self) -> bool:
        """Load the calibration again when its files changed since it was loaded (another process — an API worker,
        ``sightings wildlife calibrate`` — fitted a new one); True when it did. Two ``stat`` calls otherwise."""
        if not self._calibration_files.changed():
            return False
        self.reload_calibration()
        return True

    def reload_calibration(self) -> None:
        from sightings.identity.calibration import load_calibrator

        self._calibration_files.mark()  # before reading: a write meanwhile shows next time
        self.calibration = SpeciesCalibration.load(self.folder / "gate.json")
        self.resemblance = self._load_resemblance()
        calibrator = None
        if (self.folder / "calibration.json").is_file():
            try:
                calibrator = load_calibrator(self.folder, embedder=self.embedder_name, score_kind=self.score_kind)
            except ConfigError as err:
                # fitted for another embedder or score (e.g. re-rank switched off since): answers are uncalibrated
                # (and say so) until `sightings wildlife calibrate` fits the current one
                log.warning("%s: %s; run `sightings wildlife calibrate %s`", self.name, err, self.name)
        self.matcher.calibrator = calibrator

    def _load_resemblance(self) -> npt.NDArray[np.float32] | None:
        """The gallery's resemblance vectors when the calibration has a threshold for them (and they fit it)."""
        cal = self.calibration
        path = self.folder / VECTORS_FILE
        if cal is None or cal.resemblance_threshold is None or not path.is_file():
            return None
        try:
            vectors = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            log.warning("%s: unreadable %s (%s): the gate runs the detector", self.name, path, err)
            return None
        if vectors.ndim != 2 or len(vectors) != cal.resemblance_images:
            log.warning("%s: %s does not match gate.json: the gate runs the detector", self.name, path)
            return None
        return np.ascontiguousarray(vectors, np.float32)

    def resemblance_check(self, embedder: ResemblanceEmbedder | None, image: npt.NDArray[np.uint8]) -> str | None:
        """Why ``image`` needs no animal detector (it resembles the gallery), or ``None``: run the detector."""
        cal = self.calibration
        if embedder is None or self.resemblance is None or cal is None or cal.resemblance_threshold is None:
            return None
        if cal.resemblance_model != embedder.signature:  # calibrated with another model or input size
            return None
        distance = nearest_distance(self.resemblance, embedder.embed([image])[0])
        if distance > cal.resemblance_threshold:
            return None
        return (
            f"the photo resembles the {self.name} gallery (ImageNet-feature distance {distance:.3f}, within "
            f"{cal.resemblance_threshold:.3f}): the detector was not needed"
        )

    def media_path(self, embedding_id: str) -> Path:
        path = self.media / f"{embedding_id}.png"
        if not path.is_file():
            raise NotFoundError("no such gallery image", where=f"{self.name}/{embedding_id}")
        return path

    def save_media(self, embedding_id: str, image: npt.NDArray[np.uint8]) -> Path:
        import cv2

        ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
            raise InputError("PNG encoding failed", where=embedding_id)
        return atomic_write_bytes(self.media / f"{embedding_id}.png", encoded.tobytes())

    def nearest_distance(self, vector: npt.NDArray[np.float32]) -> float | None:
        hits = self.matcher.gallery.search(vector, k=1)
        return float(hits[0].distance) if hits else None

    # ------------------------------------------------------------------ calibration
    def calibrate(
        self,
        entries: Sequence[tuple[str, str]],
        review_pairs: Sequence[tuple[float, bool]] = (),
        *,
        max_queries: int = 400,
        top_k: int = 5,
        target_precision: float = 0.95,
        seed: int = 0,
        resemblance: ResemblanceEmbedder | None = None,
    ) -> SpeciesCalibration:
        """Fit confidence, open-set threshold, OOD threshold and the drift baseline on ``entries`` (embedding id,
        individual id) of the gallery, plus ``review_pairs`` (score, same individual) from reviewer decisions;
        with ``resemblance``, also the gate's resemblance shortcut (:mod:`.resemblance`)."""
        from sightings.media.images import load_image

        self._compact_gallery()
        entries = [(eid, ident) for eid, ident in entries if (self.media / f"{eid}.png").is_file()]
        images = [load_image(self.media / f"{eid}.png") for eid, _ in entries]
        n = len(images)
        idents = np.array([ident for _, ident in entries])
        vectors = np.asarray(self.matcher.embedder.embed(images), np.float32) if n else np.zeros((0, 1), np.float32)
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        ood_threshold = nn_median = None
        scores: list[float] = []
        labels: list[bool] = []
        best_scores: list[float] = []
        best_correct: list[bool] = []
        if n >= 3:
            sims = unit @ unit.T
            np.fill_diagonal(sims, -np.inf)
            nn = 1.0 - sims.max(axis=1)
            ood_threshold = float(np.quantile(nn, OOD_QUANTILE) * OOD_MARGIN)
            nn_median = float(np.median(nn))
            queries = np.random.default_rng(seed).permutation(n)[:max_queries]
            features = self._local_features([eid for eid, _ in entries])
            for q in queries:
                ranked = self._score_query(int(q), sims[q], idents, features)[:top_k]
                scores += [s for _, s in ranked]
                labels += [ident == idents[q] for ident, _ in ranked]
                best_scores += [ranked[0][1]] if ranked else []
                best_correct += [ranked[0][0] == idents[q]] if ranked else []
        scores += [s for s, _ in review_pairs]
        labels += [bool(y) for _, y in review_pairs]
        calibrated = 0 < sum(labels) < len(labels)
        threshold, baseline_conf, reached = self._fit_confidence(
            scores, labels, best_scores, best_correct, target_precision=target_precision, calibrated=calibrated
        )
        sample = project(vectors[np.random.default_rng(seed).permutation(n)[:BASELINE_SAMPLE]]) if n else None
        resemblance_threshold, resemblance_images = self._fit_resemblance(images, resemblance, seed)
        result = SpeciesCalibration(
            gallery_images=n,
            identities=len(set(idents.tolist())),
            ood_threshold=ood_threshold,
            nn_distance_median=nn_median,
            pairs=len(scores),
            positives=int(sum(labels)),
            review_pairs=len(review_pairs),
            calibrated=calibrated,
            open_set_threshold=threshold,
            baseline_confidence=baseline_conf,
            baseline_projection=[] if sample is None else np.round(sample, 6).tolist(),
            created_at=datetime.now(UTC).isoformat(),
            resemblance_threshold=resemblance_threshold,
            resemblance_model=resemblance.signature if resemblance_threshold is not None and resemblance else None,
            resemblance_images=resemblance_images,
            precision_target=target_precision if reached is not None else None,
            target_reached=reached,
        )
        atomic_write_bytes(self.folder / "gate.json", result.to_json().encode())
        self.reload_calibration()
        return result

    def _fit_confidence(
        self,
        scores: Sequence[float],
        labels: Sequence[bool],
        best_scores: Sequence[float],
        best_correct: Sequence[bool],
        *,
        target_precision: float,
        calibrated: bool,
    ) -> tuple[float | None, float | None, bool | None]:
        """Fit and save ``calibration.json`` (removed when the pairs cannot be calibrated): (open-set threshold,
        mean best-candidate confidence, whether the threshold reaches ``target_precision``), None where unknown."""
        from sightings.identity.calibration import choose_threshold, fit_calibrator

        cal_file = self.folder / "calibration.json"
        if not calibrated:
            cal_file.unlink(missing_ok=True)
            return None, None, None
        cal = fit_calibrator(scores, labels, embedder=self.embedder_name, score_kind=self.score_kind)
        threshold = baseline_conf = reached = None
        if best_scores:
            probs = cal.predict(best_scores)
            choice = choose_threshold(probs, best_correct, target_precision=target_precision)
            cal = cal.with_threshold(choice)
            threshold, reached, baseline_conf = choice.threshold, choice.achieved, float(np.mean(probs))
        cal.save(cal_file)
        return threshold, baseline_conf, reached

    def _fit_resemblance(
        self, images: Sequence[Any], resemblance: ResemblanceEmbedder | None, seed: int
    ) -> tuple[float | None, int | None]:
        """Embed the gallery (a seeded sample of at most :data:`SAMPLE` photos) for the resemblance shortcut and
        write its vectors (before gate.json, which names them); (threshold, photos), or (None, None) without an
        embedder or with too few photos (the file is removed)."""
        if resemblance is None or len(images) < MIN_GALLERY:
            (self.folder / VECTORS_FILE).unlink(missing_ok=True)
            return None, None
        chosen = np.sort(np.random.default_rng(seed).permutation(len(images))[:SAMPLE])
        features = np.asarray(resemblance.embed([images[int(i)] for i in chosen]), np.float32)
        buf = io.BytesIO()
        np.save(buf, features, allow_pickle=False)
        atomic_write_bytes(self.folder / VECTORS_FILE, buf.getvalue())
        return fit_threshold(features), len(features)

    def _compact_gallery(self) -> None:
        optimize = getattr(self.matcher.gallery, "optimize", None)
        if callable(optimize):  # LanceDB: one small file per enrolment until compacted (search time grows with them)
            optimize()

    def _local_features(self, embedding_ids: Sequence[str]) -> list[Any]:
        store = self.matcher.local_store
        if store is None:
            return [None] * len(embedding_ids)
        out: list[Any] = []
        for eid in embedding_ids:
            try:
                out.append(store.get(eid))
            except NotFoundError:
                out.append(None)
        return out

    def _score_query(
        self, q: int, sims: npt.NDArray[np.float64], idents: npt.NDArray[Any], features: Sequence[Any]
    ) -> list[tuple[str, float]]:
        """Leave-one-out scores of query ``q``: per identity, best first (as the matcher pools them)."""
        order = np.argsort(-sims, kind="stable")[: self.matcher.shortlist]
        order = order[order != q]
        cosine = sims[order]
        local = self.matcher.local_matcher
        if local is not None and features[q] is not None:
            inliers = np.zeros(len(order))
            for j in range(min(self.matcher.rerank.rerank, len(order))):
                other = features[int(order[j])]
                if other is not None:
                    inliers[j] = local.match(features[q], other).inliers
            fused = fuse_scores(cosine, inliers, self.matcher.rerank)
        else:
            fused = cosine
        best: dict[str, float] = {}
        for i, s in zip(order, fused, strict=True):
            ident = str(idents[int(i)])
            best[ident] = max(best.get(ident, -np.inf), float(s))
        return sorted(best.items(), key=lambda kv: -kv[1])
