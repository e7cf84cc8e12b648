"""Small JSON state files of the intake workers and bots, written atomically (a crash never leaves half a file).

    state = JsonState(root / "vk" / "group-123.json")
    state.modify(lambda d: d.update(last_id=max(d.get("last_id", 0), 57)))
    state.read().get("last_id", 0)

``VkGroupState`` is the since-id resume point of one VK group (``last_id``: every post up to it was handed to the
engine or refused as bad input, recorded in ``refused``). Each file has one lock per process; two processes on the
same file are not supported (run one puller per group).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sightings.core.atomic import atomic_write_text
from sightings.core.errors import IntegrityError

__all__ = ["JsonState", "VkGroupState", "state_dir"]

REFUSED_KEPT = 500
"""most refused post ids remembered per group (the newest)"""


def state_dir(settings: Any) -> Path:
    """``pets.bots.state_dir`` or ``<data_dir>/pets/bots``."""
    chosen = settings.pets.bots.state_dir
    return Path(chosen) if chosen is not None else Path(settings.data_dir) / "pets" / "bots"


class JsonState:
    """A JSON object on disk: :meth:`read` gives a copy, :meth:`modify` changes it and writes it atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._data = self._load()

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IntegrityError(
                f"state file is not valid JSON ({exc.__class__.__name__}); move it away to start over", where=self.path
            ) from None
        if not isinstance(data, dict):
            raise IntegrityError("state file must hold a JSON object", where=self.path)
        return data

    def read(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._data)

    def modify(self, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """Apply ``change`` to a copy, write it, then keep it (a failed write keeps the old state)."""
        with self._lock:
            data = copy.deepcopy(self._data)
            change(data)
            atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True))
            self._data = data
            return copy.deepcopy(data)


class VkGroupState:
    """Resume point of one VK group: ``last_id`` (since-id) and the posts refused as bad input."""

    def __init__(self, root: Path, group_id: int) -> None:
        self.group_id = abs(int(group_id))
        self.file = JsonState(Path(root) / "vk" / f"group-{self.group_id}.json")

    @property
    def last_id(self) -> int:
        return int(self.file.read().get("last_id", 0))

    def advance(self, post_id: int) -> None:
        """Every post up to ``post_id`` is done (the resume point only moves forward)."""

        def change(d: dict[str, Any]) -> None:
            d["group_id"] = self.group_id
            d["last_id"] = max(int(d.get("last_id", 0)), int(post_id))

        self.file.modify(change)

    def refuse(self, post_id: int, reason: str) -> None:
        """Remember a post the engine refused (bad input), so a person can look at it; the resume point moves on."""

        def change(d: dict[str, Any]) -> None:
            refused = dict(d.get("refused", {}))
            refused[str(post_id)] = reason[:300]
            d["refused"] = dict(sorted(refused.items(), key=lambda kv: int(kv[0]))[-REFUSED_KEPT:])
            d["group_id"] = self.group_id
            d["last_id"] = max(int(d.get("last_id", 0)), int(post_id))

        self.file.modify(change)

    @property
    def refused(self) -> dict[str, str]:
        return dict(self.file.read().get("refused", {}))
