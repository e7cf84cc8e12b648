"""The kind of a pets post: keyword rules where they are certain, a small scikit-learn model otherwise.

    model = fit()                       # the packaged labelled set's train split; deterministic, well under 1 s
    model.classify("Нашли котёнка")     -> Extracted("found", confidence, "text", span)
    classify_kind(text)                 # the same with the default model, trained at first use and cached

The model is TF-IDF over character 2–5-grams (within words) + multinomial logistic regression, on text lowered,
"ё"→"е", digits → "0". The confidence of a model answer is its probability; that of a rule answer is the rules'
precision on the training split for that kind (add-one smoothed, at most 0.97). Empty or emoji-only text is
"other" at confidence 0.05.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.solutions.pets.text.facts import KINDS, Extracted
from sightings.solutions.pets.text.kind_rules import normalise_text, rule_decision

__all__ = ["DEFAULT_CSV", "KindModel", "LabelledPost", "classify_kind", "default_model", "fit", "load_posts"]

DEFAULT_CSV = "post_kinds_ru.csv"
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
EMPTY_CONFIDENCE = 0.05
MAX_RULE_CONFIDENCE = 0.97


@dataclass(frozen=True, slots=True)
class LabelledPost:
    text: str
    kind: str
    split: str  # "train" | "test"
    group: str  # the template group (or "H<n>" for a hand-written post)


def load_posts(path: str | PathLike[str] | None = None) -> list[LabelledPost]:
    """The labelled set (columns text, kind, split[, group]); the packaged one when ``path`` is None."""
    if path is None:
        ref = resources.files("sightings.solutions.pets") / "data" / DEFAULT_CSV
        content, where = ref.read_text(encoding="utf-8"), f"sightings/solutions/pets/data/{DEFAULT_CSV}"
    else:
        file = Path(path)
        if not file.is_file():
            raise NotFoundError("labelled post file does not exist", where=file)
        content, where = file.read_text(encoding="utf-8"), str(file)
    reader = csv.DictReader(content.splitlines(keepends=True))
    missing = {"text", "kind"} - set(reader.fieldnames or ())
    if missing:
        raise InputError(f"missing column(s) {sorted(missing)}", where=where)
    posts = []
    for i, row in enumerate(reader, start=2):
        if row["kind"] not in KINDS:
            raise InputError(f"row {i}: kind must be one of {KINDS}, got {row['kind']!r}", where=where)
        split = row.get("split") or "train"
        posts.append(LabelledPost(row["text"], row["kind"], split, row.get("group") or f"row{i}"))
    return posts


def model_text(text: str) -> str:
    """What the model reads: lower case, "ё"→"е", one space between words, every digit as "0"."""
    return _DIGIT.sub("0", normalise_text(text))


def has_words(text: str) -> bool:
    return _LETTER.search(text) is not None


@dataclass(frozen=True, slots=True)
class KindModel:
    """A fitted text model plus the rules' per-kind precision on its training posts."""

    pipeline: Any  # sklearn Pipeline(TfidfVectorizer, LogisticRegression)
    rule_confidence: dict[str, float]

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """The model's probability of every kind, per text (the rules play no part)."""
        proba = self.pipeline.predict_proba([model_text(t) for t in texts])
        classes = [str(c) for c in self.pipeline.classes_]
        return [{k: float(p[classes.index(k)]) if k in classes else 0.0 for k in KINDS} for p in proba]

    def model_only(self, text: str) -> Extracted[str]:
        probs = self.probabilities([text])[0]
        kind = max(KINDS, key=lambda k: probs[k])
        return Extracted(kind, round(probs[kind], 4), "text", "")

    def classify(self, text: str, *, source: str = "text") -> Extracted[str]:
        """Rules where they are certain, else the model; empty/emoji-only text is "other" at low confidence."""
        if not isinstance(text, str):
            raise InputError(f"expected text, got {type(text).__name__}", where="post.text")
        if not has_words(text):
            return Extracted("other", EMPTY_CONFIDENCE, source, "")
        rules = rule_decision(text)
        if rules.certain and rules.kind is not None:
            return Extracted(rules.kind, self.rule_confidence[rules.kind], source, rules.span)
        probs = self.probabilities([text])[0]
        kind = max(KINDS, key=lambda k: probs[k])
        cues = rules.strong.get(kind, []) or rules.weak.get(kind, [])
        return Extracted(kind, round(probs[kind], 4), source, cues[0] if cues else "")


def rules_only(text: str) -> str:
    """The rules' answer alone (a baseline): the best-voted kind, "other" when no cue fires."""
    return rule_decision(text).kind or "other"


def fit(
    csv_path: str | PathLike[str] | None = None,
    *,
    posts: Sequence[LabelledPost] | None = None,
    split: str = "train",
    c: float = 3.0,
) -> KindModel:
    """Train on the ``split`` posts of the labelled set (the packaged one by default); deterministic."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    chosen = [p for p in (posts if posts is not None else load_posts(csv_path)) if p.split == split]
    if len({p.kind for p in chosen}) < 2:
        raise ConfigError(f"the {split!r} split needs posts of at least two kinds", where="pets.kind_model")
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
            ("logreg", LogisticRegression(C=c, max_iter=2000, solver="newton-cg")),
        ]
    )
    pipeline.fit([model_text(p.text) for p in chosen], [p.kind for p in chosen])
    hits = {k: [0, 0] for k in KINDS}  # kind -> [right, decided]
    for post in chosen:
        rules = rule_decision(post.text)
        if rules.certain and rules.kind is not None:
            hits[rules.kind][1] += 1
            hits[rules.kind][0] += rules.kind == post.kind
    confidence = {k: round(min(MAX_RULE_CONFIDENCE, (right + 1) / (n + 2)), 4) for k, (right, n) in hits.items()}
    return KindModel(pipeline, confidence)


@cache
def default_model() -> KindModel:
    """The model trained on the packaged set's train split, built once per process."""
    return fit()


def classify_kind(text: str) -> Extracted[str]:
    """ "lost" | "found" | "adoption" | "other" with a confidence (see the module docstring)."""
    return default_model().classify(text)
