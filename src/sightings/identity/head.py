"""A light metric head on frozen features, and the embedder that applies it.

    head = fit_head(features, labels, base_embedder="color-texture")   # LDA: whiten within-class, keep between-class
    json_path = head.save("heads/lions-lda")                          # lions-lda.json + lions-lda.npz, atomically
    emb = EMBEDDERS.create("projected", head="heads/lions-lda")       # base.embed → project → L2-normalise

``lda``: centre the (L2-normalised) features, estimate the pooled within-class covariance ``Sw`` (shrunk toward
``tr(Sw)/d · I``) and the between-class covariance ``Sb``, and keep the leading solutions of ``Sb v = λ Sw v``
(at most ``classes − 1``). The projection whitens the within-class scatter, so cosine similarity after it measures
differences that separate individuals rather than those that vary within one. No backbone is trained.

A head is two files: ``NAME.npz`` (mean, projection) and ``NAME.json`` (method, base embedder and its options,
sizes, fit summary, SHA-256 of the .npz). A bare name (no folder) is looked up in ``<models_dir>/heads/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_bytes, atomic_write_text
from sightings.core.errors import ConfigError, InputError, IntegrityError, NotFoundError
from sightings.core.json_files import read_json

__all__ = ["HEAD_METHODS", "MetricHead", "ProjectedEmbedder", "fit_head", "head_paths", "load_head"]

SCHEMA_VERSION = 1
FORMAT = "sightings.metric-head"
HEAD_METHODS = ("lda",)
HEADS_SUBDIR = "heads"


def _l2(x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    return np.asarray(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12), np.float32)


@dataclass(frozen=True, slots=True, eq=False)
class MetricHead:
    """A fitted linear projection: ``y = normalise((normalise(x) − mean) @ projection)``."""

    method: str
    mean: npt.NDArray[np.float32]  # (input_dim,)
    projection: npt.NDArray[np.float32]  # (input_dim, dim)
    base_embedder: str = ""
    base_options: dict[str, Any] = field(default_factory=dict)
    fit_summary: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.projection.ndim != 2 or self.mean.shape != (self.projection.shape[0],):
            raise InputError(
                f"mean {self.mean.shape} and projection {self.projection.shape} do not fit", where="metric head"
            )

    @property
    def input_dim(self) -> int:
        return int(self.projection.shape[0])

    @property
    def dim(self) -> int:
        return int(self.projection.shape[1])

    def transform(self, features: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Project (n, input_dim) features to L2-normalised (n, dim) vectors."""
        x = np.asarray(features, np.float64)
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise InputError(f"expected (n, {self.input_dim}) features, got {x.shape}", where="metric head")
        return _l2((_l2(x) - self.mean) @ self.projection)

    def to_json(self, npz_sha256: str, npz_name: str) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "method": self.method,
            "base_embedder": self.base_embedder,
            "base_options": self.base_options,
            "input_dim": self.input_dim,
            "dim": self.dim,
            "fit": self.fit_summary,
            "arrays": {"file": npz_name, "sha256": npz_sha256},
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def save(self, path: str | Path) -> Path:
        """Write ``<path>.npz`` then ``<path>.json`` (each atomically); returns the JSON path."""
        json_path, npz_path = head_paths(path)
        buffer = io.BytesIO()
        np.savez(buffer, mean=self.mean, projection=self.projection)
        data = buffer.getvalue()
        atomic_write_bytes(npz_path, data)
        meta = self.to_json(hashlib.sha256(data).hexdigest(), npz_path.name)
        atomic_write_text(json_path, json.dumps(meta, indent=2, default=str) + "\n")
        return json_path


def head_paths(path: str | Path) -> tuple[Path, Path]:
    """The (.json, .npz) pair for a head path given with or without a suffix."""
    p = Path(path)
    if p.suffix.lower() in (".json", ".npz"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".json"), p.with_name(p.name + ".npz")


