"""Warehouse benchmark: chDB (ChdbWarehouse) beside a naive SQLite table, same rows, same query, one process.

    python benchmarks/bench_warehouse.py                 # 1,000,000 track rows in batches of 10,000
    python benchmarks/bench_warehouse.py --rows 200000   # quicker

Data (seed 0): ``--rows`` raw track points in runs of 10,000 rows (one run = one video), 40 tracks per run,
timestamps spread over the last 12 hours (inside the 3-day TTL), a quarter of the tracks with role ``seller``.
Steps, each timed with ``time.perf_counter``:

* insert — chDB through ``ChdbWarehouse.insert`` (row validation + JSONEachRow, one INSERT per 10k batch);
  SQLite ``executemany`` of tuples into a table with an index on ``run_id`` (one transaction per batch), the
  "validate" column is the share of chDB's insert spent in our Python row validation;
* aggregate — per seller (track) and UTC hour: count and mean score of seller points, the same SQL shape on both;
* replace — re-running one video: ``ChdbWarehouse.replace(key={"run_id": ...})`` (lightweight DELETE + INSERT)
  vs SQLite DELETE + executemany;
* the ReplacingMergeTree alternative: the same rows in a ``ReplacingMergeTree`` table, the aggregate with
  ``FINAL`` (what every read would pay to hide re-run duplicates).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BATCH = 10_000
TRACKS_PER_RUN = 40

CH_AGG = """
SELECT store, track_id AS seller, toStartOfHour(ts) AS hour, count() AS points, avg(score) AS mean_score
FROM {table} {final} WHERE role = 'seller'
GROUP BY store, seller, hour ORDER BY store, seller, hour
"""
SQLITE_AGG = """
SELECT store, track_id AS seller, (ts / 3600) * 3600 AS hour, count(*) AS points, avg(score) AS mean_score
FROM tracks WHERE role = 'seller'
GROUP BY store, seller, hour ORDER BY store, seller, hour
"""


def make_batch(run: int, start: datetime, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(BATCH):
        track_id = i % TRACKS_PER_RUN
        rows.append(
            {
                "run_id": f"run{run:05d}",
                "store": f"s{run % 4}",
                "camera": f"cam{run % 3}",
                "track_id": track_id,
                "ts": start + timedelta(seconds=rng.randrange(12 * 3600)),
                "t_s": float(i),
                "frame": i,
                "x1": 10.0,
                "y1": 20.0,
                "x2": 60.0,
                "y2": 180.0,
                "score": rng.random(),
                "role": "seller" if track_id % 4 == 0 else "customer",
                "zone": "counter" if track_id % 4 == 0 else "floor",
            }
        )
    return rows


def as_tuple(row: dict[str, Any]) -> tuple[Any, ...]:
    return (*(row[k] for k in ("run_id", "store", "camera", "track_id")), int(row["ts"].timestamp()), row["score"],
            row["role"], row["zone"], row["frame"], row["x1"], row["y1"], row["x2"], row["y2"], row["t_s"])  # fmt: skip


def main() -> None:  # noqa: PLR0915 - one linear script: generate, insert, query, replace, print
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="track rows to insert (multiple of 10,000)")
    args = parser.parse_args()
    runs = max(1, args.rows // BATCH)

    from sightings.analytics.chdb_warehouse import ChdbWarehouse
    from sightings.analytics.warehouse_schema import TRACKS

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=12)
    times: dict[str, dict[str, float]] = {"chdb": {}, "sqlite": {}}
    with tempfile.TemporaryDirectory() as tmp:
        wh = ChdbWarehouse(Path(tmp) / "chdb")
        db = sqlite3.connect(Path(tmp) / "tracks.sqlite")
        db.execute(
            "CREATE TABLE tracks (run_id TEXT, store TEXT, camera TEXT, track_id INTEGER, ts INTEGER, score REAL,"
            " role TEXT, zone TEXT, frame INTEGER, x1 REAL, y1 REAL, x2 REAL, y2 REAL, t_s REAL)"
        )
        db.execute("CREATE INDEX tracks_run ON tracks (run_id)")
        rmt = TRACKS.ddl("sightings").replace("tracks", "tracks_rmt", 1).replace("MergeTree", "ReplacingMergeTree")
        wh._execute(rmt)
        rmt_spec = dataclasses.replace(TRACKS, name="tracks_rmt")

        rng = random.Random(0)
        ch_insert = sq_insert = validate = rmt_insert = 0.0
        for run in range(runs):
            batch = make_batch(run, start, rng)
            t = time.perf_counter()
            TRACKS.validate_rows(batch)
            validate += time.perf_counter() - t
            t = time.perf_counter()
            wh.insert("tracks", batch)
            ch_insert += time.perf_counter() - t
            tuples = [as_tuple(r) for r in batch]
            t = time.perf_counter()
            with db:
                db.executemany("INSERT INTO tracks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", tuples)
            sq_insert += time.perf_counter() - t
            t = time.perf_counter()
            wh._insert_values(rmt_spec, TRACKS.validate_rows(batch))
            rmt_insert += time.perf_counter() - t
        n = runs * BATCH
        times["chdb"]["insert_s"], times["sqlite"]["insert_s"] = ch_insert, sq_insert

        t = time.perf_counter()
        ch_rows = wh.query(CH_AGG.format(table="tracks", final=""))
        times["chdb"]["aggregate_s"] = time.perf_counter() - t
        t = time.perf_counter()
        sq_rows = db.execute(SQLITE_AGG).fetchall()
        times["sqlite"]["aggregate_s"] = time.perf_counter() - t
        assert len(ch_rows) == len(sq_rows), (len(ch_rows), len(sq_rows))  # benchmark self-check: same groups

        rerun = make_batch(runs // 2, start, random.Random(1))
        replace_s = []
        for _ in range(3):  # the first DELETE can wait for a background merge; later ones show the usual cost
            t = time.perf_counter()
            wh.replace("tracks", rerun, key={"run_id": rerun[0]["run_id"]})
            replace_s.append(time.perf_counter() - t)
        times["chdb"]["replace_s"] = sorted(replace_s)[1]
        t = time.perf_counter()
        with db:
            db.execute("DELETE FROM tracks WHERE run_id = ?", (rerun[0]["run_id"],))
            db.executemany("INSERT INTO tracks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [as_tuple(r) for r in rerun])
        times["sqlite"]["replace_s"] = time.perf_counter() - t
        counts = (
            wh.query("SELECT count() AS n FROM tracks")[0]["n"],
            db.execute("SELECT count(*) FROM tracks").fetchone()[0],
        )
        t = time.perf_counter()
        wh.query(CH_AGG.format(table="tracks_rmt", final="FINAL"))
        rmt_final = time.perf_counter() - t
        wh.close()
        db.close()

    print(f"\n{n:,} track rows in batches of {BATCH:,}; rows after replacing one run: chdb {counts[0]:,}, "
          f"sqlite {counts[1]:,}")  # fmt: skip
    print("| step | chDB | SQLite | chDB ÷ SQLite |\n|---|---|---|---|")
    for step, label in (("insert_s", f"insert {n:,} rows"), ("aggregate_s", "per-seller/hour aggregate"),
                        ("replace_s", f"replace one run ({BATCH:,} rows), median of 3")):  # fmt: skip
        a, b = times["chdb"][step], times["sqlite"][step]
        print(f"| {label} | {a:.3f} s | {b:.3f} s | {a / b:.2f} |")
    print(f"| insert rows/s | {n / ch_insert:,.0f} | {n / sq_insert:,.0f} | |")
    print(f"chDB replace, each of 3 tries: {', '.join(f'{x:.3f} s' for x in replace_s)}")
    print(f"\nour row validation: {validate:.2f} s of chDB's insert ({100 * validate / ch_insert:.0f} %)")
    print(f"ReplacingMergeTree alternative: insert {rmt_insert:.2f} s, aggregate with FINAL {rmt_final:.3f} s "
          f"(plain MergeTree aggregate {times['chdb']['aggregate_s']:.3f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
