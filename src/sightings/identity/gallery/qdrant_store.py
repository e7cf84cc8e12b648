"""Qdrant gallery through qdrant-client: a server by ``url=`` (HNSW index, payload indexes), or local mode.

Local mode (``path=`` a folder on disk, or ``location=":memory:"``) runs inside this process with no server; it
is an exact brute-force scan (qdrant-client has no HNSW in local mode and warns above 20k points), fine for tests
and small galleries. String ids are mapped to UUIDv5 point ids; the string id, the filterable fields and the
whole metadata (JSON) ride in the payload.
"""

from __future__ import annotations

import contextlib
import json
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from qdrant_client import QdrantClient, models

from sightings.core.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InputError,
    IntegrityError,
    SightingsError,
)
from sightings.core.protocols import SearchHit
from sightings.identity.gallery.base import (
    TEXT_FIELDS,
    TIME_FIELD,
    Between,
    Condition,
    Equals,
    Metric,
    OneOf,
    VectorStoreBase,
    check_k,
    check_metric,
    first_line,
    matches_nothing,
    parse_where,
    prepare_queries,
    prepare_rows,
)

__all__ = ["QdrantVectorStore"]

_ID_NAMESPACE = uuid.UUID("5b0f4f8e-6c1e-4b8a-9a53-2f1d3c0a7e11")  # fixed: the same string id → the same point id
_ID_KEY = "gallery_id"
_META_KEY = "metadata_json"
_BATCH = 1024  # points per upsert request
_DISTANCES = {"cosine": models.Distance.COSINE, "l2": models.Distance.EUCLID}


def point_id(sid: str) -> str:
    """The Qdrant point id (a UUID string) of gallery id ``sid``."""
    return str(uuid.uuid5(_ID_NAMESPACE, sid))


def _to_filter(conditions: Sequence[Condition]) -> models.Filter | None:
    must: list[models.Condition] = []
    for cond in conditions:
        if isinstance(cond, OneOf):
            must.append(models.FieldCondition(key=cond.field, match=models.MatchAny(any=list(cond.values))))
        elif isinstance(cond, Between):
            must.append(models.FieldCondition(key=cond.field, range=models.Range(gte=cond.low, lte=cond.high)))
        elif isinstance(cond, Equals) and isinstance(cond.value, str):
            must.append(models.FieldCondition(key=cond.field, match=models.MatchValue(value=cond.value)))
        else:
            must.append(models.FieldCondition(key=cond.field, range=models.Range(gte=cond.value, lte=cond.value)))
    return models.Filter(must=must) if must else None


