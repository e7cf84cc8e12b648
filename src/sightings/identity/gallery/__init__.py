"""Galleries: vector stores for the identity engine (registry ``VECTOR_STORES``: numpy, lancedb, qdrant, fake).

Backends are imported lazily through the registry; shared semantics live in :mod:`.base` (see docs/gallery.md).
"""
