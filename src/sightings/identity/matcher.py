"""Who is this? kNN shortlist → local-feature re-rank → calibrated confidence → open-set decision.

    matcher = Matcher(embedder, gallery, embedder_name="color-texture", local_matcher=RootSiftMatcher(),
                      local_store=LocalFeatureStore(gallery_dir / "local"), calibrator=load_calibrator(gallery_dir))
    matcher.enrol(image, identity="Ayo", embedding_id="ayo-1", metadata={"species": "lion"})
    matches = matcher.identify(image, k=5, where={"species": "lion"})
    matches[0].candidate    # best identity, or None when it is "unknown"
    matches[0].confidence   # calibrated P(same individual)

Scores are :mod:`sightings.identity.rerank`'s (the same function ``sightings eval reid`` calibrates), pooled per
identity by the maximum over its gallery images. Without a calibrator the confidence is the raw score clipped to
[0, 1] and marked ``"calibrated": False`` in the evidence — never presented as a probability that it is not.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_bytes
from sightings.core.errors import ConfigError, InputError, IntegrityError, NotFoundError
from sightings.core.file_stamps import FileStamps
from sightings.core.protocols import Embedder, LocalFeatures, LocalMatcher, VectorStore
from sightings.core.types import Match
from sightings.identity.rerank import RerankSettings, fuse_scores

__all__ = ["EnrolResult", "LocalFeatureStore", "Matcher"]

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,200}$")


class LocalFeatureStore:
    """Keypoints + descriptors of gallery images, one ``.npz`` per embedding id in a folder (atomic writes).

    The last ``cache_size`` features read or written are kept in memory (re-ranking reads the same popular
    gallery images again and again; a file read costs ~0.5 ms, a cache hit nothing). When another process stamps
    the folder again (it re-extracted every feature: ``sightings wildlife reindex`` while API workers run), the
    cache is emptied before the next read (one ``stat`` of the stamp per read).

    ``extractor`` is the signature of the local matcher that extracts the features (``LocalMatcher.signature``).
    The folder is stamped with it on the first write (``extractor.txt``); a store stamped by another extractor is
    :attr:`stale` — its features were made with other settings (e.g. another ``rerank_max_side``) and should be
    extracted again (:meth:`Matcher.reextract_local`). A folder of features without a stamp (written before stamps
    existed) is taken to come from ``unstamped_as`` (the settings of the version that wrote it); without that it
    counts as stale: what made them is unknown.
    """

    STAMP = "extractor.txt"

    def __init__(
        self,
        path: str | Path,
        *,
        cache_size: int = 4096,
        extractor: str | None = None,
        unstamped_as: str | None = None,
    ) -> None:
        from collections import OrderedDict

        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        if cache_size < 0:
            raise ConfigError(f"must be >= 0, got {cache_size}", where="cache_size")
        self.cache_size = cache_size
        self.extractor = extractor
        self.unstamped_as = unstamped_as
        self._first_put = True
        self._cache: OrderedDict[str, LocalFeatures] = OrderedDict()
        self._stamp_file = FileStamps(self.path / self.STAMP)

    @property
    def stamp(self) -> str | None:
        """The extractor signature the stored features were made with (``None``: not stamped)."""
        try:
            return (self.path / self.STAMP).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    @property
    def made_by(self) -> str | None:
        """The stamp, or ``unstamped_as`` for a folder written before stamps existed."""
        return self.stamp or self.unstamped_as

    @property
    def stale(self) -> bool:
        """Features are stored, and not (known to be) from :attr:`extractor`."""
        if self.extractor is None or self.made_by == self.extractor:
            return False
        return any(self.path.glob("*.npz"))

    def restamp(self) -> None:
        """Mark every stored feature as made by :attr:`extractor` (after they were all extracted again)."""
        if self.extractor is None:
            raise ConfigError("a store without an extractor signature cannot be stamped", where=str(self.path))
        atomic_write_bytes(self.path / self.STAMP, (self.extractor + "\n").encode("utf-8"))
        self._stamp_file.mark()  # its own stamp: its cache holds what it extracted

    def ids(self) -> list[str]:
        """Embedding ids with stored features, sorted."""
        return sorted(p.stem for p in self.path.glob("*.npz"))

    def _remember(self, embedding_id: str, features: LocalFeatures) -> None:
        if self.cache_size:
            self._cache[embedding_id] = features
            self._cache.move_to_end(embedding_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _file(self, embedding_id: str) -> Path:
        if not _SAFE_ID.match(embedding_id):
            raise InputError(f"embedding id {embedding_id!r} has characters a file name cannot", where="embedding_id")
        return self.path / f"{embedding_id}.npz"

    def put(self, embedding_id: str, features: LocalFeatures) -> None:
        import io

        buf = io.BytesIO()
        np.savez(
            buf,
            keypoints_xy=features.keypoints_xy,
            descriptors=features.descriptors,
            image_size=np.asarray(features.image_size, np.int64),
        )
        if self._first_put and self.extractor is not None:  # checked once: later puts find a feature stored
            if self.stamp is None and not any(self.path.glob("*.npz")):
                self.restamp()  # the first feature of a new store
            self._first_put = False
        atomic_write_bytes(self._file(embedding_id), buf.getvalue())
        self._remember(embedding_id, features)

    def get(self, embedding_id: str) -> LocalFeatures:
        path = self._file(embedding_id)
        if self._stamp_file.changed():  # another process re-extracted the folder: what is cached may be old
            self._cache.clear()
        cached = self._cache.get(embedding_id)
        if cached is not None:
            self._cache.move_to_end(embedding_id)
            return cached
        if not path.exists():
            raise NotFoundError(f"no local features for {embedding_id!r}", where=path)
        try:
            with np.load(path) as data:
                size = tuple(int(v) for v in data["image_size"])
                features = LocalFeatures(
                    np.asarray(data["keypoints_xy"], np.float32),
                    np.asarray(data["descriptors"], np.float32),
                    (size[0], size[1]),
                )
        except (OSError, ValueError, KeyError) as exc:
            raise IntegrityError(f"unreadable local-feature file ({exc})", where=path) from exc
        self._remember(embedding_id, features)
        return features

    def delete(self, embedding_id: str) -> None:
        self._file(embedding_id).unlink(missing_ok=True)
        self._cache.pop(embedding_id, None)


@dataclass(frozen=True, slots=True)
class EnrolResult:
    """What enrolment did: ``added`` False means a near-duplicate of ``duplicate_of`` was already there."""

    embedding_id: str
    identity: str
    added: bool
    duplicate_of: str | None = None
    distance: float | None = None


@dataclass
class Matcher:
    """Enrol and identify individuals against a gallery (vector store) with optional re-rank and calibration.

    Args:
        embedder: the global embedder (first stage); its vectors go into ``gallery``.
        gallery: a :class:`~sightings.core.protocols.VectorStore` whose metadata holds ``identity``.
        embedder_name: registry key of ``embedder``; a calibrator for another embedder is refused.
        local_matcher, local_store: second stage (both or neither).
        calibrator: a :class:`~sightings.identity.calibration.Calibrator` fitted on held-out pairs of the same
            scores; its threshold makes the open-set decision.
        shortlist: gallery images fetched by kNN; rerank settings: how many of them get local matching.
        duplicate_distance: enrolment of a vector closer than this (cosine distance) to an image of the same
            identity adds nothing (near-duplicate guard).
    """

    embedder: Embedder
    gallery: VectorStore
    embedder_name: str
    local_matcher: LocalMatcher | None = None
    local_store: LocalFeatureStore | None = None
    calibrator: Any = None
    shortlist: int = 50
    rerank: RerankSettings = field(default_factory=RerankSettings)
    duplicate_distance: float = 0.02

    def __post_init__(self) -> None:
        if (self.local_matcher is None) != (self.local_store is None):
            raise ConfigError("local_matcher and local_store go together", where="matcher")
        if self.shortlist < 1:
            raise ConfigError(f"must be >= 1, got {self.shortlist}", where="matcher.shortlist")
        if self.local_matcher is not None and self.local_store is not None:
            if self.local_store.extractor is None:
                self.local_store.extractor = self.local_matcher.signature
            if self.local_store.stale:
                log.warning(
                    "%s: local features were made by %r, queries use %r; re-ranking compares features made with "
                    "different settings until they are extracted again (Matcher.reextract_local; wildlife galleries: "
                    "`sightings wildlife reindex SPECIES`)",
                    self.local_store.path,
                    self.local_store.made_by or "an unknown extractor (no stamp)",
                    self.local_matcher.signature,
                )
        if self.calibrator is not None:
            expected = "two-stage" if self.local_matcher is not None else "cosine"
            if self.calibrator.embedder != self.embedder_name:
                raise ConfigError(
                    f"calibrator was fitted for embedder {self.calibrator.embedder!r}, not {self.embedder_name!r}",
                    where="calibration",
                )
            if self.calibrator.score_kind != expected:
                raise ConfigError(
                    f"calibrator was fitted on {self.calibrator.score_kind!r} scores, the matcher gives {expected!r}",
                    where="calibration",
                )

    # -- enrolment -----------------------------------------------------------------------------------------
    def _embed(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        vec = np.asarray(self.embedder.embed([image]), np.float32)
        if vec.shape != (1, self.embedder.dim) or not np.isfinite(vec).all():
            raise InputError(f"embedder gave shape {vec.shape} (expected (1, {self.embedder.dim}))", where="embed")
        return vec

    def embed(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The image's global embedding (``(dim,)``): compute it once, pass it as ``vector`` to enrol and identify."""
        vector: npt.NDArray[np.float32] = self._embed(image)[0]
        return vector

    def _vector(
        self, image: npt.NDArray[np.uint8], vector: npt.NDArray[np.float32] | None, where: str
    ) -> npt.NDArray[np.float32]:
        """``(1, dim)``: the given ``vector`` checked, else the image embedded."""
        if vector is None:
            return self._embed(image)
        vec = np.asarray(vector, np.float32).reshape(1, -1)
        if vec.shape[1] != self.embedder.dim:
            raise InputError(f"vector has dim {vec.shape[1]}, the embedder {self.embedder.dim}", where=where)
        return vec

    def enrol(
        self,
        image: npt.NDArray[np.uint8],
        *,
        identity: str,
        embedding_id: str,
        metadata: Mapping[str, Any] | None = None,
        vector: npt.NDArray[np.float32] | None = None,
    ) -> EnrolResult:
        """Add one image of ``identity`` (no retraining); a near-duplicate of an enrolled image is skipped.

        ``vector``: the image's embedding when the caller has already computed it (:meth:`embed`)."""
        if not identity:
            raise InputError("identity must not be empty", where="enrol")
        vec = self._vector(image, vector, "enrol")
        if self.gallery.count():
            near = self.gallery.search(vec[0], k=1, where={"identity": identity})
            if near and near[0].distance <= self.duplicate_distance:
                return EnrolResult(embedding_id, identity, False, near[0].id, near[0].distance)
        meta = {**dict(metadata or {}), "identity": identity}
        if self.local_matcher is not None and self.local_store is not None:
            self.local_store.put(embedding_id, self.local_matcher.extract(image))
        self.gallery.upsert([embedding_id], vec, [meta])
        return EnrolResult(embedding_id, identity, True)

    def reextract_local(
        self, images: Iterable[tuple[str, npt.NDArray[np.uint8]]], *, progress: Callable[[int], None] | None = None
    ) -> int:
        """Extract the local features of gallery images again with the current local matcher, then stamp the store.

        ``images``: (embedding id, image) for every gallery image (an id missing here keeps its old features and
        the store is not stamped). Returns how many were extracted."""
        if self.local_matcher is None or self.local_store is None:
            raise ConfigError("this matcher has no local re-rank stage", where="matcher")
        done: set[str] = set()
        for embedding_id, image in images:
            self.local_store.put(embedding_id, self.local_matcher.extract(image))
            done.add(embedding_id)
            if progress is not None:
                progress(len(done))
        missing = [e for e in self.local_store.ids() if e not in done]
        if missing:
            log.warning(
                "%d gallery image(s) kept their old local features (no image given, e.g. %s)", len(missing), missing[0]
            )
        else:
            self.local_store.restamp()
        return len(done)

    # -- identification ------------------------------------------------------------------------------------
    def identify(
        self,
        image: npt.NDArray[np.uint8],
        *,
        k: int = 5,
        where: Mapping[str, Any] | None = None,
        query_id: str = "query",
        vector: npt.NDArray[np.float32] | None = None,
    ) -> list[Match]:
        """Top-``k`` identities, best first. The first is ``candidate=None`` ("unknown") when the calibrated
        confidence of the best identity is below the calibrator's open-set threshold.

        ``vector``: the image's embedding when the caller has already computed it with this matcher's embedder.
        """
        if k < 1:
            raise InputError(f"k must be >= 1, got {k}", where="identify")
        vec = self._vector(image, vector, "identify")
        hits = self.gallery.search(vec[0], k=self.shortlist, where=where)
        if not hits:
            return [Match(query_id, None, 0.0, 0.0, {"reason": "empty gallery"})]
        cosine = np.array([1.0 - h.distance for h in hits])
        inliers = np.zeros(len(hits))
        if self.local_matcher is not None and self.local_store is not None and self.rerank.rerank:
            query_local = self.local_matcher.extract(image)
            for i in np.argsort(-cosine, kind="stable")[: self.rerank.rerank]:
                try:
                    gallery_local = self.local_store.get(hits[i].id)
                except NotFoundError:
                    continue
                inliers[i] = self.local_matcher.match(query_local, gallery_local).inliers
        scores = fuse_scores(cosine, inliers, self.rerank) if self.local_matcher is not None else cosine
        best: dict[str, tuple[float, int]] = {}
        for i, h in enumerate(hits):
            ident = str(h.metadata.get("identity", ""))
            if ident and (ident not in best or scores[i] > best[ident][0]):
                best[ident] = (float(scores[i]), i)
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:k]
        calibrated = self.calibrator is not None
        probs = (
            self.calibrator.predict([s for _, (s, _) in ranked])
            if calibrated
            else np.clip([s for _, (s, _) in ranked], 0.0, 1.0)
        )
        matches = [
            Match(
                query_id,
                ident,
                max(0.0, float(hits[i].distance)),
                float(p),
                {
                    "score": s,
                    "embedding_id": hits[i].id,
                    "inliers": int(inliers[i]),
                    "calibrated": calibrated,
                },
            )
            for (ident, (s, i)), p in zip(ranked, probs, strict=True)
        ]
        threshold = getattr(self.calibrator, "threshold", None)
        if calibrated and threshold is not None and matches[0].confidence < threshold.threshold:
            top = matches[0]
            unknown = Match(
                query_id, None, top.distance, 1.0 - top.confidence, {**top.evidence, "best_candidate": top.candidate}
            )
            return [unknown, *matches]
        return matches

    def forget(self, embedding_ids: Sequence[str]) -> None:
        """Remove enrolled images (vectors and local features)."""
        self.gallery.delete(list(embedding_ids))
        if self.local_store is not None:
            for eid in embedding_ids:
                self.local_store.delete(eid)
