"""``sightings pets vk-pull | vk-listen | telegram-bot``: post intake from VK and Telegram, and the bots.

    sightings pets vk-pull --group 123 --group 456 [--max-posts 500] [--json]   # new posts since the last run
    sightings pets vk-listen --group 123                                        # Bots Long Poll: new posts live
    sightings pets telegram-bot                                                 # /lost, /found, /matches, buttons

All three talk to the running engine (``sightings serve``) at ``pets.bots.api_url`` with ``pets.bots.api_key``;
tokens come from ``SIGHTINGS_PETS__BOTS__VK_TOKEN`` / ``..._TELEGRAM_TOKEN`` or the ``*_file`` settings. The VK bot's
comments under posts are a dry run (logged only) unless ``--no-dry-run`` or ``pets.bots.vk_comment_dry_run: false``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import asdict
from typing import Any

import typer

from sightings.cli.common import console, echo_json, err_console

__all__ = ["register"]


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "aiogram.event", "vk_api"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _vk_parts(dry_run: bool | None) -> tuple[Any, Any, Any, Any]:
    """The engine client, the VK API client, the commenter and the intake, from the settings."""
    from sightings.core.config import get_settings
    from sightings.solutions.pets.bots.vk_bot import VkCommenter
    from sightings.solutions.pets.client import PetsClient
    from sightings.solutions.pets.feeds.secrets import read_secret
    from sightings.solutions.pets.feeds.state import state_dir
    from sightings.solutions.pets.feeds.vk import VkApiClient, VkIntake

    settings = get_settings()
    bots = settings.pets.bots
    token = read_secret(bots.vk_token, bots.vk_token_file, "pets.bots.vk_token")
    client = PetsClient.from_settings(settings)
    vk = VkApiClient(
        str(token),
        api_base=bots.vk_api_base,
        version=bots.vk_api_version,
        max_retries=bots.max_retries,
        max_wait_s=bots.max_retry_wait_s,
    )
    root = state_dir(settings)
    commenter = VkCommenter(
        vk, client, root, dry_run=bots.vk_comment_dry_run if dry_run is None else dry_run, language=bots.language
    )
    intake = VkIntake(
        vk,
        client,
        root,
        max_photos=settings.pets.max_photos,
        page_size=bots.vk_page_size,
        max_posts=bots.vk_max_posts,
        on_delivery=commenter.on_delivery,
    )
    return client, vk, commenter, intake


def vk_pull(
    groups: list[int] = typer.Option(None, "--group", help="VK group id (repeat; default: pets.bots.vk_groups)."),
    *,
    max_posts: int | None = typer.Option(None, "--max-posts", min=1, help="Most posts per group this run."),
    dry_run: bool | None = typer.Option(None, "--dry-run/--no-dry-run", help="VK comments: only log (default: on)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Take new posts of VK groups in (wall.get, since the last run), oldest first; comment on sure matches."""
    from sightings.core.config import get_settings
    from sightings.core.errors import InputError

    _logging()
    chosen = [abs(g) for g in (groups or get_settings().pets.bots.vk_groups)]
    if not chosen:
        raise InputError("no VK group: give --group ID or set pets.bots.vk_groups", where="--group")
    client, vk, _, intake = _vk_parts(dry_run)
    if max_posts is not None:
        intake.max_posts = max_posts
    reports = []
    try:
        for group in chosen:
            started = time.perf_counter()
            report = intake.pull_group(group)
            reports.append((report, time.perf_counter() - started))
    finally:
        client.close()
    if json_out:
        echo_json([{**asdict(r), "seconds": round(s, 3), "retries": vk.retries} for r, s in reports])
        return
    from rich.table import Table

    table = Table(title="VK pull")
    for col in ("group", "new", "added", "duplicate", "exists", "refused", "photos left out", "resume at", "left"):
        table.add_column(col)
    for r, _s in reports:
        st = r.statuses
        table.add_row(
            str(r.group_id),
            str(r.fetched),
            *(str(st.get(k, 0)) for k in ("added", "duplicate", "exists", "refused")),
            str(r.dropped_photos),
            str(r.last_id),
            str(r.remaining),
        )
    console.print(table)
    if vk.retries:
        err_console.print(f"VK flood control: waited and retried {vk.retries} time(s)")


def vk_listen(
    group: int = typer.Option(..., "--group", help="VK group id (its token must be a group token)."),
    *,
    wait: int = typer.Option(25, "--wait", min=1, max=90, help="Long-poll wait, seconds."),
    max_events: int | None = typer.Option(None, "--max-events", min=1, help="Stop after this many posts."),
    duration: float | None = typer.Option(None, "--duration", min=0.1, help="Stop after this many seconds."),
    dry_run: bool | None = typer.Option(None, "--dry-run/--no-dry-run", help="VK comments: only log (default: on)."),
) -> None:
    """Listen for new VK posts (Bots Long Poll, wall_post_new) and take them in as they appear."""
    from sightings.core.config import get_settings
    from sightings.solutions.pets.feeds.vk import VkLongPollListener

    _logging()
    every = get_settings().pets.bots.notify_every_s
    client, vk, commenter, intake = _vk_parts(dry_run)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())  # as Ctrl-C: the summary, then exit 0
    timer = None if duration is None else threading.Timer(duration, stop.set)
    if timer is not None:
        timer.daemon = True  # --max-events may end the run first: the process must not wait out the duration
        timer.start()
    last_sweep = [time.monotonic()]

    def sweep() -> None:
        if time.monotonic() - last_sweep[0] >= every:
            last_sweep[0] = time.monotonic()
            commenter.sweep()

    listener = VkLongPollListener(vk, intake, group, wait_s=wait)
    try:
        listener.run(stop, max_events=max_events, on_idle=sweep)
    except KeyboardInterrupt:
        err_console.print("stopped")
    finally:
        stop.set()
        signal.signal(signal.SIGTERM, previous)
        if timer is not None:
            timer.cancel()
        client.close()
    statuses: dict[str, int] = {}
    for d in listener.deliveries:
        statuses[d.status] = statuses.get(d.status, 0) + 1
    console.print(
        f"VK group {abs(group)}: {len(listener.deliveries)} post(s): "
        + (", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "none")
    )


def telegram_bot(
    polling_timeout: int = typer.Option(10, "--polling-timeout", min=1, max=50, help="getUpdates wait, seconds."),
) -> None:
    """Run the Telegram bot (long polling) until interrupted (Ctrl-C or SIGTERM: the message in hand is finished)."""
    import asyncio

    from sightings.core.config import get_settings
    from sightings.solutions.pets.bots.telegram_bot import PetsTelegramBot
    from sightings.solutions.pets.client import PetsClient

    _logging()
    settings = get_settings()
    client = PetsClient.from_settings(settings)

    async def until_signalled(bot: PetsTelegramBot) -> None:
        # SIGTERM (systemd, docker stop) stops it as Ctrl-C does: polling ends, the message in hand is finished
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await bot.run(stop)

    try:
        bot = PetsTelegramBot.from_settings(settings, client, polling_timeout_s=polling_timeout)
        asyncio.run(until_signalled(bot))
        err_console.print("stopped")
    except KeyboardInterrupt:
        err_console.print("stopped")
    finally:
        client.close()


def register(app: typer.Typer) -> None:
    """Add the intake and bot commands to the ``pets`` group."""
    app.command("vk-pull")(vk_pull)
    app.command("vk-listen")(vk_listen)
    app.command("telegram-bot")(telegram_bot)
