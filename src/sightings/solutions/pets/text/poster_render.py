"""Rendered lost/found posters with known fields, for tests and the benchmark (no real posters ship with the code).

    posters = render_posters(40, seed=2026)     -> [RenderedPoster(image BGR uint8, truth, posted_at)]

Each poster: a headline ("ПРОПАЛА СОБАКА", "НАЙДЕН КОТ", "ОТДАМ В ДОБРЫЕ РУКИ"), a photo-like box with a furry
blob for the animal, a description, the place (city + district), the date, the phone and a closing line, drawn
with a system TTF font that has Cyrillic (DejaVu Sans) on tinted paper; the sheet is then put on a photo-like
background (gradient + noise), turned by up to ±``max_skew_deg``, warped in perspective, blurred and noised.
A missing font is a BackendUnavailableError (tests skip on it).
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendUnavailableError

__all__ = ["PosterTruth", "RenderedPoster", "find_font", "render_posters"]

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"), Path("/usr/share/fonts/dejavu"))
MONTHS_GEN = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
              "ноября", "декабря")  # fmt: skip
# (city as the gazetteer names it, as written, district as the gazetteer names it, as written)
PLACES = [
    ("Москва", "Москва", "Бутово", "р-н Южное Бутово"),
    ("Москва", "г. Москва", "ЮЗАО", "ЮЗАО"),
    ("Москва", "Москва", "Марьино", "район Марьино"),
    ("Санкт-Петербург", "Санкт-Петербург", "Купчино", "Купчино"),
    ("Санкт-Петербург", "СПб", "Выборгский", "Выборгский район"),
    ("Санкт-Петербург", "Санкт-Петербург", "Приморский", "Приморский р-н"),
    ("Новосибирск", "г. Новосибирск", "Заельцовский", "Заельцовский район"),
    ("Новосибирск", "Новосибирск", "Советский", "Академгородок"),
    ("Екатеринбург", "Екатеринбург", "Орджоникидзевский", "Уралмаш"),
    ("Казань", "г. Казань", "Вахитовский", "Вахитовский район"),
    ("Казань", "Казань", "Советский", "Советский район"),
    ("Нижний Новгород", "Нижний Новгород", "Сормовский", "Сормово"),
    ("Нижний Новгород", "Н. Новгород", "Автозаводский", "Автозаводский р-н"),
    ("Самара", "Самара", "Промышленный", "Промышленный район"),
    ("Краснодар", "Краснодар", "Карасунский", "Карасунский район"),
]
HEADLINES = {
    "lost": [("ПРОПАЛ КОТ", "cat"), ("ПРОПАЛА КОШКА", "cat"), ("ПРОПАЛА СОБАКА", "dog"), ("ПОТЕРЯЛСЯ ПЁС", "dog"),
             ("ПОМОГИТЕ НАЙТИ КОТА", "cat")],
    "found": [("НАЙДЕНА СОБАКА", "dog"), ("НАЙДЕН КОТ", "cat"), ("НАЙДЕНА КОШКА", "cat"), ("НАЙДЕН ЩЕНОК", "dog")],
    "adoption": [("ОТДАМ В ДОБРЫЕ РУКИ", "cat"), ("КОТЯТА ИЩУТ ДОМ", "cat"), ("ЩЕНКИ ИЩУТ ДОМ", "dog")],
}  # fmt: skip
DESCRIPTIONS = {
    "cat": ["Рыжий, 3 года, в ошейнике", "Серая полосатая, пугливая", "Чёрный с белой грудкой", "Трёхцветная, 2 года"],
    "dog": ["Метис овчарки, рыжий", "Той-терьер, девочка, 4 года", "Чёрный лабрадор, ошейник", "Хаски, голубые глаза"],
}
CLOSING = {"lost": ["ВОЗНАГРАЖДЕНИЕ!", "Очень ждём дома!"], "found": ["Ищем хозяина!", "Хозяева, отзовитесь!"],
           "adoption": ["Привиты, к лотку приучены", "Только в добрые руки"]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PosterTruth:
    kind: str  # lost | found | adoption
    species: str  # cat | dog
    city: str
    district: str
    phone: str  # E.164
    date: datetime.date
    lines: tuple[str, ...]  # the text drawn, top to bottom


@dataclass(frozen=True, slots=True)
class RenderedPoster:
    image: npt.NDArray[np.uint8]  # BGR, like cv2.imread
    truth: PosterTruth
    posted_at: datetime.datetime  # a day or two after the date on the poster


def find_font(bold: bool = False) -> Path | None:
    """A TTF font with Cyrillic: DejaVu Sans (Bold) where the system has it."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return next((d / name for d in FONT_DIRS if (d / name).is_file()), None)


