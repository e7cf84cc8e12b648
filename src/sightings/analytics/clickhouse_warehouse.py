"""ClickHouseWarehouse: a ClickHouse server through clickhouse-connect (HTTP), the same SQL as chDB.

    ClickHouseWarehouse("http://user:password@clickhouse.local:8123")            # tables in database "sightings"
    ClickHouseWarehouse("https://host:8443/retail")                              # the URL's path names the database

An unreachable server is a one-line :class:`BackendUnavailableError` naming the host (never the password).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from sightings.analytics.warehouse_base import ClickHouseWarehouseBase, clickhouse_error, normalize_value
from sightings.analytics.warehouse_schema import TableSpec, WarehouseSchema, check_identifier
from sightings.core.errors import BackendError, BackendUnavailableError, ConfigError

__all__ = ["ClickHouseWarehouse"]

# the driver logs each failure at ERROR before raising it; every one becomes this module's one-line error, so its
# own lines would only print the same failure twice, in another form
logging.getLogger("clickhouse_connect").setLevel(logging.CRITICAL)

_DEFAULT_PORTS = {"http": 8123, "https": 8443, "clickhouse": 8123}


class ClickHouseWarehouse(ClickHouseWarehouseBase):
    """A ClickHouse server at ``url`` (``http[s]://[user[:password]@]host[:port][/database]``)."""

    def __init__(
        self,
        url: str,
        *,
        database: str = "sightings",
        schema: WarehouseSchema | None = None,
        ensure_schema: bool = True,
        connect_timeout_s: float = 5.0,
        query_timeout_s: float = 300.0,
    ) -> None:
        parts = urlsplit(url or "")
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ConfigError(
                f"ClickHouse URL must look like http[s]://user:password@host:port[/database], got scheme "
                f"{parts.scheme or 'none'!r}",
                where="warehouse.url",
            )
        path_db = parts.path.strip("/")
        super().__init__(
            schema=schema,
            database=check_identifier(path_db, where="warehouse.url") if path_db else database,
            ensure_schema=ensure_schema,
        )
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self.where = f"clickhouse {parts.hostname}:{port}"
        try:
            import clickhouse_connect
        except ImportError as exc:
            raise BackendUnavailableError(
                "clickhouse-connect is not installed", where=self.where, hint="pip install 'sightings[retail]'"
            ) from exc
        from clickhouse_connect.driver.exceptions import OperationalError

        try:
            self._client: Any = clickhouse_connect.get_client(
                host=parts.hostname,
                port=port,
                username=unquote(parts.username) if parts.username else "default",
                password=unquote(parts.password) if parts.password else "",
                secure=parts.scheme == "https",
                connect_timeout=connect_timeout_s,
                send_receive_timeout=query_timeout_s,
            )
        except OperationalError as exc:
            raise BackendUnavailableError(
                f"cannot reach the ClickHouse server ({_first_line(exc)})", where=self.where
            ) from None
        except Exception as exc:  # authentication and server errors arrive as DatabaseError
            raise clickhouse_error(str(exc), where=self.where) from None
        self._closed = False
        try:
            if ensure_schema:
                self.create_schema()
            self._client.database = self.database
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            self._client.close()

    def _call(self, sql: str, method: str, **kwargs: Any) -> Any:
        if self._closed:
            raise BackendError("the warehouse is closed", where=self.where)
        from clickhouse_connect.driver.exceptions import OperationalError

        try:
            return getattr(self._client, method)(**kwargs)
        except OperationalError as exc:
            if "Code:" in str(exc):
                raise clickhouse_error(str(exc), sql=sql, where=self.where) from None
            raise BackendUnavailableError(
                f"lost the ClickHouse server ({_first_line(exc)})", where=self.where
            ) from None
        except Exception as exc:
            raise clickhouse_error(str(exc), sql=sql, where=self.where) from None

    def _execute(self, sql: str) -> None:
        self._call(sql, "command", cmd=sql)

    def _select(self, sql: str) -> list[dict[str, Any]]:
        result = self._call(sql, "query", query=sql)
        return [{k: normalize_value(v) for k, v in row.items()} for row in result.named_results()]

    def _insert_values(self, spec: TableSpec, values: Sequence[tuple[Any, ...]]) -> None:
        self._call(
            f"INSERT INTO {self.database}.{spec.name}",
            "insert",
            table=spec.name,
            database=self.database,
            data=[list(v) for v in values],
            column_names=list(spec.column_names),
        )


_OS_ERROR = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")


def _first_line(exc: BaseException) -> str:
    """The reason in one short line: the operating system's own words when the driver quotes them (``[Errno 111]
    Connection refused``), else the driver's message, cut at 200 characters."""
    text = " ".join(str(exc).split())
    found = _OS_ERROR.search(text)
    if found:
        return found.group(0).strip()
    return text if len(text) <= 200 else text[:199] + "…"
