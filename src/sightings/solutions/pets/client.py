"""A small typed client of the pets engine's HTTP API (``/v1/pets``): what the bots and intake workers use.

    client = PetsClient("http://127.0.0.1:8000", api_key="...")
    post = client.add_post(PostDraft(source="vk", source_id="-1_5", text="Пропал кот", photos=(jpeg,)))
    page = client.lost_matches(post.id, sure_only=True)     # the matches the bots may speak about
    client.feedback(page.matches[0].match_id, "mine", author="telegram:42")

One engine service: the bots never open the stores themselves; everything goes through this client. Answers of the
API become frozen dataclasses; its errors become ours (422 → :class:`InputError`, 413 → :class:`TooLargeError`,
404 → :class:`NotFoundError`, 401/403 → :class:`ConfigError` naming the key setting, 5xx → :class:`BackendError`,
no answer → :class:`BackendUnavailableError`), each one line naming the engine URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from sightings.core.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    InputError,
    MediaError,
    NotFoundError,
    SightingsError,
    TooLargeError,
    UnsupportedMediaError,
)
from sightings.solutions.pets.posts import PostDraft

__all__ = ["MatchCard", "MatchesPage", "PetsClient", "RemoteMatch", "RemotePost", "RemoteSighting"]

_BY_TYPE: dict[str, type[SightingsError]] = {
    "MediaError": MediaError,
    "UnsupportedMediaError": UnsupportedMediaError,
    "TooLargeError": TooLargeError,
    "InputError": InputError,
    "NotFoundError": NotFoundError,
}


@dataclass(frozen=True, slots=True)
class RemoteMatch:
    """A stored lost↔found match as ``POST /v1/pets/posts`` returns it."""

    id: str
    lost_post_id: str
    target_kind: str
    target_id: str
    confidence: float
    calibrated: bool
    sure: bool
    distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class RemotePost:
    """A post as the engine stored it; ``status`` (added | duplicate | exists) only in the answer to ``add_post``."""

    id: str
    status: str | None
    source: str
    source_id: str
    kind: str
    posted_at: datetime
    link: str | None = None
    species: str | None = None
    district: str | None = None
    address: str | None = None
    flags: tuple[str, ...] = ()
    privacy: bool = False
    photo_count: int = 0
    duplicate_of: str | None = None
    duplicate_reason: str | None = None
    match_count: int = 0
    matches: tuple[RemoteMatch, ...] = ()

    @property
    def sure_matches(self) -> tuple[RemoteMatch, ...]:
        return tuple(m for m in self.matches if m.sure)


@dataclass(frozen=True, slots=True)
class RemoteSighting:
    """A street-camera sighting as ``POST /v1/pets/sightings`` stored it, with the lost pets it may be."""

    id: str
    camera_id: str
    seen_at: datetime
    photo_url: str
    matches: tuple[RemoteMatch, ...] = ()


@dataclass(frozen=True, slots=True)
class MatchCard:
    """One candidate for a lost pet, ready for a bot message (``GET /v1/pets/lost/{id}/matches``)."""

    match_id: str
    target_kind: str
    target_id: str
    confidence: float
    sure: bool
    seen_at: datetime
    lat: float | None = None
    lon: float | None = None
    district: str | None = None
    place: str | None = None
    species: str | None = None
    link: str | None = None
    photo_url: str | None = None
    distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class MatchesPage:
    lost_post_id: str
    precision_threshold: float
    calibration: str
    matches: tuple[MatchCard, ...]


def _read_photo(source: Any, name: str) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except (OSError, TypeError) as exc:
        raise InputError(f"cannot read photo: {exc}", where=name) from exc


def _message(response: httpx.Response) -> tuple[str, str | None]:
    """The API's one-line reason and our error type name when it gave one."""
    try:
        body = response.json()
    except ValueError:
        return (response.text.strip().splitlines() or [response.reason_phrase])[0][:300], None
    if isinstance(body, dict) and "error" in body:
        return str(body["error"]), str(body.get("type") or "") or None
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid")), None
    return str(detail), None


