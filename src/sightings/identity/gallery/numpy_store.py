"""Exact nearest-neighbour search in NumPy (a matrix product over every stored vector).

Fine up to ~100k vectors (about 10 ms a query at 100k × 256-d on 2 cores); the ground truth the ANN galleries
are measured against. With ``path`` the gallery is one ``.npz`` file (vectors, ids, a JSON header and the
metadata as JSON) that is rewritten atomically after every change (``autosave``) or on :meth:`save`.

Other processes' writes are followed (``autosave`` stores): before each read or write the file's stamp is compared
with the one it was loaded or saved with (one ``stat``), and a file replaced since is loaded again (e.g. a
prediction worker process sees the individuals the API process enrolled). Writers are not merged: one process
should write a file at a time.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_bytes
from sightings.core.errors import BackendUnavailableError, InputError, IntegrityError
from sightings.core.file_stamps import file_stamp
from sightings.core.protocols import SearchHit
from sightings.identity.gallery.base import (
    TEXT_FIELDS,
    Between,
    Condition,
    Equals,
    Metric,
    OneOf,
    PreparedRows,
    VectorStoreBase,
    check_k,
    check_metric,
    matches_nothing,
    parse_where,
    prepare_queries,
    prepare_rows,
)

__all__ = ["NumpyVectorStore"]

FORMAT = "sightings-numpy-gallery"
FORMAT_VERSION = 1
_QUERY_CHUNK = 64  # queries per matrix product in search_many (bounds the (queries × rows) distance block)


class NumpyVectorStore(VectorStoreBase):
    """Exact cosine / L2 search over vectors held in one NumPy array."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        metric: str = "cosine",
        dim: int | None = None,
        autosave: bool = True,
    ) -> None:
        self.metric: Metric = check_metric(metric)
        self.path = None if path is None else Path(path)
        self.autosave = autosave
        self._asked_dim = dim
        self._clear()
        self._seen: tuple[int, int, int] | None = None  # the file's stamp as last loaded or saved
        if self.path is not None and self.path.exists():
            self._load(self.path, dim)

    def _clear(self) -> None:
        self._dim = self._asked_dim
        self._vectors = np.zeros((0, self._dim or 0), np.float32)  # capacity rows; the first ``_n`` are live
        self._n = 0
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._meta_json: list[str] = []
        self._text = {f: np.empty(0, object) for f in TEXT_FIELDS}
        self._times = np.empty(0, np.float64)  # NaN where a row has no ``t``

    def _follow(self) -> None:
        """Load the file again when another process replaced it since this one loaded or saved it.

        A replacement that cannot be read (being restored, damaged) keeps the rows held now and raises
        :class:`BackendUnavailableError` (503: the API holds the request and tries again); the next call reads it
        again."""
        if not self.autosave or self.path is None:
            return  # (a store that saves only when told may hold rows the file has not: never reloaded under them)
        now = file_stamp(self.path)
        if now == self._seen:
            return
        if now is None:
            self._clear()
            self._seen = None
            return
        try:
            self._load(self.path, self._asked_dim)  # (checks the whole file before it replaces anything held)
        except (InputError, IntegrityError) as err:
            raise BackendUnavailableError(
                f"the gallery file was replaced and cannot be read now ({err.reason})", where=self.path
            ) from None

    # -- protocol -------------------------------------------------------------------------------------------------

    def count(self) -> int:
        self._follow()
        return self._n

    def ids(self) -> list[str]:
        """Every stored id (consistency repair compares them with the catalog)."""
        self._follow()
        return list(self._ids[: self._n])

    def upsert(
        self, ids: Sequence[str], vectors: npt.NDArray[np.float32], metadata: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        self._follow()
        rows = prepare_rows(ids, vectors, metadata, dim=self._dim, metric=self.metric)
        if not rows.ids:
            return
        self._put(rows)
        if self.autosave:
            self.save()

    def delete(self, ids: Sequence[str]) -> None:
        self._follow()
        drop = [self._row[i] for i in set(ids) if i in self._row]
        if not drop:
            return
        keep = np.ones(self._n, bool)
        keep[drop] = False
        self._compact(keep)
        if self.autosave:
            self.save()

    def search_many(
        self, vectors: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[list[SearchHit]]:
        k = check_k(k)
        self._follow()
        conditions = parse_where(where)
        queries = prepare_queries(vectors, self._dim, self.metric)
        rows = self._filter_rows(conditions)
        if (rows is not None and rows.size == 0) or self._n == 0:
            return [[] for _ in range(len(queries))]
        base = self._vectors[: self._n] if rows is None else self._vectors[rows]
        out: list[list[SearchHit]] = []
        for start in range(0, len(queries), _QUERY_CHUNK):
            dist = self._distances(queries[start : start + _QUERY_CHUNK], base)
            kk = min(k, dist.shape[1])
            top = (
                np.argpartition(dist, kk - 1, axis=1)[:, :kk]
                if kk < dist.shape[1]
                else np.tile(np.arange(dist.shape[1]), (dist.shape[0], 1))
            )
            for qi in range(dist.shape[0]):
                cand = top[qi][np.lexsort((top[qi], dist[qi, top[qi]]))]
                hits = []
                for j in cand:
                    row = int(j) if rows is None else int(rows[j])
                    hits.append(SearchHit(self._ids[row], float(dist[qi, j]), json.loads(self._meta_json[row])))
                out.append(hits)
        return out

    # -- persistence ----------------------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the gallery to ``path`` (atomically: the old file stays whole until the new one is complete)."""
        if self.path is None:
            return
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "metric": self.metric,
            "dim": self._dim,
            "count": self._n,
        }
        buf = BytesIO()
        np.savez(
            buf,
            header=np.frombuffer(json.dumps(header).encode(), np.uint8),
            ids=np.array(self._ids, dtype=str) if self._ids else np.zeros(0, "<U1"),
            vectors=self._vectors[: self._n],
            metadata=np.frombuffer(("[" + ",".join(self._meta_json) + "]").encode(), np.uint8),
        )
        atomic_write_bytes(self.path, buf.getvalue())
        self._seen = file_stamp(self.path)  # its own write: what it holds is what the file holds

    def _load(self, path: Path, dim: int | None) -> None:
        """Replace what is held with the file's rows, once the whole file has been read and checked (a bad file
        raises and leaves everything as it was, the file's stamp included)."""
        stamp = file_stamp(path)  # before reading: a write meanwhile shows next time
        if path.is_dir():
            raise InputError("is a folder; a NumPy gallery is one .npz file", where=path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                header = json.loads(npz["header"].tobytes())
                ids = [str(s) for s in npz["ids"]]
                vectors = np.asarray(npz["vectors"], np.float32)
                metas = json.loads(npz["metadata"].tobytes())
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise IntegrityError(f"not a readable NumPy gallery ({type(exc).__name__}: {exc})", where=path) from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise IntegrityError("not a sightings NumPy gallery (bad header)", where=path)
        n = len(ids)
        if header.get("count") != n or vectors.shape[0] != n or not isinstance(metas, list) or len(metas) != n:
            raise IntegrityError(
                "inconsistent gallery: header, ids, vectors and metadata disagree on the count", where=path
            )
        if header.get("metric") != self.metric:
            raise InputError(f"gallery was built with metric {header.get('metric')!r}, not {self.metric!r}", where=path)
        stored_dim = header.get("dim")
        if stored_dim is not None and dim is not None and stored_dim != dim:
            raise InputError(
                f"embedding dimension mismatch: gallery holds {stored_dim}, dim={dim} was asked", where=path
            )
        if n and vectors.shape[1] != stored_dim:
            raise IntegrityError(f"inconsistent gallery: vectors have dimension {vectors.shape[1]}", where=path)
        self._clear()
        self._seen = stamp
        self._dim = stored_dim if stored_dim is not None else dim
        self._vectors = np.zeros((0, self._dim or 0), np.float32)
        if n:
            # the vectors were checked and normalised when they were first upserted: restore them as they are
            self._put(
                PreparedRows(
                    ids=ids,
                    vectors=vectors,
                    metadata=metas,
                    metadata_json=[json.dumps(m, ensure_ascii=False, sort_keys=True) for m in metas],
                    text_columns={f: [m.get(f) for m in metas] for f in TEXT_FIELDS},
                    times=[m.get("t") for m in metas],
                )
            )

    # -- internals ------------------------------------------------------------------------------------------------

    def _put(self, rows: PreparedRows) -> None:
        if self._dim is None:
            self._dim = rows.vectors.shape[1]
        positions = np.empty(len(rows.ids), np.int64)
        for i, sid in enumerate(rows.ids):
            row = self._row.get(sid)
            if row is None:
                row = self._n
                self._row[sid] = row
                self._ids.append(sid)
                self._meta_json.append("")
                self._n += 1
            positions[i] = row
        self._reserve(self._n)
        self._vectors[positions] = rows.vectors
        for i, position in enumerate(positions.tolist()):
            self._meta_json[position] = rows.metadata_json[i]
        for field in TEXT_FIELDS:
            self._text[field][positions] = np.array(rows.text_columns[field], object)
        self._times[positions] = [np.nan if t is None else t for t in rows.times]

    def _reserve(self, rows: int) -> None:
        if rows <= len(self._vectors):
            return
        capacity = max(rows, 2 * len(self._vectors), 1024)
        vectors = np.zeros((capacity, self._dim or 0), np.float32)
        if len(self._vectors):
            vectors[: len(self._vectors)] = self._vectors
        self._vectors = vectors
        for field in TEXT_FIELDS:
            col = np.empty(capacity, object)
            col[: len(self._text[field])] = self._text[field]
            self._text[field] = col
        times = np.full(capacity, np.nan)
        times[: len(self._times)] = self._times
        self._times = times

    def _compact(self, keep: npt.NDArray[np.bool_]) -> None:
        self._vectors = self._vectors[: self._n][keep]
        for field in TEXT_FIELDS:
            self._text[field] = self._text[field][: self._n][keep]
        self._times = self._times[: self._n][keep]
        kept = np.flatnonzero(keep)
        self._ids = [self._ids[i] for i in kept]
        self._meta_json = [self._meta_json[i] for i in kept]
        self._row = {sid: i for i, sid in enumerate(self._ids)}
        self._n = len(self._ids)

    def _filter_rows(self, conditions: Sequence[Condition]) -> npt.NDArray[np.int64] | None:
        """Row numbers passing every condition, or None for all rows."""
        if not conditions:
            return None
        if matches_nothing(conditions):
            return np.zeros(0, np.int64)
        mask = np.ones(self._n, bool)
        times = self._times[: self._n]
        for cond in conditions:
            if isinstance(cond, Between):
                with np.errstate(invalid="ignore"):
                    if cond.low is not None:
                        mask &= times >= cond.low
                    if cond.high is not None:
                        mask &= times <= cond.high
            elif isinstance(cond, OneOf):
                allowed = set(cond.values)
                col = self._text[cond.field][: self._n]
                mask &= np.fromiter((v in allowed for v in col), bool, self._n)
            elif isinstance(cond, Equals) and isinstance(cond.value, str):
                mask &= self._text[cond.field][: self._n] == cond.value
            else:
                mask &= times == cond.value
        return np.flatnonzero(mask)

    def _distances(self, queries: npt.NDArray[np.float32], base: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        dots = queries @ base.T
        if self.metric == "cosine":
            return np.asarray(1.0 - dots, np.float32)
        sq = (queries * queries).sum(axis=1)[:, None] - 2.0 * dots + (base * base).sum(axis=1)[None, :]
        return np.asarray(np.sqrt(np.maximum(sq, 0.0)), np.float32)
