"""Multipart uploads: a request-size guard and reading one uploaded file within a limit.

Both raise our errors (``TooLargeError`` → 413, ``InputError`` → 422) naming the upload, so the app's one error
handler answers them.
"""

from __future__ import annotations

from fastapi import Request, UploadFile

from sightings.core.errors import InputError, TooLargeError

__all__ = ["limit_body", "read_upload"]


def limit_body(request: Request, limit: int) -> None:
    """Refuse a request whose ``Content-Length`` is over ``limit`` bytes before reading it."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise TooLargeError(f"request body of {length} bytes is over the limit of {limit}", where="upload")


def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The bytes of an uploaded file (at most ``limit``; an empty file is an error naming it)."""
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"over the upload limit of {limit} bytes", where=upload.filename or "upload")
    if not data:
        raise InputError("empty file", where=upload.filename or "upload")
    return data
