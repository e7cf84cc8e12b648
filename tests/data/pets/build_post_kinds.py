"""Build the labelled pets post set: src/sightings/solutions/pets/data/post_kinds_ru.csv (text, kind, split, group).

    python tests/data/pets/build_post_kinds.py          # rewrites the CSV (deterministic: fixed seed)
    python tests/data/pets/build_post_kinds.py --check  # exit 1 when the CSV differs from what this builds

Template posts (post_templates.py) in varied style (caps, typos, emoji, hashtags, phone formats) plus hand-written
hard cases (hand_posts.py). The held-out split (``split == "test"``, ~25 %) was fixed before any tuning: whole
template groups per kind, and a quarter of the hand-written posts, drawn with the seed.

The labelling rule (docs/pets-text.md): ``found`` = the poster reports an animal that was found, picked up or
seen loose — also when they seek it a new home rather than the owner ("нашли котёнка, ищем ему дом"), because the
owner may be searching; ``adoption`` = an animal offered for a home with no find reported (own litter, shelter,
rehoming); ``lost`` = the owner is searching; ``other`` = everything else: sales (also of puppies), services,
chatter, "нашёлся, спасибо" updates, lost keys/documents.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hand_posts import HAND_POSTS
from post_templates import ADOPTION, EMOJI, FOUND, HASHTAGS, LOST, OTHER, PLACES, Kit, pick_animal

SEED = 20260301
PER_GROUP = {"lost": 8, "found": 7, "adoption": 7, "other": 5}
TEST_SHARE = 0.25
OUT = Path(__file__).resolve().parents[3] / "src" / "sightings" / "solutions" / "pets" / "data" / "post_kinds_ru.csv"


def _typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    i = rng.randrange(len(words))
    w = words[i]
    if len(w) > 4:
        j = rng.randrange(1, len(w) - 2)
        w = rng.choice([w[:j] + w[j + 1 :], w[:j] + w[j + 1] + w[j] + w[j + 2 :]])
    words[i] = w
    return " ".join(words)


def _style(rng: random.Random, lines: list[str], kind: str) -> str:
    """One post's surface: joins, case, typos, emoji, hashtags."""
    if rng.random() < 0.3:
        lines = [lines[0], *rng.sample(lines[1:], k=len(lines) - 1)] if len(lines) > 2 else lines
    if rng.random() < 0.25:
        lines = lines[: max(1, len(lines) - rng.randint(1, 2))]  # short posts
    sep = rng.choice(["\n", "\n", ". ", " ", "\n\n"])
    text = sep.join(line.strip() for line in lines if line.strip())
    roll = rng.random()
    if roll < 0.12:
        text = text.lower()
    elif roll < 0.2:
        text = text.upper()
    if rng.random() < 0.35:
        text = _typo(rng, text)
    if rng.random() < 0.3:
        text = text.replace("ё", "е").replace("Ё", "Е")
    if rng.random() < 0.45:
        em = "".join(rng.choices(EMOJI[kind], k=rng.randint(1, 3)))
        text = f"{em} {text}" if rng.random() < 0.5 else f"{text} {em}"
    if rng.random() < 0.35:
        text += "\n" + " ".join(rng.sample(HASHTAGS[kind], k=rng.randint(1, 3)))
    return text


def build() -> list[tuple[str, str, str, str]]:
    rng = random.Random(SEED)
    rows: list[tuple[str, str, str, str]] = []
    seen: set[str] = set()
    for kind, templates in (("lost", LOST), ("found", FOUND), ("adoption", ADOPTION), ("other", OTHER)):
        groups = sorted(templates)
        order = groups[:]
        rng.shuffle(order)
        test_groups = set(order[: round(len(groups) * TEST_SHARE)])
        for group in groups:
            for _ in range(PER_GROUP[kind]):
                kit = Kit(rng, pick_animal(rng, litters=kind == "adoption"), rng.choice(PLACES))
                text = _style(rng, templates[group](kit), kind)
                if text in seen:
                    continue
                seen.add(text)
                rows.append((text, kind, "test" if group in test_groups else "train", group))
    hand = list(enumerate(HAND_POSTS))
    test_ids = {i for i, _ in rng.sample(hand, k=round(len(hand) * TEST_SHARE))}
    for i, (text, kind) in hand:
        if text not in seen:
            seen.add(text)
            rows.append((text, kind, "test" if i in test_ids else "train", f"H{i:03d}"))
    return rows


def to_csv(rows: list[tuple[str, str, str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["text", "kind", "split", "group"])
    writer.writerows(rows)
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed CSV instead of writing")
    args = parser.parse_args()
    text = to_csv(build())
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs from what build_post_kinds.py builds")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({text.count(chr(10)) - 1} lines incl. multi-line posts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