def _locate(path: str | Path) -> Path:
    json_path, _ = head_paths(path)
    if json_path.is_file() or len(Path(path).parts) > 1:
        return json_path
    from sightings.core.config import get_settings

    in_models = head_paths(get_settings().models_path / HEADS_SUBDIR / Path(path).name)[0]
    return in_models if in_models.is_file() else json_path


def load_head(path: str | Path) -> MetricHead:
    """Read a saved head (a path, or a bare name in ``<models_dir>/heads``), checking the arrays' checksum.

    Raises:
        NotFoundError: no such head. IntegrityError: corrupt JSON, a checksum mismatch or bad arrays.
        ConfigError: a newer schema or an unknown method.
    """
    json_path = _locate(path)
    if not json_path.is_file():
        raise NotFoundError("no metric head here (expected NAME.json + NAME.npz)", where=json_path)
    meta = read_json(json_path, "metric head")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise IntegrityError("not a sightings metric head file", where=json_path)
    version = meta.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ConfigError(f"metric head schema version {version!r} is not supported", where=json_path)
    if meta.get("method") not in HEAD_METHODS:
        raise ConfigError(f"unknown head method {meta.get('method')!r}", where=json_path)
    try:
        npz_path = json_path.with_name(str(meta["arrays"]["file"]))
        data = npz_path.read_bytes()
    except (KeyError, TypeError) as err:
        raise IntegrityError("metric head JSON does not name its arrays", where=json_path) from err
    except OSError as err:
        raise NotFoundError(f"metric head arrays missing: {err.strerror or err}", where=json_path) from err
    if hashlib.sha256(data).hexdigest() != meta["arrays"].get("sha256"):
        raise IntegrityError("metric head arrays do not match the checksum in the JSON", where=npz_path)
    try:
        with np.load(io.BytesIO(data)) as arrays:
            mean, projection = arrays["mean"].astype(np.float32), arrays["projection"].astype(np.float32)
    except (OSError, ValueError, KeyError) as err:
        raise IntegrityError(f"corrupt metric head arrays: {err}", where=npz_path) from err
    return MetricHead(
        method=str(meta["method"]),
        mean=mean,
        projection=projection,
        base_embedder=str(meta.get("base_embedder", "")),
        base_options=dict(meta.get("base_options") or {}),
        fit_summary=dict(meta.get("fit") or {}),
    )


def fit_head(
    features: npt.ArrayLike,
    labels: Sequence[str] | npt.ArrayLike,
    *,
    method: str = "lda",
    dim: int | None = None,
    shrinkage: float = 0.1,
    base_embedder: str = "",
    base_options: dict[str, Any] | None = None,
) -> MetricHead:
    """Fit a metric head on frozen ``features`` (n, d) with identity ``labels`` (n,).

    Raises:
        InputError: mismatched sizes, non-finite features, fewer than two identities with two samples each,
            or a shrinkage outside [0, 1]. ConfigError: an unknown method.
    """
    if method not in HEAD_METHODS:
        raise ConfigError(f"unknown head method {method!r}; known: {', '.join(HEAD_METHODS)}", where="method")
    if not 0.0 <= shrinkage <= 1.0:
        raise InputError(f"must be in [0, 1], got {shrinkage:g}", where="shrinkage")
    x = np.asarray(features, np.float64)
    y = np.asarray(labels).astype(str)
    if x.ndim != 2 or len(x) != len(y):
        raise InputError(f"features {x.shape} and {len(y)} labels do not match", where="fit_head")
    if not np.isfinite(x).all():
        raise InputError("features contain NaN or infinite values", where="fit_head")
    _, counts = np.unique(y, return_counts=True)
    if (counts >= 2).sum() < 2:
        raise InputError("needs at least two identities with two or more samples each", where="fit_head")
    with _single_threaded_blas():  # small dense algebra: OpenBLAS threads only contend (10-80x slower when busy)
        return _fit_lda(x, y, dim=dim, shrinkage=shrinkage, method=method, base=(base_embedder, base_options))


