"""Post intake from VK and Telegram into the running pets engine (through :class:`~sightings.solutions.pets.client.
PetsClient`): VK wall pulls with since-id resume and the Bots Long Poll listener (:mod:`.vk`), Telegram messages and
albums turned into posts (:mod:`.telegram`), one delivery rule for both (:mod:`.deliver`), resume state
(:mod:`.state`) and secrets (:mod:`.secrets`).

(Named ``feeds`` because ``pets.intake`` is the engine's photo-preparation module.)
"""

MAX_PHOTO_BYTES = 25_000_000
"""The largest photo a feed sends on (the engine's default ``server.max_upload_bytes``): a larger one would make the
engine refuse the whole post, so it is left out and named instead."""
