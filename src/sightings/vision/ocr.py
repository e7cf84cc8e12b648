"""OCR with the Tesseract binary (Debian ``tesseract-ocr`` + ``-rus``/``-eng``), called as a subprocess.

    ocr = OCR_ENGINES.create("tesseract")                # or TesseractOcr(psm=11, per_region=True)
    lines = ocr.read(rgb_image, languages=("rus", "eng"))   -> list[TextLine(text, box, score, language)]

One pass with all languages (``rus+eng``) finds the lines and their boxes (TSV output grouped by block/paragraph/
line). With several languages and ``per_region`` (default), each line is then read again alone (``--psm 7``) in
each language and the reading with the best mean word confidence wins, because a combined model mangles mixed
text ("6pm" read as Cyrillic). ``score`` is the mean word confidence in [0, 1]. No Python package is needed: the
image goes to ``tesseract stdin stdout`` as PNG. A missing binary or language is a BackendUnavailableError with
the install hint (``sudo make system-deps``).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendError, BackendUnavailableError, ConfigError, InputError
from sightings.core.protocols import TextLine
from sightings.core.types import Box

__all__ = ["TesseractOcr", "tesseract_languages"]

HINT = "sudo apt-get install tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng (or: sudo make system-deps)"


def _binary(path: str | None) -> str:
    found = path or shutil.which("tesseract")
    if not found:
        raise BackendUnavailableError("the tesseract binary is not installed", where="ocr.tesseract", hint=HINT)
    return found


def tesseract_languages(binary: str | None = None) -> list[str]:
    """Languages the installed Tesseract can read (``eng``, ``rus``, …)."""
    out = subprocess.run([_binary(binary), "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
    return [ln.strip() for ln in out.stdout.splitlines()[1:] if ln.strip()]


@dataclass(frozen=True, slots=True)
class _Word:
    key: tuple[int, int, int]
    text: str
    conf: float
    box: tuple[int, int, int, int]


def _png(image: npt.NDArray[np.uint8]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class TesseractOcr:
    """:class:`~sightings.core.protocols.OcrEngine` backed by the Tesseract command-line program."""

    def __init__(
        self,
        *,
        psm: int = 3,
        per_region: bool = True,
        min_confidence: float = 0.3,
        timeout_s: float = 60.0,
        binary: str | None = None,
        deskew: bool = False,
    ) -> None:
        if not 0 <= psm <= 13:
            raise ConfigError(f"must be a Tesseract page segmentation mode 0..13, got {psm}", where="ocr.psm")
        self.psm = psm
        self.per_region = per_region
        self.min_confidence = min_confidence
        self.timeout_s = timeout_s
        self.deskew = deskew
        self.binary = _binary(binary)
        self._known = set(tesseract_languages(self.binary))

    def _check_languages(self, languages: Sequence[str]) -> list[str]:
        langs = [lang for lang in languages if lang]
        if not langs:
            raise InputError("give at least one language", where="ocr.languages")
        missing = [lang for lang in langs if lang not in self._known]
        if missing:
            raise BackendUnavailableError(
                f"Tesseract has no data for {missing} (installed: {', '.join(sorted(self._known)) or 'none'})",
                where="ocr.languages",
                hint=HINT,
            )
        return langs

    def _tsv(self, png: bytes, lang: str, psm: int) -> list[_Word]:
        cmd = [self.binary, "stdin", "stdout", "-l", lang, "--psm", str(psm), "tsv"]
        try:
            out = subprocess.run(cmd, input=png, capture_output=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise BackendError(f"tesseract took over {self.timeout_s:.0f} s", where="ocr.tesseract") from None
        if out.returncode != 0:
            msg = out.stderr.decode("utf-8", "replace").strip().splitlines()
            raise BackendError(f"tesseract failed: {msg[-1] if msg else out.returncode}", where="ocr.tesseract")
        words: list[_Word] = []
        for row in out.stdout.decode("utf-8", "replace").splitlines()[1:]:
            cols = row.split("\t")
            if len(cols) < 12 or cols[0] != "5":
                continue
            text = cols[11].strip()
            conf = float(cols[10])
            if not text or conf < 0:
                continue
            left, top, width, height = (int(c) for c in cols[6:10])
            words.append(
                _Word((int(cols[2]), int(cols[3]), int(cols[4])), text, conf / 100.0, (left, top, width, height))
            )
        return words

    def _lines(self, words: list[_Word], lang: str) -> list[TextLine]:
        grouped: dict[tuple[int, int, int], list[_Word]] = {}
        for word in words:
            grouped.setdefault(word.key, []).append(word)
        lines = []
        for group in grouped.values():
            x1 = min(w.box[0] for w in group)
            y1 = min(w.box[1] for w in group)
            x2 = max(w.box[0] + w.box[2] for w in group)
            y2 = max(w.box[1] + w.box[3] for w in group)
            score = float(np.mean([w.conf for w in group]))
            lines.append(TextLine(" ".join(w.text for w in group), Box(x1, y1, x2, y2), score, lang))
        lines.sort(key=lambda ln: (ln.box.y1, ln.box.x1))
        return lines

    def read(self, image: npt.NDArray[np.uint8], languages: Sequence[str] = ("eng",)) -> list[TextLine]:
        """Text lines of an RGB (or grey) uint8 image, top to bottom."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
            raise InputError("expected a non-empty uint8 image array", where="ocr.image")
        langs = self._check_languages(languages)
        if self.deskew:  # photos of pages and posters: level the text lines first (boxes are then in that frame)
            from sightings.vision.ocr_prepare import prepare_for_ocr

            image = prepare_for_ocr(image, deskew=True)
        lines = self._lines(self._tsv(_png(image), "+".join(langs), self.psm), "+".join(langs))
        if self.per_region and len(langs) > 1:
            lines = [self._best_language(image, line, langs) for line in lines]
        return [ln for ln in lines if ln.score >= self.min_confidence]

    def _best_language(self, image: npt.NDArray[np.uint8], line: TextLine, langs: list[str]) -> TextLine:
        pad = max(4, int(line.box.height * 0.3))
        h, w = image.shape[:2]
        box = Box(line.box.x1 - pad, line.box.y1 - pad, line.box.x2 + pad, line.box.y2 + pad).clip(w, h)
        crop = np.ascontiguousarray(image[int(box.y1) : int(box.y2), int(box.x1) : int(box.x2)])
        if crop.size == 0:
            return line
        png = _png(crop)
        best = line
        for lang in langs:
            words = self._tsv(png, lang, 7)
            if not words:
                continue
            score = float(np.mean([wd.conf for wd in words]))
            if score > best.score:
                best = TextLine(" ".join(wd.text for wd in words), line.box, score, lang)
        return best