def _phone(rng: random.Random) -> tuple[str, str]:
    code = rng.choice(["916", "926", "903", "921", "951", "981", "912", "999"])
    a, b, c = rng.randint(100, 999), rng.randint(10, 99), rng.randint(10, 99)
    shown = rng.choice([f"8 {code} {a}-{b}-{c}", f"+7 ({code}) {a}-{b}-{c}", f"8-{code}-{a}-{b}-{c}",
                        f"+7 {code} {a} {b} {c}"])  # fmt: skip
    return shown, f"+7{code}{a}{b}{c}"


def _content(rng: random.Random) -> tuple[PosterTruth, datetime.datetime]:
    kind = rng.choice(["lost", "lost", "found", "found", "adoption"])
    headline, species = rng.choice(HEADLINES[kind])
    city, city_shown, district, district_shown = rng.choice(PLACES)
    date = datetime.date(2025, 1, 1) + datetime.timedelta(days=rng.randrange(365))
    date_shown = rng.choice([f"{date.day} {MONTHS_GEN[date.month - 1]}", f"{date.day:02d}.{date.month:02d}",
                             f"{date.day:02d}.{date.month:02d}.{date.year}"])  # fmt: skip
    verb = {"lost": "Пропал(а)", "found": "Найден(а)", "adoption": "Родились"}[kind]
    phone_shown, phone = _phone(rng)
    lines = (
        headline,
        rng.choice(DESCRIPTIONS[species]),
        f"{city_shown}, {district_shown}",
        f"{verb} {date_shown}",
        f"Тел. {phone_shown}",
        rng.choice(CLOSING[kind]),
    )
    posted = datetime.datetime.combine(date, datetime.time(12), datetime.UTC) + datetime.timedelta(
        days=rng.randint(0, 3) if kind != "adoption" else rng.randint(30, 60)
    )
    return PosterTruth(kind, species, city, district, phone, date, lines), posted


