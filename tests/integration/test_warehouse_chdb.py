"""chDB warehouse on disk: TTL on raw tracks, BI views, persistence, one-folder-per-process, locked/corrupt folders.

One chDB session serves the module (``warehouse`` fixture); tests that must open other folders close it first
and the fixture reopens it (chDB allows one data folder per process).
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb", reason="needs the retail extra")

from sightings.analytics.chdb_warehouse import LOCK_NAME, ChdbWarehouse
from sightings.analytics.warehouse_schema import WAREHOUSE_SCHEMA, create_statements
from sightings.core.errors import BackendError, BackendUnavailableError, ConfigError, InputError


class _Holder:
    """The module's warehouse folder; ``get()`` (re)opens it, ``close()`` frees the process's chDB slot."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warehouse: ChdbWarehouse | None = None

    def get(self) -> ChdbWarehouse:
        if self.warehouse is None:
            self.warehouse = ChdbWarehouse(self.path)
        return self.warehouse

    def close(self) -> None:
        if self.warehouse is not None:
            self.warehouse.close()
            self.warehouse = None


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Holder]:
    h = _Holder(tmp_path_factory.mktemp("chdb") / "warehouse")
    yield h
    h.close()


@pytest.fixture
def wh(holder: _Holder) -> ChdbWarehouse:
    warehouse = holder.get()
    for table in WAREHOUSE_SCHEMA.table_names:
        warehouse._execute(f"TRUNCATE TABLE {warehouse.database}.{table}")
    return warehouse


def _track(run_id: str, ts: datetime, track_id: int = 1) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "store": "s1",
        "camera": "cam1",
        "track_id": track_id,
        "ts": ts,
        "t_s": 0.0,
        "frame": 0,
        "x1": 0.0,
        "y1": 0.0,
        "x2": 10.0,
        "y2": 20.0,
        "score": 0.9,
        "role": "seller",
        "zone": "counter",
    }


def test_tracks_ddl_carries_the_3_day_ttl_and_metrics_none() -> None:
    ddl = {t.name: t.ddl("sightings") for t in WAREHOUSE_SCHEMA.tables}
    assert "TTL ts + INTERVAL 3 DAY" in ddl["tracks"]
    assert "TTL" not in ddl["metrics"] and "TTL" not in ddl["interactions"]
    statements = create_statements(WAREHOUSE_SCHEMA, "sightings")
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS sightings"
    assert sum(s.startswith("CREATE OR REPLACE VIEW") for s in statements) == len(WAREHOUSE_SCHEMA.views)


def test_rows_older_than_3_days_disappear_after_optimize_final(wh: ChdbWarehouse) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    stored_ddl = wh.query(
        "SELECT create_table_query FROM system.tables WHERE database = 'sightings' AND name = 'tracks'"
    )
    assert "TTL ts + toIntervalDay(3)" in stored_ddl[0]["create_table_query"]
    wh.insert("tracks", [_track("old", now - timedelta(days=5)), _track("new", now - timedelta(hours=1))])
    metric = {"run_id": "old", "store": "s1", "camera": "cam1", "seller_id": "ann"}
    wh.insert("metrics", [{**metric, "hour": now - timedelta(days=30), "name": "customers", "value": 3.0}])
    wh.query("OPTIMIZE TABLE tracks FINAL")
    wh.query("OPTIMIZE TABLE metrics FINAL")
    assert [r["run_id"] for r in wh.query("SELECT run_id FROM tracks")] == ["new"]
    assert wh.query("SELECT count() AS n FROM metrics")[0]["n"] == 1  # aggregates are kept


