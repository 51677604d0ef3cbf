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

import base64
import datetime as dt
import html
import io
import math
import statistics
from dataclasses import dataclass, field

import numpy as np

from . import force as fm
from .fw import load as _load_fw
from .report import height_cm
from .store import Store
from .wearers import DEFAULT

bouts_fw = _load_fw("bouts")  # the clip's bout rule: one definition

QUALIFY_G = 3.9
TARGET = 50


@dataclass
class Bout:
    start: dt.datetime | None
    end: dt.datetime | None
    peaks_g: list[float]  # its qualifying landings
    recovery: float = 1.0  # how far mechanosensitivity had recovered when it began (0..1)

    @property
    def landings(self) -> int:
        return len(self.peaks_g)

    @property
    def score(self) -> float:
        return osteogenic_index(self.peaks_g) * self.recovery


@dataclass
class Day:
    date: dt.date | None  # None: sessions whose wall time is unknown
    jumps: int = 0
    qualifying: int = 0
    peaks_g: list[float] = field(default_factory=list)
    heights_cm: list[float] = field(default_factory=list)
    sessions: int = 0
    qualifying_at: list[tuple[float, float]] = field(default_factory=list)  # (epoch s, peak g)
    bouts: list[Bout] = field(default_factory=list)
    forces: list[fm.Force] = field(default_factory=list)  # with a body mass and a filtered peak
    clipped: int = 0  # landings whose raw peak reached the sensor's range
    estimated: bool = False  # some start times were estimated (the clip's clock was unset)
    target: int = TARGET  # the day's target: the clip's, as its last session that day had it
    target_met: bool = False
    streak: int = 0

    @property
    def peak_g(self) -> float:
        return max(self.peaks_g) if self.peaks_g else 0.0

    @property
    def median_g(self) -> float:
        return statistics.median(self.peaks_g) if self.peaks_g else 0.0

    @property
    def mean_height_cm(self) -> float:
        return statistics.fmean(self.heights_cm) if self.heights_cm else 0.0

    @property
    def score(self) -> float:
        return sum(b.score for b in self.bouts)

    @property
    def over_3bw(self) -> int:
        return sum(1 for f in self.forces if f.bw >= fm.BW_THRESHOLD)

    @property
    def peak_force(self) -> fm.Force | None:
        return max(self.forces, key=lambda f: f.bw) if self.forces else None


def osteogenic_index(peaks_g: list[float]) -> float:
    """Turner & Robling (2003): intensity x ln(1 + cycles); intensity = mean peak g."""
    if not peaks_g:
        return 0.0
    return statistics.fmean(peaks_g) * math.log(1 + len(peaks_g))


@dataclass
class Settings:
    """What the report counts with: the clip's own settings, session by session, unless the
    command line overrides them."""

    qualify_g: float | None = None  # an override (--qualify-g), else None
    target: int | None = None  # an override (--target), else None
    bout_gap_s: int = bouts_fw.BOUT_GAP_S  # the clip's default, or --bout-gap-min
    body_mass_kg: float | None = None  # the wearer's latest (the note); each session uses its own day's
    wearer: str | None = None  # None: every session in the database; a name (or "" the default): theirs only
    masses: set = field(default_factory=set)  # the body masses the reported sessions were counted with
    seen: set = field(default_factory=set)  # (qualify g, target) the sessions were recorded with

    def describe(self) -> str:
        if self.qualify_g is not None and self.target is not None:
            return f"landing peak >= {self.qualify_g:g} g; target {self.target}/day (set on the command line, not the clip's settings)"
        q = f"{self.qualify_g:g} g (--qualify-g)" if self.qualify_g is not None else None
        t = f"{self.target}/day (--target)" if self.target is not None else None
        qs = sorted({a for a, _ in self.seen}) or [QUALIFY_G]  # no session seen: the defaults
        ts = sorted({b for _, b in self.seen}) or [TARGET]
        q = q or (f"{qs[0]:g} g" if len(qs) == 1 else "the clip's setting in each session (" + ", ".join(f"{v:g}" for v in qs) + " g)")
        t = t or (f"{ts[0]}/day" if len(ts) == 1 else "the clip's setting each day (" + ", ".join(map(str, ts)) + ")")
        return f"landing peak >= {q}; target {t}" + ("" if self.qualify_g is not None and self.target is not None else ", as set on the clip")

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


