"""VK intake: wall posts of volunteer groups into the pets engine, by pulling (``wall.get``) and by listening
(Bots Long Poll ``wall_post_new``).

    vk = VkApiClient(token, api_base=None)                       # vk_api.VkApi with bounded flood-control back-off
    intake = VkIntake(vk, PetsClient(url, key), state_root, max_photos=20)
    report = intake.pull_group(123)                              # new posts since the group's resume point
    VkLongPollListener(vk, intake, 123).run(stop_event)          # new posts as they appear

A VK post becomes a draft with ``source="vk"``, ``source_id="{owner_id}_{id}"``, its link, text, the largest size of
each photo (downloaded), the date and, for a repost, ``repost_of`` = the original's id (``copy_history``), whose text
and photos are carried too. The engine decides privacy (``pets.privacy_sources``, VK by default: only embeddings,
extracted fields and the link are kept).

vk_api has no setting for its API host (it posts to ``https://api.vk.ru/method/...``), so ``api_base`` mounts a
``requests`` transport adapter on that host that sends the calls to another base URL (a proxy, or the local fake in
tests); the long-poll server and photo URLs are whatever VK (or the fake) answers.

Errors: a rejected token (VK error 5) is a :class:`ConfigError` naming ``pets.bots.vk_token`` (nothing is written);
flood control (6 "too many requests per second", 9 "flood control", 10 internal error) is retried with exponential
back-off up to ``max_retries`` times, then a :class:`BackendUnavailableError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from sightings.core.errors import BackendError, BackendUnavailableError, ConfigError, InputError
from sightings.solutions.pets.client import PetsClient
from sightings.solutions.pets.feeds import MAX_PHOTO_BYTES
from sightings.solutions.pets.feeds.deliver import Delivery, deliver
from sightings.solutions.pets.feeds.state import VkGroupState
from sightings.solutions.pets.posts import PostDraft

__all__ = [
    "VK_API_HOSTS",
    "PullReport",
    "VkApiClient",
    "VkIntake",
    "VkLongPollListener",
    "largest_photo_url",
    "vk_draft",
    "vk_session",
]

log = logging.getLogger(__name__)

VK_API_HOSTS = ("https://api.vk.ru/", "https://api.vk.com/")
RETRY_CODES = {6: "too many requests per second", 9: "flood control", 10: "internal server error"}
NO_ACCESS_CODES = (15, 18, 30, 203)  # access denied, deleted/banned, private profile, no access to the group
SIZE_ORDER = "smxopqryzw"  # VK photo size letters from smallest to largest (when width/height are missing)
PULL_DEPTH_FACTOR = 20
"""a resumed pull walks back at most this many × ``max_posts`` posts looking for its resume point"""


class _RoutingAdapter(HTTPAdapter):
    """Sends requests for the VK API host to ``base`` instead (vk_api has no base-URL setting)."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/") + "/"

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        for host in VK_API_HOSTS:
            if url.startswith(host):
                request.url = self.base + url[len(host) :]
                break
        return super().send(request, *args, **kwargs)


def vk_session(api_base: str | None = None) -> requests.Session:
    """A ``requests`` session for vk_api: VK API calls go to ``api_base`` when given."""
    session = requests.Session()
    session.headers["User-Agent"] = "sightings-pets-intake"
    if api_base:
        adapter = _RoutingAdapter(api_base)
        for host in VK_API_HOSTS:
            session.mount(host, adapter)
    return session


