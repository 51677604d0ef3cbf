"""A host that vanishes at any moment of any command costs the clip no landing (issue 34,
the general rule).

Hypothesis draws a run of host commands, each stopped at a random moment by Ctrl-C
(SIGINT) or by a kill (SIGKILL, a cable pulled or a laptop shut), on a virtual board that
counts rope skipping in real time. After the trace ends, one sync must hold every landing
the same board counts with no host at all, in one session, with no FIFO overflow: the
clip finishes or ends what it was asked for, and the held session's timer counts
meanwhile. A recording or a doctor measurement takes the FIFO from the session while it
runs (the host holds it), and both measure at most 2 s here, so the landings in those
seconds are still counted from the samples the clip kept (App.read_remainder); the rule
is the same count as a hostless run.

One example is written out (it found a fault), one is drawn from a fixed seed
(derandomize), so CI runs the same two every time; the board's time is its own, so each
runs the same on a busy machine.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from conftest import DATA
from jumpclip import sync as syncmod
from jumpclip.sim.board import BoardOptions, run_trace
from jumpclip.store import Store
from jumpclip.transport import SerialTransport
from test_host_commands import _board as real_time_board  # a board counting in real time, its console served

ROPE = DATA / "rope_single_s1.csv"  # 20 landings, one a second from 2 s, 23 s long

# Each command as a person runs it; {port} and {tmp} filled in.
COMMANDS = {
    # The same database as the final sync: a sync acknowledges what it took, and the clip
    # frees it (another database would never see those landings).
    "sync": ["sync", "--port", "{port}", "--db", "{tmp}/db.sqlite"],
    "config get": ["config", "get", "--port", "{port}"],
    "config set": ["config", "set", "idle_min", "0", "--port", "{port}"],
    "doctor": ["doctor", "--port", "{port}", "--seconds", "2"],
    "record": ["record", "--port", "{port}", "--seconds", "2", "--out", "{tmp}/r.csv"],
    "hold": ["hold", "--port", "{port}"],
    "resume": ["resume", "--port", "{port}"],
    "notes": ["notes", "--port", "{port}"],
}

# The order matters: Hypothesis's first, simplest example takes the first of each (a doctor
# killed 0.8 s in, three times over: Python has started and the clip is being reached).
ORDER = ["doctor", "record", "sync", "config set", "hold", "resume", "config get", "notes"]
step = st.tuples(
    st.sampled_from(ORDER),
    st.floats(min_value=0.8, max_value=3.0),  # seconds from the command's start to its end
    st.sampled_from([signal.SIGKILL, signal.SIGINT]),
)


assert sorted(ORDER) == sorted(COMMANDS)


def _interrupted(args, after_s, sig):
    proc = subprocess.Popen([sys.executable, "-m", "jumpclip.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(after_s)
    if proc.poll() is None:
        proc.send_signal(sig)
    out = proc.communicate(timeout=60)[0].decode(errors="replace")
    return proc.returncode, out


_ALONE: dict[str, int] = {}


def _hostless_count(tmp_path) -> int:
    if "n" not in _ALONE:
        _ALONE["n"] = len(run_trace(ROPE, tmp_path / "alone", BoardOptions(config={"idle_min": 0})).jumps())
    return _ALONE["n"]


# No shrinking: each example takes half a minute of real time, and a failing one says all
# that happened in its message. No example database: CI and a local run draw the same two.
@settings(max_examples=1, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=3, max_size=4))
# Found by the generated examples: after a `jumpclip hold`, a sync missed what the held
# session's timer had counted since (up to the 5 s flush interval), 17 of 20 kept; the
# sync now flushes it first (syncserver.send, App.flush_for_host).
@example(steps=[("config get", 2.9, signal.SIGKILL), ("sync", 1.2, signal.SIGKILL), ("record", 1.3, signal.SIGINT),
                ("hold", 2.7, signal.SIGKILL)])
def test_commands_stopped_at_random_moments_lose_no_landing(tmp_path_factory, steps):
    tmp_path = tmp_path_factory.mktemp("interrupted")
    expected = _hostless_count(tmp_path)
    assert expected == 20
    board, port = real_time_board(tmp_path, ROPE)
    db = tmp_path / "db.sqlite"
    outputs = []
    try:
        assert board.wait_for("counting: session 1 of boot 1", 30)
        time.sleep(1)
        for name, after_s, sig in steps:
            args = [a.format(port=port, tmp=tmp_path) for a in COMMANDS[name]]
            code, out = _interrupted(args, after_s, sig)
            outputs.append(f"$ jumpclip {name} ({sig.name} at {after_s:.1f} s) -> {code}\n{out}")
            assert "Traceback" not in out, "\n".join(outputs)
        assert board.trace_end.wait(120), board.sim_lines[-5:]
        syncmod.sync(SerialTransport(port, timeout=5, quiet=0.1), Store(db))
    finally:
        board.stop()
    console = board.console_text()
    story = "\n".join(outputs) + "\n--- console ---\n" + console[-3000:]
    assert [s["jumps"] for s in Store(db).sessions()] == [expected], story
    assert not re.findall(r"FIFO overflow \d+:", console), story