def session_settings(s) -> tuple[float, int]:
    """(qualify g, daily target) a session was recorded with; the defaults for sessions from
    firmware that did not record them (0.1)."""
    q = s["qualify_mg"] / 1000 if s["qualify_mg"] else QUALIFY_G
    t = s["daily_target"] if s["daily_target"] else TARGET
    return q, t


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
    earlier: list[float] = []  # qualifying landings just before the window (the first bout's rest)
    # Sessions that began up to two days before the first day (one may run past midnight
    # into it), and those of unknown start: a year's database is not read for a month.
    since = dt.datetime.combine(first - dt.timedelta(days=2), dt.time()).astimezone()
    chosen = store.sessions(since=since)
    for k, s in enumerate(chosen, 1):
        if progress:
            progress(k, len(chosen))
        who = people.wearer_of(s["device_id"], s["wall_start"])
        if st.wearer is not None and who != st.wearer:
            continue
        jumps = store.jumps(s["log_id"], s["session_id"])
        if not jumps:
            continue
        mass = people.mass_of(who, s["wall_start"])  # the wearer's mass on the session's day
        if mass is not None:
            st.masses.add(mass)
        sq, stg = session_settings(s)
        q = qualify_g if qualify_g is not None else sq
        rate = s["rate_hz"] or 200
        start = dt.datetime.fromisoformat(s["wall_start"]).astimezone() if s["wall_start"] else None
        per_day: dict[dt.date | None, list[tuple]] = {}
        # A landing before the next local midnight is on the start's day: no date to work
        # out for each of a year's landings.
        same_day = start.date() if start else None
        before = math.inf
        if start:
            midnight = dt.datetime.combine(same_day + dt.timedelta(days=1), dt.time()).astimezone(start.tzinfo)
            before = (midnight - start).total_seconds() * rate
        for j in jumps:
            if j[0] < before:
                d = same_day
            else:
                d = (start + dt.timedelta(seconds=j[0] / rate)).date()
            per_day.setdefault(d, []).append(j)
        for d, js in per_day.items():
            if d is not None and d < first:  # before the window: only the rest before its first bout
                t0 = start.timestamp() if start else 0.0
                earlier += [t0 + ts / rate for ts, _, peak, _ in js if peak / 1000 >= q]
                continue
            if d is not None and d > today:
                continue
            st.seen.add((sq, stg))
            when = s["wall_start"] or ""
            if d not in day_target or when >= day_target[d][0]:
                day_target[d] = (when, stg)
                if st.last is None or when >= st.last_when:
                    st.last, st.last_when = (sq, stg), when
            day = by_date.setdefault(d, Day(d))
            t0 = start.timestamp() if start else 0.0
            for ts, air, peak, filtered in js:
                g = peak / 1000
                day.jumps += 1
                day.peaks_g.append(g)
                day.heights_cm.append(height_cm(air, rate))
                if g >= q:
                    day.qualifying += 1
                    day.qualifying_at.append((t0 + ts / rate, g))
                fg, clipped = fm.split_filtered(filtered)
                day.clipped += clipped
                f = fm.force(fg, clipped, mass)
                if f:
                    day.forces.append(f)
            day.sessions += 1
            day.estimated |= s["wall_source"] == "estimated"
    _bouts(by_date, st.bout_gap_s, earlier)
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


def _bouts(by_date: dict[dt.date | None, Day], gap_s: int, before: list[float] = ()) -> None:
    """The bouts (the clip's rule) of all dated qualifying landings at once, each filed under
    the day it began (a bout past midnight stays one bout), and how far each bout's start had
    recovered from the bout before it (full after RECOVERY_S). `before`: qualifying landings
    just before the report's first day, so that its first bout is weighed by the rest it
    really had."""
    owner: list[tuple[float, float, dt.date | None]] = [(t, 0.0, None) for t in before]
    for d in (d for d in by_date if d is not None):
        owner += [(t, g, d) for t, g in by_date[d].qualifying_at]
    owner.sort(key=lambda x: x[0])
    times = [t for t, _, _ in owner]
    prev_end: float | None = None
    i = 0
    for first, last, n in bouts_fw.split(times, gap_s):
        members = owner[i : i + n]
        i += n
        day = members[0][2]
        if day is not None:  # a bout that began before the report's window only sets the rest
            rec = 1.0 if prev_end is None else min(1.0, (first - prev_end) / bouts_fw.RECOVERY_S)
            by_date[day].bouts.append(Bout(dt.datetime.fromtimestamp(first).astimezone(), dt.datetime.fromtimestamp(last).astimezone(),
                                           [g for _, g, d in members if d is not None], max(0.0, rec)))
        prev_end = last
    if None in by_date:  # start unknown: no rest to weigh
        day = by_date[None]
        at = sorted(day.qualifying_at)
        for first, last, n in bouts_fw.split([t for t, _ in at], gap_s):
            day.bouts.append(Bout(None, None, [g for t, g in at if first <= t <= last], 1.0))


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


