"""Multipart uploads: a request-size guard, reading one uploaded file within a limit, and what its bytes are.

The declared content type and file name of an upload are never trusted: :func:`sniff_upload` reads the magic
bytes (an image type from :func:`sightings.media.images.sniff_image_type`, a zip, a video container). All raise our
errors (``TooLargeError`` → 413, ``MediaError``/``InputError`` → 422, ``UnsupportedMediaError`` → 415) naming the
upload, so the app's one error handler answers them.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import Request, UploadFile

from sightings.core.errors import InputError, MediaError, TooLargeError, UnsupportedMediaError

__all__ = ["check_image_upload", "limit_body", "read_upload", "sniff_upload"]

_VIDEO_MAGIC = ((4, b"ftyp"), (0, b"\x1a\x45\xdf\xa3"), (0, b"\x00\x00\x01\xba"))


def limit_body(request: Request, limit: int) -> None:
    """Refuse a request whose ``Content-Length`` is over ``limit`` bytes before reading it."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise TooLargeError(f"request body of {length} bytes is over the limit of {limit}", where="upload")


def sniff_upload(data: bytes, *, where: str) -> str:
    """What the bytes are: an image type (``jpeg``, ``png``...), ``zip``, ``video``, or ``unknown``."""
    from sightings.media.images import sniff_image_type

    kind = sniff_image_type(data)
    if kind is not None:
        return kind
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if any(data[at : at + len(magic)] == magic for at, magic in _VIDEO_MAGIC) or (
        data[:4] == b"RIFF" and data[8:12] == b"AVI "
    ):
        return "video"
    return "unknown"


def check_image_upload(data: bytes, *, where: str, accept: Collection[str] | None = None) -> str:
    """The image type of an upload by its bytes (``accept``: default the types the decoders read): 415 for an
    image type not accepted, 422 for anything else."""
    from sightings.media.images import SUPPORTED_IMAGE_TYPES

    kind = sniff_upload(data, where=where)
    accepted = SUPPORTED_IMAGE_TYPES if accept is None else accept
    if kind in accepted:
        return kind
    if kind not in ("zip", "video", "unknown"):
        supported = ", ".join(sorted(accepted))
        raise UnsupportedMediaError(f"{kind} images are not supported (supported: {supported})", where=where)
    what = "unrecognised content" if kind == "unknown" else f"it is a {kind}, whatever its name or declared type"
    raise MediaError(f"not an image ({what})", where=where)


def read_upload(upload: UploadFile, limit: int, *, image: bool = False) -> bytes:
    """The bytes of an uploaded file (at most ``limit``; an empty file is an error naming it); with ``image``
    they must be an image by their magic bytes."""
    where = upload.filename or "upload"
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"over the upload limit of {limit} bytes", where=where)
    if not data:
        raise InputError("empty file", where=where)
    if image:
        check_image_upload(data, where=where)
    return data