class QdrantVectorStore(VectorStoreBase):
    """A gallery in one Qdrant collection (local mode or a server)."""

    def __init__(
        self,
        *,
        path: str | Path | None = None,
        location: str | None = None,
        url: str | None = None,
        api_key: str | None = None,
        collection: str = "gallery",
        metric: str = "cosine",
        dim: int | None = None,
        timeout_s: float = 5.0,
        hnsw_m: int = 16,
        hnsw_ef_construct: int = 128,
        ef: int = 128,
    ) -> None:
        self.metric: Metric = check_metric(metric)
        given = [name for name, value in (("path", path), ("location", location), ("url", url)) if value is not None]
        if len(given) != 1:
            raise ConfigError("give exactly one of path= (local, on disk), location=':memory:' or url=", where="qdrant")
        self.collection = collection
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construct = hnsw_ef_construct
        self.ef = ef
        self.local = url is None
        self.where = str(path or location or url)
        self._dim = dim
        self._exists = False
        if path is not None and Path(path).exists() and not Path(path).is_dir():
            raise InputError("is a file; a local Qdrant gallery is a folder", where=path)
        with self._errors("open"):
            if url is not None:
                self._client = QdrantClient(
                    url=url, api_key=api_key, timeout=max(1, round(timeout_s)), check_compatibility=False
                )
            elif path is not None:
                self._client = QdrantClient(path=str(path))
            else:
                self._client = QdrantClient(location=location)
            self._exists = self._client.collection_exists(collection)
            if self._exists:
                self._read_collection(dim)
            elif dim is not None:
                self._create(dim)

    # -- protocol -------------------------------------------------------------------------------------------------

    def count(self) -> int:
        if not self._exists:
            return 0
        with self._errors("count"):
            return int(self._client.count(self.collection, exact=True).count)

    def upsert(
        self, ids: Sequence[str], vectors: npt.NDArray[np.float32], metadata: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        rows = prepare_rows(ids, vectors, metadata, dim=self._dim, metric=self.metric)
        if not rows.ids:
            return
        with self._errors("upsert"):
            if not self._exists:
                self._create(rows.vectors.shape[1])
            for start in range(0, len(rows.ids), _BATCH):
                stop = start + _BATCH
                payloads = []
                for i in range(start, min(stop, len(rows.ids))):
                    payload: dict[str, Any] = {_ID_KEY: rows.ids[i], _META_KEY: rows.metadata_json[i]}
                    for field in TEXT_FIELDS:
                        if rows.text_columns[field][i] is not None:
                            payload[field] = rows.text_columns[field][i]
                    if rows.times[i] is not None:
                        payload[TIME_FIELD] = rows.times[i]
                    payloads.append(payload)
                batch = models.Batch(
                    ids=[point_id(s) for s in rows.ids[start:stop]],
                    vectors=rows.vectors[start:stop].tolist(),
                    payloads=payloads,
                )
                self._client.upsert(self.collection, points=batch, wait=True)

    def ids(self) -> list[str]:
        """Every stored id (consistency repair compares them with the catalog)."""
        out: list[str] = []
        if not self._exists:
            return out
        offset: Any = None
        with self._errors("ids"):
            while True:
                points, offset = self._client.scroll(
                    self.collection, limit=1000, offset=offset, with_payload=[_ID_KEY], with_vectors=False
                )
                out += [str((p.payload or {}).get(_ID_KEY)) for p in points]
                if offset is None:
                    return out

    def delete(self, ids: Sequence[str]) -> None:
        if not self._exists or not ids:
            return
        with self._errors("delete"):
            selector = models.PointIdsList(points=[point_id(s) for s in set(ids)])
            self._client.delete(self.collection, points_selector=selector, wait=True)

    def search_many(
        self, vectors: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[list[SearchHit]]:
        k = check_k(k)
        conditions = parse_where(where)
        queries = prepare_queries(vectors, self._dim, self.metric)
        if not self._exists or matches_nothing(conditions):
            return [[] for _ in range(len(queries))]
        flt = _to_filter(conditions)
        params = None if self.local else models.SearchParams(hnsw_ef=max(self.ef, k))
        requests = [
            models.QueryRequest(query=q.tolist(), filter=flt, limit=k, params=params, with_payload=True)
            for q in queries
        ]
        with self._errors("search"):
            responses = self._client.query_batch_points(self.collection, requests=requests)
        return [self._hits(resp.points) for resp in responses]

    def close(self) -> None:
        """Release the client (in local mode: the folder lock, so another client may open it)."""
        with contextlib.suppress(Exception):
            self._client.close()

    # -- internals ------------------------------------------------------------------------------------------------

    def _hits(self, points: Sequence[models.ScoredPoint]) -> list[SearchHit]:
        hits = []
        for p in points:
            payload = p.payload or {}
            dist = 1.0 - float(p.score) if self.metric == "cosine" else float(p.score)
            hits.append(SearchHit(str(payload.get(_ID_KEY)), max(0.0, dist), json.loads(payload.get(_META_KEY, "{}"))))
        hits.sort(key=lambda h: h.distance)
        return hits

    def _create(self, dim: int) -> None:
        self._client.create_collection(
            self.collection,
            vectors_config=models.VectorParams(size=dim, distance=_DISTANCES[self.metric]),
            hnsw_config=models.HnswConfigDiff(m=self.hnsw_m, ef_construct=self.hnsw_ef_construct),
        )
        if not self.local:  # local mode has no payload indexes (it scans)
            for field in TEXT_FIELDS:
                self._client.create_payload_index(self.collection, field, models.PayloadSchemaType.KEYWORD)
            self._client.create_payload_index(self.collection, TIME_FIELD, models.PayloadSchemaType.FLOAT)
        self._exists = True
        self._dim = dim

    def _read_collection(self, dim: int | None) -> None:
        params = self._client.get_collection(self.collection).config.params.vectors
        if not isinstance(params, models.VectorParams):
            raise IntegrityError(
                f"collection {self.collection!r} has named vectors; not a sightings gallery", where=self.where
            )
        stored = "cosine" if params.distance == models.Distance.COSINE else "l2"
        if params.distance not in _DISTANCES.values() or stored != self.metric:
            raise InputError(f"collection uses distance {params.distance}, not {self.metric!r}", where=self.where)
        if dim is not None and dim != params.size:
            raise InputError(
                f"embedding dimension mismatch: gallery holds {params.size}, dim={dim} was asked", where=self.where
            )
        self._dim = int(params.size)

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn qdrant-client failures into one-line errors naming the folder or URL."""
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*[Ll]ocal mode.*", category=UserWarning)
                yield
        except SightingsError:
            raise
        except ResponseHandlingException as exc:
            raise BackendUnavailableError(
                f"cannot reach the Qdrant server ({first_line(exc)})", where=self.where
            ) from None
        except UnexpectedResponse as exc:
            raise BackendError(f"Qdrant {action} failed ({first_line(exc)})", where=self.where) from None
        except Exception as exc:
            if isinstance(exc, RuntimeError) and "already accessed" in str(exc):
                raise BackendUnavailableError(
                    "the folder is open in another Qdrant client (local mode allows one; use a server to share)",
                    where=self.where,
                ) from None
            if action != "open":
                raise BackendError(f"Qdrant {action} failed ({first_line(exc)})", where=self.where) from exc
            if not self.local:  # e.g. a URL that answers but is not Qdrant
                raise BackendUnavailableError(f"not a Qdrant server ({first_line(exc)})", where=self.where) from None
            # a broken meta.json / storage.sqlite / pickled point: json, sqlite3, pickle, pydantic errors
            raise IntegrityError(
                f"corrupt or unreadable local Qdrant gallery ({first_line(exc)})", where=self.where
            ) from None
