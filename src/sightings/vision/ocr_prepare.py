"""Getting a photo of text ready for OCR: grey, text lines levelled (deskew), optionally flattened or binarised.

    prepared = prepare_for_ocr(bgr_photo, bgr=True)       # grey, skew undone
    angle = estimate_skew_deg(grey)                       # degrees, counter-clockwise positive

Skew is estimated from the letter-sized blobs of the ink mask (photo boxes and sheet edges left out) by a
projection profile — the angle within ±12° that makes the row sums peakiest, 1° steps then 0.1° around the best —
and undone with a rotation. Measured on rendered Cyrillic posters (docs/pets-text.md) and on the rotated document
page of ``ocr_opencv`` (benchmarks/bench_ocr.py): character accuracy 0.000 → 0.994 on the rotated page. Binarisation
(adaptive threshold) and background flattening are options, off by default: both measured worse on the posters.
Used by the pets poster reader and by :class:`~sightings.vision.ocr.TesseractOcr` with ``deskew=True``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError

__all__ = ["estimate_skew_deg", "flatten_background", "prepare_for_ocr", "to_grey"]

MAX_SKEW_DEG = 12.0
BLOCK, OFFSET = 31, 15  # adaptive threshold: neighbourhood (px) and offset below its Gaussian mean


def _check(image: object) -> npt.NDArray[np.uint8]:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise InputError("expected a non-empty uint8 image array (BGR)", where="ocr.image")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return image
    if image.ndim == 2:
        return image
    raise InputError(f"expected H×W, H×W×3 (BGR) or H×W×4, got shape {image.shape}", where="ocr.image")


def to_grey(image: npt.NDArray[np.uint8], *, bgr: bool = False) -> npt.NDArray[np.uint8]:
    """Grey version of an RGB(A) — or, with ``bgr``, BGR(A) — image; a grey image as is."""
    import cv2

    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        code = cv2.COLOR_BGRA2GRAY if bgr else cv2.COLOR_RGBA2GRAY
    else:
        code = cv2.COLOR_BGR2GRAY if bgr else cv2.COLOR_RGB2GRAY
    return np.asarray(cv2.cvtColor(image, code), dtype=np.uint8)


def flatten_background(grey: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Grey divided by its own heavy median blur: even light, paper near white, ink kept."""
    import cv2

    k = max(31, (min(grey.shape) // 12) | 1)
    small = cv2.resize(grey, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    back = cv2.medianBlur(small, max(3, (k // 4) | 1))
    back = cv2.resize(back, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    flat = grey.astype(np.float32) / np.maximum(back.astype(np.float32), 1.0) * 255.0
    return np.clip(flat, 0, 255).astype(np.uint8)


def _profile_score(mask: npt.NDArray[np.uint8], angle: float) -> float:
    import cv2

    h, w = mask.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    turned = cv2.warpAffine(mask, rot, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    rows = turned.sum(axis=1, dtype=np.float64)
    return float(np.var(np.diff(rows)))


def _glyphs(mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Only the letter-sized blobs of an ink mask: photo boxes, sheet edges and shadows would steer the angle."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h, w = mask.shape
    bw, bh, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    keep = (bh >= 3) & (bh <= 0.08 * h) & (bw <= 0.15 * w) & (area >= 6) & (area <= 0.6 * bw * bh + 1)
    keep[0] = False  # the background label
    return np.asarray(keep[labels], dtype=np.uint8) if count > 1 else mask


def estimate_skew_deg(grey: npt.NDArray[np.uint8]) -> float:
    """The angle (degrees, counter-clockwise positive as in cv2.getRotationMatrix2D) that levels the text lines."""
    import cv2

    scale = 600.0 / max(grey.shape)
    small = grey if scale >= 1 else np.asarray(cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    flat = flatten_background(np.asarray(small, dtype=np.uint8))
    _, binary = cv2.threshold(flat, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    mask = _glyphs(np.asarray(binary, dtype=np.uint8))
    if mask.sum() < 50:
        return 0.0
    coarse = [float(a) for a in np.arange(-MAX_SKEW_DEG, MAX_SKEW_DEG + 0.5, 1.0)]
    best = max(coarse, key=lambda a: _profile_score(mask, a))
    fine = [float(a) for a in np.arange(best - 1.0, best + 1.05, 0.1)]
    angle: float = max(fine, key=lambda a: _profile_score(mask, a))
    return round(angle, 2)


def prepare_for_ocr(
    image: npt.NDArray[np.uint8],
    *,
    bgr: bool = False,
    deskew: bool = True,
    binarise: bool = False,
    flatten: bool = False,
) -> npt.NDArray[np.uint8]:
    """The image Tesseract reads: grey, text lines levelled (optionally background-flattened, binarised).

    ``image`` is RGB(A), BGR(A) with ``bgr=True``, or grey. Boxes read from the result are in its (levelled)
    coordinates."""
    import cv2

    grey = to_grey(_check(image), bgr=bgr)
    out = flatten_background(grey) if flatten else grey
    if deskew:
        angle = estimate_skew_deg(grey)
        if abs(angle) >= 0.3:
            h, w = out.shape
            rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
            out = np.asarray(
                cv2.warpAffine(out, rot, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE), np.uint8
            )
    if binarise:
        out = np.asarray(
            cv2.adaptiveThreshold(out, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, BLOCK, OFFSET), np.uint8
        )
    return np.ascontiguousarray(out, dtype=np.uint8)
