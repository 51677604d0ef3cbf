"""Bone-loading report: did I do my jumps today, were they hard enough to matter, and did I
rest between bouts?

Per day: jumps, qualifying impacts (landing peak >= 3.9 g at the waist by default), whether
the daily target (50) was met, the streak of days in a row that met it, the bouts (runs of
qualifying landings; firmware/bouts.py, the clip's own rule) and their times, the landings
above 3 body weights (with a body mass set), the peak and median landing g, the mean jump
height, and a loading score. Per week: the totals and the trend. And when the next bout
would be fully effective.

Sources for the numbers:
- Impacts above 3.9 g at the waist, counted per day with a waist-worn accelerometer, were
  associated with hip bone density changes: Vainionpaa et al., Osteoporosis International
  2006, 17(3):455-63; Ahola et al., BMC Musculoskeletal Disorders 2009, 10:138.
- About 50 jumps a day have been associated with gains in hip bone density (the target).
- Landings above 3 body weights: an osteogenic threshold of ground reaction force, from
  Ryan, Clissold & Winwood 2021 (as cited by the issue that asked for it; the paper itself
  was not available to us). Force per landing: force.py (Veras et al.).
- Loading score: a score in the style of Turner & Robling's osteogenic index, with g in place of force (Exercise and Sport Sciences Reviews
  2003, 31(1):45-50), OI = intensity x ln(1 + n), applied per bout: n the bout's qualifying
  landings, intensity their mean landing peak in g (a proxy for the ground reaction force).
  The logarithm saturates within a bout. Between bouts, mechanosensitivity recovers over
  about 8 hours (Robling, Burr & Turner, J Exp Biol 2001, 204:3389), and four bouts 3 h apart
  built more bone than one (Robling et al., J Bone Miner Res 2002, 17:1545): so each bout's
  OI is weighted by how far sensitivity had recovered, min(1, rest before it / 8 h). That
  weighting is our reading of those findings, not a published formula. A day's score is the
  sum over its bouts.
This is training information, not medical advice.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

from . import force as fm
from .fw import load as _load_fw
from .fw import logformat as lf
from .qualify import QUALIFY_G, qualifies, session_qualify_g  # one home for "qualifying"
from .report import height_cm
from .store import Store
from .wearers import DEFAULT

bouts_fw = _load_fw("bouts")  # the clip's bout rule: one definition
N_BANDS = lf.N_BANDS

TARGET = 50


@dataclass
class Bout:
    """A bout as the report needs it: its members' count and mean intensity, not the members
    (a club's year holds millions of them). Made by Bout.of from its members."""

    start: dt.datetime | None
    end: dt.datetime | None
    landings: int  # its qualifying impacts (or landings)
    intensity: float  # their mean force in body weights when by_force, else their mean peak g
    recovery: float = 1.0  # how far mechanosensitivity had recovered when it began (0..1)
    by_force: bool = False  # the score is Turner & Robling's index itself: force in body weights

    @classmethod
    def of(cls, start: dt.datetime | None, end: dt.datetime | None, peaks_g: list[float], recovery: float = 1.0,
           forces_bw: list[float] | None = None) -> Bout:
        """forces_bw: each member's force estimate, when every one of them has one (a body mass set)."""
        by_force = bool(forces_bw) and len(forces_bw) == len(peaks_g)  # type: ignore[arg-type]
        values = forces_bw if by_force else peaks_g
        return cls(start, end, len(peaks_g), statistics.fmean(values) if values else 0.0, recovery, by_force)  # type: ignore[arg-type]

    @property
    def score(self) -> float:
        return (index_of(self.intensity, self.landings) if self.landings else 0.0) * self.recovery


LANDINGS = lf.TARGET_LANDINGS  # what a day's target counted (the session's target_rule)
IMPACTS = lf.TARGET_IMPACTS
RULE_TEXT = {LANDINGS: "landings", IMPACTS: "impacts"}


@dataclass
class Day:
    date: dt.date | None  # None: sessions whose wall time is unknown
    jumps: int = 0
    qualifying: int = 0  # what the day's target counts (rules): qualifying impacts or qualifying landings
    landings_qualifying: int = 0  # landings after a flight, peak >= qualify_g
    impacts_qualifying: int = 0  # impact peaks >= qualify_g from any movement (firmware 0.4 on)
    bands: list[int] | None = None  # impacts per band (impacts.BAND_MG), None: no session of the day counted them
    rules: set = field(default_factory=set)  # what the target counted in the day's sessions (LANDINGS, IMPACTS)
    # The day's landings as counts of what the log stores, not a list each: a club's year is
    # millions of landings, and these take the same room whatever their number (a peak is
    # whole mg, a flight whole samples), while the peak, median, mean and histograms that the
    # report shows come out exactly as from the landings themselves.
    peaks_mg: Counter = field(default_factory=Counter)  # landing peak (mg) -> landings
    flights: Counter = field(default_factory=Counter)  # (air samples, rate Hz) -> landings
    filtered: Counter = field(default_factory=Counter)  # (stored filtered peak, body mass kg) -> landings with a force
    sessions: int = 0
    # (epoch s, peak g, force in BW or None) of what the target counts: days() keeps them for
    # the day of unknown date only (dated days' bouts are built as the landings are read)
    qualifying_at: list[tuple[float, float, float | None]] = field(default_factory=list)
    bouts: list[Bout] = field(default_factory=list)
    clipped: int = 0  # landings whose raw peak reached the sensor's range
    estimated: bool = False  # some start times were estimated (the clip's clock was unset)
    target: int = TARGET  # the day's target: the clip's, as its last session that day had it
    target_met: bool = False
    streak: int = 0

    def add_landing(self, air: int, peak_mg: int, filtered: int | None, rate: int, mass: float | None) -> None:
        self.jumps += 1
        self.peaks_mg[peak_mg] += 1
        self.flights[air, rate] += 1
        if mass is not None and fm.force(*fm.split_filtered(filtered), mass) is not None:
            self.filtered[filtered, mass] += 1

    @property
    def peak_g(self) -> float:
        return max(self.peaks_mg) / 1000 if self.peaks_mg else 0.0

    @property
    def median_g(self) -> float:
        """statistics.median of the landings' peaks in g: the middle one, or the mean of the
        two middle ones."""
        n = sum(self.peaks_mg.values())
        if not n:
            return 0.0
        lo, hi = (n - 1) // 2, n // 2  # the middle positions, 0-based
        below = 0  # landings with a peak up to this one
        lower = 0.0  # the peak at position lo, once reached
        for mg in sorted(self.peaks_mg):
            passed_lo = below <= lo
            below += self.peaks_mg[mg]
            if passed_lo and below > lo:
                lower = mg / 1000
            if below > hi:
                return lower if lo == hi else (lower + mg / 1000) / 2
        return lower  # not reached: below ends at n > hi

    def heights(self) -> list[tuple[float, int]]:
        """(jump height cm, landings) of the day's flights."""
        return [(height_cm(air, rate), c) for (air, rate), c in self.flights.items()]

    @property
    def mean_height_cm(self) -> float:
        hs = self.heights()
        n = sum(c for _, c in hs)
        return math.fsum(h * c for h, c in hs) / n if n else 0.0

    @property
    def max_height_cm(self) -> float:
        return max((h for h, _ in self.heights()), default=0.0)

    def forces(self) -> list[tuple[fm.Force, int]]:
        """(force, landings) of the landings with a body mass and a filtered peak."""
        out = []
        for (filtered, mass), c in self.filtered.items():
            f = fm.force(*fm.split_filtered(filtered), mass)
            if f is not None:
                out.append((f, c))
        return out

    @property
    def score(self) -> float:
        return sum(b.score for b in self.bouts)

    @property
    def over_3bw(self) -> int:
        return sum(c for f, c in self.forces() if f.bw >= fm.BW_THRESHOLD)

    @property
    def peak_force(self) -> fm.Force | None:
        fs = self.forces()
        return max((f for f, _ in fs), key=lambda f: f.bw) if fs else None


def osteogenic_index(peaks_g: list[float]) -> float:
    """Turner & Robling (2003): intensity x ln(1 + cycles); intensity = the mean force in
    body weights, as the index has it, or the mean peak g in its place (no body mass)."""
    if not peaks_g:
        return 0.0
    return index_of(statistics.fmean(peaks_g), len(peaks_g))


def index_of(intensity: float, cycles: int) -> float:
    """The osteogenic index from the mean intensity and the number of cycles (a Bout keeps
    only those two)."""
    return intensity * math.log(1 + cycles)


@dataclass
class Settings:
    """What the report counts with: the clip's own settings, session by session, unless the
    command line overrides them."""

    qualify_g: float | None = None  # an override (--qualify-g), else None
    target: int | None = None  # an override (--target), else None
    target_counts: int | None = None  # an override (--target-counts): LANDINGS or IMPACTS, else the clip's rule per session
    rules: set = field(default_factory=set)  # what the target counted in the reported sessions
    group: object = None  # evidence.Group the wearer said they are in (jumpclip group), or None
    bout_gap_s: int = bouts_fw.BOUT_GAP_S  # the clip's default, or --bout-gap-min
    body_mass_kg: float | None = None  # the wearer's latest (the note); each session uses its own day's
    wearer: str | None = None  # None: every session in the database; a name (or "" the default): theirs only
    masses: set = field(default_factory=set)  # the body masses the reported sessions were counted with
    seen: set = field(default_factory=set)  # (qualify g, target) the sessions were recorded with

    def counted(self) -> str:
        """What the target counted, in words."""
        rules = self.rules or {self.target_counts or IMPACTS}
        if rules == {IMPACTS}:
            return "impacts from any movement (jumps, hops, stomps, heel drops, stairs, jogging) with a peak"
        if rules == {LANDINGS}:
            return "landings after a flight with a peak"
        return "impacts from any movement or landings only, as each session's clip counted them, with a peak"

    def describe(self) -> str:
        if self.qualify_g is not None and self.target is not None:
            return f"{self.counted()} >= {self.qualify_g:g} g; target {self.target}/day (set on the command line, not the clip's settings)"
        q = f"{self.qualify_g:g} g (--qualify-g)" if self.qualify_g is not None else None
        t = f"{self.target}/day (--target)" if self.target is not None else None
        qs = sorted({a for a, _ in self.seen}) or [QUALIFY_G]  # no session seen: the defaults
        ts = sorted({b for _, b in self.seen}) or [TARGET]
        q = q or (f"{qs[0]:g} g" if len(qs) == 1 else "the clip's setting in each session (" + ", ".join(f"{v:g}" for v in qs) + " g)")
        t = t or (f"{ts[0]}/day" if len(ts) == 1 else "the clip's setting each day (" + ", ".join(map(str, ts)) + ")")
        return f"{self.counted()} >= {q}; target {t}" + ("" if self.qualify_g is not None and self.target is not None else ", as set on the clip")

    named: bool = False  # the database has named wearers

    def whose(self) -> str:
        """Whose days these are, for a title ('' where there is one wearer)."""
        if self.wearer:
            return self.wearer
        return "every wearer together (--wearer NAME for one)" if self.named else ""

    @property
    def has_mass(self) -> bool:
        return bool(self.masses) or self.body_mass_kg is not None

    @property
    def headline(self) -> tuple[float, int]:
        """One threshold and target to draw: the override, else the most recent session's."""
        last = self.last or (QUALIFY_G, TARGET)
        return (self.qualify_g if self.qualify_g is not None else last[0], self.target if self.target is not None else last[1])

    last: tuple[float, int] | None = None
    last_when: str = ""


def rule_named(name: str | None) -> int | None:
    """--target-counts impacts|landings -> IMPACTS or LANDINGS; None: the clip's own rule."""
    return {"impacts": IMPACTS, "landings": LANDINGS}.get(name or "")


def session_settings(s) -> tuple[float, int]:
    """(qualify g, daily target) a session was recorded with; the defaults for sessions from
    firmware that did not record them (0.1)."""
    t = s["daily_target"] if s["daily_target"] else TARGET
    return session_qualify_g(s), t


def days(store: Store, n_days: int = 30, today: dt.date | None = None, qualify_g: float | None = None,
         target: int | None = None, settings: Settings | None = None, progress=None) -> list[Day]:
    """The report's days; progress(done, total) after each session read."""
    today = today or dt.datetime.now().astimezone().date()
    first = today - dt.timedelta(days=n_days - 1)
    by_date: dict[dt.date | None, Day] = {}
    st = settings if settings is not None else Settings()
    st.qualify_g, st.target = qualify_g, target
    people = store.people()
    st.named = people.named
    st.body_mass_kg = people.latest_mass(st.wearer or DEFAULT)
    day_target: dict[dt.date | None, tuple[str, int]] = {}  # the latest session's target per day
    # Sessions that began up to two days before the first day (one may run past midnight
    # into it), and those of unknown start: a year's database is not read for a month.
    since = dt.datetime.combine(first - dt.timedelta(days=2), dt.time()).astimezone()
    chosen = store.sessions(since=since, devices=people.clips_of(st.wearer) if st.wearer is not None else None)
    # In order of their start (unknown starts last): the bouts are built as the landings
    # come, in time order (BoutBuilder), so a club's year is never held landing by landing.
    # A session's landings are never before its start, so those before the next session's
    # start are final; only sessions that overlap in time wait together (`waiting`).
    chosen.sort(key=_start_s)
    bouts = BoutBuilder(by_date, st.bout_gap_s)
    waiting: list[tuple[float, int, float, float | None, dt.date | None]] = []  # heap: (t, order, g, bw, day)
    order = 0
    for k, s in enumerate(chosen, 1):
        if progress:
            progress(k, len(chosen))
        begins = _start_s(s)
        while waiting and waiting[0][0] < begins:
            t, _, g, bw, d = heapq.heappop(waiting)
            bouts.add(t, g, bw, d)
        who = people.wearer_of(s["device_id"], s["wall_start"])
        if st.wearer is not None and who != st.wearer:
            continue
        jumps = store.jumps(s["log_id"], s["session_id"])
        found = store.impacts(s["log_id"], s["session_id"])
        bands = [s[f"band{k}"] for k in range(N_BANDS)] if s["bands_seq"] is not None else None
        if not jumps and not found and not (bands and any(bands)):
            continue
        mass = people.mass_of(who, s["wall_start"])  # the wearer's mass on the session's day
        if mass is not None:
            st.masses.add(mass)
        sq, stg = session_settings(s)
        rule = st.target_counts or s["target_rule"] or LANDINGS  # before firmware 0.4 the target counted landings
        q = qualify_g if qualify_g is not None else sq
        rate = s["rate_hz"] or 200
        start = dt.datetime.fromisoformat(s["wall_start"]).astimezone() if s["wall_start"] else None
        t0 = start.timestamp() if start else 0.0
        # A landing before the next local midnight is on the start's day: no date to work
        # out for each of a year's landings.
        same_day = start.date() if start else None
        before = math.inf
        if start:
            midnight = dt.datetime.combine(same_day + dt.timedelta(days=1), dt.time()).astimezone(start.tzinfo)
            before = (midnight - start).total_seconds() * rate

        def day_of(ts: int) -> dt.date | None:
            return same_day if ts < before else (start + dt.timedelta(seconds=ts / rate)).date()  # type: ignore[operator]

        per_day: dict[dt.date | None, list[tuple]] = {}
        for j in jumps:
            per_day.setdefault(day_of(j[0]), []).append(j)
        impacts_per_day: dict[dt.date | None, list[tuple]] = {}
        for i in found:
            impacts_per_day.setdefault(day_of(i[0]), []).append(i)
        # The bands carry no times: they are the session's start day's.
        for d in sorted(set(per_day) | set(impacts_per_day) | ({same_day} if bands else set()), key=lambda d: (d is None, d)):
            js = per_day.get(d, [])
            ims = impacts_per_day.get(d, [])
            # (t, peak mg, force): an impact has no filtered peak, so no force; a landing has
            counted = ([(ts, p, None) for ts, p in ims] if rule == IMPACTS else
                       [(ts, peak, fm.force(*fm.split_filtered(filtered), mass)) for ts, _, peak, filtered in js])
            if d is not None and d < first:  # before the window: only the rest before its first bout
                for ts, peak, _ in counted:
                    if peak / 1000 >= q:
                        heapq.heappush(waiting, (t0 + ts / rate, order, 0.0, None, None))
                        order += 1
                continue
            if d is not None and d > today:
                continue
            st.seen.add((sq, stg))
            st.rules.add(rule)
            when = s["wall_start"] or ""
            if d not in day_target or when >= day_target[d][0]:
                day_target[d] = (when, stg)
                if st.last is None or when >= st.last_when:
                    st.last, st.last_when = (sq, stg), when
            day = by_date.setdefault(d, Day(d))
            day.rules.add(rule)
            for ts, air, peak, filtered in js:
                day.add_landing(air, peak, filtered, rate, mass)
                if qualifies(peak, q):
                    day.landings_qualifying += 1
                day.clipped += fm.split_filtered(filtered)[1]
            day.impacts_qualifying += sum(1 for _, p in ims if qualifies(p, q))
            for ts, peak, f in counted:
                if peak / 1000 >= q:
                    day.qualifying += 1
                    if d is None:
                        day.qualifying_at.append((t0 + ts / rate, peak / 1000, f.bw if f else None))
                    else:
                        heapq.heappush(waiting, (t0 + ts / rate, order, peak / 1000, f.bw if f else None, d))
                        order += 1
            if bands and d == same_day:
                day.bands = [a + b for a, b in zip(day.bands or [0] * N_BANDS, bands)]
            day.sessions += 1
            day.estimated |= s["wall_source"] == "estimated"
    while waiting:
        t, _, g, bw, d = heapq.heappop(waiting)
        bouts.add(t, g, bw, d)
    bouts.finish()
    _undated_bouts(by_date, st.bout_gap_s)
    out = []
    streak = 0
    default_target = target if target is not None else st.headline[1]
    for k in range(n_days):
        d = first + dt.timedelta(days=k)
        day = by_date.get(d, Day(d))
        day.target = target if target is not None else day_target.get(d, ("", default_target))[1]
        day.target_met = day.qualifying >= day.target
        streak = streak + 1 if day.target_met else 0
        day.streak = streak
        out.append(day)
    if None in by_date:
        day = by_date[None]
        day.target = target if target is not None else day_target.get(None, ("", default_target))[1]
        day.target_met = day.qualifying >= day.target
        out.append(day)
    return out


def _start_s(s) -> float:
    """A session's start in epoch seconds; unknown: after every known one."""
    return dt.datetime.fromisoformat(s["wall_start"]).timestamp() if s["wall_start"] else math.inf


class BoutBuilder:
    """The bouts (the clip's rule, firmware/bouts.py, fed one landing at a time) of the dated
    qualifying landings, fed in time order: each filed under the day it began (a bout past
    midnight stays one bout), with how far its start had recovered from the bout before it
    (full after RECOVERY_S). A landing with no day (just before the report's first day) only
    sets the rest before the first bout. Holds one bout's landings at a time."""

    def __init__(self, by_date: dict[dt.date | None, Day], gap_s: int):
        self.by_date = by_date
        self.rule = bouts_fw.Bouts(gap_s, 1 << 30)
        self.prev_end: float | None = None
        self.first = self.last = 0.0
        self.day: dt.date | None = None
        self.open = False
        self.gs: list[float] = []
        self.bws: list[float | None] = []

    def add(self, t: float, g: float, bw: float | None, day: dt.date | None) -> None:
        if self.rule.starts_bout(t):
            self._close()
            self.open, self.first, self.day = True, t, day
        self.rule.add(t)
        self.last = t
        if day is not None:
            self.gs.append(g)
            self.bws.append(bw)

    def _close(self) -> None:
        if self.open and self.day is not None:  # a bout that began before the window only sets the rest
            rec = 1.0 if self.prev_end is None else min(1.0, (self.first - self.prev_end) / bouts_fw.RECOVERY_S)
            self.by_date[self.day].bouts.append(Bout.of(dt.datetime.fromtimestamp(self.first).astimezone(),
                                                     dt.datetime.fromtimestamp(self.last).astimezone(),
                                                     self.gs, max(0.0, rec), _forces(self.bws)))
        if self.open:
            self.prev_end = self.last
        self.open, self.gs, self.bws = False, [], []

    def finish(self) -> None:
        self._close()


def _undated_bouts(by_date: dict[dt.date | None, Day], gap_s: int) -> None:
    if None in by_date:  # start unknown: no rest to weigh
        day = by_date[None]
        at = sorted(day.qualifying_at, key=lambda x: x[0])
        for first, last, n in bouts_fw.split([t for t, _, _ in at], gap_s):
            inside = [(g, bw) for t, g, bw in at if first <= t <= last]
            day.bouts.append(Bout.of(None, None, [g for g, _ in inside], 1.0, _forces([bw for _, bw in inside])))


def _forces(bws: list[float | None]) -> list[float] | None:
    """Every member's force, or None when one lacks it (then the score uses g for all)."""
    return None if not bws or any(b is None for b in bws) else bws  # type: ignore[return-value]


def next_bout(ds: list[Day], now: dt.datetime | None = None) -> str:
    """When the next bout will be fully effective: 8 h after the last one ended."""
    ends = [b.end for d in ds if d.date is not None for b in d.bouts if b.end is not None]
    if not ends:
        return "No bouts yet: any time is a good time for the first."
    now = now or dt.datetime.now().astimezone()
    ready = max(ends) + dt.timedelta(seconds=bouts_fw.RECOVERY_S)
    if ready <= now:
        return "Rested: a bout now is fully effective (the last one ended more than 8 h ago)."
    return (f"Next bout fully effective from {ready.strftime('%a %H:%M')} (8 h after the last one ended); "
            f"a bout before then counts for less.")


@dataclass
class Week:
    start: dt.date
    days_active: int
    qualifying: int
    bouts: int
    score: float
    over_3bw: int
    days: int = 0  # of the report's days in this week: under 7 is a partial week

    @property
    def label(self) -> str:
        return self.start.isoformat() + ("" if self.days >= 7 else f" ({self.days} of 7 days)")


def weeks(ds: list[Day]) -> list[Week]:
    """The dated days grouped by week (Monday first)."""
    out: dict[dt.date, Week] = {}
    for d in ds:
        if d.date is None:
            continue
        monday = d.date - dt.timedelta(days=d.date.weekday())
        w = out.setdefault(monday, Week(monday, 0, 0, 0, 0.0, 0))
        w.days += 1
        w.days_active += d.jumps > 0
        w.qualifying += d.qualifying
        w.bouts += len(d.bouts)
        w.score += d.score
        w.over_3bw += d.over_3bw
    return [out[k] for k in sorted(out)]


def current_streak(ds: list[Day]) -> int:
    dated = [d for d in ds if d.date is not None]
    if not dated:
        return 0
    # Today still counts as "in progress": the streak is yesterday's if today is not met yet.
    if dated[-1].target_met:
        return dated[-1].streak
    return dated[-2].streak if len(dated) > 1 else 0
