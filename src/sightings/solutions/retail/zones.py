"""Per-camera store zones (counter, checkout, entrance, floor) as pixel polygons, and which zone a box is in.

A box is placed by its **foot point** (bottom centre): that is where the person stands, so a customer leaning
over the counter is still on the customer side. Zones are checked in the order counter, checkout, entrance,
floor; the first polygon holding the point wins ('' = none).

A camera may also carry a **floor plane** (``floor``): four image points and the same four points on the floor
in metres. Their homography (``cv2.getPerspectiveTransform``) maps foot points to floor metres, so interaction
distances are real distances, the same near and far from the camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from sightings.core.geometry import point_in_polygon

__all__ = ["ZONE_KINDS", "CameraZones", "FloorPlane", "Zone", "draw_zones", "foot_point", "point_in_polygon"]

ZoneKind = Literal["counter", "checkout", "entrance", "floor"]
ZONE_KINDS: tuple[ZoneKind, ...] = ("counter", "checkout", "entrance", "floor")
_COLOURS = {"counter": (230, 25, 75), "checkout": (60, 180, 75), "entrance": (0, 130, 200), "floor": (255, 225, 25)}


def foot_point(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float]:
    """The bottom centre of a box, pixels."""
    return ((x1 + x2) / 2.0, y2)


class Zone(BaseModel):
    """One named polygon in a camera's image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., min_length=1, description="zone name, e.g. 'counter-left'")
    kind: ZoneKind = Field(..., description="counter, checkout, entrance or floor")
    points: list[tuple[float, float]] = Field(..., description="polygon vertices [x, y] in pixels, ≥ 3")

    @field_validator("points")
    @classmethod
    def _three_points(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(value) < 3:
            raise ValueError("a zone needs at least 3 points")
        return value

    def contains(self, x: float, y: float) -> bool:
        return point_in_polygon(x, y, self.points)


def _polygon_area(points: Sequence[tuple[float, float]]) -> float:
    xs = np.array([p[0] for p in points], dtype=np.float64)
    ys = np.array([p[1] for p in points], dtype=np.float64)
    return float(abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2.0)


def _four_points(value: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(value) != 4:
        raise ValueError(f"needs exactly 4 points, got {len(value)}")
    for i in range(4):  # no three points on one line, or the homography is undefined
        (ax, ay), (bx, by), (cx, cy) = (value[(i + k) % 4] for k in range(3))
        cross = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(cross) < 1e-6 * max(1.0, *(abs(v) for v in (ax, ay, bx, by, cx, cy))) ** 2:
            raise ValueError("three of the 4 points are on one line")
    if _polygon_area(value) <= 0:
        raise ValueError("the 4 points enclose no area")
    return value


class FloorPlane(BaseModel):
    """Four image points (pixels) and where they are on the floor (metres), in the same order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image: list[tuple[float, float]] = Field(..., description="4 points [x, y] in the image, pixels")
    floor_m: list[tuple[float, float]] = Field(..., description="the same 4 points on the floor plane, metres")
    _matrix: npt.NDArray[np.float64] | None = PrivateAttr(default=None)

    @field_validator("image", "floor_m")
    @classmethod
    def _valid(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return _four_points(value)

    def matrix(self) -> npt.NDArray[np.float64]:
        """The 3×3 image → floor homography (computed once, with OpenCV)."""
        if self._matrix is None:
            import cv2

            src = np.asarray(self.image, dtype=np.float32)
            dst = np.asarray(self.floor_m, dtype=np.float32)
            self._matrix = np.asarray(cv2.getPerspectiveTransform(src, dst), dtype=np.float64)
        return self._matrix

    def to_floor(self, x: float, y: float) -> tuple[float, float]:
        """Image point (pixels) → floor point (metres)."""
        m = self.matrix()
        u, v, w = m @ np.array([x, y, 1.0])
        return (float(u / w), float(v / w))


class CameraZones(BaseModel):
    """The zones of one camera, and optionally its floor plane."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zones: list[Zone] = Field(default_factory=list, description="polygons in this camera's pixel coordinates")
    floor: FloorPlane | None = Field(
        None, description="image ↔ floor correspondences: interaction distances in metres (distance_m)"
    )
    registers: list[str] = Field(
        default_factory=list,
        description="the registers whose receipts this camera's checkout joins (empty: every register); give each "
        "camera its own when several cameras see a checkout, so a receipt counts once for the store",
    )

    def has(self, kind: ZoneKind) -> bool:
        return any(z.kind == kind for z in self.zones)

    def kind_at(self, x: float, y: float) -> str:
        """The kind of the first zone (by :data:`ZONE_KINDS` order) holding (x, y); '' if none."""
        for kind in ZONE_KINDS:
            if any(z.kind == kind and z.contains(x, y) for z in self.zones):
                return kind
        return ""

    def kind_of_box(self, x1: float, y1: float, x2: float, y2: float) -> str:
        return self.kind_at(*foot_point(x1, y1, x2, y2))


def draw_zones(image: npt.NDArray[np.uint8], zones: CameraZones) -> npt.NDArray[np.uint8]:
    """A copy of the RGB ``image`` with each zone filled translucently, outlined and labelled ``name (kind)``.

    Zones may overlap (a checkout inside the floor): each fill is blended over the ones before it, largest first,
    and every outline and label goes on top of all the fills, labels moved down where they would cover another."""
    from PIL import Image, ImageDraw

    out = Image.fromarray(np.ascontiguousarray(image)).convert("RGBA")
    width = max(1, round(min(out.size) / 240))
    by_area = sorted(zones.zones, key=lambda z: -_polygon_area(z.points))
    for zone in by_area:  # one layer per fill, so an inner zone's tint shows over the outer one's
        layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
        ImageDraw.Draw(layer).polygon([(float(x), float(y)) for x, y in zone.points], fill=(*_COLOURS[zone.kind], 70))
        out = Image.alpha_composite(out, layer)
    draw = ImageDraw.Draw(out)
    for zone in zones.zones:
        pts = [(float(x), float(y)) for x, y in zone.points]
        draw.polygon(pts, outline=(*_COLOURS[zone.kind], 255), width=width)
    taken: list[tuple[float, float, float, float]] = []
    for zone in zones.zones:
        text = f"{zone.name} ({zone.kind})"
        x, y = min(((float(px), float(py)) for px, py in zone.points), key=lambda p: (p[1], p[0]))
        x, y = max(0.0, min(x, out.size[0] - 1.0)), max(0.0, min(y, out.size[1] - 1.0))
        left, top, right, bottom = draw.textbbox((x + 2, y + 2), text)
        while any(left < b[2] and b[0] < right and top < b[3] and b[1] < bottom for b in taken):
            y += bottom - top + 2
            left, top, right, bottom = draw.textbbox((x + 2, y + 2), text)
        taken.append((left, top, right, bottom))
        draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), fill=(0, 0, 0, 160))
        draw.text((x + 2, y + 2), text, fill=(*_COLOURS[zone.kind], 255))
    return np.asarray(out.convert("RGB"), dtype=np.uint8)
