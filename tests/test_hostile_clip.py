"""Hostile input on the clip (issue: nothing a file or a user does stops the counting): a
bad config.json, damaged log state. Each case boots the unmodified firmware on the virtual
board and checks that it counts and says why, in one line."""

from __future__ import annotations

import json

import pytest

from jumpclip.sim import flash
from jumpclip.sim.board import BoardOptions, VirtualBoard, run_trace
from test_power_and_daily import log_of, make_trace

BAD_CONFIGS = [
    '{"refractory_ms": 1e999}',
    '{"min_flight_ms": -1e999, "wdt_ms": 1e999}',
    '{"wdt_ms": NaN}',
    '{"rate_hz": 1e300, "range_g": "16"}',
    '{"idle_min": 100000000000000000000000000000000000000}',
    "{" + ", ".join(f'"k{i}": {i}' for i in range(20000)) + "}",
    "[" * 300 + "]" * 300,
    '{"profile": {"a": 1}}',
    "\x00\x01garbage",
]


@pytest.mark.parametrize("text", BAD_CONFIGS, ids=range(len(BAD_CONFIGS)))
def test_any_config_json_leads_to_counting_with_the_reason(tmp_path, text):
    tr = make_trace(tmp_path / "t.csv", [("jumps", 3, 5.0)])
    run = run_trace(tr, tmp_path / "b", BoardOptions(config_text=text))
    assert len(run.jumps()) == 3, run.console[-800:]
    assert "Traceback" not in run.console
    reasons = [ln for ln in run.console.splitlines() if ln.startswith("jumpclip: config: ")]
    assert 1 <= len(reasons) <= 5 and all(len(r) < 220 for r in reasons), reasons


def test_a_config_problem_is_logged_once_not_at_every_boot(tmp_path):
    text = json.dumps({f"unknown{i}": i for i in range(200)})  # 3 KB: read, 200 problems summarised
    tr = make_trace(tmp_path / "t.csv", [("jumps", 1, 5.0)])
    board_dir = tmp_path / "b"
    sizes = []
    for boot in range(3):
        opts = BoardOptions(config_text=text)
        board = VirtualBoard(board_dir, opts)
        if boot == 0:
            board.flash_firmware()
        board.load_trace(tr)
        board.start()
        assert board.trace_end.wait(60)
        board.interrupt()
        board.wait(30)
        board.stop()
        notes = [n for n in log_of(board_dir).notes if n.text.startswith("config: ")]
        sizes.append(len(notes))
        assert "config: " in board.console_text()  # still said on the console every boot
    assert sizes[0] >= 1 and sizes == [sizes[0]] * 3, sizes  # logged at the first boot only


STATE_DAMAGE = [None, b"", b"garbage{", b'{"boot": "x"}', b'{"boot": 0, "seq": -1, "sessions": 0}', b"[1, 2]", b'{"boot": 1e999}']


@pytest.mark.parametrize("damage", STATE_DAMAGE, ids=["deleted", "empty", "garbled", "boot-x", "reset", "list", "inf"])
def test_damaged_log_state_never_reuses_a_session_id_or_merges_sessions(tmp_path, damage):
    from jumpclip.store import Store
    from test_log_identity import TRACE_A, TRACE_B, Clip, jumps_in, no_session_merged

    store = Store(tmp_path / "db.sqlite")
    clip = Clip(tmp_path / "a")
    try:
        clip.count(TRACE_A)
        clip.sync(store)
        clip.off()
        if damage is None:
            flash.remove_file(clip.board.image, "log/state.json")
        else:
            flash.write_file(clip.board.image, "log/state.json", damage)
        clip.count(TRACE_B)
        assert "Traceback" not in clip.board.console_text()
        res = clip.sync(store)
    finally:
        clip.stop()
    assert res.imported.new_jumps == jumps_in(TRACE_B) and res.imported.new_sessions >= 1
    ids = [(s["log_id"], s["session_id"]) for s in store.sessions()]
    assert len(ids) == len(set(ids))
    assert store.count_jumps() == jumps_in(TRACE_A) + jumps_in(TRACE_B)
    no_session_merged(store)


def test_the_1024th_session_of_a_boot_gets_a_new_boot_number_not_an_old_id(tmp_path):
    # Session ids hold 10 bits of session number. Sessions end by idle, button and changed
    # settings, any number a boot; the 1024th of one boot used to wrap onto session 0's id.
    from jumpclip import sync as syncmod
    from jumpclip.store import Store
    from jumpclip.transport import SerialTransport
    from test_chip_witness import served_board

    store = Store(tmp_path / "db.sqlite")
    board, port = served_board(tmp_path, time_scale=1, config={"idle_min": 0})
    try:
        assert board.wait_for("counting: session 1 of boot 1", 20)
        t = SerialTransport(port, timeout=5, quiet=0.1)
        t.open()
        t.interrupt()
        t.enter_raw()
        t.exec("app.sessions = 1022")  # as after 1,022 sessions since boot
        for name in ("1023 of boot 1", "1 of boot 2", "2 of boot 2"):  # past 1023: a new boot number
            t.exec("app.end_session()")  # as an idle timeout would (a host command keeps it open)
            t.exec_detached("app.run()")
            assert board.wait_for("counting: session " + name, 20)
            t.interrupt()
            t.enter_raw()
        t.close()
        syncmod.sync(SerialTransport(port, timeout=5, quiet=0.1), store, restart=False)
    finally:
        board.stop()
    ids = sorted(s["session_id"] for s in store.sessions())
    assert len(ids) == len(set(ids))
    assert [(i >> 10, i & 0x3FF) for i in ids[-3:]] == [(1, 1023), (2, 1), (2, 2)]


def test_a_failed_i2c_transfer_costs_no_jump_and_no_overflow(tmp_path):
    # Bus errors while jumping, on the FIFO count and on the burst reads alike: each is
    # retried, so the FIFO keeps its contents and every jump is counted.
    tr = make_trace(tmp_path / "t.csv", [("jumps", 8, 5.0)])
    faults = list(range(2000, 18000, 1300))
    run = run_trace(tr, tmp_path / "b", BoardOptions(config={"idle_min": 0}, extra={"i2c_error_at_ms": faults}))
    assert len(run.jumps()) == 8
    assert run.report["models"][0]["overflows"] == 0
    assert "sensor lost" not in run.console and "0 FIFO overflows" in run.console
