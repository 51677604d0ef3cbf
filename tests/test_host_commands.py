"""A host command in the middle of training costs neither a jump nor a new session.

The clip keeps its session open when the host takes over (App.hold_session), counts on from
the lease's timer while the host works (App.count_held), and continues the same session when
the host hands it back. Every command a user runs (sync, config get and set, doctor, record)
is run here during the demo session on the virtual board, in real time, with jumps landing
during the commands; then one last sync must hold every jump, in one session."""

from __future__ import annotations

import re

from click.testing import CliRunner

from conftest import DATA

from jumpclip import sync as syncmod
from jumpclip.cli import main as cli
from jumpclip.demo import DEMO_TRACE
from jumpclip.sim.board import BoardOptions, VirtualBoard, run_trace
from jumpclip.store import Store
from jumpclip.transport import SerialTransport

ROPE = DATA / "rope_single_s1.csv"


def _board(tmp_path, trace=DEMO_TRACE):
    # idle_min 0: the session may only end because of a host command, which it must not.
    board = VirtualBoard(tmp_path / "b", BoardOptions(config={"idle_min": 0}, time_scale=1))
    board.flash_firmware()
    board.load_trace(trace)
    port = board.serve()
    board.start(interactive=True)
    return board, port


def _ok(res):
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    return res.output


def test_every_host_command_mid_session_keeps_one_session_and_every_jump(tmp_path):
    # Rope skipping: 20 jumps, one a second from 2 s. The commands below take about 11 s of
    # it, so about half the jumps land while the host has the clip. The same trace through
    # the same board with no host at all is what the clip must count.
    alone = run_trace(ROPE, tmp_path / "alone", BoardOptions(config={"idle_min": 0}))
    board, port = _board(tmp_path, ROPE)
    db = tmp_path / "db.sqlite"
    run = CliRunner()
    try:
        assert board.wait_for("counting: session 1 of boot 1", 30)
        _ok(run.invoke(cli, ["sync", "--port", port, "--db", str(db)]))
        _ok(run.invoke(cli, ["config", "get", "--port", port]))
        _ok(run.invoke(cli, ["config", "set", "idle_min", "0", "--port", port]))  # unchanged: the session goes on
        res = run.invoke(cli, ["doctor", "--port", port, "--seconds", "4"])
        assert "sample rate" in res.output, res.output
        _ok(run.invoke(cli, ["record", "--port", port, "--seconds", "4", "--out", str(tmp_path / "r.csv")]))
        _ok(run.invoke(cli, ["sync", "--port", port, "--db", str(db)]))
        assert board.trace_end.wait(90), board.sim_lines[-5:]
        syncmod.sync(SerialTransport(port, timeout=5, quiet=0.1), Store(db))
    finally:
        board.stop()
    store = Store(db)
    sessions = store.sessions()
    console = board.console_text()
    expected = len(alone.jumps())
    assert expected == 20
    assert [s["jumps"] for s in sessions] == [expected], ([(s["session_id"], s["jumps"]) for s in sessions], console[-3000:])
    assert store.count_jumps() == expected
    assert "counting: session 2" not in console  # every hand-back continued session 1
    # Jumps were counted while the host had the clip: a hand-back finds more than the
    # hand-over just before it left (read in the console's order).
    events = re.findall(r"session 1 of boot 1: (\d+) jumps .*the host has the clip|counting on: session 1 of boot 1, (\d+) jumps so far", console)
    gained = [int(back) - int(prev[0]) for prev, (_, back) in zip(events, events[1:]) if prev[0] and back]
    assert len(gained) >= 5, console[-3000:]
    assert max(gained) >= 1, (gained, console[-3000:])


def test_a_changed_setting_ends_the_held_session_and_the_next_uses_it(tmp_path):
    # A setting that changes how the clip counts (here the sample rate) cannot apply to a
    # session that started without it: that session ends, with what it counted, and the
    # next one starts with the new rate.
    board, port = _board(tmp_path, ROPE)  # 20 landings in 23 s (the demo session is 63 s)
    db = tmp_path / "db.sqlite"
    run = CliRunner()
    try:
        assert board.wait_for("counting: session 1 of boot 1", 30)
        _ok(run.invoke(cli, ["config", "set", "rate_hz", "100", "--port", port]))
        assert board.wait_for("counting: session 2 of boot 1, 100 Hz", 30), board.console_text()[-2000:]
        assert board.trace_end.wait(90)
        syncmod.sync(SerialTransport(port, timeout=5, quiet=0.1), Store(db))
    finally:
        board.stop()
    sessions = Store(db).sessions()
    assert [s["rate_hz"] for s in sessions] == [200, 100]
    assert sessions[0]["end_seq"] is not None  # the first one was closed, with its count
    assert sum(s["jumps"] for s in sessions) == 20, [(s["session_id"], s["jumps"]) for s in sessions]
