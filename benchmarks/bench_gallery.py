"""Gallery benchmark: LanceDB (ANN index) and Qdrant local beside exact NumPy, on clustered synthetic vectors.

    python benchmarks/bench_gallery.py                 # 100k and 1M
    python benchmarks/bench_gallery.py --quick         # 20k only (a minute)
    python benchmarks/bench_gallery.py --sizes 100000 --lance-index IVF_PQ IVF_HNSW_SQ

Data: ``--clusters`` Gaussian centres (N(0, 1), 256-d, float32, seed 0), each point a centre plus N(0, 0.5²)
noise; queries are noisy copies (+ N(0, 0.05²)) of ``--queries`` random stored points. Distance: cosine.
Ground truth: exact top-10 by NumPy. Each backend runs in a fresh child process that regenerates the same data
(so one backend's memory does not count against the next), builds the gallery (batches of 100k upserts; LanceDB
builds its index inside the last upsert, when the table reaches ``index_threshold = size``), then answers the
queries one at a time (10 warm-up queries first). Latency: wall time of ``store.search(q, k=10)``. Peak memory:
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the child (peak resident set, KiB on Linux); "over data" subtracts
the child's peak RSS after generating the data, before building. Qdrant local mode is an exact scan
(qdrant-client's local mode has no HNSW) and runs in memory here: on disk it commits one SQLite transaction per
point (≈ 12 ms a point on this machine, 20k points in 250 s), which measures the disk, not the search. It runs up
to ``--qdrant-max``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

DIM = 256
K = 10
BATCH = 100_000


def make_data(size: int, clusters: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``size`` clustered vectors and ``queries`` noisy copies of random stored points (deterministic)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM), dtype=np.float32)
    data = np.empty((size, DIM), np.float32)
    for start in range(0, size, BATCH):
        stop = min(size, start + BATCH)
        data[start:stop] = centres[rng.integers(0, clusters, stop - start)]
        data[start:stop] += 0.5 * rng.standard_normal((stop - start, DIM), dtype=np.float32)
    picks = rng.choice(size, queries, replace=False)
    noisy = data[picks] + 0.05 * rng.standard_normal((queries, DIM), dtype=np.float32)
    return data, noisy


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _make_store(backend: str, folder: Path, size: int, options: dict[str, Any]) -> Any:
    if backend == "numpy":
        from sightings.identity.gallery.numpy_store import NumpyVectorStore

        return NumpyVectorStore()
    if backend.startswith("lancedb"):
        from sightings.identity.gallery.lance_store import LanceVectorStore

        return LanceVectorStore(folder / "lance", index_threshold=max(256, size), **options)
    from sightings.identity.gallery.qdrant_store import QdrantVectorStore

    return QdrantVectorStore(location=":memory:", **options)


def run_backend(backend: str, size: int, clusters: int, queries: int, options: dict[str, Any]) -> dict[str, Any]:
    """Build one gallery and time its queries (runs in a child process)."""
    warnings.filterwarnings("ignore")
    data, qs = make_data(size, clusters, queries)
    base_rss = _rss_mib()
    folder = Path(tempfile.mkdtemp(prefix=f"bench-gallery-{backend}-"))
    try:
        store = _make_store(backend, folder, size, options)
        ids = [str(i) for i in range(size)]
        t0 = time.perf_counter()
        for start in range(0, size, BATCH):
            store.upsert(ids[start : start + BATCH], data[start : start + BATCH])
        build_s = time.perf_counter() - t0
        del data
        for q in qs[:10]:
            store.search(q, K)
        lat, found = [], []
        for q in qs:
            t = time.perf_counter()
            hits = store.search(q, K)
            lat.append((time.perf_counter() - t) * 1000)
            found.append([int(h.id) for h in hits])
        disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        if hasattr(store, "close"):
            store.close()
        return {
            "build_s": build_s,
            "p50_ms": float(np.percentile(lat, 50)),
            "p95_ms": float(np.percentile(lat, 95)),
            "found": found,
            "peak_rss_mib": _rss_mib(),
            "over_data_mib": _rss_mib() - base_rss,
            "disk_mib": disk / 2**20,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _in_child(backend: str, size: int, clusters: int, queries: int, options: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(run_backend, (backend, size, clusters, queries, options))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--quick", action="store_true", help="one size of 20k")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--qdrant-max", type=int, default=100_000, help="largest size to run Qdrant local on")
    parser.add_argument("--lance-index", nargs="+", default=["IVF_HNSW_SQ"], choices=["IVF_HNSW_SQ", "IVF_PQ"])
    parser.add_argument("--nprobes", type=int, default=None, help="LanceDB nprobes (default: the store's)")
    parser.add_argument("--refine", type=int, default=None, help="LanceDB refine_factor (default: the store's)")
    parser.add_argument("--ef", type=int, default=None, help="LanceDB HNSW ef (default: the store's)")
    args = parser.parse_args()
    sizes = [20_000] if args.quick else args.sizes

    rows = []
    for size in sizes:
        runs: list[tuple[str, str, dict[str, Any]]] = [("numpy (exact)", "numpy", {})]
        for index_type in args.lance_index:
            opts: dict[str, Any] = {"index_type": index_type}
            for key, value in (("nprobes", args.nprobes), ("refine_factor", args.refine), ("ef", args.ef)):
                if value is not None:
                    opts[key] = value
            runs.append((f"lancedb {index_type}", "lancedb", opts))
        if size <= args.qdrant_max:
            runs.append(("qdrant local :memory: (exact)", "qdrant", {}))
        truth: list[set[int]] = []
        for label, backend, opts in runs:
            print(f"… {size:,} × {DIM}: {label}", flush=True)
            res = _in_child(backend, size, args.clusters, args.queries, opts)
            if backend == "numpy":
                truth = [set(f) for f in res["found"]]
            recall = float(np.mean([len(set(f) & t) / K for f, t in zip(res["found"], truth, strict=True)]))
            rows.append((size, label, res, recall))
            print(
                f"  build {res['build_s']:.1f} s, p50 {res['p50_ms']:.2f} ms, p95 {res['p95_ms']:.2f} ms, "
                f"recall@10 {recall:.3f}, peak RSS {res['peak_rss_mib']:.0f} MiB",
                flush=True,
            )

    print()
    print(f"Gallery top-{K}, {DIM}-d float32, {args.clusters} clusters, {args.queries} single queries, cosine")
    head = "| size | backend | build s | p50 ms | p95 ms | recall@10 | peak RSS MiB | RSS over data MiB | disk MiB |"
    print(head)
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for size, label, res, recall in rows:
        print(
            f"| {size:,} | {label} | {res['build_s']:.1f} | {res['p50_ms']:.2f} | {res['p95_ms']:.2f} | "
            f"{recall:.3f} | {res['peak_rss_mib']:.0f} | {res['over_data_mib']:.0f} | {res['disk_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