class PetsClient:
    """Synchronous client of one engine (thread-safe: one ``httpx.Client``); use it as a context manager."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
        max_retries: int = 3,
        max_retry_wait_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport)
        self.max_retries = max_retries
        self.max_retry_wait_s = max_retry_wait_s
        self.sleep = sleep

    @classmethod
    def from_settings(cls, settings: Any) -> PetsClient:
        """From ``settings.pets.bots`` (``api_url``, ``api_key`` or ``api_key_file``)."""
        from sightings.solutions.pets.feeds.secrets import read_secret

        bots = settings.pets.bots
        key = read_secret(bots.api_key, bots.api_key_file, "pets.bots.api_key", required=False)
        return cls(bots.api_url, key)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PetsClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; the engine's rate limit (429 + ``Retry-After``) is waited out, up to ``max_retries`` times."""
        url = f"{self.base_url}{path}"
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                raise BackendUnavailableError(f"the pets engine did not answer in time ({exc})", where=url) from exc
            except httpx.HTTPError as exc:
                raise BackendUnavailableError(
                    f"cannot reach the pets engine: {exc}", where=url, hint="is `sightings serve` running?"
                ) from exc
            if response.status_code != 429 or attempt == self.max_retries:
                break
            retry_after = response.headers.get("retry-after", "1")
            wait = min(self.max_retry_wait_s, float(retry_after) if retry_after.isdigit() else 1.0)
            self.sleep(wait)
        return response

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.base_url}{path}"
        response = self._send(method, path, **kwargs)
        if response.is_success:
            return response
        reason, kind = _message(response)
        status = response.status_code
        if status == 429:
            raise BackendUnavailableError(f"the engine's rate limit: {reason}", where=url)
        if status in (401, 403):
            raise ConfigError(f"the engine refused the API key: {reason}", where="pets.bots.api_key")
        if kind in _BY_TYPE:
            raise _BY_TYPE[kind](reason, where=url)
        if status == 404:
            raise NotFoundError(reason, where=url)
        if status == 413:
            raise TooLargeError(reason, where=url)
        if status == 415:
            raise UnsupportedMediaError(reason, where=url)
        if 400 <= status < 500:
            raise InputError(reason, where=url)
        if status == 503:
            raise BackendUnavailableError(reason, where=url)
        raise BackendError(f"HTTP {status}: {reason}", where=url)

    # ------------------------------------------------------------------ endpoints
    def health(self) -> bool:
        """True when the engine answers ``/health``."""
        try:
            return self._request("GET", "/health").is_success
        except SightingsError:
            return False

    def add_post(self, draft: PostDraft) -> RemotePost:
        """``POST /v1/pets/posts``: the draft's photos (bytes or paths), text and fields."""
        form: dict[str, str] = {"source": draft.source, "text": draft.text}
        optional = {
            "source_id": draft.source_id,
            "link": draft.link,
            "author": draft.author,
            "kind": draft.kind,
            "species": draft.species,
            "city": draft.city,
            "district": draft.district,
            "address": draft.address,
            "repost_of": draft.repost_of,
            "posted_at": None if draft.posted_at is None else draft.posted_at.isoformat(),
            "lat": None if draft.lat is None else repr(draft.lat),
            "lon": None if draft.lon is None else repr(draft.lon),
        }
        form.update({k: v for k, v in optional.items() if v is not None})
        files = [
            ("photos", (name, _read_photo(source, name), "application/octet-stream"))
            for source, name in zip(draft.photos, draft.photo_names, strict=True)
        ]
        response = self._request("POST", "/v1/pets/posts", data=form, files=files or None)
        return _post(response.json())

    def get_post(self, post_id: str) -> RemotePost:
        """``GET /v1/pets/posts/{id}``."""
        return _post(self._request("GET", f"/v1/pets/posts/{post_id}").json())

    def lost_matches(self, post_id: str, *, sure_only: bool = True, limit: int = 10) -> MatchesPage:
        """``GET /v1/pets/lost/{id}/matches``: by default only the matches the bots may speak about (sure)."""
        params = {"sure_only": str(sure_only).lower(), "limit": str(limit)}
        body = self._request("GET", f"/v1/pets/lost/{post_id}/matches", params=params).json()
        cards = tuple(
            MatchCard(
                match_id=m["match_id"],
                target_kind=m["target_kind"],
                target_id=m["target_id"],
                confidence=float(m["confidence"]),
                sure=bool(m["sure"]),
                seen_at=datetime.fromisoformat(m["seen_at"]),
                lat=m.get("lat"),
                lon=m.get("lon"),
                district=m.get("district"),
                place=m.get("place"),
                species=m.get("species"),
                link=m.get("link"),
                photo_url=m.get("photo_url"),
                distance_km=m.get("distance_km"),
            )
            for m in body["matches"]
        )
        return MatchesPage(body["lost_post_id"], float(body["precision_threshold"]), body["calibration"], cards)

    def feedback(self, match_id: str, verdict: str, *, author: str | None = None, note: str | None = None) -> int:
        """``POST /v1/pets/matches/{id}/feedback`` (``mine`` | ``not_mine``) → the feedback id."""
        body: dict[str, Any] = {"verdict": verdict}
        if author:
            body["author"] = author
        if note:
            body["note"] = note
        return int(self._request("POST", f"/v1/pets/matches/{match_id}/feedback", json=body).json()["id"])

    def add_sighting(
        self,
        crop_jpeg: bytes,
        *,
        camera_id: str,
        lat: float,
        lon: float,
        seen_at: datetime,
        species: str | None = None,
        score: float | None = None,
        district: str | None = None,
    ) -> RemoteSighting:
        """``POST /v1/pets/sightings`` (the street-camera watcher): one crop, where and when → the stored sighting
        and the lost pets it may be."""
        form = {"camera_id": camera_id, "lat": repr(lat), "lon": repr(lon), "seen_at": seen_at.isoformat()}
        optional = {"species": species, "score": None if score is None else f"{score:.4f}", "district": district}
        form.update({k: v for k, v in optional.items() if v is not None})
        files = [("crop", (f"{camera_id}.jpg", crop_jpeg, "image/jpeg"))]
        body = self._request("POST", "/v1/pets/sightings", data=form, files=files).json()
        return RemoteSighting(
            id=body["id"],
            camera_id=body["camera_id"],
            seen_at=datetime.fromisoformat(body["seen_at"]),
            photo_url=body["photo_url"],
            matches=tuple(_match(m) for m in body.get("matches") or ()),
        )

    def photo(self, photo_url: str) -> bytes:
        """The bytes of a crop (``/v1/pets/photos/{id}`` as the API gives it)."""
        path = photo_url[len(self.base_url) :] if photo_url.startswith(self.base_url) else photo_url
        if not path.startswith("/v1/"):  # never send the API key to another host
            raise InputError("not a photo URL of this engine", where=photo_url)
        return self._request("GET", path).content


def _post(body: dict[str, Any]) -> RemotePost:
    return RemotePost(
        id=body["id"],
        status=body.get("status"),
        source=body["source"],
        source_id=body["source_id"],
        kind=body["kind"],
        posted_at=datetime.fromisoformat(body["posted_at"]),
        link=body.get("link"),
        species=body.get("species"),
        district=body.get("district"),
        address=body.get("address"),
        flags=tuple(body.get("flags") or ()),
        privacy=bool(body.get("privacy")),
        photo_count=int(body.get("photo_count") or 0),
        duplicate_of=body.get("duplicate_of"),
        duplicate_reason=body.get("duplicate_reason"),
        match_count=int(body.get("match_count") or 0),
        matches=tuple(_match(m) for m in body.get("matches") or ()),
    )


def _match(m: dict[str, Any]) -> RemoteMatch:
    return RemoteMatch(
        id=m["id"],
        lost_post_id=m["lost_post_id"],
        target_kind=m["target_kind"],
        target_id=m["target_id"],
        confidence=float(m["confidence"]),
        calibrated=bool(m["calibrated"]),
        sure=bool(m["sure"]),
        distance_km=m.get("distance_km"),
    )
