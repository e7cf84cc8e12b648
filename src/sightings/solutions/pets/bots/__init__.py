"""The pets bots: Telegram (:mod:`.telegram_bot`, aiogram 3) and VK comments (:mod:`.vk_bot`); every sentence from
the message catalogue (:mod:`.replies`). They speak only about matches the engine marks *sure*, and reach the engine
through its HTTP API (:class:`~sightings.solutions.pets.client.PetsClient`) only."""
