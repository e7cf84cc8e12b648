"""Receipts: read the CSV, join each receipt to the customer at the checkout, mark successful interactions.

Receipts CSV (UTF-8, header row; ``receipt_id`` optional, other columns ignored)::

    time,amount,register,receipt_id
    2026-03-01T09:12:30+03:00,1250.00,till-1,A-0001

``time`` is ISO 8601 **with** a time zone; ``amount`` a number ≥ 0 (``12,50`` is read as 12.50). Every bad row
is reported in one :class:`InputError` naming the file and the row numbers (line numbers, header = line 1).

Join: a receipt at time *r* goes to the customer whose foot point is in a *checkout* zone at a sampled time in
``[r - window_before_s, r + window_after_s]``, nearest in time to *r* (customers who have no receipt yet first;
ties → lower track id). A camera without a checkout zone joins nothing. An interaction is **successful** when
its customer's receipt comes at or after the episode start; the receipt's amount goes to the customer's last
episode that started before it (so revenue is counted once).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sightings.core.errors import InputError, NotFoundError
from sightings.solutions.retail.config import PurchaseOptions
from sightings.solutions.retail.interactions import Episode
from sightings.solutions.retail.trajectories import Trajectory

__all__ = ["JoinedReceipt", "Receipt", "ScoredEpisode", "join_receipts", "read_receipts", "score_episodes"]

REQUIRED_COLUMNS = ("time", "amount", "register")
_MAX_LISTED = 10


@dataclass(frozen=True, slots=True)
class Receipt:
    ts: datetime
    """timezone-aware time of the purchase"""
    amount: float
    register: str
    receipt_id: str
    line: int = 0
    """line in the CSV (header = 1)"""


@dataclass(frozen=True, slots=True)
class JoinedReceipt:
    receipt: Receipt
    t_s: float
    """the receipt's time in seconds from the video start"""
    customer_track: int | None
    """the customer it was joined to; None = nobody at the checkout in the window"""


@dataclass(frozen=True, slots=True)
class ScoredEpisode:
    episode: Episode
    purchased: bool
    amount: float = 0.0


def _parse_amount(text: str) -> float:
    raw = text.strip().replace(" ", "")
    if "," in raw and "." not in raw:
        raw = raw.replace(",", ".")
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise ValueError
    return value


def _parse_row(row: Mapping[str, str | None], line: int) -> Receipt:
    time_text = (row.get("time") or "").strip()
    try:
        ts = datetime.fromisoformat(time_text)
    except ValueError:
        raise ValueError(f"time {time_text!r} is not an ISO 8601 time") from None
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"time {time_text!r} has no time zone (add +03:00 or Z)")
    amount_text = row.get("amount") or ""
    try:
        amount = _parse_amount(amount_text)
    except ValueError:
        raise ValueError(f"amount {amount_text!r} is not a number ≥ 0") from None
    register = (row.get("register") or "").strip()
    if not register:
        raise ValueError("empty register")
    receipt_id = (row.get("receipt_id") or "").strip() or f"line-{line}"
    return Receipt(ts, amount, register, receipt_id, line)


def read_receipts(path: Path) -> list[Receipt]:
    """Every receipt of the CSV at ``path``, sorted by time; one InputError lists all bad rows by number."""
    if not path.exists():
        raise NotFoundError("receipts file not found", where=path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise InputError(
                    f"missing columns {missing}; header must have {', '.join(REQUIRED_COLUMNS)}", where=path
                )
            reader.fieldnames = header
            receipts: list[Receipt] = []
            bad: list[str] = []
            for row in reader:
                line = reader.line_num
                if None in row:
                    bad.append(f"row {line}: more fields than the header")
                    continue
                try:
                    receipts.append(_parse_row(row, line))
                except ValueError as exc:
                    bad.append(f"row {line}: {exc}")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read receipts: {exc}", where=path) from None
    if bad:
        more = f"; … {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        raise InputError(f"{len(bad)} bad rows: " + "; ".join(bad[:_MAX_LISTED]) + more, where=path)
    return sorted(receipts, key=lambda r: (r.ts, r.receipt_id))


def join_receipts(
    receipts: Sequence[Receipt],
    trajectories: Mapping[int, Trajectory],
    customers: Sequence[int],
    *,
    video_start: datetime,
    duration_s: float,
    options: PurchaseOptions,
) -> list[JoinedReceipt]:
    """Receipts within the video's time span (widened by the window), each joined to a checkout customer or None."""
    checkout = {cid: [p.t_s for p in trajectories[cid].points if p.zone == "checkout"] for cid in customers}
    served: set[int] = set()
    out: list[JoinedReceipt] = []
    for receipt in receipts:
        t = (receipt.ts - video_start).total_seconds()
        if t < -options.window_after_s or t > duration_s + options.window_before_s:
            continue
        best: tuple[bool, float, int] | None = None
        for cid, times in checkout.items():
            gaps = [abs(s - t) for s in times if t - options.window_before_s <= s <= t + options.window_after_s]
            if gaps:
                key = (cid in served, min(gaps), cid)
                best = key if best is None or key < best else best
        customer = best[2] if best is not None else None
        if customer is not None:
            served.add(customer)
        out.append(JoinedReceipt(receipt, t, customer))
    return out


def score_episodes(episodes: Sequence[Episode], joined: Sequence[JoinedReceipt]) -> list[ScoredEpisode]:
    """Each episode with ``purchased`` and the amount it earned (see the module doc)."""
    scored = [ScoredEpisode(e, purchased=False) for e in episodes]
    for jr in joined:
        if jr.customer_track is None:
            continue
        before = [
            i
            for i, s in enumerate(scored)
            if s.episode.customer_track == jr.customer_track and s.episode.start_s <= jr.t_s
        ]
        for i in before:
            scored[i] = replace(scored[i], purchased=True)
        if before:
            last = max(before, key=lambda i: scored[i].episode.start_s)
            scored[last] = replace(scored[last], amount=scored[last].amount + jr.receipt.amount)
    return scored
