"""A demo database for the loading report, made the honest way: for each of the last days,
the virtual board counts a synthetic training session with its RTC set to that day, and the
session is synced into the database."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np

from . import sync as syncmod
from .fw import load
from .sim.board import BoardOptions, VirtualBoard
from .store import EPOCH_2000, Store
from .synth import Builder
from .traces import write_trace
from .transport import SerialTransport

RTC_MAGIC = load("daily").RTC_MAGIC  # the clip's "a host set the clock" mark


def training_trace(path: Path, seed: int, jumps: int) -> None:
    rng = np.random.default_rng(seed)
    b = Builder(rng)
    b.stand(1.0)
    for k in range(jumps):
        b.jump(airtime=rng.uniform(0.25, 0.45), peak=rng.uniform(2.6, 7.0))
        b.stand(rng.uniform(0.8, 1.5) if k % 10 else 4.0)
    b.stand(1.0)
    t, acc = b.build(tilt_deg=10)
    write_trace(path, t, acc, {"rate_hz": 200, "label": f"jumps={len(b.landings)}", "source": f"jumpclip demo day seed={seed}"}, b.landings)


def build(db_path: str | Path, n_days: int = 10, today: dt.date | None = None, skip: tuple[int, ...] = (3,),
          progress=None, now: dt.datetime | None = None) -> Store:
    """progress(done, total): called after each day (a progress bar in `make demo-report`).
    now: the time the demo is built at (default: the clock's); no bout starts after it."""
    store = Store(db_path)
    store.set_body_mass(70.0)  # the demo wearer: forces in body weights
    today = today or dt.datetime.now().astimezone().date()
    with tempfile.TemporaryDirectory(prefix="jumpclip-demodb-") as td:
        # One clip, used day after day: the same flash, power-cycled each day, synced after.
        board = VirtualBoard(Path(td) / "clip", BoardOptions())
        board.flash_firmware()
        port = board.serve()
        board.interactive = True
        try:
            for k in range(n_days):
                if k in skip:
                    continue  # a rest day
                day = today - dt.timedelta(days=n_days - 1 - k)
                total = 40 + (k * 7) % 45
                # Every other day the jumps are split into a morning and an evening bout,
                # the spacing the sources recommend (loading.py); otherwise one evening bout.
                parts = [(dt.time(18, 0), total)] if k % 2 else [(dt.time(7, 30), total // 2), (dt.time(18, 0), total - total // 2)]
                now = now or dt.datetime.now().astimezone()
                # Nothing in the future: today's bouts are the ones that already began (an hour
                # or more ago, as a synced session would be).
                parts = [(at, n) for at, n in parts if dt.datetime.combine(day, at).astimezone() <= now - dt.timedelta(hours=1)]
                for p, (at, jumps) in enumerate(parts):
                    trace = Path(td) / f"day{k}-{p}.csv"
                    training_trace(trace, seed=100 + 10 * k + p, jumps=jumps)
                    when = dt.datetime.combine(day, at).astimezone(dt.timezone.utc)
                    secs = int((when - EPOCH_2000).total_seconds())
                    board.opts.extra = {"rtc_offset_s": secs, "rtc_memory": RTC_MAGIC.hex()}
                    board.restart(trace)
                    board.trace_end.wait(60)
                    syncmod.sync(SerialTransport(port), store, now=when + dt.timedelta(hours=1), set_clock=False, restart=False)
                if progress:
                    progress(k + 1, n_days)
        finally:
            board.stop()
    return store


if __name__ == "__main__":  # `make demo-report`: ten days on the virtual board, with a progress bar
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("building the demo database: a day of jumping at a time"), BarColumn(), MofNCompleteColumn(),
                  transient=True) as pr:
        task = pr.add_task("days", total=10)
        build(sys.argv[1], progress=lambda k, n: pr.update(task, completed=k))
    print(f"wrote {sys.argv[1]}: 10 days synced from the virtual board")
