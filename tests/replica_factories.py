"""Replicas for the ReplicaPool tests (a module, so that spawned worker processes can import them)."""

from __future__ import annotations

import os

from sightings.core.errors import InputError

BUILT: list[int] = []


class Counter:
    """A replica that knows its process and how many calls it took."""

    def __init__(self, start: int) -> None:
        BUILT.append(os.getpid())
        self.calls = start

    def where(self) -> tuple[int, int]:
        self.calls += 1
        return os.getpid(), len(BUILT)

    def double(self, value: int, *, plus: int = 0) -> int:
        return 2 * value + plus

    def refuse(self, name: str) -> None:
        raise InputError("not an image", where=name, hint="send a JPEG")

    def die(self) -> None:
        os._exit(3)


def make_counter(start: int = 0) -> Counter:
    return Counter(start)


def make_broken() -> Counter:
    raise InputError("no models here", where="models dir", hint="sightings models install")
