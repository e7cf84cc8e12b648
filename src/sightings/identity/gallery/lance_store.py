"""LanceDB gallery: embedded, on disk, the default vector store.

One Lance table per gallery (columns ``id``, ``vector``, the filterable fields of :mod:`.base`, and the whole
metadata as JSON). Below ``index_threshold`` rows a search is exact (flat scan); once the table reaches it an ANN
index is built (``index_type``, IVF-HNSW-SQ by default, chosen by benchmarks/bench_gallery.py; see docs/gallery.md),
rows added later are folded into it by ``optimize`` once they pass ``reindex_fraction`` of the indexed rows (until
then LanceDB scans them flat, so they are always found). ``nprobes`` / ``ef`` / ``refine_factor`` trade speed for
recall; the defaults reach recall@10 ≥ 0.95 on the benchmark.

Several processes may share one gallery folder (API workers, a CLI enrolling while the server runs). Before each
read, the store looks at the table's latest-version file (one ``stat``): when another process has committed
since, it moves to the newest version and drops its in-memory copy, so rows others added are found by the next
search.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from sightings.core.errors import BackendError, ConfigError, InputError, IntegrityError, SightingsError
from sightings.core.file_stamps import file_stamp
from sightings.core.protocols import SearchHit
from sightings.identity.gallery.base import (
    TEXT_FIELDS,
    TIME_FIELD,
    Metric,
    VectorStoreBase,
    check_k,
    check_metric,
    first_line,
    matches_nothing,
    parse_where,
    prepare_queries,
    prepare_rows,
    sql_where,
)
from sightings.identity.gallery.numpy_store import NumpyVectorStore

__all__ = ["INDEX_TYPES", "LanceVectorStore"]

INDEX_TYPES = ("IVF_HNSW_SQ", "IVF_PQ")
_METRIC_KEY = b"sightings.metric"
_DELETE_CHUNK = 1000  # ids per DELETE statement


class LanceVectorStore(VectorStoreBase):
    """A gallery in a LanceDB table on disk, with an ANN index once it is large."""

    def __init__(
        self,
        path: str | Path,
        *,
        table: str = "gallery",
        metric: str = "cosine",
        dim: int | None = None,
        index_threshold: int = 50_000,
        index_type: str = "IVF_HNSW_SQ",
        num_partitions: int | None = None,
        num_sub_vectors: int | None = None,
        nprobes: int = 10,
        ef: int = 64,
        refine_factor: int | None = None,
        reindex_fraction: float = 0.1,
        memory_cache_below: int = 50_000,
    ) -> None:
        self.metric: Metric = check_metric(metric)
        if index_type not in INDEX_TYPES:
            raise ConfigError(f"unknown index_type {index_type!r}; known: {', '.join(INDEX_TYPES)}", where="index_type")
        if index_threshold < 256:
            raise ConfigError("index_threshold must be ≥ 256 (an IVF index needs rows to train on)", where="gallery")
        self.path = Path(path)
        self.table_name = table
        self.index_threshold = index_threshold
        self.index_type = index_type
        self.num_partitions = num_partitions
        self.num_sub_vectors = num_sub_vectors
        self.nprobes = nprobes
        self.ef = ef
        self.refine_factor = refine_factor
        self.reindex_fraction = reindex_fraction
        if memory_cache_below < 0:
            raise ConfigError(f"must be >= 0, got {memory_cache_below}", where="memory_cache_below")
        self.memory_cache_below = memory_cache_below
        self._mirror: NumpyVectorStore | None = None  # exact in-memory copy of a small table (see _cached)
        self._mirror_version: int | None = None  # the table version the copy shows
        self._too_large = False  # the table was found above memory_cache_below (until a delete may shrink it)
        self._seen: tuple[int, int, int] | None = None  # the versions as last looked at (see _follow_others)
        if self.path.exists() and not self.path.is_dir():
            raise InputError("is a file; a LanceDB gallery is a folder", where=self.path)
        self._dim = dim
        self._table: Any = None
        self._indexed = False  # whether the vector column has an ANN index (cached: listing indices costs a read)
        with self._errors("open"):
            self._db = lancedb.connect(str(self.path))
            if self.table_name in self._table_names():
                self._open_existing(dim)
            elif dim is not None:
                self._create(dim)

    # -- protocol -------------------------------------------------------------------------------------------------

    def count(self) -> int:
        self._follow_others()
        if self._table is None:
            return 0
        with self._errors("count"):
            return int(self._table.count_rows())

    def ids(self) -> list[str]:
        """Every stored id (consistency repair compares them with the catalog)."""
        self._follow_others()
        if self._table is None:
            return []
        with self._errors("ids"):
            return [str(i) for i in self._table.to_arrow().column("id").to_pylist()]

    def upsert(
        self, ids: Sequence[str], vectors: npt.NDArray[np.float32], metadata: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        rows = prepare_rows(ids, vectors, metadata, dim=self._dim, metric=self.metric)
        if not rows.ids:
            return
        self._follow_others()
        with self._errors("upsert"):
            if self._table is None:
                self._create(rows.vectors.shape[1])
            before = self._table.version
            dim = rows.vectors.shape[1]
            columns: dict[str, Any] = {
                "id": pa.array(rows.ids, pa.string()),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(rows.vectors.ravel(), pa.float32()), dim),
            }
            for field in TEXT_FIELDS:
                columns[field] = pa.array(rows.text_columns[field], pa.string())
            columns[TIME_FIELD] = pa.array(rows.times, pa.float64())
            columns["metadata"] = pa.array(rows.metadata_json, pa.string())
            data = pa.Table.from_pydict(columns, schema=self._schema(dim))
            if self._table.count_rows() == 0:
                self._table.add(data)
            else:
                (self._table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data))
            after = self._table.version
            self._maybe_index()
        if self._mirror is not None and self._mirror_version == before and after == before + 1:
            self._mirror.upsert(ids, vectors, metadata)  # only our commit since the copy was made: update it
            self._mirror_version = after  # an index/compaction commit after it reloads the copy (rare, and safe)
            if self._mirror.count() > self.memory_cache_below:
                self._drop_mirror()
                self._too_large = True
        else:
            self._drop_mirror()  # another process committed in between: load the copy again when searched

    def delete(self, ids: Sequence[str]) -> None:
        if self._table is None:
            return
        unique = sorted(set(ids))
        self._follow_others()
        before = self._table.version
        with self._errors("delete"):
            for start in range(0, len(unique), _DELETE_CHUNK):
                chunk = unique[start : start + _DELETE_CHUNK]
                quoted = ", ".join("'" + str(i).replace("'", "''") + "'" for i in chunk)
                self._table.delete(f"id IN ({quoted})")
        commits = -(-len(unique) // _DELETE_CHUNK)
        if self._mirror is not None and self._mirror_version == before and self._table.version == before + commits:
            self._mirror.delete(unique)
            self._mirror_version = self._table.version
        else:
            self._drop_mirror()
        self._too_large = False  # it may have shrunk below the threshold

    def search_many(
        self, vectors: npt.NDArray[np.float32], k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[list[SearchHit]]:
        k = check_k(k)
        conditions = parse_where(where)
        queries = prepare_queries(vectors, self._dim, self.metric)
        self._follow_others()
        if self._table is None or matches_nothing(conditions):
            return [[] for _ in range(len(queries))]
        mirror = self._cached()
        if mirror is not None:
            return mirror.search_many(queries, k, where)
        sql = sql_where(conditions)
        with self._errors("search"):
            return [self._search_one(q, k, sql) for q in queries]

    # -- index and maintenance ------------------------------------------------------------------------------------

    def has_index(self) -> bool:
        """Whether the vector column has an ANN index."""
        return self._vector_index_name() is not None

    def create_index(self) -> None:
        """Build (or rebuild) the ANN index now, whatever the table size (needs ≥ 256 rows to train)."""
        if self._table is None:
            raise InputError("the gallery is empty; nothing to index", where=self.path)
        rows = self._table.count_rows()
        if rows < 256:
            raise InputError(f"an ANN index needs at least 256 rows, the gallery has {rows}", where=self.path)
        from lancedb.index import HnswSq, IvfPq

        partitions = self.num_partitions or max(1, round(rows**0.5))
        config: Any
        if self.index_type == "IVF_PQ":
            config = IvfPq(
                distance_type=self.metric,
                num_partitions=partitions,
                num_sub_vectors=self.num_sub_vectors or max(1, (self._dim or 16) // 8),
            )
        else:
            config = HnswSq(distance_type=self.metric, num_partitions=partitions)
        with self._errors("create_index"):
            self._table.create_index("vector", config=config, replace=True)
        self._indexed = True

    def optimize(self) -> None:
        """Compact small files and fold rows added since the index was built into it."""
        if self._table is not None:
            with self._errors("optimize"):
                self._table.optimize()

    def _maybe_index(self) -> None:
        rows = self._table.count_rows()
        name = self._vector_index_name()
        if name is None:
            if rows >= self.index_threshold:
                self.create_index()
            return
        stats = self._table.index_stats(name)
        if stats is not None and stats.num_unindexed_rows > self.reindex_fraction * max(1, stats.num_indexed_rows):
            self._table.optimize()

    def _vector_index_name(self) -> str | None:
        if self._table is None:
            return None
        for index in self._table.list_indices():
            if list(index.columns) == ["vector"]:
                return str(index.name)
        return None

    # -- internals ------------------------------------------------------------------------------------------------

    def _cached(self) -> NumpyVectorStore | None:
        """An exact in-memory copy of the table while it holds at most ``memory_cache_below`` rows.

        A LanceDB query costs ~5–10 ms of fixed overhead (planning, a background event loop); a gallery of a few
        thousand crops is searched exactly in NumPy in well under 1 ms. The copy is loaded once and kept in step
        by :meth:`upsert` and :meth:`delete`; the table on disk stays the source of truth.
        """
        if self._mirror is not None or self._table is None or self.memory_cache_below == 0 or self._too_large:
            return self._mirror
        import json

        with self._errors("load"):
            if self._table.count_rows() > self.memory_cache_below:
                self._too_large = True  # do not count the rows again on every search
                return None
            version = self._table.version
            data = self._table.to_arrow().select(["id", "vector", "metadata"])
        mirror = NumpyVectorStore(metric=self.metric, dim=self._dim)
        ids = data.column("id").to_pylist()
        if ids:
            flat = data.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            vectors = np.asarray(flat, np.float32).reshape(len(ids), -1)
            mirror.upsert(ids, vectors, [json.loads(m) for m in data.column("metadata").to_pylist()])
        self._mirror = mirror
        self._mirror_version = version
        return mirror

    def _drop_mirror(self) -> None:
        self._mirror = None
        self._mirror_version = None

    def _versions_seen(self) -> tuple[int, int, int] | None:
        """What the table's versions look like from outside: the stamp of LanceDB's ``latest_version_hint.json``,
        which each commit replaces by a new file (a new inode, so two commits in one clock tick still differ); of
        the versions folder without it, or of the database folder before the table exists."""
        if self._table is None:
            return file_stamp(self.path)
        versions = self.path / f"{self.table_name}.lance" / "_versions"
        return file_stamp(versions / "latest_version_hint.json") or file_stamp(versions)

    def _follow_others(self) -> None:
        """Move to the newest version when the versions folder changed since the last look (another process, or
        this one, committed); drop the in-memory copy when it no longer shows that version."""
        seen = self._versions_seen()
        if seen == self._seen:
            return
        self._seen = seen
        with self._errors("refresh"):
            if self._table is None:
                if self.table_name in self._table_names():  # another process made the first rows
                    self._open_existing(self._dim)
                    self._seen = self._versions_seen()
                return
            before = self._table.version
            self._table.checkout_latest()
            if self._table.version != before:  # another process wrote: rows, maybe an index
                self._indexed = self._vector_index_name() is not None
                self._too_large = False
            if self._mirror is not None and self._table.version != self._mirror_version:
                self._drop_mirror()

    def _search_one(self, query: npt.NDArray[np.float32], k: int, sql: str | None) -> list[SearchHit]:
        import json

        builder = self._table.search(query, vector_column_name="vector").distance_type(self.metric).limit(k)
        builder = builder.select(["id", "metadata", "_distance"])
        if sql is not None:
            builder = builder.where(sql, prefilter=True)
        builder = builder.nprobes(self.nprobes)
        if self.index_type != "IVF_PQ":
            builder = builder.ef(max(self.ef, k))
        if self._indexed:
            # re-rank the candidates on the stored vectors: better recall, and exact distances (the index's own are
            # approximate, and on a cosine index they are squared L2 of the normalised vectors, 2 × (1 - cos))
            builder = builder.refine_factor(self._refine())
        result = builder.to_arrow()
        ids = result.column("id").to_pylist()
        metas = result.column("metadata").to_pylist()
        dist = np.maximum(result.column("_distance").to_numpy().astype(np.float64), 0.0)
        if self.metric == "l2":  # LanceDB reports squared L2
            dist = np.sqrt(dist)
        order = np.lexsort((np.arange(len(ids)), dist))
        return [SearchHit(ids[i], float(dist[i]), json.loads(metas[i])) for i in order]

    def _refine(self) -> int:
        if self.refine_factor is not None:
            return max(1, self.refine_factor)
        # re-rank k × this many index candidates on the stored vectors: 8-bit SQ ranks well but not exactly
        # (recall@10 0.96 → 1.00 at 1M with 2); PQ codes are coarse and need more
        return 10 if self.index_type == "IVF_PQ" else 2

    def _schema(self, dim: int) -> pa.Schema:
        fields = [
            pa.field("id", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dim)),
            *(pa.field(f, pa.string()) for f in TEXT_FIELDS),
            pa.field(TIME_FIELD, pa.float64()),
            pa.field("metadata", pa.string()),
        ]
        return pa.schema(fields, metadata={_METRIC_KEY: self.metric.encode()})

    def _table_names(self) -> list[str]:
        listing = self._db.list_tables() if hasattr(self._db, "list_tables") else self._db.table_names()
        names = getattr(listing, "tables", listing)
        return [str(n) for n in names]

    def _create(self, dim: int) -> None:
        self._table = self._db.create_table(self.table_name, schema=self._schema(dim))
        self._dim = dim

    def _open_existing(self, dim: int | None) -> None:
        self._table = self._db.open_table(self.table_name)
        schema = self._table.schema
        if "vector" not in schema.names or "id" not in schema.names:
            raise IntegrityError(
                f"table {self.table_name!r} is not a sightings gallery (no id/vector)", where=self.path
            )
        stored_metric = (schema.metadata or {}).get(_METRIC_KEY, b"").decode()
        if stored_metric and stored_metric != self.metric:
            raise InputError(f"gallery was built with metric {stored_metric!r}, not {self.metric!r}", where=self.path)
        stored_dim = int(schema.field("vector").type.list_size)
        if dim is not None and dim != stored_dim:
            raise InputError(
                f"embedding dimension mismatch: gallery holds {stored_dim}, dim={dim} was asked", where=self.path
            )
        self._dim = stored_dim
        self._indexed = self._vector_index_name() is not None
        self._table.count_rows()  # touches the manifest and data files: a broken table fails here, not later

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn LanceDB/Arrow failures into one-line errors naming the gallery folder."""
        try:
            yield
        except SightingsError:
            raise
        except (OSError, ValueError, RuntimeError, pa.ArrowException) as exc:
            text = str(exc).lower()
            # storage that is not there right now (a moved/unmounted folder, a missing file, no permission) is an
            # outage the caller may outlast (BackendError, retried by the API's hold); bad bytes are corruption
            corrupt = any(
                w in text for w in ("corrupt", "invalid", "parse", "decode", "eof", "manifest", "too small", "truncat")
            )
            unavailable = not corrupt and (
                isinstance(exc, OSError)
                or any(w in text for w in ("not a directory", "no such file", "not found", "permission denied"))
            )
            broken = not unavailable and (corrupt or action in ("open", "count"))
            cls = IntegrityError if broken else BackendError
            reason = "corrupt or unreadable LanceDB gallery" if cls is IntegrityError else f"LanceDB {action} failed"
            raise cls(f"{reason} ({first_line(exc)})", where=self.path / f"{self.table_name}.lance") from None
