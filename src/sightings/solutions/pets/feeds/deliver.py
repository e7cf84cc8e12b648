"""One post from a platform into the engine, with the bad-input rules every feed shares.

    delivery = deliver(client, draft, max_photos=20)   # → Delivery(status="added" | "duplicate" | "exists" | "refused")

- more than ``max_photos`` photos: the first ``max_photos`` are sent, the rest named in ``dropped`` (a 50-photo post
  is kept, not refused);
- a photo the engine refuses (not an image, empty, too large to decode): that photo is dropped and the post is sent
  again without it (the engine names the file in its 422), so one broken attachment never loses a post;
- any other bad-input answer (422/413): ``refused`` with the engine's one-line reason (the caller records it);
- the engine down or failing (5xx, no answer): the error propagates, so the caller stops and resumes later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from sightings.core.errors import InputError
from sightings.solutions.pets.client import PetsClient, RemotePost
from sightings.solutions.pets.posts import PostDraft

__all__ = ["Delivery", "deliver"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one platform post: the engine's status (or ``refused``), the post, what was left out."""

    source_id: str
    status: str  # added | duplicate | exists | refused
    post: RemotePost | None = None
    reason: str | None = None
    dropped: tuple[str, ...] = ()
    """photos not sent: over the limit, not an image, or not downloadable (named, with why)"""


def _bad_photo(error: InputError, names: tuple[str, ...]) -> int | None:
    text = str(error)
    for index, name in enumerate(names):
        if f"{name}:" in text:
            return index
    return None


def deliver(client: PetsClient, draft: PostDraft, *, max_photos: int, dropped: tuple[str, ...] = ()) -> Delivery:
    """Send ``draft`` to the engine (rules in the module doc); ``dropped`` carries earlier losses (downloads)."""
    source_id = draft.source_id or "?"
    lost = list(dropped)
    if len(draft.photos) > max_photos:
        extra = draft.photo_names[max_photos:]
        lost += [f"{name} (over the {max_photos}-photo limit)" for name in extra]
        log.warning("%s %s: %d photos; sending the first %d", draft.source, source_id, len(draft.photos), max_photos)
        draft = replace(draft, photos=draft.photos[:max_photos], photo_names=draft.photo_names[:max_photos])
    while True:
        try:
            post = client.add_post(draft)
        except InputError as exc:
            index = _bad_photo(exc, draft.photo_names)
            if index is None:
                log.warning("%s %s refused by the engine: %s", draft.source, source_id, exc.reason)
                return Delivery(source_id, "refused", reason=exc.reason, dropped=tuple(lost))
            lost.append(exc.reason)
            log.warning("%s %s: dropping a photo the engine refused: %s", draft.source, source_id, exc.reason)
            draft = replace(
                draft,
                photos=draft.photos[:index] + draft.photos[index + 1 :],
                photo_names=draft.photo_names[:index] + draft.photo_names[index + 1 :],
            )
            continue
        return Delivery(source_id, post.status or "added", post=post, dropped=tuple(lost))
