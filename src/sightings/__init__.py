"""sightings: photos and video → sightings → identities, matches, events, metrics and features."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
