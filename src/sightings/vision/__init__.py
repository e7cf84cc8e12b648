"""The vision engine: detectors (:mod:`sightings.vision.detect`), and later trackers, embedders, OCR.

Backends are reached through the registries in :mod:`sightings.core.registry`; nothing heavy is imported here.
"""
