"""Bad input through the write endpoints, cell by cell: each answer a 4xx with one clear ``{error, type}`` line
naming what and where, and nothing stored when the request is refused."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.hardening


@pytest.mark.parametrize(
    "head",
    [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"II*\x00", b"RIFF\x00\x00\x00\x00WEBP"],
    ids=["png", "jpeg", "gif", "tiff", "webp"],
)
def test_an_image_whose_header_cannot_be_read_is_named_without_python_internals(pets_api: Any, head: bytes) -> None:
    """Pillow's "cannot identify image file <_io.BytesIO object at 0x7f…>" reached the answer as it was."""
    before = pets_api.service.store.counts()
    files = [("photos", ("cat.jpg", head + b"\x00" * 100, "image/jpeg"))]
    r = pets_api.client.post("/v1/pets/posts", files=files, data={"kind": "lost"}, headers=pets_api.headers("write"))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error.startswith("cat.jpg: corrupt ") and "0x" not in error and "_io." not in error, error
    assert pets_api.service.store.counts() == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "request body: Field required"),
        (b"null", "request body: Input should be a valid dictionary"),
        (b"[1, 2]", "request body: Input should be a valid dictionary"),
        (b'{"verdict": "mine",', "request body: not valid JSON at character 19: Expecting property name"),
    ],
    ids=["empty", "null", "array", "broken-json"],
)
def test_a_json_body_that_is_missing_or_not_an_object_is_said_to_be_the_body(
    pets_api: Any, content: bytes, expected: str
) -> None:
    """The whole-body errors had no place in the line ("Field required"; "1: JSON decode error", the character
    offset shown as if it were a field and the reason dropped)."""
    headers = {**pets_api.headers("write"), "content-type": "application/json"}
    r = pets_api.client.post("/v1/pets/matches/m1/feedback", content=content, headers=headers)
    body = r.json()
    assert r.status_code == 422 and body["type"] == "RequestValidationError", r.text
    assert body["error"].startswith(expected), body["error"]
