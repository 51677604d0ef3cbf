"""Tables and exports of synced sessions (what `sessions`, `show` and `export` print)."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rich.table import Table

from . import force as fm
from .qualify import qualifying_landings, session_qualify_g
from .fw import impacts as impacts_fw
from .fw import logformat as lf
from .store import Store
from .wearers import DEFAULT, RESERVED

WALL_MARK = {"rtc": "", "estimated": "~", "unknown": "?"}
END_REASONS = {1: "synced", 2: "idle", 3: "button", 4: "low battery", 5: "rollover", 6: "power cut"}


@functools.lru_cache(maxsize=65536)
def height_cm(air_samples: int, rate_hz: int) -> float:
    """The firmware's definition (detector.height_mm), in cm. Cached: a year's 160,000
    landings have a few hundred distinct airtimes."""
    from .fw import detector

    return detector.height_mm(int(air_samples), int(rate_hz)) / 10


def start_text(row: sqlite3.Row) -> str:
    if row["wall_start"]:
        when = dt.datetime.fromisoformat(row["wall_start"]).astimezone().strftime("%Y-%m-%d %H:%M")
        return WALL_MARK.get(row["wall_source"], "") + when
    return "? (clock unset)"


def duration_text(row: sqlite3.Row) -> str:
    if row["duration_samples"] is None or not row["rate_hz"]:
        return "open" if row["end_seq"] is None else "?"
    s = row["duration_samples"] / row["rate_hz"]
    return f"{int(s // 60)}:{int(s % 60):02d}"


@dataclass
class Pick:
    shown: list[sqlite3.Row]  # in the table's order
    listed: int  # sessions the choice was made from (with jumps, unless --all)
    hidden: int  # sessions without jumps left out
    total: int
    wearer_of: Callable[[sqlite3.Row], str] | None  # for a wearer column (a club's database)


def pick_sessions(store: Store, last: int, with_empty: bool, wearer: str | None) -> Pick:
    """What `jumpclip sessions` lists: the newest `last` (0: all), with jumps unless
    with_empty, of one wearer or of everyone."""
    people = store.people()
    total = store.count_sessions()
    listed = store.count_sessions(with_jumps=not with_empty)
    if wearer is None:
        shown = store.sessions(newest=last or None, with_jumps=not with_empty)
    else:  # whose a session is depends on when it started: chosen here, not in SQL
        mine = [r for r in store.sessions(with_jumps=not with_empty) if people.wearer_of(r["device_id"], r["wall_start"]) == wearer]
        listed = len(mine)
        newest = set(sorted(r["id"] for r in mine)[-last:]) if last else None
        shown = [r for r in mine if newest is None or r["id"] in newest]
    label = (lambda r: people.wearer_of(r["device_id"], r["wall_start"])) if people.named else None
    return Pick(shown, listed, 0 if with_empty else total - store.count_sessions(with_jumps=True), total, label)


def wearers_table(rows: list[dict]) -> Table:
    t = Table()
    for h in ("wearer", "clips", "sessions", "jumps", "last session", "body mass"):
        t.add_column(h, justify="right" if h in ("sessions", "jumps") else "left")
    for r in rows:
        last = dt.datetime.fromisoformat(r["last"]).astimezone().strftime("%Y-%m-%d %H:%M") if r["last"] else ""
        t.add_row(r["wearer"] or RESERVED, ", ".join(d[-6:] for d in r["clips"]), str(r["sessions"]), f"{r['jumps']:,}", last,
                  f"{r['body_mass_kg']:g} kg" if r["body_mass_kg"] else "")
    return t


def sessions_table(rows: list[sqlite3.Row], wearer_of=None) -> Table:
    """wearer_of(row) -> name: a wearer column (a club's database)."""
    marks = {r["wall_source"] for r in rows}
    captions = [text for mark, text in (("estimated", "~ start estimated from the sync time (the clip's clock was not set)"),
                                         ("unknown", "? start unknown")) if mark in marks]
    if any(r["end_seq"] is None and r["duration_samples"] is None for r in rows):
        captions.append("open: still counting on the clip when it was synced; the next sync brings the rest")
    caption = "; ".join(captions)
    t = Table(caption=caption or None, caption_justify="left")
    t.add_column("#", justify="right")
    t.add_column("device")
    if wearer_of:
        t.add_column("wearer")
    t.add_column("started", no_wrap=True)
    t.add_column("length", justify="right")
    t.add_column("jumps", justify="right")
    t.add_column("best height", justify="right")
    t.add_column("max peak", justify="right")
    t.add_column("notes")
    for r in rows:
        notes = []
        if r["fifo_overflows"]:
            notes.append(f"{r['fifo_overflows']} FIFO overflows")
        if r["unlogged_jumps"]:
            notes.append(f"+{r['unlogged_jumps']} jumps counted while the flash was full")
        if r["reported_jumps"] is not None and r["reported_jumps"] != r["jumps"]:
            notes.append(f"clip counted {r['reported_jumps']}")
        if r["end_reason"] in END_REASONS and r["end_reason"] not in (1,):
            notes.append("ended: " + END_REASONS[r["end_reason"]])
        best = f"{height_cm(r['best_air'], r['rate_hz']):.0f} cm" if r["best_air"] and r["rate_hz"] else ""
        t.add_row(
            str(r["id"]),
            r["device_id"][-6:],
            *([wearer_of(r) or "-"] if wearer_of else []),
            start_text(r),
            duration_text(r),
            str(r["jumps"]),
            best,
            f"{r['max_peak_mg'] / 1000:.1f} g" if r["max_peak_mg"] else "",
            "; ".join(notes),
        )
    return t


def session_header(row: sqlite3.Row) -> str:
    return (
        f"[bold]session #{row['id']}[/] on {row['device_id']}: started {start_text(row)}, {duration_text(row)} long, "
        f"{row['rate_hz'] or '?'} Hz, firmware {row['firmware'] or '?'}"
    )


def force_cells(filtered: int | None, mass_kg: float | None) -> tuple[str, str]:
    """(filtered peak, force) as the tables show them."""
    g, clipped = fm.split_filtered(filtered)
    if g is None:
        return "", ""
    f = fm.force(g, clipped, mass_kg)
    return (f"{'≥ ' if clipped else ''}{g:.2f} g", f.text() if f else "")


def jumps_table(row: sqlite3.Row, jumps: list[tuple], mass_kg: float | None = None) -> Table:
    rate = row["rate_hz"] or 200
    caption = ["peak: raw; filtered: 20 Hz, the force model's input; force: peak ground reaction force in body weights, "
               f"±{fm.MAPE * 100:.0f} % (the model's error); ≥: the sensor's range was reached, so it was at least that"]
    if mass_kg is None:
        caption.append("no force: set your body mass first (jumpclip body-mass KG); the model needs it")
    t = Table(caption="\n".join(caption), caption_justify="left")
    for col in ("jump", "time", "airtime", "height", "peak", "filtered", "force"):
        t.add_column(col, justify="right")
    start = dt.datetime.fromisoformat(row["wall_start"]).astimezone() if row["wall_start"] else None
    for k, (ts, air, peak, filtered) in enumerate(jumps, 1):
        when = (start + dt.timedelta(seconds=ts / rate)).strftime("%H:%M:%S") if start else f"+{ts / rate:.1f} s"
        fg, ft = force_cells(filtered, mass_kg)
        t.add_row(str(k), when, f"{air / rate:.3f} s", f"{height_cm(air, rate):.1f} cm", f"{peak / 1000:.2f} g", fg, ft)
    return t


def rows_for_export(store: Store, wearer: str | None = None, progress: Callable[[int, int], None] | None = None):
    """(session row, rate, start, jumps, wearer, body mass that day) of every session, or of
    one wearer's (wearers.py: whoever wore the clip when the session started).
    progress(done, total) after each session."""
    people = store.people()
    rows = store.sessions(devices=people.clips_of(wearer) if wearer is not None else None)
    for k, s in enumerate(rows, 1):
        if progress:
            progress(k, len(rows))
        who = people.wearer_of(s["device_id"], s["wall_start"])
        if wearer is not None and who != wearer:
            continue
        rate = s["rate_hz"] or 200
        start = dt.datetime.fromisoformat(s["wall_start"]) if s["wall_start"] else None
        jumps = store.jumps(s["log_id"], s["session_id"])
        yield s, rate, start, jumps, who, people.mass_of(who, s["wall_start"])


def _force_fields(filtered: int | None, mass_kg: float | None) -> dict:
    g, clipped = fm.split_filtered(filtered)
    f = fm.force(g, clipped, mass_kg)
    return {
        "filtered_peak_g": g,
        "clipped": clipped,
        "force_bw": round(f.bw, 2) if f else None,
        "force_bw_low": round(f.band[0], 2) if f and not (f.lower_bound or f.extrapolated) else None,
        "force_bw_high": round(f.band[1], 2) if f and not (f.lower_bound or f.extrapolated) else None,
        "force_is_lower_bound": bool(f and f.lower_bound),
        "force_past_model_range": bool(f and f.extrapolated),
    }


# One row per jump: (column, CSV format). The CSV and Parquet exports share these rows.
JUMP_COLUMNS = [
    ("device", None), ("session", None), ("clip_session_id", None),  # "session": the number `sessions` and `show` use
    ("session_start_utc", None), ("start_source", None), ("jump", None), ("t_s", ".3f"), ("time_utc", None),
    ("airtime_s", ".3f"), ("height_cm", ".1f"), ("peak_g", ".3f"), ("filtered_peak_g", ".3f"), ("clipped", "d"),
    ("force_bw", None), ("force_bw_low", None), ("force_bw_high", None), ("force_is_lower_bound", "d"),
    ("force_past_model_range", "d"), ("wearer", None), ("body_mass_kg", "g"),
]


def jump_rows(store: Store, wearer: str | None = None, progress=None) -> Iterator[list[tuple]]:
    """Each session's jumps as typed rows in JUMP_COLUMNS' order (None where unknown)."""
    for s, rate, start, jumps, who, mass in rows_for_export(store, wearer, progress):
        rows = []
        for k, (ts, air, peak, filtered) in enumerate(jumps, 1):
            when = (start + dt.timedelta(seconds=ts / rate)).isoformat(timespec="milliseconds") if start else None
            f = _force_fields(filtered, mass)
            rows.append((s["device_id"], s["id"], s["session_id"], s["wall_start"], s["wall_source"], k, ts / rate, when,
                         air / rate, height_cm(air, rate), peak / 1000, f["filtered_peak_g"], int(f["clipped"]),
                         f["force_bw"], f["force_bw_low"], f["force_bw_high"], int(f["force_is_lower_bound"]),
                         int(f["force_past_model_range"]), who, mass))
        yield rows


def export_csv(store: Store, wearer: str | None = None, progress=None) -> Iterator[str]:
    """The CSV text, a session at a time (memory flat in the size of the database)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([name for name, _ in JUMP_COLUMNS])
    formats = [fmt for _, fmt in JUMP_COLUMNS]
    for rows in jump_rows(store, wearer, progress):
        for row in rows:
            w.writerow(["" if v is None else (format(v, f) if f else v) for v, f in zip(row, formats)])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def export_parquet(store: Store, path, wearer: str | None = None, progress=None) -> int:
    """The CSV's rows as a Parquet file (pyarrow, already the trace reader's), typed, for
    DuckDB, pandas or polars; written in row groups as it goes. Returns the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"session": pa.int64(), "clip_session_id": pa.int64(), "jump": pa.int32(), "clipped": pa.int8(),
             "force_is_lower_bound": pa.int8(), "force_past_model_range": pa.int8()}
    schema = pa.schema([(name, types.get(name, pa.string() if fmt is None and name not in ("force_bw", "force_bw_low", "force_bw_high")
                                     else pa.float64())) for name, fmt in JUMP_COLUMNS])
    written = 0
    pending: list[tuple] = []
    with pq.ParquetWriter(str(path), schema) as out:
        def flush() -> None:
            cols = list(zip(*pending)) or [()] * len(schema)
            out.write_table(pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema)], schema=schema))
            pending.clear()

        for rows in jump_rows(store, wearer, progress):
            pending += rows
            written += len(rows)
            if len(pending) >= 50_000:  # a row group
                flush()
        if pending or not written:
            flush()
    return written


