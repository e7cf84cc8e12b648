"""The shared focus measure (variance of the Laplacian)."""

from __future__ import annotations

import numpy as np
import pytest

from sightings.core.errors import InputError
from sightings.vision.image_quality import laplacian_variance

cv2 = pytest.importorskip("cv2")


@pytest.mark.parametrize("shape", [(480, 640), (7, 5), (1, 1)])
def test_laplacian_variance_is_opencvs_double_precision_variance(shape: tuple[int, int]) -> None:
    grey = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    grey[0, 0], grey[-1, -1] = 0, 255  # the extremes: the int16 Laplacian must not overflow
    assert laplacian_variance(grey) == pytest.approx(float(cv2.Laplacian(grey, cv2.CV_64F).var()), rel=1e-12)


def test_flat_and_sharp_images() -> None:
    assert laplacian_variance(np.full((32, 32), 77, np.uint8)) == 0.0
    checker = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)
    assert laplacian_variance(checker) > 1e5


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 3), np.uint8), [[1, 2], [3, 4]]])
def test_refuses_what_is_not_a_grey_uint8_image(bad: object) -> None:
    with pytest.raises(InputError, match="grey uint8"):
        laplacian_variance(bad)  # type: ignore[arg-type]