def week_rows(ws: list[Week], mass: bool) -> list[list[str]]:
    rows_ = []
    prev = None
    for w in ws:
        trend = ""
        if prev is not None and prev.score > 0:
            # A partial week (the report's first, or this one so far) is compared per day.
            if w.days < 7 or prev.days < 7:
                trend = f"{100 * (w.score / w.days - prev.score / prev.days) / (prev.score / prev.days):+.0f} % a day (partial week)"
            else:
                trend = f"{100 * (w.score - prev.score) / prev.score:+.0f} %"
        elif prev is not None:
            trend = "new" if w.score > 0 else ""
        rows_.append([w.label, str(w.days_active), str(w.qualifying), str(w.bouts),
                      str(w.over_3bw) if mass else "", f"{w.score:.1f}", trend])
        prev = w
    return rows_


WEEK_HEADERS = ["week of", "active days", "qualifying", "bouts", ">= 3 BW", "loading score", "vs week before"]


def current_streak(ds: list[Day]) -> int:
    dated = [d for d in ds if d.date is not None]
    if not dated:
        return 0
    # Today still counts as "in progress": the streak is yesterday's if today is not met yet.
    if dated[-1].target_met:
        return dated[-1].streak
    return dated[-2].streak if len(dated) > 1 else 0


def bout_text(b: Bout) -> str:
    when = b.start.strftime("%H:%M") if b.start else "?"
    return f"{when} ({b.landings})"


def rows(ds: list[Day], mass: bool = False) -> list[list[str]]:
    """The table's cells, shared by the terminal and the HTML page (so they agree)."""
    out = []
    for d in ds:  # every day of the window, rest days too: the chart shows them
        pf = d.peak_force
        out.append(
            [
                d.date.isoformat() + ("~" if d.estimated else "") if d.date else "date unknown",
                str(d.jumps),
                f"{d.qualifying}/{d.target}",
                "yes" if d.target_met else "no",
                str(d.streak) if d.date else "",
                ", ".join(bout_text(b) for b in d.bouts),
                str(d.over_3bw) if mass else "",
                pf.text() if pf else "",
                str(d.clipped) if d.clipped else "",
                f"{d.peak_g:.1f}" if d.jumps else "",
                f"{d.median_g:.1f}" if d.jumps else "",
                f"{d.mean_height_cm:.1f}" if d.jumps else "",
                f"{d.score:.1f}" if d.jumps else "",
            ]
        )
    return out


HEADERS = ["day", "jumps", "qualifying", "met", "streak", "bouts (start, landings)", ">= 3 BW", "peak force",
           "clipped", "peak g", "median g", "height cm", "score"]


ESTIMATED_NOTE = "~ after a day: some start times that day were estimated from the sync time (the clip's clock was not set)."


def mass_note(st: Settings) -> str:
    if not st.has_mass:
        return "No body mass set (jumpclip body-mass KG): forces and the 3 BW count need it, so they are left out."
    ms = sorted(st.masses) or [st.body_mass_kg]
    who = f"{ms[0]:g} kg" if len(ms) == 1 else f"the body mass of each session's day ({ms[0]:g} to {ms[-1]:g} kg)"
    return (f"Forces for {who}: peak ground reaction force in body weights, ±{fm.MAPE * 100:.0f} % "
            f"(the model's error); ≥ marks a landing that reached the sensor's range (a lower bound).")


def terminal_table(ds: list[Day], st: Settings):
    from rich.table import Table

    t = Table(title=st.whose(), caption=f"qualifying: {st.describe()}; bouts: a break of {st.bout_gap_s // 60} min starts a new one; "
                      f"{ESTIMATED_NOTE + ' ' if any(d.estimated for d in ds) else ''}{mass_note(st)} Not medical advice.", caption_justify="left")
    for h in HEADERS:
        t.add_column(h, justify="left" if h in ("day", "bouts (start, landings)") else "right", no_wrap=h.startswith("bouts"))
    for r in rows(ds, st.has_mass):
        t.add_row(*r)
    return t


def weeks_table(ds: list[Day], st: Settings):
    from rich.table import Table

    t = Table(title="Weeks", title_justify="left")
    for h in WEEK_HEADERS:
        t.add_column(h, justify="left" if h == "week of" else "right")
    for r in week_rows(weeks(ds), st.has_mass):
        t.add_row(*r)
    return t


