"""Cheap whole-image quality measures shared by the solutions.

laplacian_variance(grey)   focus measure: variance of the 3×3 Laplacian (Pech-Pacheco et al. 2000)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError

__all__ = ["laplacian_variance"]


def laplacian_variance(grey: npt.NDArray[Any]) -> float:
    """Variance of the Laplacian (OpenCV's 3×3 aperture, reflected borders) of a grey ``uint8`` image.

    The Laplacian of ``uint8`` pixels is an integer in [-1020, 1020], so it is computed exactly in ``int16`` and its
    variance by ``cv2.meanStdDev`` in double precision: the same number as ``cv2.Laplacian(grey, CV_64F).var()``
    (to the last bits) at a twentieth of the time (0.1 vs 2.1 ms on a 640-px photo).
    """
    import cv2

    if not isinstance(grey, np.ndarray) or grey.dtype != np.uint8 or grey.ndim != 2:
        raise InputError("expected a grey uint8 (H, W) array", where="laplacian_variance")
    _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_16S))
    return float(std[0, 0]) ** 2
