"""The host's file operations and the held session's timer never use littlefs at once (issue
34, item 13: `deploy` failed once in 4 with "rm: impact.py: No space left on device").

The cause: while the host holds the clip, the lease's timer counts the open session and
flushes its log (App.count_held). On the chip that callback is scheduled, and the VM runs it
at the next branch of any Python code (py/vm.c, pending_exception_check), including the
firmware's block device, eraseguard.EraseGuard, which littlefs calls in the middle of an
operation. A flush there is a second littlefs operation inside the first, and littlefs is
not re-entrant: tests/fw/mp_flash_reentry_cases.py shows it on the unix port's own
scheduler, where the nested flush fails with ENOSPC (errno 28) under the old guard. The
virtual board had a second way to the same fault: its chip thread ran the callback while
the REPL waited, and the REPL went on with the host's next file operation when its bytes
came in the meantime, two threads in littlefs at once. It now runs due timers at the
guard's ioctl as the chip would (Sim.branch_point, which reports a callback that used the
flash there), and the firmware's thread waits for a callback the chip thread started
(Sim.chip_turn).

Here, mpremote copies a file to a counting clip and back while the held session's timer
counts: the copy is intact, no callback entered littlefs, and every landing is kept.
"""

from __future__ import annotations

import subprocess
import sys
import time

from conftest import DATA
from jumpclip import sync as syncmod
from jumpclip.store import Store
from jumpclip.transport import SerialTransport
from test_host_commands import _board as real_time_board  # a board counting in real time, its console served


def test_mpremote_copies_files_while_a_held_session_counts(tmp_path):
    trace = DATA / "rope_single_s1.csv"
    board, port = real_time_board(tmp_path, trace)
    db = tmp_path / "db.sqlite"
    payload = bytes(range(256)) * 160  # 40 KB: ten blocks, each erased through EraseGuard.ioctl
    (tmp_path / "up.bin").write_bytes(payload)
    try:
        assert board.wait_for("counting: session 1 of boot 1", 30)
        time.sleep(3)
        held = subprocess.run([sys.executable, "-m", "jumpclip.cli", "hold", "--port", port], capture_output=True, text=True, timeout=60)
        assert held.returncode == 0, held.stdout + held.stderr
        mp = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, "resume",
                             "fs", "cp", str(tmp_path / "up.bin"), ":up.bin", "+",
                             "fs", "cp", ":up.bin", str(tmp_path / "down.bin"), "+",
                             "fs", "rm", ":up.bin"], capture_output=True, text=True, timeout=120)
        assert mp.returncode == 0, mp.stdout + mp.stderr
        assert (tmp_path / "down.bin").read_bytes() == payload
        back = subprocess.run([sys.executable, "-m", "jumpclip.cli", "resume", "--port", port], capture_output=True, text=True, timeout=60)
        assert back.returncode == 0, back.stdout + back.stderr
        assert board.trace_end.wait(90), board.sim_lines[-5:]
        syncmod.sync(SerialTransport(port, timeout=5, quiet=0.1), Store(db))
    finally:
        board.stop()
    console = board.console_text()
    assert not [line for line in board.sim_lines if "littlefs re-entered" in line], console[-3000:]
    assert "write failed" not in console, console[-3000:]
    assert [s["jumps"] for s in Store(db).sessions()] == [20], console[-3000:]
