"""Every sentence the pets bots say, from the message catalogue (Russian by default, English on request).

    t = translator(negotiate(user.language_code, default="ru"))
    match_caption(t, card)        # "Возможно, это ваш питомец: уверенность 93 %\\nГде: ...\\nКогда: ...\\nСсылка: ..."

Only matches the engine marks *sure* (calibrated confidence ≥ ``pets.precision_threshold``) reach these functions;
the bots never word a guess.
"""

from __future__ import annotations

from datetime import datetime

from sightings.i18n import Translator
from sightings.solutions.pets.client import MatchCard

__all__ = [
    "ask_photos",
    "ask_text",
    "match_caption",
    "saved",
    "vk_comment_for_found",
    "vk_comment_for_lost",
    "vk_comment_for_sighting",
]


def when_text(t: datetime) -> str:
    return t.strftime("%d.%m.%Y %H:%M UTC")


def percent(confidence: float) -> int:
    return round(100 * confidence)


def start(t: Translator) -> str:
    return t.gettext(
        "Hello! I help lost cats and dogs get home.\n"
        "/lost - I lost a pet\n"
        "/found - I found a pet\n"
        "/matches - possible matches for my lost pets\n"
        "/cancel - stop"
    )


def ask_photos(t: Translator) -> str:
    return t.gettext("Send one or more photos of the pet. Then send the place: a location or an address.")


def photos_received(t: Translator, n: int) -> str:
    return t.ngettext(
        "{n} photo received. Send more, or send the place: a location or an address.",
        "{n} photos received. Send more, or send the place: a location or an address.",
        n,
    ).format(n=n)


def ask_text(t: Translator) -> str:
    return t.gettext("Now describe the pet: name, colour, collar, when it happened, a phone number.")


def unexpected(t: Translator) -> str:
    return t.gettext("Send photos, a location or an address, or /cancel.")


def cancelled(t: Translator) -> str:
    return t.gettext("Cancelled.")


def help_text(t: Translator) -> str:
    return t.gettext("Send /lost or /found to add a post, /matches to see possible matches.")


def saved(t: Translator, kind: str, status: str) -> str:
    if status == "exists":
        return t.gettext("This post is already here.")
    if status == "duplicate":
        return t.gettext("This looks like a copy of a post we already have; we linked them.")
    if kind == "lost":
        return t.gettext("Saved: your post about a lost pet.")
    if kind == "found":
        return t.gettext("Saved: your post about a found pet.")
    return t.gettext("Saved.")


def refused(t: Translator, reason: str) -> str:
    return t.gettext("Could not save the post: {reason}").format(reason=reason)


def engine_busy(t: Translator) -> str:
    return t.gettext("The service is busy, please try again in a few minutes.")


def photos_left_out(t: Translator, n: int) -> str:
    return t.ngettext("{n} photo was left out.", "{n} photos were left out.", n).format(n=n)


def matches_found(t: Translator, n: int) -> str:
    return t.ngettext("{n} possible match", "{n} possible matches", n).format(n=n)


def no_match_yet(t: Translator) -> str:
    return t.gettext("No match yet. We will write when one appears.")


def no_lost_posts(t: Translator) -> str:
    return t.gettext("You have no posts about a lost pet yet. Send /lost to add one.")


def owner_told(t: Translator) -> str:
    return t.gettext("We told the owner of a lost pet that may be this one.")


def thanks(t: Translator) -> str:
    return t.gettext("Thank you! We have noted your answer.")


def button_mine(t: Translator) -> str:
    return t.gettext("This is mine")


def button_not_mine(t: Translator) -> str:
    return t.gettext("Not mine")


def match_caption(t: Translator, card: MatchCard) -> str:
    """A sure match as a message: how sure, where, when, the link."""
    lines = [t.gettext("Possibly your pet: {confidence}% sure").format(confidence=percent(card.confidence))]
    if card.target_kind == "sighting":
        lines.append(t.gettext("Seen by a street camera"))
    where = ", ".join(p for p in (card.place, card.district) if p)
    if where:
        lines.append(t.gettext("Where: {place}").format(place=where))
    if card.distance_km is not None:
        lines.append(t.gettext("{km} km from where it was lost").format(km=f"{card.distance_km:.1f}"))
    lines.append(t.gettext("When: {when}").format(when=when_text(card.seen_at)))
    if card.link:
        lines.append(t.gettext("Link: {link}").format(link=card.link))
    return "\n".join(lines)


def vk_comment_for_lost(t: Translator, link: str, confidence: float) -> str:
    """Under a lost-pet post: a found post that may be this pet."""
    return t.gettext("Possibly this pet has been found: {link} ({confidence}% sure)").format(
        link=link, confidence=percent(confidence)
    )


def vk_comment_for_found(t: Translator, link: str, confidence: float) -> str:
    """Under a found-pet post: a lost-pet post that may be this animal."""
    return t.gettext("Possibly the owner is looking for this pet: {link} ({confidence}% sure)").format(
        link=link, confidence=percent(confidence)
    )


def vk_comment_for_sighting(t: Translator, card: MatchCard) -> str:
    """Under a lost-pet post: a street camera saw a similar animal."""
    return t.gettext("A street camera saw a similar animal: {place}, {when} ({confidence}% sure)").format(
        place=card.place or card.district or "?", when=when_text(card.seen_at), confidence=percent(card.confidence)
    )
