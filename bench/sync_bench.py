"""Sync throughput for a 100,000-jump log on the virtual board, against copying the same
log files with `mpremote fs cp` in the same run."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jumpclip import sync as syncmod
from jumpclip.fw import load
from jumpclip.sim import flash
from jumpclip.sim.board import BoardOptions, VirtualBoard
from jumpclip.store import Store
from jumpclip.transport import SerialTransport

ROOT = Path(__file__).resolve().parents[1]
IDLE = ROOT / "tests" / "data" / "car_ride_s1.csv"
JUMPS = 100_000


def build_log(folder: Path, jumps: int) -> None:
    eventlog = load("eventlog")
    lf = load("logformat")
    log = eventlog.EventLog(str(folder / "log"), reserve_bytes=0)
    log.open()
    per = 2000
    for s in range((jumps + per - 1) // per):
        log.begin_session(s + 1, b"\xa4\xcf\x12\x34\x56\x78", 0, False, 1, 200, 16, (0, 1, 0))
        for j in range(min(per, jumps - s * per)):
            log.add_jump(j * 100, 60, 3500)
            log.tick(j * 100)
        log.end_session(per * 100, 0, lf.END_HOST)


def image_with_log(path: Path, log_dir: Path) -> None:
    flash.build_image(path)
    fs = flash.open_image(path)
    fs.mkdir("log")
    for f in sorted(log_dir.iterdir()):
        with fs.open("log/" + f.name, "wb") as out:
            out.write(f.read_bytes())
    path.write_bytes(bytes(fs.context.buffer))


def board_with_log(folder: Path, log_dir: Path) -> tuple[VirtualBoard, str]:
    # Paced (real time): the sync's wire time passes for the clip's watchdog, as on the chip
    # (in fast mode the clock advances by modelled work only, and the UART is free).
    board = VirtualBoard(folder, BoardOptions(time_scale=1))
    image_with_log(board.image, log_dir)
    board.load_trace(IDLE)
    port = board.serve()
    board.start(interactive=True)
    board.trace_end.wait(30)
    return board, port


def main() -> None:
    with tempfile.TemporaryDirectory() as td:
        td = Path(td)
        build_log(td, JUMPS)
        segs = sorted(p for p in (td / "log").iterdir() if p.suffix == ".log")
        log_bytes = sum(p.stat().st_size for p in segs)
        board, port = board_with_log(td / "board", td / "log")
        store = Store(td / "db.sqlite")
        t0 = time.perf_counter()
        res = syncmod.sync(SerialTransport(port), store, restart=False)
        t_sync = time.perf_counter() - t0
        resets = list(board.resets)  # the watchdog counts through the whole transfer
        board.stop()

        # The same log files with mpremote, on a fresh board with the same flash.
        board2, port2 = board_with_log(td / "board2", td / "log")
        dest = td / "copy"
        dest.mkdir()
        t0 = time.perf_counter()
        p = subprocess.run(
            [sys.executable, "-m", "mpremote", "connect", port2, "resume", "fs", "cp", *(":log/" + s.name for s in segs), str(dest) + "/"],
            capture_output=True,
            text=True,
        )
        t_cp = time.perf_counter() - t0
        board2.stop()
        copied = sum(f.stat().st_size for f in dest.iterdir())

    print(f"Sync of a {JUMPS:,}-jump log ({log_bytes:,} bytes in {len(segs)} segments) on the virtual board:")
    print(f"  jumpclip sync:     {t_sync:6.2f} s   {res.jumps_received / t_sync:,.0f} jumps/s   {res.wire_bytes / res.jumps_received:.2f} wire bytes/jump (goal <= 16)")
    wire_s = res.wire_bytes * 10 / 115200
    print(f"  at 115200 baud:    {wire_s:6.1f} s for the bulk data (goal < 150 s)")
    print(f"  against the wire:  {t_sync / wire_s:.2f}x the bulk data's wire time, end to end (goal <= 1.1x)")
    print(f"  board resets during the sync: {len(resets)} {resets if resets else '(no watchdog reset)'}")
    # (mpremote's own connection opens and closes a session on the device: 80 bytes more)
    ok = "" if p.returncode == 0 and copied >= log_bytes else f"  (mpremote failed: {p.stderr.strip()[-80:]})"
    print(f"  mpremote fs cp:    {t_cp:6.2f} s for the same {copied:,} bytes{ok}")
    print(f"  ratio:             sync is {t_cp / t_sync:.1f}x faster than mpremote fs cp (goal >= 2x)")
    print(f"  imported:          {res.imported.new_jumps:,} jumps in {res.imported.new_sessions} sessions")


if __name__ == "__main__":
    main()
