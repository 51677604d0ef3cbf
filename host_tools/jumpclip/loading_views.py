"""The bone-loading report's views: the terminal tables, the PNG chart and the HTML page,
all drawn from loading.py's model (days, bouts, weeks), so that the three agree.

The impact ladder shows each day's impacts by band (impacts.BAND_MG): the progress from
stomps and heel drops to hops and jumps, for wearers who cannot jump yet.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import re


from . import evidence
from . import force as fm
from .fw import impacts as impacts_fw
from .loading import IMPACTS, LANDINGS, Bout, Day, Settings, current_streak, next_bout, weeks


def week_rows(ws: list[Week], mass: bool) -> list[list[str]]:
    rows_ = []
    prev = None
    for w in ws:
        trend = ""
        in_progress = w is ws[-1] and w.days < 7  # this week, so far: never a failure
        if in_progress and w.score == 0:
            trend = "in progress"
        elif prev is not None and prev.score > 0:
            # A partial week (the report's first, or this one so far) is compared per day.
            if w.days < 7 or prev.days < 7:
                trend = (f"{100 * (w.score / w.days - prev.score / prev.days) / (prev.score / prev.days):+.0f} % a day "
                         + ("(so far)" if in_progress else "(partial week)"))
            else:
                trend = f"{100 * (w.score - prev.score) / prev.score:+.0f} %"
        elif prev is not None:
            trend = "new" if w.score > 0 else ""
        rows_.append([w.label, str(w.days_active), str(w.qualifying), str(w.bouts),
                      str(w.over_3bw) if mass else "", f"{w.score:.1f}", trend])
        prev = w
    return rows_


WEEK_HEADERS = ["week of", "active days", "qualifying", "bouts", ">= 3 BW", "loading score", "vs week before"]



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
                "yes" if d.target_met else ("so far" if d.date == dt.date.today() else "no"),  # today is in progress
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


HEADERS = ["day", "jumps", "qualifying", "met", "streak", "bouts (start, qualifying)", ">= 3 BW", "peak force",
           "clipped", "peak g", "median g", "height cm", "score"]


LADDER_HEADERS = ["day", *impacts_fw.BAND_NAMES, "qualifying impacts", "qualifying landings"]
# The rungs: what loads each band at the waist, and where that comes from. Where we found no
# source, the text says so rather than give a figure.
RUNGS = [
    ("1.3-2.4 g", "walking: 329 of SisFall's 332 walking impacts and 32 of UMAFall's 35 on the dev recordings (make eval)"),
    ("2.5-3.8 g", "jogging: 161 of SisFall's 265 jogging impacts; stairs reach it now and then (make eval)"),
    ("3.9-5.3 g", "the studies' hip-loading band starts here (Vainionpää 2006, Ahola 2009): jogging, hops and jumps on "
                  "the dev recordings"),
    ("5.4-9.2 g", "jumps and hops on the dev recordings, and falls"),
    (">= 9.3 g", "above the studies' top band: on the dev recordings only falls reached it"),
]
RUNGS_NOTE = ("Stomps and heel drops: no recording in the dev data and no source we could check gives their loading at "
              "the waist, so no band is claimed for them. Record yours (jumpclip record, then jumpclip replay) to see where "
              "they land.")


def ladder_rows(ds: list[Day]) -> list[list[str]]:
    """Each day's impacts by band: the ladder from walking to jumps (impacts.py)."""
    out = []
    for d in ds:
        if d.bands is None and not d.impacts_qualifying and not d.landings_qualifying:
            continue
        out.append([d.date.isoformat() if d.date else "date unknown",
                    *([str(v) for v in d.bands] if d.bands is not None else ["?"] * len(impacts_fw.BAND_NAMES)),
                    str(d.impacts_qualifying) if d.bands is not None else "?", str(d.landings_qualifying)])
    return out