def _sheet(rng: random.Random, lines: tuple[str, ...], fonts: tuple[Path, Path]) -> npt.NDArray[np.uint8]:
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    width, height = 900, 1180
    paper = tuple(rng.randint(225, 255) for _ in range(3))
    sheet = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(sheet)
    ink = rng.choice([(20, 20, 20), (150, 20, 20), (20, 30, 120)])
    head = ImageFont.truetype(str(fonts[1]), rng.randint(68, 80))
    body = ImageFont.truetype(str(fonts[0]), rng.randint(40, 46))
    _, _, tw, _ = draw.textbbox((0, 0), lines[0], font=head)
    if tw > width - 40:
        head = ImageFont.truetype(str(fonts[1]), int(head.size * (width - 40) / tw))
    draw.text((width // 2, 30), lines[0], fill=ink, font=head, anchor="mt")
    # photo: a gradient box with a furry blob
    top, box_h = 150, 420
    grad = np.linspace(rng.randint(60, 140), rng.randint(150, 230), box_h, dtype=np.float32)[:, None, None]
    photo = np.clip(grad * np.array([rng.uniform(0.7, 1.1) for _ in range(3)]), 0, 255)
    photo = np.broadcast_to(photo, (box_h, 620, 3)).astype(np.uint8).copy()
    blob = Image.new("L", (620, box_h), 0)
    ImageDraw.Draw(blob).ellipse((150, 90, 470, 380), fill=255)
    ImageDraw.Draw(blob).ellipse((380, 50, 530, 190), fill=255)
    blob = blob.filter(ImageFilter.GaussianBlur(12))
    fur = np.array([rng.randint(30, 220) for _ in range(3)], np.float32) + np.random.default_rng(
        rng.randrange(1 << 30)
    ).normal(0, 25, (box_h, 620, 1))
    alpha = np.asarray(blob, np.float32)[..., None] / 255.0
    photo = (photo * (1 - alpha) + np.clip(fur, 0, 255) * alpha).astype(np.uint8)
    sheet.paste(Image.fromarray(photo), ((width - 620) // 2, top))
    y = top + box_h + 30
    for line in lines[1:]:
        font = body
        _, _, lw, _ = draw.textbbox((0, 0), line, font=font)
        if lw > width - 50:
            font = ImageFont.truetype(str(fonts[0]), int(body.size * (width - 50) / lw))
        draw.text((width // 2, y), line, fill=ink, font=font, anchor="mt")
        y += int(body.size * 1.45)
    return np.asarray(sheet)


def _photograph(rng: random.Random, sheet: npt.NDArray[np.uint8], max_skew_deg: float) -> npt.NDArray[np.uint8]:
    """The sheet on a photo-like background: turned, in perspective, blurred, noised (RGB in, BGR out)."""
    import cv2

    nrng = np.random.default_rng(rng.randrange(1 << 30))
    h, w = sheet.shape[:2]
    canvas_w, canvas_h = w + 200, h + 200
    ys = np.linspace(0, 1, canvas_h, dtype=np.float32)[:, None, None]
    xs = np.linspace(0, 1, canvas_w, dtype=np.float32)[None, :, None]
    c1, c2 = (np.array([rng.randint(40, 200) for _ in range(3)], np.float32) for _ in range(2))
    back = c1 * (1 - ys) * (1 - xs * 0.5) + c2 * ys * (0.5 + xs * 0.5) + nrng.normal(0, 12, (canvas_h, canvas_w, 3))
    back = np.clip(back, 0, 255).astype(np.uint8)
    cx, cy = canvas_w / 2, canvas_h / 2
    angle = rng.uniform(-max_skew_deg, max_skew_deg)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    jitter = 0.035
    corners = np.array(
        [[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2], [cx + w / 2, cy + h / 2], [cx - w / 2, cy + h / 2]],
        dtype=np.float32,
    )
    corners += np.array(
        [[rng.uniform(-jitter, jitter) * w, rng.uniform(-jitter, jitter) * h] for _ in range(4)], dtype=np.float32
    )
    rot = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    dst = cv2.transform(corners[None], rot)[0].astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(sheet, matrix, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (canvas_w, canvas_h))
    out = np.where(mask[..., None] > 127, warped, back)
    light = np.linspace(rng.uniform(0.75, 1.0), rng.uniform(0.9, 1.1), canvas_w, dtype=np.float32)[None, :, None]
    out = np.clip(out.astype(np.float32) * light + nrng.normal(0, rng.uniform(2, 7), out.shape), 0, 255)
    sigma = rng.uniform(0.0, 1.3)
    out_u8: npt.NDArray[np.uint8] = out.astype(np.uint8)
    if sigma > 0.3:
        out_u8 = np.asarray(cv2.GaussianBlur(out_u8, (0, 0), sigma), dtype=np.uint8)
    scale = rng.uniform(0.75, 1.0)
    out_u8 = np.asarray(cv2.resize(out_u8, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(out_u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else cv2.cvtColor(out_u8, cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(decoded, dtype=np.uint8)


def render_posters(count: int, *, seed: int, max_skew_deg: float = 8.0) -> list[RenderedPoster]:
    """``count`` posters from ``seed`` (the same seed gives the same posters)."""
    regular, bold = find_font(), find_font(bold=True)
    if regular is None or bold is None:
        raise BackendUnavailableError(
            f"no Cyrillic TTF font (DejaVuSans.ttf / -Bold) in {', '.join(map(str, FONT_DIRS))}",
            where="pets.poster_render",
            hint="sudo apt-get install fonts-dejavu-core",
        )
    rng = random.Random(seed)
    posters = []
    for _ in range(count):
        truth, posted = _content(rng)
        sheet = _sheet(rng, truth.lines, (regular, bold))
        posters.append(RenderedPoster(_photograph(rng, sheet, max_skew_deg), truth, posted))
    return posters
