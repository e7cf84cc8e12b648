"""Broken inputs, generated: truncated/corrupted JPEG, PNG, MP4, zip, CSV, JSON; random bytes; huge dimensions.

``CORPUS`` is the fixed list (name, bytes); :func:`broken_files` is a hypothesis strategy over it plus mutations
(truncation at any point, flipped bytes) and random bytes.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Any

import numpy as np


def _image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 32)) + chunk(b"IEND", b"")


def _jpeg_claiming(width: int, height: int) -> bytes:
    jpeg = bytearray(_image("JPEG", (16, 16)))
    at = jpeg.find(b"\xff\xc0")
    if at >= 0:
        jpeg[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def _mp4_like() -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypisom" + b"\0\0\x02\0isomiso2"
    moov = struct.pack(">I", 4096) + b"moov" + b"\x00" * 64  # claims more than there is
    return ftyp + moov


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def build_corpus() -> list[tuple[str, bytes]]:
    jpeg, png = _image("JPEG"), _image("PNG")
    flipped = bytearray(jpeg)
    flipped[len(flipped) // 2 : len(flipped) // 2 + 64] = b"\xff" * 64
    zipped = _zip({"a.jpg": jpeg, "b.png": png})
    return [
        ("empty.jpg", b""),
        ("truncated.jpg", jpeg[: len(jpeg) // 2]),
        ("header-only.jpg", jpeg[:20]),
        ("corrupt.jpg", bytes(flipped)),
        ("truncated.png", png[: len(png) // 3]),
        ("bad-crc.png", png[:40] + b"\0\0\0\0" + png[44:]),
        ("huge.png", _png_claiming(100_000, 100_000)),
        ("huge.jpg", _jpeg_claiming(65_000, 65_000)),
        ("zero.png", _png_claiming(0, 0)),
        ("broken.mp4", _mp4_like()),
        ("truncated.mp4", _mp4_like()[:30]),
        ("broken.zip", zipped[: len(zipped) // 2]),
        ("traversal.zip", _zip({"../../escape.jpg": jpeg})),
        ("not-images.zip", _zip({"a.txt": b"hello", "b.csv": b"a,b\n1,2"})),
        ("bomb.zip", _zip({"a.jpg": b"\0" * 3_000_000})),
        ("broken.csv", b'source,platform_id,video_id\n"unclosed,quote\n\x00\xff,,\n'),
        ("binary.csv", bytes(range(256))),
        ("broken.json", b'{"a": [1, 2,'),
        ("deep.json", b"[" * 5000 + b"]" * 5000),
        ("huge-number.json", b'{"views": 1e999999, "platform_id": "x", "video_id": "y"}'),
        ("wrong-types.json", b'{"platform_id": 5, "video_id": null, "snapshot": "yesterday"}'),
        ("broken.yaml", b"a: [1, 2\n  b: {"),
        ("broken.toml", b"[a\nb = "),
        ("random.bin", np.random.default_rng(11).integers(0, 256, 4096, dtype=np.uint8).tobytes()),
        ("text.jpg", "Пропал кот, звоните 8 916 123-45-67".encode()),
        ("svg.png", b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"></svg>'),
    ]


CORPUS = build_corpus()


def broken_files() -> Any:
    """A hypothesis strategy of ``(name, bytes)``: the corpus, truncated or with flipped bytes, or random bytes."""
    from hypothesis import strategies as st

    base = st.sampled_from(CORPUS)

    @st.composite
    def mutated(draw: Any) -> tuple[str, bytes]:
        name, data = draw(base)
        if not data:
            return name, data
        how = draw(st.sampled_from(["as-is", "truncate", "flip"]))
        if how == "truncate":
            return name, data[: draw(st.integers(0, len(data)))]
        if how == "flip":
            buf = bytearray(data)
            for _ in range(draw(st.integers(1, 8))):
                buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
            return name, bytes(buf)
        return name, data

    random_bytes = st.tuples(st.sampled_from(["x.jpg", "x.png", "x.zip", "x.bin"]), st.binary(max_size=1024))
    return st.one_of(mutated(), random_bytes)
