"""Metric head: LDA on frozen features separates unseen identities better; save/load; the `projected` embedder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import ConfigError, InputError, IntegrityError, NotFoundError
from sightings.core.protocols import Embedder
from sightings.core.registry import EMBEDDERS
from sightings.evaluate.reid import closed_set_metrics, score_matrix
from sightings.evaluate.reid_data import make_protocol
from sightings.identity.head import ProjectedEmbedder, fit_head, head_paths, load_head
from sightings.testing.fakes import FakeEmbedder


def _clusters(n_ids: int, per_id: int, seed: int, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Identities differ in 8 dims; a strong nuisance (pose, light) varies within each identity in 24 others."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1.0, (n_ids, 8))
    x, y = [], []
    for i in range(n_ids):
        signal = centers[i] + rng.normal(0, 0.3, (per_id, 8))
        nuisance = rng.normal(0, 3.0, (per_id, 24)) * np.linspace(0.5, 1.5, 24)
        x.append(np.hstack([signal, nuisance]))
        y += [f"{prefix}{i}"] * per_id
    return np.vstack(x), np.array(y)


def _map(features: np.ndarray, ids: np.ndarray) -> float:
    p = make_protocol("t", ids, np.arange(len(ids)), np.random.default_rng(0), open_fraction=0.0)
    return closed_set_metrics(score_matrix(features[p.query], features[p.gallery]), ids[p.query], ids[p.gallery]).map


def test_lda_head_improves_separability_of_unseen_identities() -> None:
    x_fit, y_fit = _clusters(30, 8, seed=0, prefix="fit")
    x_new, y_new = _clusters(15, 6, seed=1, prefix="new")
    head = fit_head(x_fit, y_fit, shrinkage=0.1)
    assert head.dim == 29 and head.input_dim == 32
    before, after = _map(x_new, y_new), _map(head.transform(x_new), y_new)
    assert after > before + 0.2, (before, after)
    out = head.transform(x_new)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    assert fit_head(x_fit, y_fit, dim=5).dim == 5


def test_fit_head_bad_input() -> None:
    x, y = _clusters(3, 4, seed=0, prefix="i")
    with pytest.raises(InputError, match="at least two identities"):
        fit_head(x[:4], y[:4])
    with pytest.raises(InputError, match="do not match"):
        fit_head(x, y[:-1])
    with pytest.raises(InputError, match="shrinkage"):
        fit_head(x, y, shrinkage=2.0)
    with pytest.raises(InputError, match="between 1 and 32"):
        fit_head(x, y, dim=40)
    with pytest.raises(ConfigError, match="unknown head method"):
        fit_head(x, y, method="arcface-9000")
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        fit_head(bad, y)


def test_head_save_load_round_trip_and_checksum(tmp_path: Path) -> None:
    x, y = _clusters(6, 5, seed=2, prefix="i")
    head = fit_head(x, y, base_embedder="fake", base_options={"a": 1})
    json_path = head.save(tmp_path / "heads" / "h.json")
    assert json_path == tmp_path / "heads" / "h.json" and (tmp_path / "heads" / "h.npz").is_file()
    back = load_head(tmp_path / "heads" / "h")
    np.testing.assert_allclose(back.transform(x), head.transform(x), rtol=1e-6)
    assert (back.base_embedder, back.base_options, back.method) == ("fake", {"a": 1}, "lda")
    _, npz = head_paths(json_path)
    npz.write_bytes(npz.read_bytes() + b"x")
    with pytest.raises(IntegrityError, match="checksum"):
        load_head(json_path)
    with pytest.raises(NotFoundError):
        load_head(tmp_path / "nothing")
    json_path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(IntegrityError, match="not a sightings metric head"):
        load_head(json_path)


def _images(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(n)]


def test_projected_embedder_applies_the_head_on_its_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    imgs = _images(12)
    labels = [f"i{k % 4}" for k in range(12)]
    base = FakeEmbedder()
    head = fit_head(base.embed(imgs), labels, base_embedder="fake")
    head.save(tmp_path / "h")
    emb = EMBEDDERS.create("projected", head=str(tmp_path / "h"))
    assert isinstance(emb, Embedder) and isinstance(emb, ProjectedEmbedder)
    assert emb.dim == head.dim == 3
    vecs = emb.embed(imgs)
    np.testing.assert_allclose(vecs, head.transform(base.embed(imgs)), rtol=1e-5)
    assert emb.embed([]).shape == (0, 3)
    with pytest.raises(InputError):
        emb.embed([np.zeros((1, 1, 3), np.uint8)])
    # a bare name is looked up in <models_dir>/heads
    monkeypatch.setenv("SIGHTINGS_MODELS_DIR", str(tmp_path / "models"))
    from sightings.core import config

    config.set_config_file(None)
    head.save(tmp_path / "models" / "heads" / "lions")
    assert EMBEDDERS.create("projected", head="lions").dim == 3


def test_projected_embedder_refuses_a_head_for_other_features(tmp_path: Path) -> None:
    x, y = _clusters(4, 4, seed=3, prefix="i")  # 32-d features, but the fake embedder gives 19-d
    fit_head(x, y, base_embedder="fake").save(tmp_path / "h")
    with pytest.raises(ConfigError, match="expects 32-d features"):
        ProjectedEmbedder(head=tmp_path / "h")
    fit_head(x, y).save(tmp_path / "nobase")
    with pytest.raises(ConfigError, match="does not name its base"):
        ProjectedEmbedder(head=tmp_path / "nobase")
