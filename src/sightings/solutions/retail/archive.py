"""Camera-archive client (Ivideon-style REST): list a camera's recordings for a day, download them safely.

    with ArchiveClient("https://archive.example/api", token="…") as client:
        records = client.list_records("cam1", date(2026, 3, 1), tz=ZoneInfo("Europe/Moscow"))
        videos = download_day(client, records, store="shop12", camera="cam1", folder=Path("videos"))

The protocol (what :class:`sightings.testing.fake_archive.FakeArchive` serves)::

    GET {base}/cameras/{camera}/records?start_time=<unix s>&end_time=<unix s>
        Authorization: Bearer <token>                       (when a token is configured)
    →   {"records": [{"id": "r1", "start": "2026-03-01T09:00:00+03:00", "end": "…", "url": "/records/r1.mp4"}]}
    GET {url}   (relative URLs are resolved against the base) → the MP4 bytes

Records overlapping the local day ``[00:00, 24:00)`` in ``tz`` are listed. A download streams into a hidden
``.<name>.partial`` file in the target folder, checks the byte count against ``Content-Length``, fsyncs, then
renames atomically; a failure deletes the partial file, so a half-written video never appears. Connection
errors, timeouts, cut-off bodies and 5xx answers are retried with exponential back-off (``retries`` extra tries);
an unreachable server is a :class:`BackendUnavailableError` naming the URL (never the token), a 401/403 a
:class:`ConfigError` (check the token), a 404 a :class:`NotFoundError`. httpx is imported on first use.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as dtime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin, urlsplit, urlunsplit

from sightings.core.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InputError,
    NotFoundError,
    SightingsError,
)
from sightings.solutions.retail.inputs import VideoFile

__all__ = ["ArchiveClient", "ArchiveRecord", "download_day", "record_file_name"]


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """One recording in the archive: its id, timezone-aware start and end, and absolute download URL."""

    id: str
    start: datetime
    end: datetime
    url: str


def _redact(url: str) -> str:
    """``url`` without credentials or query string (tokens never reach an error message)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _parse_time(value: Any, *, where: str) -> datetime:
    if not isinstance(value, str):
        raise BackendError(f"expected an ISO 8601 time, got {value!r}", where=where)
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise BackendError(f"{value!r} is not an ISO 8601 time", where=where) from None
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise BackendError(f"time {value!r} has no time zone", where=where)
    return ts


def record_file_name(store: str, camera: str, record: ArchiveRecord) -> str:
    """``<store>_<camera>_<YYYYmmdd-HHMMSS><±HHMM>.mp4`` in the record's own offset (what ``inputs`` parses)."""
    offset = record.start.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return f"{store}_{camera}_{record.start:%Y%m%d-%H%M%S}{zone}.mp4"