class VkApiClient:
    """``vk_api.VkApi`` on our session, with our errors and bounded back-off (vk_api's own error-6 handler, which
    retries forever, is removed)."""

    def __init__(
        self,
        token: str,
        *,
        api_base: str | None = None,
        version: str = "5.199",
        max_retries: int = 5,
        backoff_s: float = 0.5,
        max_wait_s: float = 60.0,
        rps_delay_s: float = 0.34,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import vk_api
        from jconfig.memory import MemoryConfig

        self.session = vk_session(api_base)
        self.api_base = (api_base or VK_API_HOSTS[1]).rstrip("/")  # named when it cannot be reached
        self.api = vk_api.VkApi(token=token, session=self.session, api_version=version, config=MemoryConfig)
        self.api.RPS_DELAY = rps_delay_s
        self.api.error_handlers.pop(6, None)
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self.sleep = sleep
        self.retries = 0  # back-off waits so far (reported by the CLI)

    def _backoff(self, attempt: int) -> float:
        return float(min(self.max_wait_s, self.backoff_s * 2**attempt))

    def call(self, method: str, **params: Any) -> Any:
        """``method`` with ``params``; VK errors become ours, flood control is waited out (bounded)."""
        from vk_api.exceptions import ApiError, ApiHttpError, VkApiError

        attempt = 0
        while True:
            try:
                return self.api.method(method, params)
            except ApiError as exc:
                code = int(exc.code)
                message = str(exc.error.get("error_msg", "")) if isinstance(exc.error, Mapping) else str(exc)
                if code == 5:
                    raise ConfigError(
                        f"VK rejected the token (error 5: {message})", where="pets.bots.vk_token"
                    ) from None
                if code in RETRY_CODES and attempt < self.max_retries:
                    wait = self._backoff(attempt)
                    log.warning("VK %s: error %d (%s); retrying in %.2f s", method, code, RETRY_CODES[code], wait)
                    self.retries += 1
                    self.sleep(wait)
                    attempt += 1
                    continue
                if code in RETRY_CODES:
                    raise BackendUnavailableError(
                        f"VK error {code} ({RETRY_CODES[code]}) after {attempt} retries", where=f"VK {method}"
                    ) from None
                if code in NO_ACCESS_CODES or code == 100:
                    raise InputError(f"VK error {code}: {message}", where=f"VK {method} {_params(params)}") from None
                raise BackendError(f"VK error {code}: {message}", where=f"VK {method}") from None
            except ApiHttpError as exc:
                status = getattr(exc.response, "status_code", "?")
                raise BackendUnavailableError(f"VK answered HTTP {status}", where=f"VK {method}") from None
            except requests.RequestException as exc:
                raise BackendUnavailableError(
                    f"cannot reach VK at {self.api_base}: {exc.__class__.__name__}", where=f"VK {method}"
                ) from None
            except VkApiError as exc:  # captcha and the like: not something a worker can answer
                raise BackendError(f"VK refused the call: {exc.__class__.__name__}", where=f"VK {method}") from None

    def download(self, url: str, *, max_bytes: int = MAX_PHOTO_BYTES) -> bytes:
        """The bytes at ``url`` (a photo), at most ``max_bytes``; :class:`InputError` when it cannot be had."""
        try:
            with self.session.get(url, timeout=30, stream=True) as response:
                if response.status_code != 200:
                    raise InputError(f"HTTP {response.status_code}", where=url)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_content(65536):
                    size += len(chunk)
                    if size > max_bytes:
                        raise InputError(f"over {max_bytes} bytes", where=url)
                    chunks.append(chunk)
                return b"".join(chunks)
        except requests.RequestException as exc:
            raise InputError(f"download failed: {exc.__class__.__name__}", where=url) from None


def _params(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items() if k in ("owner_id", "group_id", "post_id"))


def largest_photo_url(photo: Mapping[str, Any]) -> str | None:
    """The URL of a VK photo's largest size (by pixels; by size letter when VK gives no dimensions)."""
    sizes = [s for s in photo.get("sizes") or () if s.get("url")]
    if not sizes:
        return photo.get("orig_photo", {}).get("url") if isinstance(photo.get("orig_photo"), Mapping) else None

    def key(size: Mapping[str, Any]) -> tuple[int, int]:
        letter = str(size.get("type", ""))
        return int(size.get("width") or 0) * int(size.get("height") or 0), SIZE_ORDER.find(letter)

    return str(max(sizes, key=key)["url"])


def _photo_urls(item: Mapping[str, Any]) -> list[str]:
    urls = []
    for attachment in item.get("attachments") or ():
        if attachment.get("type") == "photo" and isinstance(attachment.get("photo"), Mapping):
            url = largest_photo_url(attachment["photo"])
            if url:
                urls.append(url)
    return urls


def _point(item: Mapping[str, Any]) -> tuple[float, float] | None:
    geo = item.get("geo")
    if not isinstance(geo, Mapping) or not isinstance(geo.get("coordinates"), str):
        return None
    try:
        lat, lon = (float(v) for v in geo["coordinates"].split())
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def vk_source_id(item: Mapping[str, Any]) -> str:
    return f"{int(item['owner_id'])}_{int(item['id'])}"


def vk_draft(item: Mapping[str, Any], photos: tuple[bytes, ...] = (), names: tuple[str, ...] = ()) -> PostDraft:
    """A VK wall post (as ``wall.get`` / ``wall_post_new`` give it) → a draft; ``photos`` already downloaded."""
    source_id = vk_source_id(item)
    original = (item.get("copy_history") or [None])[0]
    texts = [str(item.get("text") or "")]
    repost_of = None
    if isinstance(original, Mapping):
        repost_of = vk_source_id(original)
        texts.append(str(original.get("text") or ""))
    point = _point(item) or (_point(original) if isinstance(original, Mapping) else None)
    author = item.get("signer_id") or item.get("from_id")
    return PostDraft(
        source="vk",
        source_id=source_id,
        link=f"https://vk.com/wall{source_id}",
        text="\n\n".join(t for t in texts if t.strip()),
        photos=photos,
        photo_names=names,
        author=None if author is None else f"vk:{author}",
        posted_at=datetime.fromtimestamp(int(item.get("date") or time.time()), UTC),
        repost_of=repost_of,
        lat=None if point is None else point[0],
        lon=None if point is None else point[1],
    )


@dataclass(slots=True)
class PullReport:
    """One group's pull: how many posts were fetched and what the engine did with them."""

    group_id: int
    fetched: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    dropped_photos: int = 0
    last_id: int = 0
    remaining: int = 0  # new posts left for the next run (over max_posts)
    wall_calls: int = 0

    def count(self, delivery: Delivery) -> None:
        self.statuses[delivery.status] = self.statuses.get(delivery.status, 0) + 1
        self.dropped_photos += len(delivery.dropped)


class VkIntake:
    """VK posts → the engine. ``on_delivery`` (e.g. the VK bot's commenter) sees every delivery."""

    def __init__(
        self,
        vk: VkApiClient,
        client: PetsClient,
        state_root: Path,
        *,
        max_photos: int = 20,
        page_size: int = 100,
        max_posts: int = 1000,
        on_delivery: Callable[[Delivery], object] | None = None,
    ) -> None:
        self.vk = vk
        self.client = client
        self.state_root = Path(state_root)
        self.max_photos = max_photos
        self.page_size = page_size
        self.max_posts = max_posts
        self.on_delivery = on_delivery
        self._states: dict[int, VkGroupState] = {}
        self._lock = threading.Lock()

    def state(self, group_id: int) -> VkGroupState:
        with self._lock:
            key = abs(int(group_id))
            if key not in self._states:
                self._states[key] = VkGroupState(self.state_root, key)
            return self._states[key]

    def deliver_item(self, item: Mapping[str, Any]) -> Delivery:
        """Download a post's photos (its original's too, for a repost) and hand it to the engine."""
        photos: list[bytes] = []
        names: list[str] = []
        dropped: list[str] = []
        source_id = vk_source_id(item)
        original = (item.get("copy_history") or [None])[0]
        urls = _photo_urls(item) + (_photo_urls(original) if isinstance(original, Mapping) else [])
        for index, url in enumerate(urls):
            name = f"vk{source_id}-{index + 1}.jpg"
            if len(photos) >= self.max_photos:  # not downloaded at all; deliver() names them
                dropped.append(f"{name} (over the {self.max_photos}-photo limit)")
                continue
            try:
                photos.append(self.vk.download(url))
                names.append(name)
            except InputError as exc:
                log.warning("VK %s: photo %d not downloaded: %s", source_id, index + 1, exc.reason)
                dropped.append(f"{name} ({exc.reason})")
        draft = vk_draft(item, tuple(photos), tuple(names))
        delivery = deliver(self.client, draft, max_photos=self.max_photos, dropped=tuple(dropped))
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        return delivery

    def new_posts(self, group_id: int, since: int, report: PullReport) -> list[Mapping[str, Any]]:
        """Posts of the group newer than ``since``, oldest first (pinned posts are looked at, never stop the walk)."""
        owner = -abs(int(group_id))
        depth = self.max_posts if since == 0 else self.max_posts * PULL_DEPTH_FACTOR
        found: dict[int, Mapping[str, Any]] = {}
        offset = 0
        while offset < depth:
            page = self.vk.call("wall.get", owner_id=owner, offset=offset, count=self.page_size, filter="all")
            report.wall_calls += 1
            items = list(page.get("items") or ())
            if not items:
                break
            reached = False
            for item in items:
                post_id = int(item["id"])
                if post_id <= since:
                    if item.get("is_pinned"):
                        continue
                    reached = True
                    break
                found[post_id] = item
            offset += len(items)
            if reached or offset >= int(page.get("count") or 0):
                break
        return [found[k] for k in sorted(found)]

    def pull_group(self, group_id: int) -> PullReport:
        """Take a group's new posts in, oldest first, moving the resume point after each one handled.

        A post refused as bad input is recorded in the state and passed; the engine or VK failing stops the pull
        (the resume point stays at the last post handled, so the next run continues there)."""
        state = self.state(group_id)
        since = state.last_id
        report = PullReport(abs(int(group_id)), last_id=since)
        posts = self.new_posts(group_id, since, report)
        report.fetched = len(posts)
        report.remaining = max(0, len(posts) - self.max_posts)
        for item in posts[: self.max_posts]:
            delivery = self.deliver_item(item)
            report.count(delivery)
            if delivery.status == "refused":
                state.refuse(int(item["id"]), delivery.reason or "refused")
            else:
                state.advance(int(item["id"]))
            report.last_id = max(report.last_id, int(item["id"]))
        return report


class VkLongPollListener:
    """Bots Long Poll of one group (``groups.getLongPollServer``, then the long-poll server): ``wall_post_new`` and
    ``wall_repost`` events become posts. It does not move the pull's resume point: a post seen here and pulled later
    comes back from the engine as ``exists``."""

    EVENTS = ("wall_post_new", "wall_repost")

    def __init__(self, vk: VkApiClient, intake: VkIntake, group_id: int, *, wait_s: int = 25) -> None:
        self.vk = vk
        self.intake = intake
        self.group_id = abs(int(group_id))
        self.wait_s = wait_s
        self.deliveries: list[Delivery] = []

    def _connect(self) -> Any:
        from vk_api.bot_longpoll import VkBotLongPoll

        self.vk.call("groups.getById", group_id=self.group_id)  # a dead token fails here, through our errors
        server = self.vk.call("groups.getLongPollServer", group_id=self.group_id)
        poll = VkBotLongPoll.__new__(VkBotLongPoll)  # its __init__ would call VK again without our error handling
        poll.vk, poll.group_id, poll.wait = self.vk.api, self.group_id, self.wait_s
        poll.session = self.vk.session
        poll.key, poll.server, poll.url, poll.ts = server["key"], server["server"], server["server"], server["ts"]
        return poll

    def _deliver_patiently(self, item: Mapping[str, Any], stop: threading.Event) -> Delivery:
        """Deliver one post; while the engine is unreachable, wait (the VK client's back-off, growing) and try again,
        for as long as the listener runs: a listener stays up through a restart of the engine. Stopped meanwhile,
        the error goes up and the post is left to the next ``vk-pull`` (its since-id has not moved)."""
        attempt = 0
        while True:
            try:
                return self.intake.deliver_item(item)
            except BackendUnavailableError as exc:
                if stop.is_set():
                    raise
                wait = self.vk._backoff(attempt)
                log.warning("pets engine unreachable (%s); trying again in %.1f s", exc, wait)
                attempt += 1
                if stop.wait(wait):
                    raise

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        max_events: int | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> list[Delivery]:
        """Listen until ``stop`` is set (or ``max_events`` posts were handled); ``on_idle`` runs after every poll."""
        from vk_api.exceptions import VkApiError

        stop = stop or threading.Event()
        poll = self._connect()
        failures = 0
        handled = 0
        while not stop.is_set() and (max_events is None or handled < max_events):
            try:
                events = poll.check()
                failures = 0
            except (requests.RequestException, ValueError, VkApiError) as exc:  # reconnect through our error mapping
                if failures >= self.vk.max_retries:
                    raise BackendUnavailableError(
                        f"VK long poll failed {failures + 1} times: {exc.__class__.__name__}", where="VK long poll"
                    ) from None
                wait = self.vk._backoff(failures)
                log.warning("VK long poll: %s; retrying in %.2f s", exc.__class__.__name__, wait)
                failures += 1
                self.vk.sleep(wait)
                try:
                    poll = self._connect()
                except BackendUnavailableError:
                    continue
                continue
            for event in events:
                raw = getattr(event, "raw", {}) or {}
                if raw.get("type") not in self.EVENTS or not isinstance(raw.get("object"), Mapping):
                    continue
                self.deliveries.append(self._deliver_patiently(raw["object"], stop))
                handled += 1
            if on_idle is not None:
                on_idle()
        return self.deliveries