def png(ds: list[Day], path_or_buf, st: Settings | None = None) -> None:
    import matplotlib

    st = st or Settings()
    qualify_g, target = st.headline
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dated = [d for d in ds if d.date is not None]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4), dpi=100, gridspec_kw={"width_ratios": [3, 2]})
    xs = [d.date for d in dated]
    a1.bar(xs, [d.qualifying for d in dated], color=["tab:green" if d.target_met else "tab:blue" for d in dated])
    for d in dated if len(dated) <= 62 else []:  # a label a bar reads for two months, not a year
        if d.bouts:
            a1.annotate(f"{len(d.bouts)} bout{'s' if len(d.bouts) > 1 else ''}", (d.date, d.qualifying), ha="center",
                        va="bottom", fontsize=7)
    a1.axhline(target, color="tab:red", ls="--", lw=1, label=f"target {target}")
    a1.set_title(f"Qualifying impacts per day (>= {qualify_g} g)" + (", with bouts" if len(dated) <= 62 else ""))
    a1.legend(loc="upper left")
    a1.tick_params(axis="x", rotation=45, labelsize=7)
    forces = [f for d in ds for f in d.forces]
    if forces:
        a2.hist(np.fromiter((f.bw for f in forces), float), bins=30, color="0.5")  # an array: a list of a year is slow
        a2.axvline(fm.BW_THRESHOLD, color="tab:red", ls="--", lw=1, label=f"{fm.BW_THRESHOLD:g} BW")
        clipped = sum(1 for f in forces if f.lower_bound)
        a2.set_title(f"Landing forces, body weights (~±{fm.MAPE * 100:.0f} % each" + (f"; {clipped} lower bounds)" if clipped else ")"))
        a2.set_xlabel("peak ground reaction force / body weight")
    else:
        a2.hist(np.fromiter((p for d in ds for p in d.peaks_g), float), bins=30, color="0.5")
        a2.axvline(qualify_g, color="tab:red", ls="--", lw=1, label=f"{qualify_g} g")
        a2.set_title("Landing peaks (no body mass set: no forces)")
        a2.set_xlabel("g")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path_or_buf, format="png")
    plt.close(fig)


def html_page(ds: list[Day], st: Settings | None = None, now: dt.datetime | None = None) -> str:
    st = st or Settings()
    qualify_g, target = st.headline
    buf = io.BytesIO()
    png(ds, buf, st)
    img = base64.b64encode(buf.getvalue()).decode()
    mass = st.has_mass

    def table(id_: str, headers: list[str], rows_: list[list[str]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows_)
        return f'<table id="{id_}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    streak = current_streak(ds)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>jumpclip loading report{html.escape(": " + st.whose()) if st.whose() else ""}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; white-space: nowrap; }}
.note {{ color: #555; max-width: 50em; }}
img {{ max-width: 100%; height: auto; }}
.wide {{ overflow-x: auto; }}
</style></head><body>
<h1>Bone-loading report{html.escape(": " + st.whose()) if st.whose() else ""}</h1>
<p><strong id="streak">Current streak: {streak} day(s)</strong> meeting the day's target of qualifying impacts ({html.escape(st.describe())}).</p>
<p id="next-bout">{html.escape(next_bout(ds, now))}</p>
<img alt="qualifying impacts per day with bouts, and landing forces" src="data:image/png;base64,{img}" width="1200" height="400">
<div class="wide">{table("days", HEADERS, rows(ds, mass))}</div>
{'<p class="note" id="estimated">' + html.escape(ESTIMATED_NOTE) + '</p>' if any(d.estimated for d in ds) else ''}
<h2>Weeks</h2>
<div class="wide">{table("weeks", WEEK_HEADERS, week_rows(weeks(ds), mass))}</div>
<p class="note">{html.escape(mass_note(st))}</p>
<p class="note">Qualifying impacts: landings whose peak reaches {qualify_g} g at the waist (Vainionp&auml;&auml; et al., Osteoporos Int 2006;17:455&ndash;63;
Ahola et al., BMC Musculoskelet Disord 2009;10:138). Landings of 3 body weights or more: an osteogenic threshold of ground reaction force
(Ryan, Clissold &amp; Winwood 2021). Force per landing: Veras et al.'s hip model on the landing's 20 Hz filtered peak.
A bout is a run of qualifying landings less than {st.bout_gap_s // 60} min apart. Loading score: in the style of Turner &amp; Robling's
osteogenic index (Exerc Sport Sci Rev 2003;31:45&ndash;50), with g in place of force: mean landing peak (g) &times; ln(1 + landings), per bout,
weighted by how far the bone had recovered since the bout before (full after 8 h: Robling, Burr &amp; Turner, J Exp Biol 2001;204:3389; four
bouts 3 h apart beat one: Robling et al., J Bone Miner Res 2002;17:1545; both in rat bone). The weighting is our reading of those findings.
Forces: about 13 % mean error on averaged lab jumps of known type (a single landing can be further off); the model gives the resultant force.
Qualifying uses the raw peak, force the 20 Hz filtered one: a 3.9 g landing is about 2.5&ndash;2.8 BW, not 3. The thresholds come from waist-worn sensors, where the clip
is worn. This is training information, not medical advice.</p>
</body></html>
"""