class ArchiveClient:
    """A camera archive at ``base_url`` (see the module doc): ``list_records`` and ``download``."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        chunk_bytes: int = 1 << 20,
    ) -> None:
        if not isinstance(base_url, str) or urlsplit(base_url).scheme not in ("http", "https"):
            raise ConfigError(f"not an http(s) URL: {base_url!r}", where="archive.url")
        if retries < 0 or timeout_s <= 0 or connect_timeout_s <= 0 or backoff_s < 0:
            raise ConfigError("retries ≥ 0, timeouts > 0 and backoff ≥ 0 s", where="archive")
        try:
            import httpx
        except ImportError:
            raise BackendUnavailableError(
                "the camera-archive client needs httpx", where="archive", hint="pip install 'sightings[retail]'"
            ) from None
        self.base_url = base_url.rstrip("/") + "/"
        self.retries = retries
        self.backoff_s = backoff_s
        self.chunk_bytes = chunk_bytes
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._httpx = httpx
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s), follow_redirects=True
        )

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _url(self, path_or_url: str) -> str:
        return urljoin(self.base_url, path_or_url.lstrip("/") if not urlsplit(path_or_url).scheme else path_or_url)

    def _check_status(self, status: int, url: str) -> None:
        if status in (401, 403):
            raise ConfigError(f"the archive refused the request (HTTP {status}); check the token", where=_redact(url))
        if status == 404:
            raise NotFoundError("not in the archive (HTTP 404)", where=_redact(url))
        if 400 <= status < 500:
            raise InputError(f"the archive rejected the request (HTTP {status})", where=_redact(url))

    def _attempts(self, url: str) -> Iterator[int]:
        """Attempt numbers 1, 2, … with back-off sleeps in between (retries + 1 attempts in all)."""
        for attempt in range(1, self.retries + 2):
            if attempt > 1:
                time.sleep(self.backoff_s * 2 ** (attempt - 2))
            yield attempt

    def _failed(self, url: str, exc: BaseException, attempts: int) -> SightingsError:
        httpx = self._httpx
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return BackendUnavailableError(
                f"cannot reach the camera archive after {attempts} tries ({detail})", where=_redact(url)
            )
        return BackendError(f"the camera archive failed after {attempts} tries ({detail})", where=_redact(url))

    def _retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, self._httpx.TransportError | _ServerError | _ShortBodyError)

    # -- API -----------------------------------------------------------------------------------------------------
    def list_records(self, camera: str, day: date, *, tz: tzinfo = UTC) -> list[ArchiveRecord]:
        """Recordings of ``camera`` overlapping the local ``day`` in ``tz``, sorted by start."""
        start = datetime.combine(day, dtime(0), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), dtime(0), tzinfo=tz)
        url = self._url(f"cameras/{camera}/records")
        params = {"start_time": int(start.timestamp()), "end_time": int(end.timestamp())}
        last: BaseException | None = None
        attempts = 0
        for attempts in self._attempts(url):  # noqa: B007  # the count is reported on failure
            try:
                response = self._client.get(url, params=params)
                self._check_status(response.status_code, url)
                if response.status_code >= 500:
                    raise _ServerError(f"HTTP {response.status_code}")
                payload = response.json()
                break
            except json.JSONDecodeError:
                raise BackendError("the archive answered with something that is not JSON", where=_redact(url)) from None
            except Exception as exc:
                if not self._retryable(exc):
                    raise
                last = exc
        else:
            raise self._failed(url, last or RuntimeError("no answer"), attempts)
        return self._records(payload, url)

    def _records(self, payload: Any, url: str) -> list[ArchiveRecord]:
        items = payload.get("records") if isinstance(payload, dict) else payload
        if not isinstance(items, list):
            raise BackendError("expected {'records': [...]} in the answer", where=_redact(url))
        out = []
        for i, item in enumerate(items):
            where = f"{_redact(url)} records[{i}]"
            if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("id", "url")):
                raise BackendError("a record needs string 'id' and 'url'", where=where)
            start = _parse_time(item.get("start"), where=f"{where}.start")
            end = _parse_time(item.get("end"), where=f"{where}.end")
            if end < start:
                raise BackendError("record ends before it starts", where=where)
            out.append(ArchiveRecord(item["id"], start, end, self._url(item["url"])))
        return sorted(out, key=lambda r: (r.start, r.id))

    def download(self, record: ArchiveRecord, target: Path) -> Path:
        """Stream ``record`` into ``target`` through a partial file and an atomic rename; retried on failure.

        An existing ``target`` is kept (a resumed download of the day does not fetch it again).
        """
        if target.exists() and target.stat().st_size > 0:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        last: BaseException | None = None
        attempts = 0
        for attempts in self._attempts(record.url):  # noqa: B007
            try:
                self._stream_to(record.url, partial)
                partial.replace(target)
                return target
            except BaseException as exc:
                with contextlib.suppress(FileNotFoundError):
                    partial.unlink()
                if not self._retryable(exc):
                    raise
                last = exc
        raise self._failed(record.url, last or RuntimeError("no answer"), attempts)

    def _stream_to(self, url: str, partial: Path) -> None:
        with self._client.stream("GET", url) as response:
            self._check_status(response.status_code, url)
            if response.status_code >= 500:
                raise _ServerError(f"HTTP {response.status_code}")
            expected = response.headers.get("content-length")
            written = 0
            with partial.open("wb") as fh:
                for chunk in response.iter_bytes(self.chunk_bytes):
                    fh.write(chunk)
                    written += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        if expected is not None and expected.isdigit() and written != int(expected):
            raise _ShortBodyError(f"got {written} of {expected} bytes")
        if written == 0:
            raise _ShortBodyError("empty body")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _ServerError(Exception):
    """A 5xx answer (retried)."""


class _ShortBodyError(Exception):
    """Fewer bytes than Content-Length (retried)."""


def download_day(
    client: ArchiveClient, records: Sequence[ArchiveRecord], *, store: str, camera: str, folder: Path
) -> list[VideoFile]:
    """Download ``records`` into ``folder`` as ``<store>_<camera>_<start>.mp4`` (already-present files are kept).

    ``folder`` is made even for a day without records: an empty day is a camera that did not record (see
    ``health.opening_hours``), not a missing folder."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for record in records:
        target = folder / record_file_name(store, camera, record)
        client.download(record, target)
        out.append(VideoFile(target, store, camera, record.start))
    return out