_WORD_WIDTH = {"day": 10, "week of": 10, "qualifying": 10, "qualifying impacts": 10, "qualifying landings": 10,
               **{b: 7 for b in impacts_fw.BAND_NAMES}}  # the longest word each column must show whole


def ladder_table(ds: list[Day], st: Settings, compact: bool = False):
    """compact: without the qualifying landings (the day table has what the target counts),
    so that the ladder fits 80 columns."""
    from rich.table import Table

    keep = [k for k, h in enumerate(LADDER_HEADERS) if not (compact and h == "qualifying landings")]
    t = Table(title="Impact ladder: every impact of the day by peak, from any movement", title_justify="left",
              caption="? : sessions from firmware before 0.4, which counted landings only. " + RUNGS_NOTE, caption_justify="left")
    for k in keep:
        h = LADDER_HEADERS[k]
        t.add_column(two_lines(h, 0) if compact else h, justify="left" if h == "day" else "right", overflow="fold",
                     min_width=_WORD_WIDTH.get(h))
    for r in ladder_rows(ds):
        t.add_row(*(r[k] for k in keep))
    return t


def target_rule_text(st: Settings) -> str:
    """Why the target counts what it counts, in one sentence (README: the same)."""
    return ("The target counts impacts of at least qualify_g from any movement by default, as the studies behind 3.9 g "
            "counted them (Vainionpää 2006, Ahola 2009: all daily activity, binned by peak); `target_counts landings` "
            "counts landings after a flight only, as the 50-jumps trial counted jumps (Bassey 1998). Now: "
            + st.describe() + ".")


ESTIMATED_NOTE = "~ after a day: some start times that day were estimated from the sync time (the clip's clock was not set)."


def mass_note(st: Settings) -> str:
    if not st.has_mass:
        return "No body mass set (jumpclip body-mass KG): forces and the 3 BW count need it, so they are left out."
    ms = sorted(st.masses) or [st.body_mass_kg]
    who = f"{ms[0]:g} kg" if len(ms) == 1 else f"the body mass of each session's day ({ms[0]:g} to {ms[-1]:g} kg)"
    return (f"Forces for {who}: peak ground reaction force in body weights, ±{fm.MAPE * 100:.0f} % "
            f"(the model's error); ≥ marks a landing that reached the sensor's range (a lower bound).")


# The day table's columns that fit 80 columns: where the day stands, in the words of the
# target. The rest (forces, peaks, heights, score) come with `report --wide`.
COMPACT = ("day", "jumps", "qualifying", "bouts (start, qualifying)")
WIDE_COLUMNS = 140  # from this terminal width on, every column fits without folding


def from_first_data(ds: list[Day]) -> list[Day]:
    """The days from the first that has anything on: a new wearer's first report is their
    first days, not a month of empty rows above them. Rest days after it stay (they are
    part of the record)."""
    for k, d in enumerate(ds):
        if d.jumps or d.qualifying or d.impacts_qualifying or (d.bands and any(d.bands)) or d.date is None:
            return ds[k:]
    return []


def terminal_table(ds: list[Day], st: Settings, compact: bool = False):
    """The day table. compact: the columns that fit 80 columns (COMPACT). No cell is ever
    cut to '…': a cell that does not fit its column wraps within it (overflow 'fold')."""
    from rich.table import Table

    keep = [HEADERS.index(h) for h in (COMPACT if compact else HEADERS)]
    more = " More columns: jumpclip report --wide." if compact else ""
    t = Table(title=st.whose(), caption=f"qualifying: {st.describe()}; bouts: a break of {st.bout_gap_s // 60} min starts a new one; "
                      f"{ESTIMATED_NOTE + ' ' if any(d.estimated for d in ds) else ''}{mass_note(st)}{more} Not medical advice.",
              caption_justify="left")
    for k in keep:
        h = HEADERS[k]
        t.add_column(h, justify="left" if h in ("day", "bouts (start, qualifying)") else "right", overflow="fold",
                     min_width=_WORD_WIDTH.get(h))
    for r in rows(from_first_data(ds), st.has_mass):
        t.add_row(*(r[k] for k in keep))
    return t


