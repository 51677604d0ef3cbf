"""The identity of a clip's log: every log has a random id born with it, and the database
files what it syncs under that id. Two boards, one board id twice, a wiped flash, a reset
clock and a restored (older) flash image: nothing lost, nothing merged, nothing counted
twice, and the user is told in one line."""

from __future__ import annotations

import shutil

from conftest import DATA
from jumpclip import sync as syncmod
from jumpclip.sim.board import BoardOptions, VirtualBoard
from jumpclip.store import Store
from jumpclip.traces import read_trace
from jumpclip.transport import SerialTransport

TRACE_A = DATA / "cmj_s1.csv"
TRACE_B = DATA / "rope_single_s1.csv"
TRACE_C = DATA / "box_jumps_s1.csv"


def fast(port):
    # The timeout is reached only when something is wrong: generous, for a busy machine.
    return SerialTransport(port, timeout=5, quiet=0.1)


class Clip:
    """A virtual board served on a port; count() power-cycles it onto a trace and waits."""

    def __init__(self, folder, device_id="a4cf12345678"):
        self.board = VirtualBoard(folder, BoardOptions(config={"idle_min": 0}, extra={"unique_id": device_id}))
        self.board.flash_firmware()
        self.board.load_trace(TRACE_A)
        self.port = self.board.serve()
        self.started = False

    def count(self, trace):
        if self.started:
            self.board.restart(trace)
        else:
            self.board.load_trace(trace)
            self.board.start(interactive=True)
            self.started = True
        assert self.board.trace_end.wait(30), self.board.sim_lines[-5:]

    def sync(self, store):
        return syncmod.sync(fast(self.port), store, restart=False)

    def stop(self):
        self.board.stop()

    def off(self):
        """Power off; the flash keeps what is on it (or what a test puts there) for the next count()."""
        self.board.stop()
        self.started = False


def jumps_in(trace):
    return read_trace(trace).label_jumps


def no_session_merged(store):
    """Every session holds exactly the jumps the clip counted in it."""
    for s in store.sessions():
        if s["reported_jumps"] is not None:
            assert s["jumps"] == s["reported_jumps"], dict(s)


