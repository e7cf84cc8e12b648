"""Optional channel enrichment from the YouTube Data API v3 (``channels.list``), through httpx.

    client = YouTubeChannelClient()                       # key from $SIGHTINGS_YOUTUBE_API_KEY or $YOUTUBE_API_KEY
    rows = client.fetch(["UC...", "UC..."])               # -> {channel_id: ChannelInfo(as_of=now)}

The API gives today's counts only, so each row carries ``as_of`` = the time of the request: the dataset builder
uses it only for videos whose snapshot 1 is later (no leakage); collect it when you collect snapshots.
``created_at`` (the channel's ``publishedAt``) is usable for every video. Requests ask for 50 ids at a time,
with a connect/read timeout; a failed request is a BackendError naming the URL (the key is never printed).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sightings.core.errors import BackendError, BackendUnavailableError, ConfigError, InputError
from sightings.solutions.popularity.channels import ChannelInfo
from sightings.solutions.popularity.tables import parse_time

__all__ = ["API_KEY_ENV", "DEFAULT_BASE_URL", "YouTubeChannelClient"]

DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3"
API_KEY_ENV = ("SIGHTINGS_YOUTUBE_API_KEY", "YOUTUBE_API_KEY")
BATCH = 50


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class YouTubeChannelClient:
    """``channels.list`` (part=snippet,statistics) for a list of channel ids."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 10.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        key = api_key or next((os.environ[k] for k in API_KEY_ENV if os.environ.get(k)), None)
        if not key:
            raise ConfigError(f"no YouTube Data API key; set ${API_KEY_ENV[0]}", where="youtube api key")
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._clock = clock or (lambda: datetime.now(UTC))

    def fetch(self, channel_ids: Iterable[str]) -> dict[str, ChannelInfo]:
        """Channel rows by id; ids the API does not know are absent from the answer."""
        try:
            import httpx
        except ImportError as exc:
            raise BackendUnavailableError("the YouTube client needs httpx", hint="pip install httpx") from exc
        ids = sorted({c for c in channel_ids if c})
        out: dict[str, ChannelInfo] = {}
        url = f"{self.base_url}/channels"
        timeout = httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 5.0))
        with httpx.Client(timeout=timeout) as client:
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                params: dict[str, str | int] = {
                    "part": "snippet,statistics",
                    "id": ",".join(chunk),
                    "maxResults": BATCH,
                    "key": self._key,
                }
                try:
                    response = client.get(url, params=params)
                except httpx.HTTPError as exc:
                    raise BackendError(f"request failed: {type(exc).__name__}: {exc}", where=url) from None
                if response.status_code != 200:
                    raise BackendError(f"HTTP {response.status_code}: {response.text[:200]}", where=url)
                try:
                    body = response.json()
                except ValueError:
                    raise BackendError("answer is not JSON", where=url) from None
                as_of = self._clock()
                for item in body.get("items", []) if isinstance(body, dict) else []:
                    info = self._parse(item, as_of, url)
                    if info is not None:
                        out[info.channel_id] = info
        return out

    @staticmethod
    def _parse(item: Any, as_of: datetime, url: str) -> ChannelInfo | None:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            return None
        stats = item.get("statistics") or {}
        snippet = item.get("snippet") or {}
        hidden = bool(stats.get("hiddenSubscriberCount"))
        try:
            created = parse_time(snippet.get("publishedAt"), where=f"{url}: {item['id']}.publishedAt", required=False)
        except InputError:
            created = None
        return ChannelInfo(
            channel_id=item["id"],
            subscribers=math.nan if hidden else _number(stats.get("subscriberCount")),
            total_videos=_number(stats.get("videoCount")),
            created_at=created,
            as_of=as_of,
        )
