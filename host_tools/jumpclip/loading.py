"""Bone-loading report: did I do my jumps today, and were they hard enough to matter?

Per day: jumps, qualifying impacts (landing peak >= 3.9 g at the waist by default), whether
the daily target (50) was met, the streak of days in a row that met it, the peak and median
landing g, the mean jump height, and an osteogenic index.

Sources for the numbers:
- Impacts above 3.9 g at the waist, counted per day with a waist-worn accelerometer, were
  associated with hip bone density changes: Vainionpaa et al., Osteoporosis International
  2006, 17(3):455-63; Ahola et al., BMC Musculoskeletal Disorders 2009, 10:138.
- About 50 jumps a day have been associated with gains in hip bone density (the target).
- Osteogenic index (Turner & Robling, Exercise and Sport Sciences Reviews 2003, 31(1):45-50):
  per session, OI = intensity x ln(1 + n), with n the number of loading cycles. Here n is the
  session's landings and intensity is their mean landing peak in g, as a proxy for the ground
  reaction force. A day's OI is the sum over its sessions. The logarithm models that the
  bone's response saturates within a session; summing separate sessions models recovery.
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

from .report import height_cm
from .store import Store

QUALIFY_G = 3.9
TARGET = 50


@dataclass
class Day:
    date: dt.date | None  # None: sessions whose wall time is unknown
    jumps: int = 0
    qualifying: int = 0
    peaks_g: list[float] = field(default_factory=list)
    heights_cm: list[float] = field(default_factory=list)
    oi: float = 0.0
    sessions: int = 0
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
    seen: set = field(default_factory=set)  # (qualify g, target) the sessions were recorded with

    def describe(self) -> str:
        if self.qualify_g is not None and self.target is not None:
            return f"landing peak >= {self.qualify_g:g} g; target {self.target}/day (set on the command line, not the clip's settings)"
        q = f"{self.qualify_g:g} g (--qualify-g)" if self.qualify_g is not None else None
        t = f"{self.target}/day (--target)" if self.target is not None else None
        qs = sorted({a for a, _ in self.seen})
        ts = sorted({b for _, b in self.seen})
        q = q or (f"{qs[0]:g} g" if len(qs) == 1 else "the clip's setting in each session (" + ", ".join(f"{v:g}" for v in qs) + " g)")
        t = t or (f"{ts[0]}/day" if len(ts) == 1 else "the clip's setting each day (" + ", ".join(map(str, ts)) + ")")
        return f"landing peak >= {q}; target {t}" + ("" if self.qualify_g is not None and self.target is not None else ", as set on the clip")

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
         target: int | None = None, settings: Settings | None = None) -> list[Day]:
    today = today or dt.datetime.now().astimezone().date()
    first = today - dt.timedelta(days=n_days - 1)
    by_date: dict[dt.date | None, Day] = {}
    st = settings if settings is not None else Settings()
    st.qualify_g, st.target = qualify_g, target
    day_target: dict[dt.date | None, tuple[str, int]] = {}  # the latest session's target per day
    for s in store.sessions():
        jumps = store.jumps(s["log_id"], s["session_id"])
        if not jumps:
            continue
        sq, stg = session_settings(s)
        q = qualify_g if qualify_g is not None else sq
        rate = s["rate_hz"] or 200
        start = dt.datetime.fromisoformat(s["wall_start"]).astimezone() if s["wall_start"] else None
        per_day: dict[dt.date | None, list[tuple[int, int, int]]] = {}
        for j in jumps:
            d = (start + dt.timedelta(seconds=j[0] / rate)).date() if start else None
            per_day.setdefault(d, []).append(j)
        for d, js in per_day.items():
            if d is not None and not (first <= d <= today):
                continue
            st.seen.add((sq, stg))
            when = s["wall_start"] or ""
            if d not in day_target or when >= day_target[d][0]:
                day_target[d] = (when, stg)
                if st.last is None or when >= st.last_when:
                    st.last, st.last_when = (sq, stg), when
            day = by_date.setdefault(d, Day(d))
            peaks = [p / 1000 for _, _, p in js]
            day.jumps += len(js)
            day.qualifying += sum(1 for p in peaks if p >= q)
            day.peaks_g += peaks
            day.heights_cm += [height_cm(a, rate) for _, a, _ in js]
            day.oi += osteogenic_index(peaks)
            day.sessions += 1
            day.estimated |= s["wall_source"] == "estimated"
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


def current_streak(ds: list[Day]) -> int:
    dated = [d for d in ds if d.date is not None]
    if not dated:
        return 0
    # Today still counts as "in progress": the streak is yesterday's if today is not met yet.
    if dated[-1].target_met:
        return dated[-1].streak
    return dated[-2].streak if len(dated) > 1 else 0


def rows(ds: list[Day]) -> list[list[str]]:
    """The table's cells, shared by the terminal and the HTML page (so they agree)."""
    out = []
    for d in ds:
        if d.date is not None and d.jumps == 0:
            continue
        out.append(
            [
                d.date.isoformat() + ("~" if d.estimated else "") if d.date else "date unknown",
                str(d.jumps),
                f"{d.qualifying}/{d.target}",
                "yes" if d.target_met else "no",
                str(d.streak) if d.date else "",
                f"{d.peak_g:.1f}",
                f"{d.median_g:.1f}",
                f"{d.mean_height_cm:.1f}",
                f"{d.oi:.1f}",
            ]
        )
    return out


