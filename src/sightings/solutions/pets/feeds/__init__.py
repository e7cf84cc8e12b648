"""Post intake from VK and Telegram into the running pets engine (through :class:`~sightings.solutions.pets.client.
PetsClient`): VK wall pulls with since-id resume and the Bots Long Poll listener (:mod:`.vk`), Telegram messages and
albums turned into posts (:mod:`.telegram`), one delivery rule for both (:mod:`.deliver`), resume state
(:mod:`.state`) and secrets (:mod:`.secrets`).

(Named ``feeds`` because ``pets.intake`` is the engine's photo-preparation module.)
"""
