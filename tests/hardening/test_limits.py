"""Limits: per-key rate limits (429 + Retry-After), upload sizes, pixel counts before decoding, bytes not names,
and timeouts on outbound calls (a slow local server)."""

from __future__ import annotations

import http.server
import io
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pets_factories import encode, photo_of

pytestmark = pytest.mark.hardening


def test_token_buckets_allow_a_burst_then_the_rate() -> None:
    from sightings.api.limits import TokenBuckets

    now = [0.0]
    buckets = TokenBuckets(2.0, 3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # another client has its own bucket
    now[0] += 0.5
    assert buckets.take("a") == 0.0
    assert TokenBuckets(0, 1).take("x") == 0.0  # rate 0: no limit


def test_rate_limit_answers_429_with_retry_after_per_key(tmp_path: Path) -> None:
    from hardening_factories import PetsApi

    api = PetsApi(tmp_path, **{"security.rate_limit_per_s": 0.5, "security.rate_limit_burst": 3})
    try:
        codes = [api.client.get("/v1/pets/posts/x", headers=api.headers("read")).status_code for _ in range(4)]
        assert codes == [404, 404, 404, 429]
        r = api.client.get("/v1/pets/posts/x", headers=api.headers("read"))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["error"]
        assert api.client.get("/v1/pets/posts/x", headers=api.headers("write")).status_code == 404  # own bucket
        assert api.client.get("/health").status_code == 200  # never limited
    finally:
        api.close()


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width × height`` and whose data is tiny (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_pixel_bomb_refused_from_the_header_before_decoding(pets_api: Any) -> None:
    bomb = _png_header(60_000, 60_000)
    files = [("photos", ("bomb.png", bomb, "image/png"))]
    t0 = time.perf_counter()
    r = pets_api.client.post("/v1/pets/posts", files=files, data={"kind": "lost"}, headers=pets_api.headers("write"))
    assert r.status_code == 413 and "pixels" in r.json()["error"], r.text
    assert time.perf_counter() - t0 < 2.0
    crop = {"crop": ("bomb.png", bomb)}
    form = {"camera_id": "c1", "lat": "55.7", "lon": "37.6", "seen_at": "2025-01-05T10:00:00"}
    r = pets_api.client.post("/v1/pets/sightings", files=crop, data=form, headers=pets_api.headers("write"))
    assert r.status_code == 413


def test_upload_over_the_size_limit_is_413(tmp_path: Path) -> None:
    from hardening_factories import PetsApi

    api = PetsApi(tmp_path, **{"server.max_upload_bytes": 2000})
    try:
        big = encode(photo_of(1, width=400, height=300))
        assert len(big) > 2000
        r = api.client.post(
            "/v1/pets/posts", files=[("photos", ("big.png", big))], data={"kind": "lost"}, headers=api.headers("write")
        )
        assert r.status_code == 413 and "big.png" in r.json()["error"]
    finally:
        api.close()


def test_bytes_decide_not_the_declared_type_or_name(pets_api: Any) -> None:
    jpeg = encode(photo_of(2), "JPEG")
    ok = [("photos", ("notes.txt", jpeg, "text/plain"))]
    r = pets_api.client.post("/v1/pets/posts", files=ok, data={"kind": "found"}, headers=pets_api.headers("write"))
    assert r.status_code == 200 and r.json()["animals"], r.text
    for name, data, kind in (
        ("cat.jpg", b"#!/bin/sh\nrm -rf /\n", "image/jpeg"),
        ("cat.png", b"PK\x03\x04" + b"\0" * 40, "image/png"),
        ("cat.jpg", b"\x00\x00\x00\x18ftypmp42" + b"\0" * 40, "image/jpeg"),
    ):
        r = pets_api.client.post(
            "/v1/pets/posts",
            files=[("photos", (name, data, kind))],
            data={"kind": "lost"},
            headers=pets_api.headers("write"),
        )
        assert r.status_code == 422 and "not an image" in r.json()["error"], r.text
    heic = b"\x00\x00\x00\x18ftypheic" + b"\0" * 40
    r = pets_api.client.post(
        "/v1/pets/posts", files=[("photos", ("x.jpg", heic))], data={"kind": "lost"}, headers=pets_api.headers("write")
    )
    assert r.status_code == 415


def test_sniff_upload_kinds() -> None:
    from sightings.api.uploads import sniff_upload

    assert sniff_upload(encode(photo_of(1), "JPEG"), where="x") == "jpeg"
    assert sniff_upload(b"PK\x05\x06" + b"\0" * 18, where="x") == "zip"
    assert sniff_upload(b"\x1a\x45\xdf\xa3....", where="x") == "video"
    assert sniff_upload(b"RIFF\0\0\0\0AVI LIST", where="x") == "video"
    assert sniff_upload(b"hello", where="x") == "unknown"


class _Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(3.0)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/video.mp4"
    server.shutdown()
    server.server_close()


def test_outbound_fetch_times_out_on_a_slow_server(slow_server: str) -> None:
    from sightings.core.net_guard import UrlPolicy, open_url

    policy = UrlPolicy(allow_private=True, timeout_s=0.5)  # a fake on 127.0.0.1: allowed by configuration
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError):
        open_url(slow_server, policy).read()
    assert time.perf_counter() - t0 < 2.5


def test_batch_job_fetch_refuses_loopback_unless_configured(slow_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sightings.core.config import get_settings
    from sightings.core.errors import InputError
    from sightings.core.protocols import BatchItem
    from sightings.runner.jobs import local_source

    item = BatchItem(source=slow_server, platform_id="p", video_id="v1")
    with pytest.raises(InputError, match="loopback"), local_source(item):
        pass
    monkeypatch.setenv("SIGHTINGS_SECURITY__ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setattr("sightings.runner.jobs.URL_TIMEOUT_S", 0.5)
    get_settings.cache_clear()
    from sightings.core.config import get_loaded_settings

    get_loaded_settings.cache_clear()
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError), local_source(item):
        pass
    assert time.perf_counter() - t0 < 2.5


def test_zip_member_limits_are_the_shared_batch_rules() -> None:
    import zipfile

    from sightings.core.errors import InputError, TooLargeError
    from sightings.solutions.wildlife.intake import read_zip

    def zipped(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(name, data)
        return buf.getvalue()

    with pytest.raises(InputError, match="traversal"):
        read_zip(zipped({"../../etc/passwd": b"x"}), where="z", max_files=5, max_bytes=10_000)
    with pytest.raises(TooLargeError, match="at most 2"):
        read_zip(zipped({f"{i}.jpg": b"x" for i in range(3)}), where="z", max_files=2, max_bytes=10_000)
    with pytest.raises(TooLargeError, match="zip bomb"):
        read_zip(zipped({"a.jpg": b"\0" * 5_000_000}), where="z", max_files=2, max_bytes=100_000_000)


def test_every_4xx_has_the_same_error_shape(pets_api: Any) -> None:
    """FastAPI's own checks and HTTP exceptions answer {"error": one line, "type": ...} as ours do (``detail`` kept
    for clients that read FastAPI's)."""
    client, write = pets_api.client, pets_api.headers("write")
    missing = client.post("/v1/pets/sightings", data={"camera_id": "c"}, headers=write)  # no crop, lat, lon, seen_at
    body = missing.json()
    assert missing.status_code == 422 and body["type"] == "RequestValidationError"
    assert body["error"].startswith("crop: Field required (and ") and isinstance(body["detail"], list)
    bad_range = client.get("/v1/pets/lost/x/matches", params={"limit": 0}, headers=write)
    assert bad_range.status_code == 422 and bad_range.json()["error"].startswith("limit: ")
    no_key = client.post("/v1/pets/posts", data={"text": "Пропал кот"})
    assert no_key.status_code == 401 and no_key.json()["type"] == "HTTPException" and no_key.json()["error"]
    nowhere = client.get("/v1/no/such/route")
    assert nowhere.status_code == 404 and nowhere.json()["error"] == "Not Found"
