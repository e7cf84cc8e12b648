"""Generated re-ID datasets for tests: one sub-folder of small images per identity (no data from outside)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def identity_image(identity: int, shot: int, size: int = 32) -> np.ndarray:
    """An RGB image of individual ``identity``: its own colour layout, plus a little per-shot noise."""
    rng = np.random.default_rng(identity)
    layout = rng.integers(0, 256, (4, 4, 3)).astype(np.float32)
    img = np.kron(layout, np.ones((size // 4, size // 4, 1), np.float32))
    noise = np.random.default_rng([identity, shot]).normal(0, 12, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def make_reid_folder(root: Path, identities: int = 8, per_identity: int = 4, singletons: int = 0) -> Path:
    """``root/<id_k>/<shot>.png`` for ``identities`` individuals, plus ``singletons`` with one image each."""
    from PIL import Image

    counts = [per_identity] * identities + [1] * singletons
    for k, count in enumerate(counts):
        folder = root / f"id_{k:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for shot in range(count):
            Image.fromarray(identity_image(k, shot)).save(folder / f"{shot}.png")
    return root


def write_labels_csv(root: Path, name: str = "labels.csv", *, split: bool = True) -> Path:
    """A CSV (image,identity[,split]) over a folder made by :func:`make_reid_folder`; even ids are 'train'."""
    lines = ["image,identity,split" if split else "image,identity"]
    for path in sorted(root.glob("*/*.png")):
        ident = path.parent.name
        row = f"{path.relative_to(root).as_posix()},{ident}"
        lines.append(f"{row},{'train' if int(ident[3:]) % 2 == 0 else 'val'}" if split else row)
    target = root / name
    target.write_text("\n".join(lines) + "\n")
    return target
