"""``sightings demo ...``: short guided runs of a solution on generated or shared data.

sightings demo pets                     # a lost pet, three street cameras, the owner's page (Ctrl-C stops)
sightings demo pets --no-serve --json   # the same, then exit (scripts, tests)
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from sightings.cli.common import console, echo_json, err_console, new_typer

__all__ = ["DEMO_PHOTOS", "app", "shared_pet_photo"]

app = new_typer("Short demos of the solutions on generated or shared data.")

HOME = (55.7512, 37.6184)
# (camera id, photo role, offset from home in degrees, district): the same photo again, another view, another lion
DEMO_CAMERAS = (
    ("yard-1", "same_view", (0.004, 0.006), "Хамовники"),
    ("metro-2", "other_view", (-0.010, 0.012), "Арбат"),
    ("park-3", "other_animal", (0.015, -0.020), "Пресненский"),
)


DEMO_PHOTOS = {
    "lost": "lions/val/Bibi/Bibi_Portrait.png",
    "same_view": "lions/val/Bibi/Bibi_Portrait.png",
    "other_view": "lions/val/Bibi/Bibi_Left_ear.png",
    "other_animal": "lions/train/Ngare/Ngare_Teeth.png",
}
"""Photos of shared/data the SSD finds as ``dog`` (no cat or dog photo ships in any registry package; the lions
are the stand-in): the lost pet, the same photo seen again, another view of it, another animal."""


def shared_pet_photo(role: str) -> Path | None:
    """The shared-data photo for ``role`` (a key of :data:`DEMO_PHOTOS`), or ``None`` without shared data."""
    from sightings.evaluate.datasets import shared_file

    return shared_file(DEMO_PHOTOS[role])


def _photos(photo: Path | None, seen: list[Path]) -> tuple[Path, list[Path]]:
    """The lost pet's photo and one photo per demo camera (given, else the shared-data lions)."""
    from sightings.core.errors import NotFoundError

    if photo is not None:
        views = seen or [photo]
        return photo, [views[i % len(views)] for i in range(len(DEMO_CAMERAS))]
    lost = shared_pet_photo("lost")
    if lost is None:
        raise NotFoundError(
            "no pet photo: shared data (lions) not found",
            where="../shared/data",
            hint="give --photo LOST.jpg [--seen OTHER.jpg ...] with a cat or dog the SSD can find",
        )
    others = [shared_pet_photo(role) or lost for _, role, _, _ in DEMO_CAMERAS]
    return lost, others


@app.command("pets")
def pets(
    *,
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Where the demo stores data (default: a new temp dir)."
    ),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="API port on 127.0.0.1 (0: any free port)."),
    photo: Path | None = typer.Option(None, "--photo", help="The lost pet's photo (default: a shared-data lion)."),
    seen: list[Path] = typer.Option([], "--seen", help="Photos the cameras see (default: shared-data lions)."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Keep serving the page until Ctrl-C."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary."),
) -> None:
    """Create a lost pet, run the street-camera watcher over three sample videos, print the owner's page URL."""
    started = time.monotonic()
    lost_photo, camera_photos = _photos(photo, seen)
    own_root = data_dir is None  # a folder of our own is removed again when the demo fails
    root = data_dir or Path(tempfile.mkdtemp(prefix="sightings-demo-pets-"))
    try:
        _run_demo(root, lost_photo, camera_photos, port=port, serve=serve, json_out=json_out, started=started)
    except Exception:  # not Ctrl-C: that is how a served demo ends, and its data stays
        if own_root:
            shutil.rmtree(root, ignore_errors=True)
        raise


def _run_demo(
    root: Path, lost_photo: Path, camera_photos: list[Path], *, port: int, serve: bool, json_out: bool, started: float
) -> None:
    from sightings.api.app import create_app
    from sightings.api.local_server import LocalServer
    from sightings.core.config import load_settings
    from sightings.solutions.pets.client import PetsClient
    from sightings.solutions.pets.posts import PostDraft
    from sightings.solutions.pets.watch.cameras import CameraConfig, WatchOptions
    from sightings.solutions.pets.watch.watcher import ApiSightingSink, Watcher
    from sightings.testing.fake_stream import load_rgb, pet_walk_frames, write_video

    key = secrets.token_urlsafe(16)
    base = load_settings().settings
    settings = load_settings(
        overrides={
            "data_dir": str(root),
            "models_dir": str(base.models_path),
            "pets.api_keys": [key],
            "pets.ocr": False,
        }
    ).settings
    server = LocalServer(create_app(settings), port=port).start(timeout_s=30)
    url = server.url
    try:
        with PetsClient(url, key) as client:
            lost = client.add_post(
                PostDraft(
                    source="manual",
                    kind="lost",
                    text="Пропал пёс Бибо, рыжий, очень добрый. Район Хамовники.",
                    photos=(str(lost_photo),),
                    photo_names=(lost_photo.name,),
                    posted_at=datetime.now(UTC) - timedelta(days=1),
                    district="Хамовники",
                    lat=HOME[0],
                    lon=HOME[1],
                )
            )
            cameras = []
            for (cam_id, _, (dlat, dlon), district), seen_photo in zip(DEMO_CAMERAS, camera_photos, strict=True):
                frames = pet_walk_frames(load_rgb(seen_photo), width=640, height=480, seconds=6.0, fps=10.0)
                video = write_video(root / "videos" / f"{cam_id}.ts", frames, fps=10.0)
                cameras.append(CameraConfig(cam_id, str(video), HOME[0] + dlat, HOME[1] + dlon, district))
            watcher = Watcher(
                cameras, ApiSightingSink(client), WatchOptions(), models_dir=settings.models_path, health_port=None
            )
            health = watcher.run()
            page = client.lost_matches(lost.id, sure_only=False, limit=50)
        page_url = f"{url}/pets/lost/{lost.id}"
        summary = {
            "page_url": page_url,
            "lost_post_id": lost.id,
            "lost_post_flags": list(lost.flags),
            "data_dir": str(root),
            "sightings_sent": len(watcher.sent),
            "matches": [
                {"place": m.place, "district": m.district, "confidence": round(m.confidence, 3), "sure": m.sure}
                for m in page.matches
            ],
            "cameras": [h.to_json() for h in health],
            "seconds": round(time.monotonic() - started, 1),
        }
        if json_out:
            echo_json(summary)
        else:
            console.print(f"lost pet {lost.id}: {len(watcher.sent)} sightings sent by {len(cameras)} cameras")
            for m in page.matches:
                console.print(f"  {m.place} ({m.district}): {m.confidence:.0%}{' sure' if m.sure else ''}")
            console.print(f"demo ready in {summary['seconds']} s; data in {root}")
            if serve:
                console.print(f"owner's page: {page_url}")
            else:
                console.print(
                    f"owner's page: /pets/lost/{lost.id} on a server over this data "
                    f"(SIGHTINGS_DATA_DIR={root} sightings serve)"
                )
        if serve:
            err_console.print("serving the page; Ctrl-C stops")
            server.wait()
    finally:
        server.stop()