def two_lines(text: str, longer_than: int = 10) -> str:
    """A header or cell broken before its last word group, so that a narrow terminal's
    column is as wide as its longest part, not its whole text ('+52 % a day (partial
    week)' -> '+52 % a day' over '(partial week)')."""
    if " (" in text:
        return text.replace(" (", "\n(", 1)
    head, _, tail = text.rpartition(" ")
    return f"{head}\n{tail}" if head and len(text) > longer_than else text


def weeks_table(ds: list[Day], st: Settings, compact: bool = False):
    """compact: headers and long cells on two lines and no outer border, to fit 80 columns."""
    from rich.table import Table

    t = Table(title="Weeks", title_justify="left", show_edge=not compact)
    for h in WEEK_HEADERS:
        t.add_column(two_lines(h) if compact else h, justify="left" if h == "week of" else "right", overflow="fold",
                     min_width=_WORD_WIDTH.get(h))
    for r in week_rows(weeks(ds), st.has_mass):
        t.add_row(*(two_lines(c) if compact else c for c in r))
    return t


def png(ds: list[Day], path_or_buf, st: Settings | None = None) -> None:
    import matplotlib

    st = st or Settings()
    qualify_g, target = st.headline
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dated = from_first_data([d for d in ds if d.date is not None])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4), dpi=100, gridspec_kw={"width_ratios": [3, 2]})
    what = "impacts" if st.rules == {IMPACTS} or not st.rules else ("landings" if st.rules == {LANDINGS} else "impacts or landings")
    # The chart's unit is the report's own: days up to two months, weeks beyond, months beyond
    # a year, each a bar at its own place (never a time axis: it showed hours for one day,
    # and a year's ten days as slivers at its edge).
    periods = chart_periods(dated)
    xs = range(len(periods))
    a1.bar(xs, [p[1] for p in periods], color=["tab:green" if p[2] else "tab:blue" for p in periods])
    a1.set_xticks(list(xs), [p[0] for p in periods])
    if len(dated) <= 62:
        for x, d in zip(xs, dated):  # a label a bar reads for two months, not a year
            if d.bouts:
                a1.annotate(f"{len(d.bouts)} bout{'s' if len(d.bouts) > 1 else ''}", (x, d.qualifying), ha="center",
                            va="bottom", fontsize=7)
    a1.axhline(target, color="tab:red", ls="--", lw=1, label=f"target {target} a day")
    unit = periods_unit(dated)
    a1.set_title(f"Qualifying {what} (>= {qualify_g} g), " + ("per day, with bouts" if unit == "day" else f"a day, by {unit}"))
    a1.set_ylabel(f"qualifying {what}" + (" (count)" if unit == "day" else " a day (mean)"))
    a1.set_xlabel(unit)
    from matplotlib.patches import Patch

    handles, _ = a1.get_legend_handles_labels()
    handles += [Patch(color="tab:green", label="target met"), Patch(color="tab:blue", label="target not met")]
    a1.legend(handles=handles, loc="upper left", fontsize=8)
    a1.tick_params(axis="x", rotation=45, labelsize=7)
    forces = [fc for d in ds for fc in d.forces()]  # (force, landings): each day's distinct ones
    if forces:
        a2.hist([f.bw for f, _ in forces], weights=[c for _, c in forces], bins=30, color="0.5")
        a2.axvline(fm.BW_THRESHOLD, color="tab:red", ls="--", lw=1, label=f"{fm.BW_THRESHOLD:g} BW")
        clipped = sum(c for f, c in forces if f.lower_bound)
        a2.set_title(f"Landing forces, body weights (~±{fm.MAPE * 100:.0f} % each" + (f"; {clipped} lower bounds)" if clipped else ")"))
        a2.set_xlabel("peak ground reaction force / body weight")
        a2.set_ylabel("landings (count)")
    else:
        peaks = [(mg / 1000, c) for d in ds for mg, c in d.peaks_mg.items()]
        a2.hist([g for g, _ in peaks], weights=[c for _, c in peaks], bins=30, color="0.5")
        a2.axvline(qualify_g, color="tab:red", ls="--", lw=1, label=f"{qualify_g} g")
        a2.set_title("Landing peaks (no body mass set: no forces)")
        a2.set_xlabel("landing peak (g)")
        a2.set_ylabel("landings (count)")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path_or_buf, format="png")
    plt.close(fig)


