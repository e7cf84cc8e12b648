"""Is this post a copy of one we have? Reposts, the same photo, the same text with small edits.

    index = DuplicateIndex()                         # filled from the store once, then kept up to date
    index.add("p1", kind="lost", phashes=["c3a1..."], signature=text_signature("Пропал кот, Рыжик ..."))
    index.same_photo(["c3a1..."], max_bits=6, kind="lost")        # → "p1"
    index.same_photo(["c3a1..."], max_bits=6, kind="found")       # → None: a found post showing a lost pet is a match
    index.same_text(text_signature("пропал кот рыжик!!! ..."), min_similarity=0.8, kind="lost")   # → "p1"

Photos are compared by perceptual hash (:mod:`sightings.media.hashing`, pHash 64 bits, Hamming distance).
Texts are normalised (lower case, ``ё`` → ``е``, links, emoji and punctuation dropped), cut into word 3-shingles
and summarised by a 128-number MinHash signature: the share of equal numbers estimates the shingle Jaccard
similarity (± ~0.04 at 0.8). The signature is kept in privacy mode (it is not the text). Reposts (VK
``copy_history``) are recognised by the original's source id, in the service.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError

__all__ = [
    "SIGNATURE_SIZE",
    "DuplicateIndex",
    "normalise_text",
    "signature_similarity",
    "text_shingles",
    "text_signature",
]

SIGNATURE_SIZE = 128
SHINGLE_WORDS = 3
_PRIME = np.uint64(4_294_967_311)  # the first prime above 2**32: (a·h mod p) stays inside uint64
_rng = np.random.default_rng(20250110)
_A = _rng.integers(1, 2**32 - 1, SIGNATURE_SIZE, dtype=np.uint64)
_B = _rng.integers(0, 2**32 - 1, SIGNATURE_SIZE, dtype=np.uint64)
_URL = re.compile(r"(https?://|www\.)\S+|\b(vk\.com|t\.me)/\S+", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w]+|_", re.UNICODE)


def normalise_text(text: str) -> str:
    """Lower case, ``ё`` → ``е``, no links, emoji or punctuation, single spaces."""
    text = _URL.sub(" ", text.lower().replace("ё", "е"))
    return " ".join(_NOT_WORD.sub(" ", text).split())


def text_shingles(text: str, size: int = SHINGLE_WORDS) -> set[int]:
    """32-bit hashes of the word ``size``-shingles of the normalised text (single words for shorter texts)."""
    words = normalise_text(text).split()
    if not words:
        return set()
    grams = [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)] if len(words) >= size else [*words]
    return {int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little") for g in grams}


def text_signature(text: str, *, min_words: int = 6) -> list[int] | None:
    """The MinHash signature of ``text`` (``None`` for texts under ``min_words`` words: too short to compare)."""
    if len(normalise_text(text).split()) < min_words:
        return None
    hashes = np.fromiter(text_shingles(text), np.uint64)
    mixed = ((_A[:, None] * hashes[None, :]) % _PRIME + _B[:, None]) % _PRIME
    return [int(v) for v in mixed.min(axis=1)]


def signature_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two texts from their signatures (share of equal numbers)."""
    if len(a) != len(b) or not a:
        raise InputError(f"signatures of {len(a)} and {len(b)} numbers", where="text signature")
    return float(np.mean(np.asarray(a, np.uint64) == np.asarray(b, np.uint64)))


def _phash_words(hex_hash: str) -> npt.NDArray[np.uint64]:
    """A hex pHash → packed ``uint64`` words (as :func:`sightings.media.hashing.pack_hash` packs them)."""
    raw = bytes.fromhex(hex_hash)
    padded = raw + b"\x00" * (-len(raw) % 8)
    return np.frombuffer(padded, np.uint8).copy().view(np.uint64)


class DuplicateIndex:
    """Photo hashes and text signatures of the posts kept (not duplicates), in memory, for fast checks.

    Thread-safe. Filled from the store on first use (``PetsService``); a post added by another process is seen
    after the next reload — the database's unique (source, source_id) still keeps exact re-deliveries single.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._photo_posts: list[str] = []
        self._photo_codes: list[npt.NDArray[np.uint64]] = []
        self._text_posts: list[str] = []
        self._text_sigs: list[npt.NDArray[np.uint64]] = []
        self._kinds: dict[str, str | None] = {}

    def __len__(self) -> int:
        return len(set(self._photo_posts) | set(self._text_posts))

    def add(
        self,
        post_id: str,
        *,
        kind: str | None = None,
        phashes: Iterable[str] = (),
        signature: Sequence[int] | None = None,
    ) -> None:
        """Index a kept post; ``kind`` (lost, found, ...) limits the copies found for it to posts of its kind."""
        with self._lock:
            self._kinds[post_id] = kind
            for h in phashes:
                self._photo_posts.append(post_id)
                self._photo_codes.append(_phash_words(h))
            if signature:
                self._text_posts.append(post_id)
                self._text_sigs.append(np.asarray(signature, np.uint64))

    def _of_kind(
        self, posts: Sequence[str], rows: Sequence[npt.NDArray[np.uint64]], kind: str | None
    ) -> tuple[list[str], npt.NDArray[np.uint64]] | None:
        """The posts of ``kind`` (all, when ``None``) and their rows stacked, or ``None`` when there are none;
        the caller holds the lock."""
        picked = [i for i, p in enumerate(posts) if kind is None or self._kinds.get(p) == kind]
        if not picked:
            return None
        return [posts[i] for i in picked], np.stack([rows[i] for i in picked])

    def same_photo(self, phashes: Sequence[str], *, max_bits: int, kind: str | None = None) -> str | None:
        """The kept post (of ``kind``, when given) with a photo within ``max_bits`` of one of ``phashes`` (the
        closest), or ``None``."""
        from sightings.media.hashing import hamming_distances

        with self._lock:
            picked = self._of_kind(self._photo_posts, self._photo_codes, kind) if phashes else None
        if picked is None:
            return None
        posts, codes = picked
        best: tuple[int, str] | None = None
        for h in phashes:
            query = _phash_words(h)
            if query.shape[0] != codes.shape[1]:
                continue
            dist = hamming_distances(codes, query)
            i = int(np.argmin(dist))
            if dist[i] <= max_bits and (best is None or dist[i] < best[0]):
                best = (int(dist[i]), posts[i])
        return None if best is None else best[1]

    def same_text(
        self, signature: Sequence[int] | None, *, min_similarity: float, kind: str | None = None
    ) -> str | None:
        """The kept post (of ``kind``, when given) whose text is most alike (at least ``min_similarity``), or
        ``None``."""
        with self._lock:
            picked = self._of_kind(self._text_posts, self._text_sigs, kind) if signature else None
        if picked is None:
            return None
        posts, sigs = picked
        similarity = (sigs == np.asarray(signature, np.uint64)[None, :]).mean(axis=1)
        i = int(np.argmax(similarity))
        return posts[i] if similarity[i] >= min_similarity else None