def test_two_boards_with_different_ids(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    a, b = Clip(tmp_path / "a", "a4cf00000001"), Clip(tmp_path / "b", "a4cf00000002")
    try:
        a.count(TRACE_A)
        b.count(TRACE_B)
        ra, rb = a.sync(store), b.sync(store)
    finally:
        a.stop()
        b.stop()
    assert ra.imported.new_jumps == jumps_in(TRACE_A) and rb.imported.new_jumps == jumps_in(TRACE_B)
    assert ra.warnings == [] and rb.warnings == []
    assert store.count_jumps() == jumps_in(TRACE_A) + jumps_in(TRACE_B)
    no_session_merged(store)


def test_two_boards_with_the_same_id_keep_separate_logs(tmp_path):
    # Before log ids: the second board's 6 jumps arrived as "1 new jumps" and session #1
    # showed 21 jumps for a clip that counted 20.
    store = Store(tmp_path / "db.sqlite")
    a, b = Clip(tmp_path / "a"), Clip(tmp_path / "b")
    try:
        a.count(TRACE_A)
        b.count(TRACE_B)
        a.sync(store)
        rb = b.sync(store)
    finally:
        a.stop()
        b.stop()
    assert rb.imported.new_jumps == jumps_in(TRACE_B) and rb.imported.new_sessions == 1
    assert len(rb.warnings) == 1 and "has a new log" in rb.warnings[0]
    assert len(store.logs_of("a4cf12345678")) == 2
    assert store.count_jumps() == jumps_in(TRACE_A) + jumps_in(TRACE_B)
    no_session_merged(store)


def test_a_wiped_flash_starts_a_new_log_and_keeps_the_old(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    clip = Clip(tmp_path / "a")
    try:
        clip.count(TRACE_A)
        clip.sync(store)
        clip.off()
        clip.board.flash_firmware()  # esptool erase_flash, then MicroPython and jumpclip again
        clip.count(TRACE_B)
        res = clip.sync(store)
    finally:
        clip.stop()
    assert res.imported.new_jumps == jumps_in(TRACE_B)
    assert any("flash was erased or re-formatted" in w for w in res.warnings)
    assert store.count_jumps() == jumps_in(TRACE_A) + jumps_in(TRACE_B)
    no_session_merged(store)


def test_a_reset_clock_is_the_same_log(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    clip = Clip(tmp_path / "a")
    try:
        clip.count(TRACE_A)
        clip.sync(store)  # sets the clock
        clip.count(TRACE_B)  # a power cycle: the RTC starts again from zero
        res = clip.sync(store)
    finally:
        clip.stop()
    assert res.warnings == [] and res.imported.new_jumps == jumps_in(TRACE_B)
    assert len(store.logs_of("a4cf12345678")) == 1
    no_session_merged(store)


def test_a_restored_older_image_loses_nothing_and_counts_nothing_twice(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    clip = Clip(tmp_path / "a")
    snapshot = tmp_path / "old-flash.img"
    try:
        clip.count(TRACE_A)
        clip.sync(store)
        clip.off()
        shutil.copy(clip.board.image, snapshot)  # esptool read_flash
        clip.count(TRACE_B)
        clip.sync(store)  # the database now holds records the old image never had
        clip.off()
        shutil.copy(snapshot, clip.board.image)  # esptool write_flash of the old dump
        clip.count(TRACE_A)
        res = clip.sync(store)
        again = clip.sync(store)
    finally:
        clip.stop()
    assert any("older than what was synced" in w for w in res.warnings), res.warnings
    assert res.imported.new_jumps == jumps_in(TRACE_A)  # the jumps counted after the restore
    assert again.warnings == [] and again.imported.new_jumps == 0
    assert store.count_jumps() == 2 * jumps_in(TRACE_A) + jumps_in(TRACE_B)
    no_session_merged(store)
    # The first session after the restore has the same (record number, session id) as the
    # one the database holds from the log before it: its start used to be taken for a
    # repeat, and the session was stored with an unknown start, rate and firmware.
    for s in store.sessions():
        if s["jumps"]:
            assert s["wall_source"] != "unknown" and s["rate_hz"] == 200 and s["firmware"], dict(s)


def test_a_flash_image_cloned_onto_another_clip_loses_nothing_and_merges_nothing(tmp_path):
    # A replacement clip gets the old clip's flash (esptool read_flash, write_flash). Both
    # go on counting: the same log id on two boards. Before, the host looked the log up by
    # its id alone: the second board's first session fell at or below the first one's acked
    # record and was dropped, and the rest was filed under the first board.
    store = Store(tmp_path / "db.sqlite")
    a, b = Clip(tmp_path / "a", "a4cf00000001"), Clip(tmp_path / "b", "a4cf00000002")
    try:
        a.count(TRACE_A)
        a.sync(store)
        a.off()
        shutil.copy(a.board.image, b.board.image)  # the clone
        a.count(TRACE_B)
        a.sync(store)
        b.count(TRACE_C)
        rb = b.sync(store)
        again = b.sync(store)
    finally:
        a.stop()
        b.stop()
    assert any("another clip" in w for w in rb.warnings), rb.warnings
    assert rb.imported.new_jumps == jumps_in(TRACE_C) and rb.imported.new_sessions == 1
    assert again.imported.new_jumps == 0 and again.warnings == []
    assert store.count_jumps() == jumps_in(TRACE_A) + jumps_in(TRACE_B) + jumps_in(TRACE_C)
    assert sum(s["jumps"] for s in store.sessions("a4cf00000002")) == jumps_in(TRACE_C)
    no_session_merged(store)


def test_a_database_from_before_log_ids_keeps_everything(tmp_path):
    import sqlite3

    from jumpclip.store import MIGRATIONS

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO devices(device_id, first_seen, acked_seq) VALUES ('a4cf12345678', '2026-01-01', 7)")
    db.execute("INSERT INTO sessions(device_id, session_id, boot, start_seq, wall_source, reported_jumps) VALUES ('a4cf12345678', 1025, 1, 0, 'unknown', 2)")
    db.executemany("INSERT INTO jumps VALUES ('a4cf12345678', 1025, 1, ?, ?, 60, 4000)", [(0, 100), (1, 300)])
    db.commit()
    db.close()
    store = Store(path)
    (s,) = store.sessions()
    assert s["device_id"] == "a4cf12345678" and s["log_id"] == "a4cf12345678" and s["jumps"] == 2
    assert store.jumps(s["log_id"], s["session_id"]) == [(100, 60, 4000, None), (300, 60, 4000, None)]  # no filtered peak before 0.3
    assert store.acked_seq("a4cf12345678") == 7


def test_a_full_disk_is_said_as_such_and_changes_nothing(tmp_path):
    # SQLite stops at max_page_count as at a full disk (SQLITE_FULL). Before, the failed
    # import's rollback raised "cannot rollback - no transaction is active" instead.
    from jumpclip.logread import Jump, LogContents, SessionStart
    from jumpclip.store import StoreError

    store = Store(tmp_path / "db.sqlite")
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    start = SessionStart(0, 1025, 1, "a4cf12345678", 0, False, 1, 200, 16, "0.2.0", 3900, 50)
    jumps = [Jump(1 + k // 40, 1025, k % 40, 200 * k, 60, 4000) for k in range(20_000)]
    try:
        store.import_log("a4cf12345678", LogContents(starts=[start], jumps=jumps), None, "test", log_id="0123456789abcdef")
        raise AssertionError("the import should not fit")
    except StoreError as e:
        assert "disk is full" in str(e) and "rollback" not in str(e), str(e)
    assert store.count_jumps() == 0 and store.sessions() == []
