"""The matcher: enrol without retraining, near-duplicate guard, two-stage re-rank, calibrated open-set answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import ConfigError, InputError, IntegrityError, NotFoundError
from sightings.identity.calibration import choose_threshold, fit_calibrator
from sightings.identity.gallery.numpy_store import NumpyVectorStore
from sightings.identity.matcher import LocalFeatureStore, Matcher
from sightings.identity.rerank import RerankSettings, fuse_scores
from sightings.testing.fakes import FakeEmbedder, FakeLocalMatcher


def _animal(seed: int, noise: int = 0, shift: int = 0) -> np.ndarray:
    """A patterned 64×64 'individual' (blocky random texture), optionally noisy and shifted: another photo of it."""
    rng = np.random.default_rng(seed)
    base = np.kron(rng.integers(0, 256, (16, 16, 3)), np.ones((4, 4, 1))).astype(np.int16)
    img = np.roll(base, shift, axis=1)
    if noise:
        img = img + np.random.default_rng(1000 + seed * 7 + shift).integers(-noise, noise + 1, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _matcher(tmp_path: Path, *, local: bool = True, calibrator: object = None) -> Matcher:
    # the fake local matcher's counts are small: no chance-inlier floor
    return Matcher(
        FakeEmbedder(),
        NumpyVectorStore(),
        embedder_name="fake",
        local_matcher=FakeLocalMatcher() if local else None,
        local_store=LocalFeatureStore(tmp_path / "local") if local else None,
        calibrator=calibrator,
        rerank=RerankSettings(inlier_floor=0.0),
    )


def test_enrol_and_identify_new_individuals_without_retraining(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    for ident in range(6):
        assert m.enrol(_animal(ident), identity=f"id{ident}", embedding_id=f"e{ident}").added
    for ident in range(6):
        matches = m.identify(_animal(ident, noise=6), k=3)
        assert matches[0].candidate == f"id{ident}"
        assert matches[0].evidence["inliers"] > 0 and matches[0].evidence["calibrated"] is False
        assert [x.candidate for x in matches] == list(dict.fromkeys(x.candidate for x in matches))  # one row per id
    # a new individual is enrolled and found at once
    m.enrol(_animal(42), identity="newcomer", embedding_id="e42")
    assert m.identify(_animal(42, noise=6))[0].candidate == "newcomer"


def test_near_duplicate_enrolment_adds_nothing(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    m.enrol(_animal(1), identity="a", embedding_id="a1")
    again = m.enrol(_animal(1), identity="a", embedding_id="a2")
    assert not again.added and again.duplicate_of == "a1"
    assert m.gallery.count() == 1
    assert m.enrol(_animal(1), identity="b", embedding_id="b1").added, "the guard is per identity"


def test_calibrated_open_set_answers_unknown_for_a_stranger(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    for ident in range(8):
        m.enrol(_animal(ident), identity=f"id{ident}", embedding_id=f"e{ident}")
    # validation pairs from *other* photos: the same individuals (positives) and strangers (negatives)
    scores, labels = [], []
    for ident in range(8):
        for shift, noise in ((0, 10), (8, 6)):
            top = m.identify(_animal(ident, noise=noise, shift=shift), k=3)
            scores += [t.evidence["score"] for t in top]
            labels += [t.candidate == f"id{ident}" for t in top]
    for stranger in range(100, 108):
        top = m.identify(_animal(stranger, noise=6), k=3)
        scores += [t.evidence["score"] for t in top]
        labels += [False] * len(top)
    cal = fit_calibrator(scores, labels, embedder="fake", score_kind="two-stage")
    top1 = [m.identify(_animal(i, noise=8))[0] for i in [*range(8), *range(200, 208)]]
    probs = cal.predict([t.evidence["score"] for t in top1])
    correct = [t.candidate == f"id{i}" for t, i in zip(top1, [*range(8), *range(200, 208)], strict=True)]
    cal = cal.with_threshold(choose_threshold(probs, correct, target_precision=0.9))
    m = Matcher(m.embedder, m.gallery, "fake", m.local_matcher, m.local_store, calibrator=cal, rerank=m.rerank)
    known = m.identify(_animal(3, noise=6))
    assert known[0].candidate == "id3" and 0.0 <= known[0].confidence <= 1.0
    assert known[0].evidence["calibrated"] is True
    stranger = m.identify(_animal(999, noise=6))
    assert stranger[0].is_unknown and stranger[0].evidence["best_candidate"].startswith("id")


def test_calibrator_for_another_embedder_or_score_kind_is_refused(tmp_path: Path) -> None:
    cal = fit_calibrator([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1], embedder="other", score_kind="two-stage")
    with pytest.raises(ConfigError, match="fitted for embedder 'other'"):
        _matcher(tmp_path, calibrator=cal)
    cal = fit_calibrator([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1], embedder="fake", score_kind="cosine")
    with pytest.raises(ConfigError, match="'cosine' scores, the matcher gives 'two-stage'"):
        _matcher(tmp_path, calibrator=cal)
    assert _matcher(tmp_path, local=False, calibrator=cal).calibrator is cal


def test_bad_input(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    assert m.identify(_animal(1))[0].is_unknown  # empty gallery: unknown, not an error
    with pytest.raises(InputError, match="at least 4×4"):
        m.enrol(np.zeros((2, 2, 3), np.uint8), identity="x", embedding_id="x")
    with pytest.raises(InputError, match="identity must not be empty"):
        m.enrol(_animal(1), identity="", embedding_id="x")
    with pytest.raises(InputError, match="characters a file name cannot"):
        m.enrol(_animal(1), identity="a", embedding_id="../../etc/passwd")
    with pytest.raises(ConfigError, match="go together"):
        Matcher(FakeEmbedder(), NumpyVectorStore(), "fake", local_matcher=FakeLocalMatcher())
    store = LocalFeatureStore(tmp_path / "lf")
    with pytest.raises(NotFoundError):
        store.get("missing")
    (tmp_path / "lf" / "broken.npz").write_bytes(b"not an npz")
    with pytest.raises(IntegrityError, match="unreadable local-feature file"):
        store.get("broken")


def test_forget_removes_vectors_and_local_features(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    m.enrol(_animal(1), identity="a", embedding_id="a1")
    m.forget(["a1"])
    assert m.gallery.count() == 0 and not (tmp_path / "local" / "a1.npz").exists()


def test_fused_score_is_cosine_plus_a_saturating_inlier_bonus() -> None:
    s = RerankSettings(rerank=5, local_weight=1.0, inlier_half=10.0, inlier_floor=4.0)
    assert fuse_scores([0.5, 0.5, 0.5, 0.5], [0, 4, 14, 1004], s) == pytest.approx([0.5, 0.5, 1.0, 0.5 + 1000 / 1010])
    with pytest.raises(ConfigError):
        RerankSettings(rerank=-1)


def test_identify_reuses_a_precomputed_vector(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    for ident in range(3):
        m.enrol(_animal(ident), identity=f"id{ident}", embedding_id=f"e{ident}")
    query = _animal(1, noise=6)
    vector = m.embedder.embed([query])[0]
    assert m.identify(query, vector=vector) == m.identify(query)
    with pytest.raises(InputError, match="vector has dim 3"):
        m.identify(query, vector=np.zeros(3, np.float32))


def test_enrol_reuses_a_precomputed_vector(tmp_path: Path) -> None:
    with_vector, plain = _matcher(tmp_path / "a"), _matcher(tmp_path / "b")
    image = _animal(2)
    vector = with_vector.embed(image)
    assert vector.shape == (with_vector.embedder.dim,)
    assert with_vector.enrol(image, identity="id2", embedding_id="e2", vector=vector).added
    plain.enrol(image, identity="id2", embedding_id="e2")
    query = _animal(2, noise=6)
    assert with_vector.identify(query) == plain.identify(query)
    again = with_vector.enrol(image, identity="id2", embedding_id="e2b", vector=vector)
    assert not again.added and again.duplicate_of == "e2"  # the near-duplicate guard sees the given vector
    with pytest.raises(InputError, match="vector has dim 3"):
        with_vector.enrol(image, identity="id3", embedding_id="e3", vector=np.zeros(3, np.float32))


class _CoarseLocalMatcher(FakeLocalMatcher):
    """The fake local matcher with other extraction settings (another signature, other features)."""

    cell = 16

    @property
    def signature(self) -> str:
        return "fake-grid cell=16"


def test_local_features_are_stamped_with_their_extractor_and_reextracted_after_a_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    m = _matcher(tmp_path)
    for ident in range(3):
        m.enrol(_animal(ident), identity=f"id{ident}", embedding_id=f"e{ident}")
    store = LocalFeatureStore(tmp_path / "local", extractor=FakeLocalMatcher().signature)
    assert store.stamp == "fake-grid cell=8" and not store.stale and store.ids() == ["e0", "e1", "e2"]

    with caplog.at_level("WARNING", logger="sightings.identity.matcher"):
        changed = Matcher(
            FakeEmbedder(),
            m.gallery,
            "fake",
            local_matcher=_CoarseLocalMatcher(),
            local_store=LocalFeatureStore(tmp_path / "local"),
        )
    assert changed.local_store is not None and changed.local_store.stale
    assert "were made by 'fake-grid cell=8', queries use 'fake-grid cell=16'" in caplog.text
    old = changed.local_store.get("e1").descriptors.shape

    done: list[int] = []
    with pytest.raises(ConfigError, match="no local re-rank"):
        _matcher(tmp_path / "global", local=False).reextract_local([])
    # an id left out keeps its old features, and the store is not stamped as re-extracted
    assert changed.reextract_local([("e0", _animal(0))]) == 1 and changed.local_store.stale
    n = changed.reextract_local(((f"e{i}", _animal(i)) for i in range(3)), progress=done.append)
    assert n == 3 and done == [1, 2, 3]
    assert not changed.local_store.stale and changed.local_store.stamp == "fake-grid cell=16"
    assert changed.local_store.get("e1").descriptors.shape != old  # 16-px cells: fewer keypoints


def test_an_unstamped_store_with_features_is_stale(tmp_path: Path) -> None:
    legacy = LocalFeatureStore(tmp_path / "local")  # no extractor: never stamps (as before stamps existed)
    legacy.put("e0", FakeLocalMatcher().extract(_animal(0)))
    assert legacy.stamp is None and not legacy.stale
    reopened = LocalFeatureStore(tmp_path / "local", extractor="fake-grid cell=8")
    assert reopened.stale, "what made the stored features is unknown"
    reopened.restamp()
    assert not reopened.stale
    with pytest.raises(ConfigError, match="cannot be stamped"):
        legacy.restamp()
    assert not LocalFeatureStore(tmp_path / "empty", extractor="x").stale  # nothing stored: nothing stale


def test_unstamped_features_are_taken_as_the_settings_that_wrote_them(tmp_path: Path) -> None:
    from sightings.vision.embed.local_features import PRE_STAMP_SIGNATURE, RootSiftMatcher

    LocalFeatureStore(tmp_path / "local").put("e0", FakeLocalMatcher().extract(_animal(0)))  # before stamps
    same = LocalFeatureStore(tmp_path / "local", extractor=PRE_STAMP_SIGNATURE, unstamped_as=PRE_STAMP_SIGNATURE)
    assert same.made_by == PRE_STAMP_SIGNATURE and not same.stale  # e.g. pets, still at 400 px: nothing to redo
    changed = LocalFeatureStore(
        tmp_path / "local", extractor=RootSiftMatcher(max_side=240).signature, unstamped_as=PRE_STAMP_SIGNATURE
    )
    assert changed.stale  # e.g. wildlife, now at 240 px: `sightings wildlife reindex`


def test_a_worker_drops_cached_features_after_another_process_re_extracts_them(tmp_path: Path) -> None:
    from sightings.core.protocols import LocalFeatures

    def features(value: float) -> LocalFeatures:
        return LocalFeatures(np.zeros((3, 2), np.float32), np.full((3, 128), value, np.float32), (10, 10))

    reindexer = LocalFeatureStore(tmp_path / "local", extractor="rootsift v2")
    worker = LocalFeatureStore(tmp_path / "local", extractor="rootsift v2")
    reindexer.put("e1", features(1.0))
    assert worker.get("e1").descriptors[0, 0] == 1.0  # now cached by the worker
    reindexer.put("e1", features(2.0))
    assert worker.get("e1").descriptors[0, 0] == 1.0  # one file rewritten: the worker's cache still answers
    reindexer.restamp()  # `sightings wildlife reindex` ends by stamping the folder again
    assert worker.get("e1").descriptors[0, 0] == 2.0
