"""Text-recognition accuracy: character accuracy from the Levenshtein distance (OCR benchmarks and tests).

char_accuracy("Пропал кот", "Пропал  кот\n")   # 1.0: whitespace runs and blank lines do not count
"""

from __future__ import annotations

import re

__all__ = ["char_accuracy", "levenshtein", "normalise_text"]


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character each)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def normalise_text(text: str, *, lower: bool = False) -> str:
    """Lines with runs of whitespace collapsed, blank lines dropped (optionally lower-cased)."""
    if lower:
        text = text.lower()
    return "\n".join(re.sub(r"\s+", " ", ln).strip() for ln in text.splitlines() if ln.strip())


def char_accuracy(predicted: str, truth: str, *, lower: bool = False) -> float:
    """``1 − Levenshtein(predicted, truth) / len(truth)`` on normalised text, floored at 0."""
    t = normalise_text(truth, lower=lower)
    return max(0.0, 1.0 - levenshtein(normalise_text(predicted, lower=lower), t) / max(1, len(t)))
