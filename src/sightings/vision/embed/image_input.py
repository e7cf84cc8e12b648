"""Checks shared by the embedders: an image given to them must be a uint8 (H, W) or (H, W, 1|3|4) NumPy array."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError

__all__ = ["check_image", "to_rgb"]


def check_image(image: Any, where: str) -> npt.NDArray[np.uint8]:
    """``image`` if it is a non-empty uint8 (H, W) or (H, W, 1|3|4) array, else :class:`InputError` naming ``where``."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"expected a NumPy image array, got {type(image).__name__}", where=where)
    if image.dtype != np.uint8:
        raise InputError(f"expected a uint8 image, got dtype {image.dtype}", where=where)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise InputError(f"expected shape (H, W) or (H, W, 1|3|4), got {image.shape}", where=where)
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"empty image, shape {image.shape}", where=where)
    return image


def to_rgb(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A checked image as (H, W, 3) RGB: grey is repeated, alpha is dropped."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])
