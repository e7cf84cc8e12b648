"""Pets lost & found: post intake, text understanding, dedup, collage split, cat/dog crops, lost↔found matching.

``PetsService`` (``service``) is the one entry point — the API, the CLI, and through the API the bots and the
street-camera watcher. Parts: ``posts`` (the model), ``preparation``, ``collage``, ``animals``, ``dedup``,
``matching``, ``privacy``, ``views``, ``store`` + ``store_models`` + ``migrations/``, and ``text`` (Russian text
and poster understanding). See docs/pets.md.
"""
