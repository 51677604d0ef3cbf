"""Wearers: who wore which clip when, and their body mass over time.

A club has people, and a person may change clips (a replaced clip, a lost one, a flash
cloned onto a new board). A clip is assigned to a wearer from a moment on, until it is
assigned to someone else; a session belongs to whoever wore its clip when it started. Body
mass is a wearer's, from a date on, because it changes. A database nobody set up has one
wearer, the unnamed DEFAULT: every session is theirs and `jumpclip body-mass KG` is theirs.

This module is the rule; store.py keeps the rows, the reports and the CLI ask here.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from dataclasses import dataclass, field

DEFAULT = ""  # the one wearer of a database without named wearers
BEGINNING = ""  # 'since' of a first entry: it holds for everything before it too (sorts first)
MASS_RANGE = (20.0, 350.0)  # kg
NAME_RE = re.compile(r"^[^\s,;][^,;]{0,39}$")  # a name fits one table cell and one argument


class WearerError(ValueError):
    """A name, date or mass that cannot be used; str() is one line saying what to do."""


RESERVED = "(nobody named)"  # how tables show the sessions of no named wearer (report.py)


def check_name(name: str) -> str:
    from .text import hidden, visible

    name = name.strip()
    if any(hidden(c) for c in name):
        raise WearerError(f"'{visible(name)}' is not a wearer's name: it holds control or invisible characters")
    if not NAME_RE.match(name):
        raise WearerError(f"{name!r} is not a wearer's name: 1 to 40 characters, no comma or semicolon")
    if name.casefold() == RESERVED.casefold():
        raise WearerError(f"{name!r} is how tables show sessions of nobody named: choose another name")
    return name


def check_mass(kg: float) -> float:
    if not (MASS_RANGE[0] <= kg <= MASS_RANGE[1]):  # False for NaN too
        raise WearerError(f"{kg} is not a body mass: give kg from {MASS_RANGE[0]:g} to {MASS_RANGE[1]:g}")
    return kg


def since_text(day: dt.date | None, now: dt.datetime | None = None) -> str:
    """The stored form of a 'from' moment: local midnight of `day` (or now), in UTC ISO 8601,
    the form session starts are stored in, so that the two compare as text."""
    when = dt.datetime.combine(day, dt.time()).astimezone() if day else (now or dt.datetime.now().astimezone())
    return when.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Timeline:
    """Values that hold from a moment on: [(since, value)], since ascending."""

    points: list[tuple[str, object]] = field(default_factory=list)

    def add(self, since: str, value) -> None:
        keys = [p[0] for p in self.points]
        i = bisect.bisect_left(keys, since)
        if i < len(keys) and keys[i] == since:
            self.points[i] = (since, value)
        else:
            self.points.insert(i, (since, value))

    def at(self, when: str | None):
        """The value in force at `when` (ISO UTC); None before the first. An unknown time
        (None) takes the latest value."""
        if not self.points:
            return None
        if when is None:
            return self.points[-1][1]
        i = bisect.bisect_right([p[0] for p in self.points], when)
        return self.points[i - 1][1] if i else None


@dataclass
class People:
    """Everything the reports need to know about wearers, read once from the database."""

    names: list[str] = field(default_factory=list)
    clips: dict[str, Timeline] = field(default_factory=dict)  # device id -> wearer over time
    masses: dict[str, Timeline] = field(default_factory=dict)  # wearer -> kg over time

    @property
    def named(self) -> bool:
        return bool(self.names)

    def wearer_of(self, device_id: str, start: str | None) -> str:
        """Who wore the clip when a session started (ISO UTC, None: unknown start: whoever
        wears it now). A clip never assigned is the default wearer's."""
        tl = self.clips.get(device_id)
        who = tl.at(start) if tl else None
        return who if who is not None else DEFAULT  # before its first assignment: nobody named

    def clips_of(self, wearer: str) -> list[str] | None:
        """Every clip the wearer ever wore (a named one), or None for the default wearer,
        whose clips are also every clip never assigned (only the sessions can tell)."""
        if wearer == DEFAULT:
            return None
        return sorted(d for d, tl in self.clips.items() if any(w == wearer for _, w in tl.points))

    def mass_of(self, wearer: str, when: str | None) -> float | None:
        tl = self.masses.get(wearer)
        kg = tl.at(when) if tl else None
        if not isinstance(kg, float) or math.isnan(kg) or not MASS_RANGE[0] <= kg <= MASS_RANGE[1]:
            return None  # none set then (or a stored value no check would take: as if unset)
        return kg

    def latest_mass(self, wearer: str) -> float | None:
        return self.mass_of(wearer, None)


def find_clip(devices: list[str], text: str) -> str:
    """A clip named by its device id (12 hex digits, synced or not yet) or by the end of one
    that was synced (the 6 digits `jumpclip sessions` shows)."""
    t = text.strip().lower()
    if re.fullmatch(r"[0-9a-f]{12}", t):
        return t
    hits = [d for d in devices if len(t) >= 4 and d.endswith(t)]
    if len(hits) == 1:
        return hits[0]
    known = ", ".join(d[-6:] for d in devices) or "none synced yet"
    if len(hits) > 1:
        raise WearerError(f"{text!r} is the end of {len(hits)} clips' ids: give more digits (clips: {known})")
    raise WearerError(f"no synced clip ends in {text!r}: before its first sync give its 12-digit id (`jumpclip doctor` "
                      f"shows it), after it the last 6 that `jumpclip sessions` shows (clips: {known})")


def known_wearer(people: People, name: str) -> str:
    name = name.strip()
    if name not in people.names:
        have = ", ".join(people.names) or "none yet"
        raise WearerError(f"no wearer {name!r}: `jumpclip wearer add {name}` adds them (wearers: {have})")
    return name


def next_since(timeline: Timeline | None, day: dt.date | None) -> str:
    """When a new assignment or body mass holds from: the day given, else (the first one)
    from the beginning, so that it covers what came before; else from now."""
    if day is not None:
        return since_text(day)
    return BEGINNING if timeline is None or not timeline.points else since_text(None)


def summaries(people: People, sessions) -> list[dict]:
    """A line per wearer (the default one too, if any session is theirs): clips now, sessions,
    jumps, the last session's start, body mass now."""
    rows: dict[str, dict] = {n: {"wearer": n, "clips": [], "sessions": 0, "jumps": 0, "last": None} for n in people.names}
    for device, tl in people.clips.items():
        if tl.points:
            rows.setdefault(tl.points[-1][1], {"wearer": tl.points[-1][1], "clips": [], "sessions": 0, "jumps": 0, "last": None})
            rows[tl.points[-1][1]]["clips"].append(device)
    for s in sessions:
        who = people.wearer_of(s["device_id"], s["wall_start"])
        r = rows.setdefault(who, {"wearer": who, "clips": [], "sessions": 0, "jumps": 0, "last": None})
        r["sessions"] += 1
        r["jumps"] += s["jumps"]
        if s["wall_start"] and (r["last"] is None or s["wall_start"] > r["last"]):
            r["last"] = s["wall_start"]
    for r in rows.values():
        r["body_mass_kg"] = people.latest_mass(r["wearer"])
    return sorted(rows.values(), key=lambda r: (r["wearer"] == DEFAULT, r["wearer"]))