def test_bi_views_per_seller_day_hour(wh: ChdbWarehouse) -> None:
    hour = datetime(2030, 3, 4, 10, tzinfo=UTC)
    base = {"run_id": "r", "store": "s1", "camera": "cam1", "seller_id": "ann", "hour": hour}
    wh.insert(
        "metrics",
        [
            {**base, "name": "customers", "value": 10.0},
            {**base, "name": "interactions", "value": 4.0},
            {**base, "name": "revenue", "value": 120.5},
            {**base, "hour": hour + timedelta(hours=1), "name": "customers", "value": 10.0},
        ],
    )
    by_hour = wh.query("SELECT * FROM v_seller_hour ORDER BY hour")
    assert [(r["hour"], r["customers"], r["interactions"]) for r in by_hour] == [
        (hour, 10.0, 4.0),
        (hour + timedelta(hours=1), 10.0, 0.0),
    ]
    (day,) = wh.query("SELECT * FROM v_seller_day")
    # interaction_ratio = served customers / the store's ('' row) customers: none here → NULL (tests/integration/
    # test_retail_folder_run.py checks the value against the report's)
    assert day["day"] == date(2030, 3, 4) and day["customers"] == 20.0 and day["interaction_ratio"] is None
    episode = {
        "run_id": "r",
        "store": "s1",
        "camera": "cam1",
        "seller_id": "ann",
        "seller_track": 1,
        "customer_track": 2,
        "started_at": hour + timedelta(minutes=5),
        "ended_at": hour + timedelta(minutes=6),
        "duration_s": 60.0,
        "zone": "counter",
        "purchased": True,
        "amount": 99.0,
    }
    wh.insert("interactions", [episode, {**episode, "customer_track": 3, "purchased": False, "amount": 0.0}])
    (row,) = wh.query("SELECT * FROM v_interactions_hour")
    assert (row["interactions"], row["successful"], row["revenue"]) == (2, 1, 99.0)


def test_replace_survives_reopen_and_folders_are_shared(holder: _Holder, wh: ChdbWarehouse) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    wh.replace("tracks", [_track("r1", now, 1), _track("r1", now, 2)], key={"run_id": "r1"})
    with ChdbWarehouse(holder.path) as second:  # same folder in the same process: shares the session
        assert second.query("SELECT count() AS n FROM tracks")[0]["n"] == 2
    holder.close()
    reopened = holder.get()
    reopened.replace("tracks", [_track("r1", now, 3)], key={"run_id": "r1"})
    assert reopened.query("SELECT track_id FROM tracks") == [{"track_id": 3}]


def test_another_folder_in_the_same_process_is_refused(holder: _Holder, tmp_path: Path) -> None:
    holder.get()
    with pytest.raises(BackendError, match="one folder per process"):
        ChdbWarehouse(tmp_path / "other")


def test_locked_corrupt_and_file_paths_give_clear_errors(holder: _Holder, tmp_path: Path) -> None:
    holder.close()
    folder = tmp_path / "wh"
    ChdbWarehouse(folder).close()
    with (folder / LOCK_NAME).open("a+") as other_process:  # flock conflicts across open file descriptions
        fcntl.flock(other_process.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BackendUnavailableError, match="in use by another process"):
            ChdbWarehouse(folder)
    (folder / "metadata" / "sightings.sql").write_text("garbage", encoding="utf-8")
    with pytest.raises(BackendUnavailableError, match="corrupt or unreadable"):
        ChdbWarehouse(folder)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="is a file"):
        ChdbWarehouse(tmp_path / "file")
    assert holder.get().tables()  # the process can open its folder again


def test_bad_database_name_and_closed_warehouse(holder: _Holder) -> None:
    with pytest.raises(InputError, match="not a plain identifier"):
        ChdbWarehouse(holder.path, database="x; DROP")
    holder.close()
    warehouse = holder.get()
    holder.warehouse = None
    warehouse.close()
    with pytest.raises(BackendError, match="closed"):
        warehouse.query("SELECT 1")


def test_clickhouse_server_unreachable_is_one_line() -> None:
    pytest.importorskip("clickhouse_connect", reason="needs the retail extra")
    from sightings.analytics.clickhouse_warehouse import ClickHouseWarehouse

    with pytest.raises(BackendUnavailableError) as err:
        ClickHouseWarehouse("http://default:secret@127.0.0.1:1", connect_timeout_s=1)
    assert "\n" not in str(err.value) and "secret" not in str(err.value) and "127.0.0.1:1" in str(err.value)
    assert re.search(r"cannot reach the ClickHouse server \(\[Errno \d+\] Connection refused\)$", str(err.value))
    with pytest.raises(ConfigError, match="URL must look like"):
        ClickHouseWarehouse("ftp://host")
