"""``sightings pets watch``: the street-camera watcher (one process, one or many cameras).

    sightings pets watch --camera yard-1 --url rtsp://user:pass@10.0.0.5/stream1 --where 55.75,37.61
    sightings pets watch --cameras cameras.yaml --health-port 8765           # GET :8765/health/cameras
    sightings pets watch --camera test --url clip.mp4 --where 55.75,37.61 --json   # a file: runs to its end

Sightings go to the running engine (``sightings serve``) through ``POST /v1/pets/sightings``: ``--api`` and
``--api-key`` default to ``pets.bots.api_url`` and ``pets.bots.api_key`` (or ``api_key_file``).
"""

from __future__ import annotations

import logging
from typing import Any

import typer

from sightings.cli.common import console, echo_json, err_console

__all__ = ["watch"]


def _cameras(
    *,
    camera: str | None,
    url: str | None,
    where: str | None,
    district: str | None,
    fps: float | None,
    stride: int,
    cameras_file: str | None,
) -> list[Any]:
    from sightings.core.errors import InputError
    from sightings.solutions.pets.posts import parse_point
    from sightings.solutions.pets.watch.cameras import CameraConfig, load_cameras, unique_cameras

    found: list[Any] = load_cameras(cameras_file) if cameras_file else []
    given = {"--camera": camera, "--url": url, "--where": where}
    if any(v is not None for v in given.values()):
        missing = [k for k, v in given.items() if v is None]
        if missing:
            raise InputError(f"also needs {', '.join(missing)}", where="--camera")
        point = parse_point(where, "--where")
        if point is None:
            raise InputError("expected 'LAT,LON' in degrees", where="--where")
        found.append(CameraConfig(str(camera), str(url), point[0], point[1], district, fps, stride))
    cameras = unique_cameras(found)
    _check_stream_urls(cameras)
    return cameras


def _check_stream_urls(cameras: list[Any]) -> None:
    """Stream URLs go through the outbound-URL guard (docs/security.md): rtsp(s)/http(s) only; cameras on a private
    network need ``security.allowed_url_hosts`` (e.g. the camera VLAN ``10.20.0.0/16``) or ``allow_private_urls``."""
    from sightings.core.net_guard import UrlPolicy, check_url

    live = [c for c in cameras if "://" in c.url]  # every URL, not only stream schemes: ftp:// is refused, not opened
    if live:
        policy = UrlPolicy.configured(schemes=("rtsp", "rtsps", "http", "https"))
        for cam in live:
            check_url(cam.url, policy, where=f"camera {cam.id}.url")


def watch(
    *,
    camera: str | None = typer.Option(None, "--camera", help="Camera id (sent with each sighting)."),
    url: str | None = typer.Option(None, "--url", help="rtsp://…, http(s)://… stream, or a video file."),
    where: str | None = typer.Option(None, "--where", help="Where the camera stands: 'LAT,LON' in degrees."),
    district: str | None = typer.Option(None, "--district", help="The camera's district."),
    cameras_file: str | None = typer.Option(None, "--cameras", help="YAML list of cameras (see docs/pets-watch.md)."),
    fps: float | None = typer.Option(None, "--fps", min=0.1, help="Most frames analysed per second (default: all)."),
    stride: int = typer.Option(1, "--stride", min=1, help="Detect on every N-th analysed frame."),
    window_s: float = typer.Option(3.0, "--window-s", min=0.1, help="Seconds per track window (one crop each)."),
    threshold: float = typer.Option(0.4, "--threshold", min=0.0, max=1.0, help="Lowest cat/dog detection score."),
    tiles: str | None = typer.Option(None, "--tiles", help="SSD tile grids, e.g. 2x2 (default: off, for speed)."),
    detector: str = typer.Option("ssd-oidv4", "--detector", help="Detector registry name."),
    realtime: bool = typer.Option(False, "--realtime", help="Read files at their frame rate, like a camera."),
    api: str | None = typer.Option(None, "--api", help="Engine API URL (default: pets.bots.api_url)."),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="SIGHTINGS_WATCH_API_KEY", help="Engine API key (default: pets.bots.api_key)."
    ),
    health_port: int | None = typer.Option(
        None, "--health-port", min=0, max=65535, help="Serve GET /health/cameras on 127.0.0.1:PORT (0: any port)."
    ),
    max_seconds: float | None = typer.Option(None, "--max-seconds", min=0.1, help="Stop after this long."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary at the end."),
) -> None:
    """Watch street cameras for cats and dogs: detect, track, send the best crop of each track window to the engine
    (which matches it against lost pets). Runs until every file has ended, or until Ctrl-C for live streams."""
    from sightings.core.config import get_settings
    from sightings.solutions.pets.client import PetsClient
    from sightings.solutions.pets.watch.cameras import WatchOptions
    from sightings.solutions.pets.watch.watcher import ApiSightingSink, Watcher

    cameras = _cameras(
        camera=camera, url=url, where=where, district=district, fps=fps, stride=stride, cameras_file=cameras_file
    )
    options = WatchOptions(window_s=window_s, threshold=threshold, tiles=tiles, detector=detector, realtime=realtime)
    settings = get_settings()
    key = api_key
    if key is None:
        from sightings.solutions.pets.feeds.secrets import read_secret

        bots = settings.pets.bots
        key = read_secret(bots.api_key, bots.api_key_file, "pets.bots.api_key", required=False)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with PetsClient(api or settings.pets.bots.api_url, key) as client:
        watcher = Watcher(
            cameras, ApiSightingSink(client), options, models_dir=settings.models_path, health_port=health_port
        )
        watcher.start()
        if watcher.health_url:
            err_console.print(f"health: {watcher.health_url}")
        err_console.print(f"watching {len(cameras)} camera(s); Ctrl-C stops")
        health = watcher.run(max_seconds=max_seconds)
    if json_out:
        echo_json({"cameras": [h.to_json() for h in health], "sightings_sent": len(watcher.sent)})
    else:
        for h in health:
            console.print(
                f"{h.camera_id}: {h.state}, {h.frames_in} frames in, {h.frames_out} analysed, {h.dropped} dropped, "
                f"{h.reconnects} reconnects, {h.sightings_sent} sightings sent, "
                f"{h.duplicates_skipped} duplicates skipped" + (f", last error: {h.last_error}" if h.last_error else "")
            )
    _raise_if_failed(watcher.fatal, health, client_url=api or settings.pets.bots.api_url)


def _raise_if_failed(fatal: Any, health: list[Any], *, client_url: str) -> None:
    """A non-zero exit when the run achieved nothing: the engine refused the key (3), no camera could be read (1),
    or not one sighting reached the engine although some were found (5). The summary above is printed first."""
    from sightings.core.errors import BackendUnavailableError, SightingsError

    if fatal is not None:
        raise fatal
    if health and all(h.state == "failed" for h in health):
        reasons = "; ".join(f"{h.camera_id}: {h.last_error or 'failed'}" for h in health)
        raise SightingsError(f"no camera could be read ({reasons})", where="pets watch")
    failures = sum(h.send_failures for h in health)
    if failures and not any(h.sightings_sent for h in health):
        last = next((h.last_error for h in health if h.last_error), "no answer")
        raise BackendUnavailableError(
            f"none of {failures} sighting(s) reached the engine at {client_url}: {last}", where="pets watch"
        )
