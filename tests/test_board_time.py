"""The virtual board's time is its own (fast mode): the same trace gives the same run on an
idle or a busy machine, a long trace runs faster than real time, and the clip's events are
`jumpclip replay`'s of the same samples from the same start."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from conftest import DATA, REAL_DEV
from jumpclip import fastpath, replay
from jumpclip.sim import feed
from jumpclip.sim.board import BoardOptions, run_trace
from jumpclip.traces import Trace, read_trace
from test_power_and_daily import make_trace

SESSION = DATA / "session_s1.csv"


def essentials(run) -> dict:
    """What the firmware did: console, LED and pins, the sensor's view, bus and flash use,
    the virtual clock. (Host-side fields such as heap figures are the interpreter's.)"""
    rep = run.report
    keep = ("clock_s", "awake_s", "sleep_s", "light_sleeps", "i2c_transactions", "i2c_bytes", "i2c_s", "pin_log",
            "block_writes", "flash_bytes_written", "flash_erases", "wdt_resets", "uart_tx_bytes", "uart_tx_s")
    return {"console": run.console, **{k: rep[k] for k in keep}, "models": rep["models"]}


def test_the_same_trace_gives_the_same_run_on_a_busy_machine(tmp_path):
    # Every core kept busy by spinning processes while the board runs the same trace again.
    quiet = essentials(run_trace(SESSION, tmp_path / "idle"))
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(4)]
    try:
        busy = essentials(run_trace(SESSION, tmp_path / "busy", timeout=300))
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert busy == quiet
    # The UART's wire time: every console byte the firmware wrote, at 10 bits a byte.
    rep = run_trace(SESSION, tmp_path / "again").report
    assert rep["uart_tx_bytes"] == len(quiet["console"].encode()) > 1000
    assert rep["uart_tx_s"] == rep["uart_tx_bytes"] * 10 // 115200 / 1e6 or abs(rep["uart_tx_s"] - rep["uart_tx_bytes"] * 10 / 115200) < 1e-5
    assert quiet["models"][0]["first_fifo_index"] >= 0 and "20 jumps" in quiet["console"]


def counts_trace(counts: np.ndarray, path: Path) -> Trace:
    """A 200 Hz, +-16 g trace whose sensor counts are exactly `counts` (2048 counts a g is
    exact in binary, so the feed's units round-trip)."""
    t = np.arange(len(counts)) / 200.0
    return Trace(str(path), {"rate_hz": "200", "range_g": "16"}, t, counts.astype(np.float64) / 2048.0, 200.0)


def board_and_replay(trace: Trace, workdir: Path, cfg: dict) -> tuple[list[tuple[int, int]], list[tuple[int, int]], float]:
    """(board events, replay events from the board's first sample, host seconds): events as
    (sample index from the session's start, airtime in ms)."""
    t0 = time.monotonic()
    run = run_trace(trace, workdir, BoardOptions(config=cfg), timeout=1800)
    took = time.monotonic() - t0
    assert run.report["crashed"] is None and run.report["wdt_resets"] == 0
    assert run.console.count("counting: session") == 1, run.console[-2000:]
    k0 = run.report["models"][0]["first_fifo_index"]
    board = [(round(float(j["t"].rstrip("s")) * 200), int(j["air"].rstrip("ms"))) for j in run.jumps()]
    det, c = replay.make_detector(cfg)
    counts = feed.counts(trace, 200, 16)
    host = [(e.index, e.air * 1000 // 200) for e in fastpath.detect_fast(counts[k0:], det)]
    return board, host, took


def test_an_hour_of_trace_through_the_board_equals_replay(tmp_path, capsys):
    # An hour at 200 Hz (720,000 samples): jumps, walking and long stretches of standing.
    tr = make_trace(tmp_path / "hour.csv", [item for _ in range(12) for item in
                                            (("jumps", 6, 5.0), ("walk", 20), ("rest", 270))])
    assert tr.duration_s >= 3600
    board, host, took = board_and_replay(tr, tmp_path / "b", {"idle_min": 0})
    with capsys.disabled():
        print(f"\n  virtual board: 1 h of trace in {took:.0f} s of host time ({3600 / took:.0f}x real time)")
    assert board == host
    assert len(board) == tr.label_jumps


def test_real_recordings_through_the_board_equal_replay(tmp_path):
    # Every real jump recording (and the synthetic sessions when ../shared is absent), one
    # after the other with 2 s of standing between them, in one session on the board.
    paths = sorted(p for p in REAL_DEV.glob("*.csv") if not p.name.endswith(".events.csv")) if REAL_DEV.is_dir() else []
    paths = [p for p in paths if "_jump_" in p.name or "_hop_" in p.name or "_jum_" in p.name] or [SESSION, DATA / "hops_s1.csv"]
    still = np.tile(np.array([[0, 0, 2048]], dtype=np.int16), (400, 1))
    parts = []
    for p in paths:
        parts += [feed.counts(read_trace(p), 200, 16), still]
    tr = counts_trace(np.concatenate(parts), tmp_path / "all.csv")
    board, host, _ = board_and_replay(tr, tmp_path / "b", {"idle_min": 0})
    assert board == host
    assert len(board) > 20 * len(paths) // 10


def test_a_starved_usb_bridge_costs_the_clip_no_time(tmp_path):
    # Paced mode, a recording at 1 kHz (8 KB/s on the wire). The host's bridge thread stops
    # for 3 s, as on a busy machine: the pty fills and the firmware blocks writing. A real
    # UART sends at its baud rate whoever listens, so that wait is no time for the chip:
    # the FIFO (170 ms at 1 kHz) must not overflow.
    import threading

    from click.testing import CliRunner

    from jumpclip.cli import main
    from jumpclip.sim.board import VirtualBoard

    opts = BoardOptions(config={"rate_hz": 1000}, time_scale=2, extra={"run_main": False})
    b = VirtualBoard(tmp_path / "b", opts)
    b.flash_firmware()
    b.load_trace(SESSION)
    port = b.serve()
    b.start(interactive=True)
    out = tmp_path / "rec.csv"
    stall = threading.Timer(2.0, b.stall_bridge, (3.0,))
    try:
        stall.start()
        res = CliRunner().invoke(main, ["record", "--port", port, "--out", str(out), "--seconds", "12"])
    finally:
        stall.cancel()
        b.stop()
    assert res.exit_code == 0, res.output
    assert "no gaps" in res.output and len(read_trace(out).t) == 12000
