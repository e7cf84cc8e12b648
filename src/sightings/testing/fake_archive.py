"""A fake camera archive (Ivideon-style REST, see ``sightings.solutions.retail.archive``) on 127.0.0.1.

    with FakeArchive(token="t") as archive:
        archive.add_record("cam1", "r1", start, end, mp4_bytes)
        archive.fail_midway["r1"] = 1          # the first download of r1 stops after half the bytes
        archive.add_page("/sheet/export", csv_text.encode(), "text/csv")   # any other static page
        ArchiveClient(archive.url, token="t").list_records("cam1", day)

Standard library only (``http.server`` in a daemon thread); every request path is appended to ``requests``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeArchive"]


@dataclass(frozen=True, slots=True)
class _Record:
    camera: str
    id: str
    start: datetime
    end: datetime
    data: bytes


class FakeArchive:
    """The archive server; ``url`` is its base URL once started (``with`` or :meth:`start`)."""

    def __init__(self, *, token: str | None = None) -> None:
        self.token = token
        self.records: dict[str, _Record] = {}
        self.pages: dict[str, tuple[bytes, str]] = {}
        self.fail_midway: dict[str, int] = {}
        """record id → how many more downloads of it stop after half the bytes"""
        self.fail_status: dict[str, int] = {}
        """path → HTTP status to answer instead (e.g. 500, 404)"""
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add_record(self, camera: str, record_id: str, start: datetime, end: datetime, data: bytes) -> None:
        self.records[record_id] = _Record(camera, record_id, start, end, data)

    def add_page(self, path: str, body: bytes, content_type: str = "text/plain") -> None:
        self.pages[path] = (body, content_type)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake archive is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def do_GET(self) -> None:  # http.server's name
                archive._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        with self._lock:
            self.requests.append(parts.path)
        if parts.path in self.fail_status:
            self._send(h, self.fail_status[parts.path], b"{}", "application/json")
            return
        if parts.path in self.pages:
            body, content_type = self.pages[parts.path]
            self._send(h, 200, body, content_type)
            return
        if self.token is not None and h.headers.get("Authorization") != f"Bearer {self.token}":
            self._send(h, 401, b'{"error": "bad token"}', "application/json")
            return
        segments = parts.path.strip("/").split("/")
        if len(segments) == 3 and segments[0] == "cameras" and segments[2] == "records":
            self._list(h, segments[1], parse_qs(parts.query))
        elif len(segments) == 2 and segments[0] == "records" and segments[1].endswith(".mp4"):
            self._download(h, segments[1][: -len(".mp4")])
        else:
            self._send(h, 404, b'{"error": "not found"}', "application/json")

    def _list(self, h: BaseHTTPRequestHandler, camera: str, query: dict[str, list[str]]) -> None:
        try:
            lo = float(query["start_time"][0])
            hi = float(query["end_time"][0])
        except (KeyError, ValueError):
            self._send(h, 400, b'{"error": "start_time and end_time (unix seconds) are required"}', "application/json")
            return
        items = [
            {"id": r.id, "start": r.start.isoformat(), "end": r.end.isoformat(), "url": f"/records/{r.id}.mp4"}
            for r in self.records.values()
            if r.camera == camera and r.start.timestamp() < hi and r.end.timestamp() > lo
        ]
        self._send(h, 200, json.dumps({"records": items}).encode(), "application/json")

    def _download(self, h: BaseHTTPRequestHandler, record_id: str) -> None:
        record = self.records.get(record_id)
        if record is None:
            self._send(h, 404, b'{"error": "no such record"}', "application/json")
            return
        with self._lock:
            fail = self.fail_midway.get(record_id, 0) > 0
            if fail:
                self.fail_midway[record_id] -= 1
        h.send_response(200)
        h.send_header("Content-Type", "video/mp4")
        h.send_header("Content-Length", str(len(record.data)))
        h.end_headers()
        if fail:  # half the bytes, then the connection drops
            h.wfile.write(record.data[: len(record.data) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        h.wfile.write(record.data)
