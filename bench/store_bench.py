"""The desktop at scale: a year of one wearer, and a club of clips, in one database.

The year is written by the firmware's own EventLog (CPython runs firmware/eventlog.py) day
after day and synced as `jumpclip sync` does: the records after the acknowledgement are read
with logread and imported by Store.import_log, then acknowledged and reclaimed. Each day's
import is timed. The club's logs are made as LogContents and imported by Store.import_log
(EventLog would take most of an hour for 15 M landings). Then the CLI commands are timed on
both, each in its own process, with its peak memory. Figures only: nothing here asserts.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jumpclip.fw import load
from jumpclip.logread import Jump, LogContents, SessionEnd, SessionStart, read_files
from jumpclip.store import EPOCH_2000, DeviceClock, Store

eventlog = load("eventlog")
lf = load("logformat")

SESSIONS_A_DAY = 3
JUMPS_A_SESSION = 150
DEVICE = "a0b1c2d3e4f5"


def _epoch(day: dt.date, hour: int) -> int:
    """Seconds since 2000 (the clip's RTC) of `hour` o'clock UTC on `day`."""
    return int((dt.datetime.combine(day, dt.time(hour), dt.timezone.utc) - EPOCH_2000).total_seconds())


def _landing(k: int) -> tuple[int, int, int, int]:
    """(t, airtime, peak mg, filtered peak mg) of a session's k-th landing at 200 Hz: one
    every 2 s, peaks 2.5 to 6.5 g (a third of them qualifying), airtimes 60 to 99 samples."""
    peak = 2500 + (k * 373) % 4000
    return 400 * (k + 1), 60 + k % 40, peak, peak * 4 // 5


def year_of_syncs(db_path: Path, days: int = 365, progress=None) -> list[float]:
    """One wearer's `days` days, each synced once; returns each day's import time (s)."""
    store = Store(db_path)
    first = dt.date.today() - dt.timedelta(days=days - 1)
    acked = -1
    took = []
    with tempfile.TemporaryDirectory(prefix="jumpclip-year-") as td:
        root = Path(td) / "log"
        for d in range(days):
            day = first + dt.timedelta(days=d)
            log = eventlog.EventLog(str(root), reserve_bytes=0)  # a new boot each day
            log.open()
            for n in range(SESSIONS_A_DAY):
                sid = (log.boot << 10) | (n + 1)
                log.begin_session(sid, bytes.fromhex(DEVICE), _epoch(day, 7 + 5 * n), True, 1, 200, 16, (0, 3, 0), 3900, 50)
                for k in range(JUMPS_A_SESSION):
                    log.add_jump(*_landing(k))
                log.end_session(400 * (JUMPS_A_SESSION + 1), 0, lf.END_HOST, JUMPS_A_SESSION // 3)
            log.flush()
            contents = read_files({p.name: p.read_bytes() for p in root.iterdir() if p.is_file()})
            new = contents.newer_than(acked)
            now = dt.datetime.combine(day, dt.time(22), dt.timezone.utc)
            clock = DeviceClock(int((now - EPOCH_2000).total_seconds()), True, log.boot, now)
            t0 = time.perf_counter()
            store.import_log(DEVICE, new, clock, "sync", log_id=log.log_id, acked=acked)
            took.append(time.perf_counter() - t0)
            acked = contents.last_seq
            store.set_acked(log.log_id, acked)
            (root / "ack").write_text(str(acked))  # what syncserver.ack leaves; the next boot reclaims
            log.reclaim()
            if progress:
                progress(d + 1, days)
    store.close()
    return took


def club_day(log_id: str, seq: int, day: dt.date, device: str = DEVICE, boot: int = 1) -> LogContents:
    """One day of a clip's log as logread makes it: SESSIONS_A_DAY sessions of
    JUMPS_A_SESSION landings, JUMPS records of 32, numbered from seq."""
    log = LogContents()
    for n in range(SESSIONS_A_DAY):
        sid = (boot << 10) | (n + 1)
        log.starts.append(SessionStart(seq, sid, boot, device, _epoch(day, 7 + 5 * n), True, 1, 200, 16, "0.3.0", 3900, 50))
        seq += 1
        for r in range(0, JUMPS_A_SESSION, 32):
            for i in range(min(32, JUMPS_A_SESSION - r)):
                t, air, peak, filt = _landing(r + i)
                log.jumps.append(Jump(seq, sid, i, t, air, peak, filt))
            seq += 1
        log.ends.append(SessionEnd(seq, sid, JUMPS_A_SESSION, 400 * (JUMPS_A_SESSION + 1), 0, lf.END_HOST, 0, JUMPS_A_SESSION // 3))
        seq += 1
    log.last_seq = seq - 1
    return log


def club(db_path: Path, clips: int = 30, days: int = 3 * 365, progress=None, named: bool = False) -> int:
    """`clips` clips, each with `days` days of SESSIONS_A_DAY sessions; one log per clip,
    imported a month at a time. Returns the number of landings."""
    store = Store(db_path)
    first = dt.date.today() - dt.timedelta(days=days - 1)
    total = 0
    for c in range(clips):
        device = f"c1b0{c:08x}"
        log_id = f"{c:016x}"
        seq = 0
        for m0 in range(0, days, 30):
            log = LogContents()
            for d in range(m0, min(days, m0 + 30)):  # a month a sync
                part = club_day(log_id, seq, first + dt.timedelta(days=d), device, boot=d + 1)
                log.starts += part.starts
                log.jumps += part.jumps
                log.ends += part.ends
                seq = part.last_seq + 1
            log.last_seq = seq - 1
            store.import_log(device, log, None, "bench", log_id=log_id)
            total += len(log.jumps)
        if named:  # each clip a person's: a club with named wearers (`report --wearer`)
            store.add_wearer(f"wearer {c:02d}")
            store.assign(device, f"wearer {c:02d}", "")
        if progress:
            progress(c + 1, clips)
    store.close()
    return total


def timed(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of one `jumpclip ...` in a process of its own."""
    code = (
        "import resource, sys\n"
        "from jumpclip.cli import main\n"
        "try:\n    main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       env={**os.environ, "COLUMNS": "120"})
    took = time.perf_counter() - t0
    peak = next((int(line.split()[1]) for line in p.stderr.splitlines() if line.startswith("PEAK")), 0)
    if p.returncode:
        print(f"    FAILED: jumpclip {' '.join(args)}: {p.stderr.strip().splitlines()[-1:]}")
    return took, peak / 1024


def commands(db: Path, out: Path, days: int) -> list[tuple[str, list[str]]]:
    d = ["--db", str(db)]
    return [
        ("sessions", ["sessions", *d]),
        (f"report --days {days}", ["report", *d, "--days", str(days)]),
        ("report --html", ["report", *d, "--days", str(days), "--html", str(out / "r.html")]),
        ("report --png", ["report", *d, "--days", str(days), "--png", str(out / "r.png")]),
        ("export --csv", ["export", *d, "--csv", "--out", str(out / "e.csv")]),
        ("export --json", ["export", *d, "--json", "--out", str(out / "e.json")]),
    ]


def main(club_clips: int = 30) -> None:
    print("Desktop at scale (bench/store_bench.py; goals: each command under 2 s on a year, a day's import under 50 ms and flat):")
    with tempfile.TemporaryDirectory(prefix="jumpclip-store-bench-") as td:
        tdp = Path(td)
        year = tdp / "year.sqlite"
        t0 = time.perf_counter()
        took = year_of_syncs(year)
        n = Store(year).count_jumps()
        print(f"  a year of one wearer: {n:,} landings in {365 * SESSIONS_A_DAY:,} sessions, built in {time.perf_counter() - t0:.0f} s"
              " (the firmware's EventLog, 365 daily syncs)")
        for label, part in (("first week", took[:7]), ("day 180", took[177:184]), ("last week", took[-7:])):
            print(f"    a day's sync import, {label}: median {sorted(part)[len(part) // 2] * 1000:.1f} ms")
        for label, args in commands(year, tdp, 366):
            s, mb = timed(args)
            print(f"    {label:<22} {s:6.2f} s  {mb:6.0f} MB peak")
        if club_clips:
            db = tdp / "club.sqlite"
            t0 = time.perf_counter()
            n = club(db, club_clips, named=True)
            size = db.stat().st_size / 2**30
            print(f"  a club: {club_clips} clips x 3 years, {n:,} landings, {size:.1f} GB, built in {time.perf_counter() - t0:.0f} s"
                  " (Store.import_log, a month a sync; each clip a named wearer's)")
            club_cmds = commands(db, tdp, 30)[:2] + [
                ("report --wearer (one)", ["report", "--db", str(db), "--days", "30", "--wearer", "wearer 07"]),
                ("report --days 366 --wearer", ["report", "--db", str(db), "--days", "366", "--wearer", "wearer 07"]),
                ("report --days 366 (all)", ["report", "--db", str(db), "--days", "366"]),  # the whole club's year: memory flat
                ("export --csv (all)", ["export", "--db", str(db), "--csv", "--out", str(tdp / "c.csv")]),
                ("export --parquet (all)", ["export", "--db", str(db), "--parquet", "--out", str(tdp / "c.parquet")]),
            ]
            for label, args in club_cmds:
                s, mb = timed(args)
                print(f"    {label:<22} {s:6.2f} s  {mb:6.0f} MB peak")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
