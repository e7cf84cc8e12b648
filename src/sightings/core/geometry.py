"""Plane geometry shared by the engine and the solutions (pixel polygons: zones, doorways)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["Polygon", "point_in_polygon"]

Polygon = Sequence[tuple[float, float]]
"""Vertices (x, y) in pixels, in order; the last joins the first."""


def point_in_polygon(x: float, y: float, polygon: Polygon) -> bool:
    """Whether (x, y) lies inside ``polygon`` (even-odd ray casting; points on the left/bottom edge count)."""
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < x_cross:
                inside = not inside
    return inside
