"""The warehouse contract beyond insert/query: schema, replace-by-key, all-or-nothing inserts, bad input.

Runs on the fake (given the schema), chDB (one session for the module) and a ClickHouse server when
SIGHTINGS_TEST_CLICKHOUSE_URL names one (skipped otherwise). Only ``SELECT * / count() FROM t`` queries are used,
so the fake answers them too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sightings.analytics.warehouse_schema import WAREHOUSE_SCHEMA
from sightings.core import protocols
from sightings.core.errors import InputError, NotFoundError
from sightings.core.registry import WAREHOUSES

BACKENDS = ["fake", "chdb", "clickhouse"]
T0 = datetime(2030, 1, 2, 10, 0, 0, tzinfo=UTC)  # in the future, so the tracks TTL never removes test rows


def _open(name: str, path: Path) -> Any:
    if name == "fake":
        wh = WAREHOUSES.create("fake", schema=WAREHOUSE_SCHEMA)
        wh.create_schema()
        return wh
    if name == "chdb":
        pytest.importorskip("chdb", reason="needs the retail extra")
        return WAREHOUSES.create("chdb", path=path, database="contract")
    url = os.environ.get("SIGHTINGS_TEST_CLICKHOUSE_URL")
    if not url:
        pytest.skip("set SIGHTINGS_TEST_CLICKHOUSE_URL to run the contract on a ClickHouse server")
    pytest.importorskip("clickhouse_connect", reason="needs the retail extra")
    return WAREHOUSES.create("clickhouse", url=url, database="sightings_contract_test")


@pytest.fixture(scope="module", params=BACKENDS)
def shared_warehouse(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # module scope: set up before the autouse fixture that hides SIGHTINGS_* variables from each test
    wh = _open(request.param, tmp_path_factory.mktemp("warehouse"))
    yield wh
    getattr(wh, "close", lambda: None)()


@pytest.fixture
def wh(shared_warehouse: Any) -> Any:
    """The module's warehouse with every table emptied (real backends) or a fresh fake."""
    if not hasattr(shared_warehouse, "database"):
        fresh = WAREHOUSES.create("fake", schema=WAREHOUSE_SCHEMA)
        fresh.create_schema()
        return fresh
    for table in WAREHOUSE_SCHEMA.table_names:
        shared_warehouse._execute(f"TRUNCATE TABLE {shared_warehouse.database}.{table}")
    return shared_warehouse


def track(run_id: str, track_id: int, i: int = 0, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": run_id,
        "store": "s1",
        "camera": "cam1",
        "track_id": track_id,
        "ts": T0 + timedelta(seconds=i),
        "t_s": float(i),
        "frame": i,
        "x1": 1.0,
        "y1": 2.0,
        "x2": 30.0,
        "y2": 60.0,
        "score": 0.5,
        "role": "customer",
        "zone": "floor",
    }
    row.update(over)
    return row


def count(wh: Any, table: str) -> int:
    return int(wh.query(f"SELECT count() FROM {table}")[0]["count()"])


def test_schema_and_protocol(wh: Any) -> None:
    assert isinstance(wh, protocols.Warehouse)
    wh.create_schema()  # idempotent
    assert set(WAREHOUSE_SCHEMA.table_names) <= set(wh.tables())
    assert count(wh, "tracks") == 0


def test_insert_round_trips_types(wh: Any) -> None:
    assert wh.insert("tracks", [track("r1", 1), track("r1", 2, 1)]) == 2
    rows = sorted(wh.query("SELECT * FROM tracks"), key=lambda r: r["track_id"])
    assert rows[0] == track("r1", 1)
    assert rows[1]["ts"] == T0 + timedelta(seconds=1) and rows[1]["ts"].tzinfo is not None
    assert wh.insert("tracks", []) == 0


def test_replace_by_run_never_doubles(wh: Any) -> None:
    wh.insert("tracks", [track("a", i) for i in range(3)] + [track("b", i) for i in range(2)])
    rerun = [track("a", 7), track("a", 8)]  # a re-run may find fewer / other tracks
    assert wh.replace("tracks", rerun, key={"run_id": "a"}) == 2
    assert wh.replace("tracks", rerun, key={"run_id": "a"}) == 2  # the same again: still no doubles
    rows = wh.query("SELECT * FROM tracks")
    assert len(rows) == 4
    assert sorted(r["track_id"] for r in rows if r["run_id"] == "a") == [7, 8]
    assert sorted(r["track_id"] for r in rows if r["run_id"] == "b") == [0, 1]
    assert wh.replace("tracks", [], key={"run_id": "a"}) == 0
    assert count(wh, "tracks") == 2


def test_replace_rejects_rows_outside_the_key(wh: Any) -> None:
    wh.insert("tracks", [track("a", 1)])
    with pytest.raises(InputError, match=r"tracks\[row 1\]\.run_id"):
        wh.replace("tracks", [track("a", 2), track("b", 3)], key={"run_id": "a"})
    with pytest.raises(InputError):
        wh.replace("tracks", [track("a", 2)], key={})
    assert count(wh, "tracks") == 1  # nothing deleted, nothing written


@pytest.mark.parametrize(
    ("table", "row", "match"),
    [
        ("nope", {"id": 1}, "unknown table 'nope'"),
        (
            "tracks",
            {k: v for k, v in track("a", 1).items() if k != "score"},
            r"tracks\[row 1\].*missing columns \['score'\]",
        ),
        ("tracks", {**track("a", 1), "colour": "red"}, r"tracks\[row 1\].*unknown columns \['colour'\]"),
        ("tracks", track("a", 1, score="high"), r"tracks\[row 1\]\.score.*expected float"),
        ("tracks", {**track("a", 1), "track_id": -1}, r"tracks\[row 1\]\.track_id.*out of range"),
        ("tracks", track("a", 1, ts=datetime(2030, 1, 1)), r"tracks\[row 1\]\.ts.*naive datetime"),
        ("tracks", track("a", 1, role=None), r"tracks\[row 1\]\.role.*NULL"),
    ],
)
def test_bad_rows_are_rejected_all_or_nothing(wh: Any, table: str, row: dict[str, Any], match: str) -> None:
    if table == "nope":
        with pytest.raises(InputError, match=match):
            wh.insert(table, [row])
        return
    with pytest.raises(InputError, match=match):
        wh.insert(table, [track("a", 0), row])  # row 0 is fine, row 1 is bad → neither is written
    assert count(wh, "tracks") == 0


def test_query_errors(wh: Any) -> None:
    with pytest.raises(NotFoundError):
        wh.query("SELECT * FROM nope")
    with pytest.raises(InputError):
        wh.query("SELEC 1 FROM tracks")