def first_screen(ds: list[Day], now: dt.datetime | None = None, rest_hint: bool = True) -> list[str]:
    """Where the wearer stands, in a few lines: today so far, this week, the bests of the
    window, and the trend over its weeks. What the rest of the report details."""
    now = now or dt.datetime.now().astimezone()
    dated = [d for d in ds if d.date is not None]
    if not dated:
        return []
    today = next((d for d in dated if d.date == now.date()), None)
    lines = []
    if today is not None:
        state = "met" if today.target_met else "so far"
        lines.append(f"Today: {today.qualifying} of {today.target} {state}, {len(today.bouts)} bout"
                     f"{'' if len(today.bouts) == 1 else 's'}." + (f" {next_bout(ds, now)}" if rest_hint else ""))
    monday = now.date() - dt.timedelta(days=now.weekday())
    week = [d for d in dated if monday <= d.date <= now.date()]
    if week:
        lines.append(f"This week: the target met on {sum(1 for d in week if d.target_met)} of {len(week)} day"
                     f"{'' if len(week) == 1 else 's'} so far.")
    active = [d for d in dated if d.jumps or d.qualifying]
    if active:
        best = max(active, key=lambda d: d.qualifying)
        longest = max(d.streak for d in dated)
        bests = [f"best day {best.qualifying} ({best.date:%a %d %b})", f"longest streak {longest} day{'' if longest == 1 else 's'}"]
        jumped = [d for d in active if d.flights]
        if jumped:
            high = max(jumped, key=lambda d: d.max_height_cm)
            hard = max(jumped, key=lambda d: d.peak_g)
            bests += [f"highest jump {high.max_height_cm:.1f} cm ({high.date:%d %b})",
                      f"hardest landing {hard.peak_g:.1f} g ({hard.date:%d %b})"]
        lines.append(f"Bests in these {len(dated)} days: " + ", ".join(bests) + ".")
    ws = weeks(dated)
    full = [w for w in ws if w.days == 7]
    if len(full) >= 2:
        a, b = full[-2], full[-1]
        if a.score > 0:
            lines.append(f"Trend: the loading score {100 * (b.score - a.score) / a.score:+.0f} % in the last full week "
                         f"against the one before ({b.score:.1f} against {a.score:.1f}).")
    return lines


def periods_unit(dated: list[Day]) -> str:
    span = (dated[-1].date - dated[0].date).days + 1 if dated else 0
    return "day" if span <= 62 else "week" if span <= 366 else "month"


def chart_periods(dated: list[Day]) -> list[tuple[str, float, bool]]:
    """(label, qualifying a day, target met) per bar: a day each up to two months, else the
    mean day of each week or month (met: the mean reached the target)."""
    unit = periods_unit(dated)
    if unit == "day":
        return [(f"{d.date:%d %b}", d.qualifying, d.target_met) for d in dated]
    groups: dict[str, list[Day]] = {}
    for d in dated:
        start = d.date - dt.timedelta(days=d.date.weekday()) if unit == "week" else d.date.replace(day=1)
        groups.setdefault(f"{start:%d %b}" if unit == "week" else f"{start:%b %Y}", []).append(d)
    out = []
    for label, g in groups.items():
        mean = sum(d.qualifying for d in g) / len(g)
        out.append((label, mean, mean >= sum(d.target for d in g) / len(g)))
    return out


