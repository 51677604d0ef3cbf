"""The host reaching a counting, sleeping clip, on the virtual board in real time:
- the time to connect (sync's hand-over) over random phases of the clip's sleep;
- `jumpclip record --seconds 120` and `config get/set` on a clip whose watchdog runs.
Figures only; the tests hold the limits."""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from jumpclip.cli import main as cli
from jumpclip.sim.board import BoardOptions, VirtualBoard
from jumpclip.transport import SerialTransport

ROOT = Path(__file__).resolve().parents[1]
IDLE = ROOT / "tests" / "data" / "car_ride_s1.csv"
PHASES = 200


def served(folder: Path, scale: int) -> tuple[VirtualBoard, str]:
    board = VirtualBoard(folder, BoardOptions(time_scale=scale, config={"idle_min": 0}))
    board.flash_firmware()
    board.load_trace(IDLE)
    port = board.serve()
    board.start(interactive=True)
    if not board.wait_for("counting: session 1", 60):
        raise SystemExit("the virtual board did not start counting")
    return board, port


def connect_latency(folder: Path, phases: int) -> None:
    board, port = served(folder, 1)
    rng = random.Random(1)
    first, whole = [], []
    try:
        for _ in range(phases):
            time.sleep(rng.uniform(0.0, 0.5))  # a random phase of the 0.4 s wake cycle
            t = SerialTransport(port, timeout=5, quiet=0.1)
            t.open()
            try:
                t0 = time.monotonic()
                t.interrupt()
                whole.append(time.monotonic() - t0)
                first.append(t.first_reply_s or 0.0)
                t.enter_raw()
                t.exec_detached("app.run()")
            finally:
                t.close()
    finally:
        board.stop()
    reached = [int(ln.split()[5]) for ln in board.sim_lines if ln.startswith("SIM uart reached the REPL")]
    q = statistics.quantiles(first, n=20)
    print(f"connect to a counting clip with sleep on, {phases} random phases (real time):")
    print(f"  first answer: median {1000 * statistics.median(first):.0f} ms, 95th percentile {1000 * q[-1]:.0f} ms, "
          f"worst {1000 * max(first):.0f} ms")
    print(f"  hand-over complete (session closed and flushed): worst {max(whole):.2f} s")
    if reached:
        print(f"  on the board's clock, first lost byte to the prompt ({len(reached)} phases met a sleeping clip): "
              f"median {statistics.median(reached):.0f} ms, worst {max(reached)} ms")
    print(f"  watchdog resets: {sum(1 for w, _ in board.resets if w == 'wdt')}")


def record_and_config(folder: Path) -> None:
    # 4x real time: 120 s of recording take 30 s; the watchdog (8 s) counts virtual time.
    board, port = served(folder / "rec", 4)
    try:
        t0 = time.monotonic()
        res = CliRunner().invoke(cli, ["record", "--port", port, "--out", str(folder / "rec.csv"), "--seconds", "120"])
        took = time.monotonic() - t0
        line = (res.output.strip().splitlines() or ["(nothing)"])[-1]
        print(f"record --seconds 120 on a counting clip (4x real time, {took:.0f} s): exit {res.exit_code}: {line}")
        print(f"  watchdog resets: {sum(1 for w, _ in board.resets if w == 'wdt')}")
    finally:
        board.stop()
    board, port = served(folder / "cfg", 1)
    try:
        errors = 0
        for k in range(5):
            a = CliRunner().invoke(cli, ["config", "set", "idle_min", str(10 + k), "--port", port])
            b = CliRunner().invoke(cli, ["config", "get", "idle_min", "--port", port])
            errors += a.exit_code != 0 or b.exit_code != 0 or b.output.strip() != str(10 + k)
        print(f"config set then get, 5 times (real time): {errors} failed; watchdog resets: {sum(1 for w, _ in board.resets if w == 'wdt')}")
    finally:
        board.stop()


def main(phases: int = PHASES) -> None:
    with tempfile.TemporaryDirectory() as td:
        connect_latency(Path(td) / "c", phases)
        record_and_config(Path(td))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else PHASES)