HEADERS = ["day", "jumps", "qualifying", "target met", "streak", "peak g", "median g", "mean height cm", "osteogenic index"]


def terminal_table(ds: list[Day], st: Settings):
    from rich.table import Table

    t = Table(caption=f"qualifying: {st.describe()}; ~ start times estimated. Not medical advice.", caption_justify="left")
    for h in HEADERS:
        t.add_column(h, justify="left" if h == "day" else "right")
    for r in rows(ds):
        t.add_row(*r)
    return t


def png(ds: list[Day], path_or_buf, st: Settings | None = None) -> None:
    import matplotlib

    qualify_g, target = (st or Settings()).headline
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dated = [d for d in ds if d.date is not None]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4), dpi=100, gridspec_kw={"width_ratios": [3, 2]})
    xs = [d.date for d in dated]
    a1.bar(xs, [d.qualifying for d in dated], color=["tab:green" if d.target_met else "tab:blue" for d in dated])
    a1.axhline(target, color="tab:red", ls="--", lw=1, label=f"target {target}")
    a1.set_title(f"Qualifying impacts per day (>= {qualify_g} g)")
    a1.legend(loc="upper left")
    a1.tick_params(axis="x", rotation=45, labelsize=7)
    peaks = [p for d in ds for p in d.peaks_g]
    a2.hist(peaks, bins=30, color="0.5")
    a2.axvline(qualify_g, color="tab:red", ls="--", lw=1, label=f"{qualify_g} g")
    a2.set_title("Landing peaks")
    a2.set_xlabel("g")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path_or_buf, format="png")
    plt.close(fig)


def html_page(ds: list[Day], st: Settings | None = None) -> str:
    st = st or Settings()
    qualify_g, target = st.headline
    buf = io.BytesIO()
    png(ds, buf, st)
    img = base64.b64encode(buf.getvalue()).decode()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows(ds))
    streak = current_streak(ds)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jumpclip loading report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
.note {{ color: #555; max-width: 50em; }}
</style></head><body>
<h1>Bone-loading report</h1>
<p><strong id="streak">Current streak: {streak} day(s)</strong> meeting the day's target of qualifying impacts ({html.escape(st.describe())}).</p>
<img alt="qualifying impacts per day and landing peaks" src="data:image/png;base64,{img}" width="1200" height="400">
<table id="days"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<p class="note">Qualifying impacts: landings whose peak reaches {qualify_g} g at the waist (Vainionp&auml;&auml; et al., Osteoporos Int 2006;17:455&ndash;63;
Ahola et al., BMC Musculoskelet Disord 2009;10:138). Osteogenic index per session: mean landing peak (g) &times; ln(1 + landings),
after Turner &amp; Robling, Exerc Sport Sci Rev 2003;31:45&ndash;50; a day's index is the sum of its sessions.
The thresholds come from waist-worn sensors, where the clip is worn. This is training information, not medical advice.</p>
</body></html>
"""
