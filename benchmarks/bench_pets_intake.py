"""End-to-end intake speed: VK posts from a fake VK API through the real engine API, side by side with the engine
alone (``PetsService.add_post`` in-process: no VK, no HTTP, photos already in memory).

    python benchmarks/bench_pets_intake.py [--posts 200] [--seed 0] [--config fast|defaults|both]

Each post has 1–3 generated 640×480 JPEG photos (a blocky "animal" on a smooth background) and a realistic Russian
text. The VK path is what `sightings pets vk-pull` does: ``wall.get`` pages of 100 (at VK's 3 requests/s), the largest
size of every photo downloaded, ``POST /v1/pets/posts`` to the engine served by uvicorn on 127.0.0.1 (privacy mode for
VK, as by default), the resume point written after every post. Both paths use the same engine configuration on an
empty data dir with one warm-up post. Everything runs on this machine (fake VK, engine, intake).

Configurations: ``fast`` — no detector (photos used whole), no OCR, text understanding on, LanceDB; ``defaults`` —
the SSD cat/dog detector and OCR of photos without an animal (the generated photos hold no real cat or dog, so
every photo goes to tesseract: the slow path; real pet photos skip OCR).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

TEXTS = (
    "Пропал кот {name}, {colour}. Район {place}, вчера вечером. Звоните +7 916 123-45-{k:02d}, вознаграждение!",
    "Найдена собака у метро {place}, {colour}, ошейник без адреса. Ищем хозяина, телефон 8 (903) 555-{k:02d}-10",
    "Котята ищут дом! {k} малышей, {colour}, к лотку приучены, {place}. Пишите в личку, зовут {name}",
    "Потерялась кошка {name}, {colour}, пугливая. {place}, не выходила из дома. 8-921-000-{k:02d}-77",
    "Нашли кошку во дворе на улице {place}, {colour}, сидит у подъезда. Откликается на {name}? Чья?",
)
NAMES = ("Рыжик", "Барсик", "Муся", "Дуся", "Шарик", "Тузик", "Бусинка", "Снежок", "Персик", "Джек", "Лада", "Граф")
COLOURS = ("рыжий с белым", "серый полосатый", "чёрный", "трёхцветная", "белый с пятнами", "палевый", "тигровый")
PLACES = ("Выхино", "Кузьминки", "Люблино", "Марьино", "Текстильщики", "Жулебино", "Некрасовка", "Капотня")
CONFIGS = {
    "fast": ("no detector, no OCR, text understanding, LanceDB", {"pets.detector": "none", "pets.ocr": False}),
    "defaults": ("defaults: SSD detector, OCR of photos without an animal, LanceDB", {}),
}


def synthetic_photo(seed: int, width: int = 640, height: int = 480) -> Any:
    rng = np.random.default_rng(seed)
    xx = np.mgrid[0:height, 0:width][1].astype(np.float32)
    img = rng.uniform(60, 190, 3)[None, None, :] + (xx[..., None] * rng.uniform(-0.15, 0.15, 3))
    size = int(rng.integers(140, 260))
    cells = np.kron(rng.integers(0, 256, (size // 10 + 1, size // 10 + 1, 3)), np.ones((10, 10, 1)))[:size, :size]
    y, x = int(rng.integers(0, height - size)), int(rng.integers(0, width - size))
    img[y : y + size, x : x + size] = cells
    return np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)


def encode_jpeg(image: Any) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class GeneratedPost:
    text: str
    photos: tuple[bytes, ...]
    date: int


def generate(posts: int, seed: int) -> list[GeneratedPost]:
    rng = np.random.default_rng(seed)
    t0 = datetime(2025, 1, 5, tzinfo=UTC)
    out = []
    for n in range(posts):
        count = int(rng.integers(1, 4))
        photos = tuple(encode_jpeg(synthetic_photo(seed * 100_000 + n * 7 + j)) for j in range(count))
        when = int((t0 + timedelta(minutes=30 * n)).timestamp())
        words = {"name": rng.choice(NAMES), "colour": rng.choice(COLOURS), "place": rng.choice(PLACES), "k": n % 100}
        out.append(GeneratedPost(TEXTS[int(rng.integers(len(TEXTS)))].format(**words), photos, when))
    return out


def _settings(tmp: str, overrides: dict[str, Any]) -> Any:
    from sightings.core.config import get_settings, load_settings

    values = {
        "data_dir": tmp,
        "models_dir": str(get_settings().models_path),
        "pets.api_keys": ["bench-key"],
        **overrides,
    }
    return load_settings(overrides=values).settings


def _warm(service: Any) -> None:
    from sightings.solutions.pets.posts import PostDraft

    service.add_post(PostDraft(source="manual", text="прогрев, нашли кота", photos=(encode_jpeg(synthetic_photo(1)),)))


def _row(label: str, posts: int, photos: int, *, total: float, times: list[float], extra: str) -> str:
    mean, p95 = float(np.mean(times)), float(np.quantile(times, 0.95))
    return f"| {label} | {posts} | {photos} | {posts / total * 60:.0f} | {mean:.3f} | {p95:.3f} | {extra} |"


def bench_engine_alone(generated: list[GeneratedPost], overrides: dict[str, Any]) -> str:
    from sightings.solutions.pets.posts import PostDraft
    from sightings.solutions.pets.service import PetsService

    with tempfile.TemporaryDirectory() as tmp:
        service = PetsService(_settings(tmp, overrides))
        _warm(service)
        times = []
        start = time.perf_counter()
        for n, post in enumerate(generated):
            draft = PostDraft(
                source="vk",
                source_id=f"-1_{n + 1}",
                link=f"https://vk.com/wall-1_{n + 1}",
                text=post.text,
                photos=post.photos,
                posted_at=datetime.fromtimestamp(post.date, UTC),
            )
            t = time.perf_counter()
            service.add_post(draft)
            times.append(time.perf_counter() - t)
        total = time.perf_counter() - start
        service.close()
    photos = sum(len(p.photos) for p in generated)
    return _row(
        "engine alone (`PetsService.add_post`, baseline)", len(generated), photos, total=total, times=times, extra="-"
    )


def bench_vk_path(generated: list[GeneratedPost], overrides: dict[str, Any]) -> str:
    from sightings.api.app import create_app
    from sightings.api.local_server import LocalServer
    from sightings.solutions.pets.client import PetsClient
    from sightings.solutions.pets.feeds.vk import VkApiClient, VkIntake
    from sightings.solutions.pets.service import PetsService
    from sightings.testing.fake_vk import FakeVk

    fake = FakeVk(token="bench-vk-token")
    for post in generated:
        fake.add_post(1, post.text, photos=post.photos, date=post.date)
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(tmp, overrides)
        service = PetsService(settings)
        _warm(service)
        app = create_app(settings)
        app.state.pets = service
        with LocalServer(app) as engine, LocalServer(fake.app) as vk_server:
            client = PetsClient(engine.url, "bench-key")
            stamps: list[float] = []
            vk = VkApiClient(fake.token, api_base=vk_server.url)  # VK's own pace: 3 requests/s
            intake = VkIntake(
                vk,
                client,
                Path(tmp) / "state",
                max_posts=len(generated),
                on_delivery=lambda _d: stamps.append(time.perf_counter()),
            )
            start = time.perf_counter()
            report = intake.pull_group(1)
            total = time.perf_counter() - start
            client.close()
        service.close()
    times = list(np.diff([start, *stamps]))
    extra = f"{report.wall_calls} wall.get, {len(fake.photo_requests)} photo downloads, " + ", ".join(
        f"{k} {v}" for k, v in sorted(report.statuses.items())
    )
    photos = sum(len(p.photos) for p in generated)
    return _row(
        "fake VK → `vk-pull` → HTTP API → engine", report.fetched, photos, total=total, times=times, extra=extra
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", choices=[*CONFIGS, "both"], default="fast")
    args = parser.parse_args()
    generated = generate(args.posts, args.seed)
    photos = sum(len(p.photos) for p in generated)
    print(f"{args.posts} VK posts, {photos} photos (640×480 JPEG, 1–3 per post), Russian texts")
    for name in CONFIGS if args.config == "both" else [args.config]:
        label, overrides = CONFIGS[name]
        print(f"\n**{label}**\n")
        print("| path | posts | photos | posts/minute | s/post (mean) | s/post (p95) | notes |")
        print("|---|---:|---:|---:|---:|---:|---|")
        print(bench_engine_alone(generated, overrides), flush=True)
        print(bench_vk_path(generated, overrides), flush=True)


if __name__ == "__main__":
    main()
