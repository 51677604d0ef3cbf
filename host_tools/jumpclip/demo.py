"""`jumpclip demo`: the whole user path on the virtual board. The firmware counts a bundled
session, the clip is synced into a database, and the sessions are listed. The CLI prints
what this returns."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .sim.board import BoardError, VirtualBoard
from .store import Store

DEMO_TRACE = Path(__file__).resolve().parent / "data" / "demo_session.csv"
TRACE_WAIT_S = 120.0  # the bundled trace plays in about 10 s of host time


@dataclass
class DemoRun:
    device_log: list[str]  # what the clip printed until the host took over (its session summary included)
    port: str
    store: Store
    sync: object  # sync.SyncResult
    seconds: float


def handover_log(console: str) -> list[str]:
    """The clip's own lines, up to the prompt the host's Ctrl-C brings: its last landings and
    the session's summary are printed before it (the firmware finishes its batch first)."""
    lines = []
    for line in console.replace("\r\n", "\n").split("\n"):
        if line.startswith(("MicroPython ", ">>>", "raw REPL")):
            break  # the REPL's banner: the hand-over
        if line.strip():
            lines.append(line)
    return lines


def run(trace: Path, workdir: Path, db_path: Path | None = None) -> DemoRun:
    """Count `trace` on a fresh virtual board in workdir, sync it, and return what happened.
    Raises BoardError, TraceError, StoreError, TransportError or SyncError (one line each)."""
    from . import sync as syncmod
    from .transport import SerialTransport

    board = VirtualBoard(workdir)
    t0 = time.monotonic()
    try:
        board.flash_firmware()
        board.load_trace(trace)
        port = board.serve()
        board.start(interactive=True)
        end = time.monotonic() + TRACE_WAIT_S
        while not board.trace_end.wait(0.05):
            if board.exited.is_set() or (board.proc is not None and board.proc.poll() is not None):
                said = [ln for ln in board.sim_lines if not ln.startswith("SIM ")][-1:] or board.console_text().strip().splitlines()[-1:]
                raise BoardError("the virtual board stopped before the end of the trace"
                                 + (f" ({said[0][:120]})" if said else "")
                                 + ": reinstall jumpclip (`make setup`, or `pipx install --force .`)")
            if time.monotonic() > end:
                raise BoardError(f"the virtual board did not reach the end of the trace in {TRACE_WAIT_S:.0f} s: is the computer very busy?")
        store = Store(db_path if db_path else workdir / "demo.sqlite")
        res = syncmod.sync(SerialTransport(port), store, restart=False)
        return DemoRun(handover_log(board.console_text()), port, store, res, time.monotonic() - t0)
    finally:
        board.stop()