def bar_chart(ds: list[Day], st: Settings) -> str:
    """Each day's qualifying count against its target as HTML bars: text the reader's own
    size, and a chart that reflows to any width (the PNG's labels shrink to unreadable on a
    phone). Green where the target was met, a mark at the target."""
    rows_ = []
    for d in ds:
        if d.date is None:
            continue
        top = max(d.target, d.qualifying, 1)
        fill = 100 * min(d.qualifying, top) / top
        goal = 100 * d.target / top
        rows_.append(f'<div class="bar"><span class="day">{d.date:%a %d %b}</span><span class="track">'
                     f'<span class="fill{" met" if d.target_met else ""}" style="width:{fill:.1f}%; display:block"></span>'
                     f'<span class="goal" style="left:{goal:.1f}%"></span></span>'
                     f'<span class="num">{d.qualifying} of {d.target}</span></div>')
    legend = (f'<p class="legend">Qualifying {html.escape(st.counted())} a day (≥ {st.headline[0]:g} g) against the day\'s target '
              '(the black mark); green: the target met.</p>')
    return f'<div class="bars" id="bars">{legend}{"".join(rows_)}</div>'


def code_spans(text: str) -> str:
    """text escaped for a page, its `commands` set as code (the terminal shows backticks)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def html_page(ds: list[Day], st: Settings | None = None, now: dt.datetime | None = None) -> str:
    st = st or Settings()
    qualify_g, target = st.headline
    buf = io.BytesIO()
    png(ds, buf, st)
    img = base64.b64encode(buf.getvalue()).decode()
    mass = st.has_mass

    def table(id_: str, headers: list[str], rows_: list[list[str]]) -> str:
        # Each cell carries its header (data-label): on a phone the rows stack as cards, each
        # value beside what it is (the CSS below), instead of a table wider than the screen.
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f'<td data-label="{html.escape(h)}">{html.escape(c)}</td>' for h, c in zip(headers, r))
                       + "</tr>" for r in rows_)
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
.bars {{ margin: 1em 0; max-width: 46em; }}
.bar {{ display: flex; align-items: center; gap: 0.5em; margin: 2px 0; font-size: 15px; }}
.bar .day {{ flex: 0 0 6.5em; white-space: nowrap; }}
.bar .track {{ flex: 1 1 auto; background: #eee; height: 1.1em; position: relative; min-width: 3em; }}
.bar .fill {{ background: #3a7bd5; height: 100%; }}
.bar .fill.met {{ background: #2e9e4f; }}
.bar .goal {{ position: absolute; top: -2px; bottom: -2px; width: 2px; background: #222; }}
.bar .num {{ flex: 0 0 5.5em; text-align: right; white-space: nowrap; }}
.legend {{ font-size: 14px; color: #555; }}
.desktop {{ display: block; }}
@media (max-width: 1100px) {{  /* under the day table's width: a tablet or a phone */
  .desktop {{ display: none; }}  /* the drawn chart shrunk below its size has unreadable text: the bars say it */
  body {{ margin: 0.8em; font-size: 16px; }}
  .wide {{ overflow-x: visible; }}
  table, thead, tbody, tr, td {{ display: block; width: 100%; }}
  thead {{ display: none; }}
  tr {{ border: 1px solid #ccc; margin: 0 0 0.6em 0; padding: 0.2em 0; }}
  td {{ border: none; padding: 2px 8px; text-align: right; white-space: normal; box-sizing: border-box; }}
  td:first-child {{ text-align: right; font-weight: bold; }}
  td::before {{ content: attr(data-label); float: left; color: #555; font-weight: normal; padding-right: 1em; }}
  td:empty {{ display: none; }}
}}
</style></head><body>
<h1>Bone-loading report{html.escape(": " + st.whose()) if st.whose() else ""}</h1>
<p><strong id="streak">Current streak: {streak} day(s)</strong> meeting the day's target of qualifying impacts ({html.escape(st.describe())}).</p>
<div id="first-screen">{"".join(f"<p>{html.escape(line)}</p>" for line in first_screen(ds, now, rest_hint=False))}</div>
<p id="next-bout">{html.escape(next_bout(ds, now))}</p>
{bar_chart(from_first_data(ds), st)}
<img class="desktop" alt="qualifying impacts per day with bouts, and landing forces" src="data:image/png;base64,{img}" width="1200" height="400">
<div class="wide">{table("days", HEADERS, rows(from_first_data(ds), mass))}</div>
{'<p class="note" id="estimated">' + html.escape(ESTIMATED_NOTE) + '</p>' if any(d.estimated for d in ds) else ''}
<h2>Weeks</h2>
<div class="wide">{table("weeks", WEEK_HEADERS, week_rows(weeks(ds), mass))}</div>
<p class="note">{html.escape(mass_note(st))}</p>
<h2>Impact ladder</h2>
<p class="note">Every impact of the day from any movement, by its peak at the waist (impactr's peak rule: at least 1.3 g, 0.4 s apart),
in the bands of Vainionp&auml;&auml; et al. (Osteoporos Int 2006;17:455&ndash;63). Progress shows as impacts moving to higher bands.</p>
<div class="wide">{table("ladder", LADDER_HEADERS, ladder_rows(ds))}</div>
<ul class="note" id="rungs">{"".join(f"<li><strong>{html.escape(b)}</strong>: {html.escape(t)}</li>" for b, t in RUNGS)}</ul>
<p class="note">{html.escape(RUNGS_NOTE)}</p>
<p class="note" id="target-rule">{code_spans(target_rule_text(st))}</p>
<h2>What the evidence says for you</h2>
<div class="note" id="evidence">{"".join(f"<p>{code_spans(line)}</p>" for line in evidence.lines(st.group))}</div>
<p class="note">Qualifying: {html.escape(st.counted())} of at least {qualify_g} g at the waist (Vainionp&auml;&auml; et al., Osteoporos Int 2006;17:455&ndash;63;
Ahola et al., BMC Musculoskelet Disord 2009;10:138). Landings of 3 body weights or more: an osteogenic threshold of ground reaction force
(Ryan, Clissold &amp; Winwood 2021). Force per landing: Veras et al.'s hip model on the landing's 20 Hz filtered peak.
A bout is a run of qualifying impacts (or landings, as counted) less than {st.bout_gap_s // 60} min apart. Loading score: {"Turner &amp; Robling's osteogenic index" if any(b.by_force for d in ds for b in d.bouts) else "in the style of Turner &amp; Robling's osteogenic index"}
(Exerc Sport Sci Rev 2003;31:45&ndash;50): mean force in body weights &times; ln(1 + loads) for a bout whose every load has a force estimate
(landings, with a body mass set), else an index-style score with g in place of force: mean peak (g) &times; ln(1 + loads); per bout,
weighted by how far the bone had recovered since the bout before (full after 8 h: Robling, Burr &amp; Turner, J Exp Biol 2001;204:3389; four
bouts 3 h apart beat one: Robling et al., J Bone Miner Res 2002;17:1545; both in rat bone). The weighting is our reading of those findings.
Forces: about 13 % mean error on averaged lab jumps of known type (a single landing can be further off); the model gives the resultant force,
while osteogenic thresholds in body weights are usually of the vertical force. A force past 7 BW, beyond the peak forces the model was fitted on,
is shown as "&gt; 7 BW", not extrapolated.
Qualifying uses the raw peak, force the 20 Hz filtered one: a 3.9 g landing is about 2.5&ndash;2.8 BW, not 3. The thresholds come from waist-worn sensors, where the clip
is worn. This is training information, not medical advice.</p>
</body></html>
"""
