"""Text of a poster photo: grey, deskewed, then the project's Tesseract engine (rus + eng).

    text = read_poster(bgr_image)          # "" when no text is found

Levelling the text lines is the engine's (:mod:`sightings.vision.ocr_prepare`). On the tuning posters (seed 7,
12 posters) deskew took character accuracy from 0.66 to 1.00. Binarisation did not help: an adaptive threshold
(``binarise=True``) averaged 0.92 because Tesseract's page layout took one outlined sheet for a picture and read
nothing; Otsu 0.995; flattening the background by a median blur (``flatten=True``) 0.92 (it eats the big headline
strokes). Both stay available, off by default.
The engine is ``OCR_ENGINES.create("tesseract")`` (sightings.vision.ocr): lines found with ``rus+eng``, each line
then read in each language and the best kept (per-region languages).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.vision.ocr_prepare import estimate_skew_deg, prepare_for_ocr

__all__ = ["estimate_skew_deg", "prepare_poster", "read_poster"]

LANGUAGES = ("rus", "eng")


def prepare_poster(
    image: npt.NDArray[np.uint8], *, deskew: bool = True, binarise: bool = False, flatten: bool = False
) -> npt.NDArray[np.uint8]:
    """The image Tesseract reads from a BGR poster photo (see :func:`sightings.vision.ocr_prepare.prepare_for_ocr`)."""
    return prepare_for_ocr(image, bgr=True, deskew=deskew, binarise=binarise, flatten=flatten)


@cache
def _engine(psm: int) -> Any:
    from sightings.core.registry import OCR_ENGINES

    return OCR_ENGINES.create("tesseract", psm=psm)


def read_poster(
    image: npt.NDArray[np.uint8], *, deskew: bool = True, binarise: bool = False, flatten: bool = False, psm: int = 3
) -> str:
    """OCR text of a BGR uint8 poster photo (rus + eng), one line per text line; "" when none is found."""
    prepared = prepare_poster(image, deskew=deskew, binarise=binarise, flatten=flatten)
    lines = _engine(psm).read(prepared, LANGUAGES)
    return "\n".join(line.text for line in lines if line.text.strip())
