"""Analytics engine: the warehouse (chDB embedded ClickHouse by default, a ClickHouse server by URL).

    warehouse_schema      tables and BI views as data (columns + ClickHouse types), the one DDL generator,
                          row validation shared by every backend (and the fake)
    warehouse_base        what both ClickHouse backends share: replace-by-key, result conversion, error mapping
    chdb_warehouse        ChdbWarehouse: chDB on disk, one session per process (default, offline)
    clickhouse_warehouse  ClickHouseWarehouse: a ClickHouse server through clickhouse-connect

Backends are built through ``sightings.core.registry.WAREHOUSES`` (``"chdb"``, ``"clickhouse"``, ``"fake"``);
nothing heavy is imported by this package itself. See docs/warehouse.md.
"""