def _bands_of(s) -> list[int] | None:
    """A session's impacts per band (firmware 0.4 on), or None."""
    return [s[f"band{k}"] for k in range(lf.N_BANDS)] if s["bands_seq"] is not None else None


def _impact_fields(store: Store, s, rate: int) -> dict:
    bands = _bands_of(s)
    return {
        "target_counts": {lf.TARGET_IMPACTS: "impacts", lf.TARGET_LANDINGS: "landings"}.get(s["target_rule"] or lf.TARGET_LANDINGS),
        "impact_bands": dict(zip(impacts_fw.BAND_NAMES, bands)) if bands is not None else None,  # None: firmware before 0.4
        "qualifying_impacts": [{"t_s": round(ts / rate, 3), "peak_g": peak / 1000} for ts, peak in store.impacts(s["log_id"], s["session_id"])],
    }


BAND_COLUMNS = ["device", "session", "clip_session_id", "session_start_utc", "wearer", "target_counts",
                *(f"impacts {b}" for b in impacts_fw.BAND_NAMES), "qualifying_impacts", "qualifying_landings", "jumps"]


def export_bands_csv(store: Store, wearer: str | None = None, progress=None) -> Iterator[str]:
    """One row per session: its impacts per band from any movement (impacts.py), its
    qualifying impacts and landings; blank bands for sessions from firmware before 0.4."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(BAND_COLUMNS)
    for s, rate, start, jumps, who, mass in rows_for_export(store, wearer, progress):
        bands = _bands_of(s)
        f = _impact_fields(store, s, rate)
        w.writerow([s["device_id"], s["id"], s["session_id"], s["wall_start"] or "", who, f["target_counts"],
                    *(bands if bands is not None else [""] * lf.N_BANDS),
                    s["impacts_qualifying"] if s["impacts_qualifying"] is not None else "",
                    # counted from the jumps as the report counts them, also while the session is open
                    qualifying_landings(jumps, session_qualify_g(s)), len(jumps)])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def export_json(store: Store, wearer: str | None = None, progress=None) -> Iterator[str]:
    """The JSON document, a session at a time (memory flat in the size of the database):
    {"body_mass_kg" (the wearer's latest), "force_model", "sessions": [...]}."""
    head = json.dumps({"body_mass_kg": store.body_mass(wearer or DEFAULT), "force_model": "Veras et al., hip, resultant; ±13 % (MAPE)"},
                      indent=1)
    yield head[:-2] + ',\n "sessions": ['
    sep = "\n"
    for s, rate, start, jumps, who, mass in rows_for_export(store, wearer, progress):
        doc = (
            {
                "device": s["device_id"],
                "wearer": who,  # "" nobody named (wearers.py)
                "body_mass_kg": mass,  # the wearer's on the session's day
                "session": s["id"],  # the number `jumpclip sessions` and `show` use
                "clip_session_id": s["session_id"],
                "start_utc": s["wall_start"],
                "start_source": s["wall_source"],
                "rate_hz": rate,
                "duration_s": s["duration_samples"] / rate if s["duration_samples"] is not None else None,
                **_impact_fields(store, s, rate),
                "jumps": [
                    {"t_s": round(ts / rate, 3), "airtime_s": round(air / rate, 3), "height_cm": round(height_cm(air, rate), 1), "peak_g": peak / 1000,
                     **_force_fields(filtered, mass)}
                    for ts, air, peak, filtered in jumps
                ],
            }
        )
        yield sep + "  " + json.dumps(doc, indent=1).replace("\n", "\n  ")
        sep = ",\n"
    yield "\n ]\n}\n"
