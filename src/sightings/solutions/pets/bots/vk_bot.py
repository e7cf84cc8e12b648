"""The VK bot: a comment under a VK post that links to a match, only for matches the engine marks sure.

    commenter = VkCommenter(vk, client, state_root, dry_run=True)     # dry run (default): only logs
    intake = VkIntake(vk, client, state_root, on_delivery=commenter.on_delivery)
    commenter.sweep()                                                 # later: new matches of watched lost posts

For every sure pair (lost post, found post or camera sighting) the VK side(s) get a comment (``wall.createComment``)
linking to the other side: under a lost post "possibly found: <link>", under a found post "possibly the owner is
looking: <link>", under a lost post a street-camera sighting (place, time; no link). Never twice for the same post and
match (``<state_dir>/vk_comments.json``; a dry run records what it would have posted under ``dry_run``, so switching
dry run off posts them then). Lost VK posts are remembered (``watch``) so that :meth:`sweep` finds matches that
appear later (a found post from Telegram, a camera).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sightings.core.errors import NotFoundError, SightingsError
from sightings.i18n import Translator, translator
from sightings.solutions.pets.bots import replies
from sightings.solutions.pets.client import PetsClient, RemotePost
from sightings.solutions.pets.feeds.deliver import Delivery
from sightings.solutions.pets.feeds.state import JsonState

__all__ = ["PlannedComment", "VkCommenter"]

log = logging.getLogger(__name__)
_VK_ID = re.compile(r"^(-?\d+)_(\d+)$")
WATCH_DAYS = 60
"""lost posts are re-checked by :meth:`VkCommenter.sweep` for this many days after they arrived"""


@dataclass(frozen=True, slots=True)
class PlannedComment:
    """A comment under ``source_id`` (``{owner_id}_{post_id}``) about ``match_id``."""

    source_id: str
    match_id: str
    text: str

    @property
    def key(self) -> str:
        return f"{self.source_id}|{self.match_id}"


class VkCommenter:
    """Comments under VK posts about sure matches (dry run by default)."""

    def __init__(
        self,
        vk: Any,
        client: PetsClient,
        state_root: Path,
        *,
        dry_run: bool = True,
        language: str = "ru",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.vk = vk
        self.client = client
        self.dry_run = dry_run
        self.t: Translator = translator(language)
        self.state = JsonState(Path(state_root) / "vk_comments.json")
        self.now = now

    # ------------------------------------------------------------------ what to say
    def _plan_for_lost(self, lost: RemotePost) -> list[PlannedComment]:
        if lost.source != "vk":
            return []
        planned = []
        for card in self.client.lost_matches(lost.id, sure_only=True).matches:
            if not card.sure:  # the engine filtered already; never word a guess in any case
                continue
            if card.target_kind == "sighting":
                text = replies.vk_comment_for_sighting(self.t, card)
            elif card.link:
                text = replies.vk_comment_for_lost(self.t, card.link, card.confidence)
            else:
                continue
            planned.append(PlannedComment(lost.source_id, card.match_id, text))
        return planned

    def _plan_for_found(self, found: RemotePost) -> list[PlannedComment]:
        planned = []
        for match in found.sure_matches:
            try:
                lost = self.client.get_post(match.lost_post_id)
            except NotFoundError:
                continue
            if found.source == "vk" and lost.link:
                text = replies.vk_comment_for_found(self.t, lost.link, match.confidence)
                planned.append(PlannedComment(found.source_id, match.id, text))
            if lost.source == "vk" and found.link:
                text = replies.vk_comment_for_lost(self.t, found.link, match.confidence)
                planned.append(PlannedComment(lost.source_id, match.id, text))
        return planned

    def _plan_under_found(self, lost: RemotePost) -> list[PlannedComment]:
        """The comments under the VK found posts of a watched lost post's sure matches: the other side of what
        :meth:`_plan_for_found` says when a found post comes in, for a sweep (a dry run turned off posts them too)."""
        if not lost.link:
            return []
        planned = []
        for card in self.client.lost_matches(lost.id, sure_only=True).matches:
            if not card.sure or card.target_kind != "post":
                continue
            try:
                found = self.client.get_post(card.target_id)
            except NotFoundError:
                continue
            if found.source == "vk":
                text = replies.vk_comment_for_found(self.t, lost.link, card.confidence)
                planned.append(PlannedComment(found.source_id, card.match_id, text))
        return planned

    # ------------------------------------------------------------------ saying it once
    def _post(self, comment: PlannedComment) -> bool:
        """Post (or log, in a dry run) one comment unless it was already; True when it went out now."""
        bucket = "dry_run" if self.dry_run else "posted"
        if comment.key in self.state.read().get(bucket, {}):
            return False
        if self.dry_run:
            log.info("VK dry run: would comment under wall%s: %s", comment.source_id, comment.text)
        else:
            owner, post_id = (int(v) for v in _VK_ID.match(comment.source_id).groups())  # type: ignore[union-attr]
            params: dict[str, Any] = {"owner_id": owner, "post_id": post_id, "message": comment.text}
            if owner < 0:
                params["from_group"] = -owner
            answer = self.vk.call("wall.createComment", **params)
            log.info("VK: commented under wall%s (comment %s)", comment.source_id, answer.get("comment_id"))
        stamp = self.now().isoformat(timespec="seconds")
        self.state.modify(lambda d: d.setdefault(bucket, {}).__setitem__(comment.key, stamp))
        return True

    def _say(self, planned: list[PlannedComment]) -> list[PlannedComment]:
        said = []
        for comment in planned:
            if not _VK_ID.match(comment.source_id):
                continue
            try:
                if self._post(comment):
                    said.append(comment)
            except SightingsError as exc:  # one failed comment must not stop the intake
                log.warning("VK: comment under wall%s not posted: %s", comment.source_id, exc)
        return said

    def _watch(self, post: RemotePost) -> None:
        stamp = self.now().isoformat(timespec="seconds")
        self.state.modify(lambda d: d.setdefault("watch", {}).setdefault(post.id, stamp))

    # ------------------------------------------------------------------ entry points
    def on_delivery(self, delivery: Delivery) -> list[PlannedComment]:
        """After a VK post reached the engine: comment about its sure matches (both sides when both are VK)."""
        post = delivery.post
        if post is None or delivery.status != "added":
            return []
        if post.kind == "lost":
            if post.source == "vk":
                self._watch(post)
            return self._say(self._plan_for_lost(post))
        if post.kind == "found":
            return self._say(self._plan_for_found(post))
        return []

    def sweep(self) -> list[PlannedComment]:
        """Look again at the watched lost VK posts (for matches that appeared since); forget ones over 60 days."""
        cutoff = self.now() - timedelta(days=WATCH_DAYS)
        watch = self.state.read().get("watch", {})
        gone = [pid for pid, t in watch.items() if datetime.fromisoformat(t) < cutoff]
        said: list[PlannedComment] = []
        for post_id in watch:
            if post_id in gone:
                continue
            try:
                lost = self.client.get_post(post_id)
                said += self._say(self._plan_for_lost(lost) + self._plan_under_found(lost))
            except NotFoundError:
                gone.append(post_id)
        if gone:
            self.state.modify(lambda d: [d["watch"].pop(pid, None) for pid in gone])
        return said
