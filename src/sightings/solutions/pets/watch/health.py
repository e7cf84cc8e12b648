"""The watcher's health: one snapshot per camera, served as JSON by a small status server.

    GET /health/cameras   → {"cameras": [{"camera_id", "state", "fps_in", "fps_out", "frames_in", "frames_out",
                              "dropped", "reconnects", "last_frame_at", "last_error", "sightings_sent", ...}]}
    GET /health           → {"status": "ok" | "degraded", "cameras": N}   ("degraded": a camera not streaming)

The status server belongs to the watcher process (the engine API is another process and knows nothing of the
streams); it binds 127.0.0.1 by default. Standard library only (``http.server``), one daemon thread.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sightings.core.errors import ConfigError

__all__ = ["CameraHealth", "HealthServer", "health_document"]

log = logging.getLogger(__name__)

_OK_STATES = frozenset({"streaming", "starting", "ended"})


@dataclass(frozen=True, slots=True)
class CameraHealth:
    """What one camera's reader and analyser are doing."""

    camera_id: str
    url: str  # password redacted
    state: str  # starting | streaming | reconnecting | ended | failed | stopped
    fps_in: float  # frames read per second (last 5 s)
    fps_out: float  # frames analysed per second (last 5 s)
    frames_in: int
    frames_out: int
    dropped: int  # frames dropped because the analyser was busy
    reconnects: int
    last_frame_at: datetime | None
    last_error: str | None
    detections: int
    windows: int  # track windows closed with a best crop
    sightings_sent: int
    duplicates_skipped: int
    send_failures: int

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["last_frame_at"] = None if self.last_frame_at is None else self.last_frame_at.isoformat()
        return out


def health_document(cameras: Sequence[CameraHealth]) -> dict[str, Any]:
    """The ``/health`` summary."""
    ok = all(c.state in _OK_STATES for c in cameras)
    return {"status": "ok" if ok else "degraded", "cameras": len(cameras)}


class HealthServer:
    """Serves ``snapshot()`` at ``/health/cameras`` on ``host:port`` (port 0: any free port) until :meth:`stop`."""

    def __init__(self, snapshot: Callable[[], Sequence[CameraHealth]], *, host: str = "127.0.0.1", port: int = 0):
        self._snapshot = snapshot
        handler = self._handler()
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", where="--health-port") from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="watch-health", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        snapshot = self._snapshot

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")
                cameras = list(snapshot())
                if path == "/health/cameras":
                    self._send(200, {"cameras": [c.to_json() for c in cameras]})
                elif path == "/health":
                    self._send(200, health_document(cameras))
                else:
                    self._send(404, {"error": f"{path or '/'}: not found (try /health/cameras)", "type": "NotFound"})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the watcher logs what matters
                log.debug("health: " + format, *args)

        return Handler