def _single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[Any] = threadpool_limits(limits=1, user_api="blas")
    return limits


def _fit_lda(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.str_],
    *,
    dim: int | None,
    shrinkage: float,
    method: str,
    base: tuple[str, dict[str, Any] | None],
) -> MetricHead:
    base_embedder, base_options = base
    names, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    x = _l2(x).astype(np.float64)
    mean = x.mean(axis=0)
    class_means = np.stack([x[inverse == j].mean(axis=0) for j in range(len(names))])
    within = x - class_means[inverse]
    d = x.shape[1]
    keep = min(d, len(names) - 1) if dim is None else dim
    if not 1 <= keep <= d:
        raise InputError(f"must be between 1 and {d} (the feature size), got {keep}", where="dim")
    # Sw = E Λ Eᵀ; shrinking toward tr(Sw)/d·I keeps E and moves Λ, so Sw^(-1/2) is cheap for any shrinkage.
    sw_values, sw_vectors = np.linalg.eigh(within.T @ within / max(1, len(x) - len(names)))
    sw_values = np.clip(sw_values, 0.0, None)
    shrunk = (1.0 - shrinkage) * sw_values + shrinkage * sw_values.mean()
    shrunk = np.maximum(shrunk, 1e-9 * max(float(sw_values.mean()), 1e-12))
    inv_sqrt = sw_vectors / np.sqrt(shrunk)  # Sw^(-1/2) up to the rotation E (whitening map)
    # Sb = Bᵀ B with B = sqrt(n_c / n) (m_c − m); its whitened eigenvectors come from a thin SVD of B·Sw^(-1/2).
    between = (class_means - mean) * np.sqrt(counts / len(x))[:, None]
    _, singular, right = np.linalg.svd(between @ inv_sqrt, full_matrices=False)
    values = singular**2
    take = min(keep, len(values))
    projection = inv_sqrt @ right[:take].T
    if take < keep:  # more dimensions asked than between-class directions: add whitened within-class ones
        rest = np.linalg.svd(np.eye(d) - right[:take].T @ right[:take], full_matrices=False)[0][:, : keep - take]
        projection = np.hstack([projection, inv_sqrt @ rest])
    summary = {
        "samples": len(x),
        "identities": len(names),
        "shrinkage": shrinkage,
        "explained_between_class": float(values[:take].sum() / max(float(values.sum()), 1e-12)),
    }
    return MetricHead(
        method=method,
        mean=mean.astype(np.float32),
        projection=projection.astype(np.float32),
        base_embedder=base_embedder,
        base_options=dict(base_options or {}),
        fit_summary=summary,
    )


class ProjectedEmbedder:
    """A base embedder followed by a fitted metric head (registered as the ``projected`` embedder).

    ``head`` is a saved head (path or bare name in ``<models_dir>/heads``); the base embedder and its options
    come from the head file, and ``base_options`` overrides some of them.
    """

    def __init__(self, head: str | Path, base_options: dict[str, Any] | None = None) -> None:
        from sightings.core.registry import EMBEDDERS

        self.head = load_head(head)
        if not self.head.base_embedder:
            raise ConfigError("the metric head does not name its base embedder", where=str(head))
        if self.head.base_embedder == "projected":
            raise ConfigError("a metric head cannot sit on another projected embedder", where=str(head))
        options = {**self.head.base_options, **(base_options or {})}
        self.base = EMBEDDERS.create(self.head.base_embedder, **options)
        base_dim = int(getattr(self.base, "dim", self.head.input_dim))
        if base_dim != self.head.input_dim:
            raise ConfigError(
                f"head expects {self.head.input_dim}-d features but {self.head.base_embedder!r} gives {base_dim}-d",
                where=str(head),
            )
        self.dim = self.head.dim

    def embed(self, images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.head.transform(self.base.embed(images))
