"""Every file the clip reads at boot, damaged: log/id, log/ack, the checkpoint (log/state.json),
daily.json and the RTC memory's daily block. The firmware's own modules (CPython here; the
virtual board runs the same files under MicroPython in test_hostile_clip.py) must boot, go
on counting, keep every record that was complete, and say in a note what they refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA
from jumpclip.fw import load
from jumpclip.logread import read_files

eventlog = load("eventlog")
lf = load("logformat")
daily_mod = load("daily")


def write_log(root, sessions=1, jumps=5):
    """A log as a clip leaves it: `sessions` closed sessions of `jumps` landings."""
    log = eventlog.EventLog(str(root), reserve_bytes=0)
    log.open()
    for n in range(sessions):
        sid = (log.boot << 10) | (n + 1)
        log.begin_session(sid, b"\0" * 6, 0, False, 1, 200, 16, (0, 3, 0))
        for k in range(jumps):
            log.add_jump(1000 + 300 * k, 60, 3000 + k)
        log.end_session(5000, 0, lf.END_HOST)
    log.flush()
    return log


def boot_and_count(root, jumps=7):
    """A boot on whatever the flash holds, then one session of `jumps` landings."""
    log = eventlog.EventLog(str(root), reserve_bytes=0)
    log.open()
    sid = (log.boot << 10) | 1
    log.begin_session(sid, b"\0" * 6, 0, False, 1, 200, 16, (0, 3, 0))
    for k in range(jumps):
        log.add_jump(2000 + 300 * k, 70, 4000 + k)
    log.end_session(6000, 0, lf.END_HOST)
    log.flush()
    return log, sid


def contents(root):
    return read_files({p.name: p.read_bytes() for p in root.iterdir() if p.is_file()})


def landings(c, sid=None):
    return [(j.session_id, j.t_samples) for j in c.jumps if sid is None or j.session_id == sid]


def test_a_log_id_that_is_not_text_is_restored_from_the_checkpoint(tmp_path):
    root = tmp_path / "log"
    first = write_log(root)
    (root / "id").write_bytes(b"\xff\xfe" + first.log_id.encode()[2:])  # bit rot: not UTF-8
    log, sid = boot_and_count(root)
    assert log.log_id == first.log_id
    assert (root / "id").read_text() == first.log_id
    assert any("log/id was damaged" in n for n in log.notes), log.notes
    assert len(landings(contents(root))) == 5 + 7


def test_a_log_id_that_is_not_hex_is_refused(tmp_path):
    root = tmp_path / "log"
    first = write_log(root)
    (root / "id").write_text("zzzzzzzzzzzzzzzz")
    log, _ = boot_and_count(root)
    assert log.log_id == first.log_id


def test_a_log_id_that_is_a_directory_leaves_the_log_writable(tmp_path):
    root = tmp_path / "log"
    first = write_log(root)
    (root / "id").unlink()
    (root / "id").mkdir()
    log, sid = boot_and_count(root)
    assert log.log_id == first.log_id and (root / "id").read_text() == first.log_id
    assert (root / "id.bad").is_dir()  # moved aside, not deleted
    assert len(landings(contents(root), sid)) == 7 and log.write_errors == 0


def test_an_acknowledgement_past_32_bits_does_not_wrap_the_record_numbers(tmp_path):
    root = tmp_path / "log"
    write_log(root)
    (root / "ack").write_text("4294967295")
    log, sid = boot_and_count(root, jumps=5)
    c = contents(root)
    assert len(landings(c, sid)) == 5
    assert c.duplicates == 0 and log.seq < 1 << 30


def test_a_boot_number_that_would_overflow_the_session_id_is_refused(tmp_path):
    root = tmp_path / "log"
    write_log(root)
    cp = json.loads((root / "state.json").read_text())
    cp["boot"] = 4194304  # < 2**31, but boot << 10 leaves 32 bits
    (root / "state.json").write_text(json.dumps(cp))
    log, sid = boot_and_count(root)
    assert log.boot < 1 << 20 and sid < 1 << 30
    sids = {j.session_id for j in contents(root).jumps}
    assert len(sids) == 2  # nothing merged


def test_a_checkpoint_naming_a_closed_session_as_open_changes_nothing(tmp_path):
    root = tmp_path / "log"
    first = write_log(root)
    closed = (first.boot << 10) | 1
    before = contents(root)
    for bogus in (closed, (first.boot << 10) | 999, 12345):
        cp = json.loads((root / "state.json").read_text())
        cp["open"], cp["open_jumps"] = bogus, 999
        (root / "state.json").write_text(json.dumps(cp))
        log = eventlog.EventLog(str(root), reserve_bytes=0)
        log.open()
        assert any("named session %d as open" % bogus in n for n in log.notes), log.notes
    after = contents(root)
    assert [(e.session_id, e.jumps) for e in after.ends] == [(e.session_id, e.jumps) for e in before.ends]
    assert {s.session_id for s in after.starts} == {s.session_id for s in before.starts}


def test_a_session_a_power_cut_left_open_is_still_closed(tmp_path):
    # The check above must not refuse the real case.
    root = tmp_path / "log"
    log = eventlog.EventLog(str(root), reserve_bytes=0)
    log.open()
    sid = (log.boot << 10) | 1
    log.begin_session(sid, b"\0" * 6, 0, False, 1, 200, 16, (0, 3, 0))
    for k in range(40):
        log.add_jump(100 * k, 50, 3000)
    again = eventlog.EventLog(str(root), reserve_bytes=0)
    again.open()
    assert [(e.session_id, e.reason) for e in contents(root).ends] == [(sid, lf.END_RECOVERED)]


def daily_after(loaded, now_s=1000):
    d = daily_mod.Daily(3900, 50)
    why = loaded(d)
    repaired = d.repair(now_s)
    return d, why, repaired


def test_a_daily_count_that_is_not_a_count_is_refused(tmp_path):
    for raw in ('{"count": "x"}', '{"count": 1e999}', '{"count": [1]}', '{"count": -5}', '{"count": 70000}', "[1]", '{"count": true}'):
        p = tmp_path / "daily.json"
        p.write_text(raw)
        d = daily_mod.Daily(3900, 50)
        d.load(str(p))
        why = d.repair(1000)
        assert d.count == 0, raw
        if raw != "[1]":
            assert "count" in why, (raw, why)
        d.add(5000, b"", 1001)  # and it counts on (end_session's TypeError before)
        assert d.count == 1


def test_an_rtc_daily_block_of_65535_and_a_bout_from_the_future_are_refused():
    d = daily_mod.Daily(3900, 50)
    d.count = 65535
    mem = bytearray(daily_mod.RTC_BYTES)
    d.write_rtc(mem)
    got = daily_mod.Daily(3900, 50)
    assert got.from_rtc(mem)
    assert "count" in got.repair(1000) and got.count == 0
    d = daily_mod.Daily(3900, 50)
    d.count, d.key = 10, 0
    d.bouts.current, d.bouts.last_s, d.bouts.count = 500, 10**6, 2
    got = daily_mod.Daily(3900, 50)
    mem = bytearray(daily_mod.RTC_BYTES)
    d.write_rtc(mem)
    got.from_rtc(mem)
    assert "bout" in got.repair(1000)
    assert got.count == 10 and got.bouts.current == 0 and got.bouts.count == 2


# --- every file at once, hypothesis -------------------------------------------------------

json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=6)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def damaged(valid: bytes, keys: list[str]):
    """Ways a file goes bad: gone, random bytes, cut short, a wrong value under a real key,
    a huge number, another JSON document."""
    return st.one_of(
        st.just(None),
        st.binary(max_size=40),
        st.integers(0, max(len(valid) - 1, 0)).map(lambda n: valid[:n]),
        st.tuples(st.sampled_from(keys or ["x"]), json_value).map(lambda kv: _with(valid, *kv)),
        st.tuples(st.sampled_from(keys or ["x"]), st.sampled_from([2**31, 2**32 - 1, 2**32, 4194304, -2, 10**30])).map(
            lambda kv: _with(valid, *kv)),
        json_value.map(lambda v: json.dumps(v).encode()),
        st.just(valid),
    )


def _with(valid: bytes, key: str, value) -> bytes:
    try:
        doc = json.loads(valid)
    except ValueError:
        return json.dumps(value).encode()
    if isinstance(doc, dict):
        doc[key] = value
        return json.dumps(doc).encode()
    return json.dumps(value).encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data())
def test_any_damage_to_the_clips_files_boots_counts_and_keeps_every_record(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("clip") / "log"
    first = write_log(root, sessions=2, jumps=5)
    before = landings(contents(root))
    cp = (root / "state.json").read_bytes()
    d = daily_mod.Daily(3900, 50)
    d.count = 12
    d.save(str(root.parent / "daily.json"))
    files = {
        "state.json": (cp, list(json.loads(cp))),
        "id": (first.log_id.encode(), []),
        "ack": (b"%d" % (first.seq - 3), []),
    }
    for name, (valid, keys) in files.items():
        new = data.draw(damaged(valid, keys), label=name)
        p = root / name
        if p.is_file():
            p.unlink()
        if new is not None:
            p.write_bytes(new)
    dvalid = (root.parent / "daily.json").read_bytes()
    dnew = data.draw(damaged(dvalid, ["count", "bouts", "bout_landings", "announced", "key"]), label="daily.json")
    (root.parent / "daily.json").unlink()
    if dnew is not None:
        (root.parent / "daily.json").write_bytes(dnew)
    rtc = data.draw(st.binary(max_size=40), label="rtc memory")

    log, sid = boot_and_count(root)
    after = contents(root)
    assert landings(after, sid) == [(sid, 2000 + 300 * k) for k in range(7)]  # every jump of the new session
    assert set(before) <= set(landings(after))  # and every earlier one
    assert len({s.session_id for s in after.starts}) == len(after.starts) == 3  # none merged
    assert 0 <= log.seq < 1 << 30 and log.boot < 1 << 20
    assert len(log.log_id) == 16 and set(log.log_id) <= set("0123456789abcdef")

    day = daily_mod.Daily(3900, 50)
    if not day.from_rtc(rtc):
        day.load(str(root.parent / "daily.json"))
    day.repair(1000)
    assert isinstance(day.count, int) and 0 <= day.count <= daily_mod.MAX_DAILY
    before_count = day.count
    day.add(5000, b"", 1001)
    assert day.count == before_count + 1
    day.save(str(root.parent / "daily.json"))  # the session end that raised TypeError


# --- the same files on the virtual board (MicroPython), through a sync -----------------

HOSTILE = {
    "log/id not UTF-8": {"log/id": b"\xff\xfe\x00abcdef01234567"},
    "log/id a directory": {"log/id/x": b"1"},
    "daily count a string": {"daily.json": b'{"count": "x", "announced": false}'},
    "daily count 1e999": {"daily.json": b'{"count": 1e999}'},
    "ack past 32 bits": {"log/ack": b"4294967295"},
    "checkpoint boot overflow": {"log/state.json": b'{"boot": 4194304, "seq": 3, "open": 12345, "open_jumps": 999}'},
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_the_clip_boots_counts_and_syncs_every_jump_whatever_its_files_hold(tmp_path, case):
    from jumpclip import sync as syncmod
    from jumpclip.store import Store
    from jumpclip.traces import read_trace
    from jumpclip.transport import SerialTransport
    from test_chip_witness import served_board

    trace = DATA / "cmj_s1.csv"
    board, port = served_board(tmp_path, trace, config={"idle_min": 0}, files=HOSTILE[case])
    store = Store(tmp_path / "db.sqlite")
    try:
        assert board.trace_end.wait(60), board.console_text()[-1500:]
        res = syncmod.sync(SerialTransport(port, timeout=5, quiet=0.1), store)
        again = syncmod.sync(SerialTransport(port, timeout=5, quiet=0.1), store)
    finally:
        board.stop()
    assert "Traceback" not in board.console_text(), board.console_text()[-2000:]
    assert store.count_jumps() == read_trace(trace).label_jumps, (res, board.console_text()[-1500:])
    assert again.imported.new_jumps == 0
    assert res.restarted, res  # counting again after the sync, not left at the REPL


def test_a_session_open_across_a_segment_change_is_still_closed(tmp_path):
    # The newest segment holds no record of the open session (it began with a note): the
    # session's start is in the segment before it, and recovery still closes it.
    root = tmp_path / "log"
    log = eventlog.EventLog(str(root), seg_max=512, reserve_bytes=0)
    log.open()
    sid = (log.boot << 10) | 1
    log.begin_session(sid, b"\0" * 6, 0, False, 1, 200, 16, (0, 3, 0))
    for k in range(20):
        log.add_jump(100 * k, 50, 3000)
    log.flush()
    while len(log.segments()) < 2:  # notes until one starts a new segment: it holds notes only
        log.note("x" * 60)
        log.flush()
    segs = log.segments()
    assert len(segs) == 2
    newest = read_files({segs[-1]: (root / segs[-1]).read_bytes()})
    assert not newest.jumps and not newest.starts and newest.notes
    again = eventlog.EventLog(str(root), seg_max=512, reserve_bytes=0)
    again.open()
    assert [(e.session_id, e.reason) for e in contents(root).ends] == [(sid, lf.END_RECOVERED)]



def test_every_field_of_every_record_round_trips_through_the_one_table(tmp_path):
    # The writer (eventlog) and the reader (logread) both use logformat's field tables; each
    # field gets a distinct value, so a field written at one place and read at another fails.
    tables = {"start": (lf.START_FIELDS, lf.START_BYTES), "end": (lf.END_FIELDS, lf.END_BYTES),
              "jump": (lf.JUMP_FIELDS, lf.JUMP_BYTES)}
    for name, (table, size) in tables.items():  # contiguous, and as long as the record says
        ends = [o + w for _, o, w in table]
        assert [o for _, o, _ in table] == [0] + ends[:-1] and ends[-1] == size, name
    log = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0)
    log.open()
    sid = (log.boot << 10) | 7
    log.begin_session(sid, bytes([1, 2, 3, 4, 5, 6]), 0x12345678, True, 0x0BADF00D, 1000, 8, (4, 5, 6), 4321, 77)
    log.add_jump(0x01020304, 0x0506, 0x0708, 0x090A)
    log.add_jump(0x01020399, 0x0507, 0x0709, 0)
    log.unlogged = 0x2468
    log.session_jumps = 0x13579  # (at least the unlogged ones: an END with more unlogged than jumps is refused)
    log.end_session(0x11223344, 0x5566, lf.END_BUTTON, 2)
    log.flush()
    c = contents(tmp_path / "log")
    (s,) = c.starts
    assert (s.session_id, s.boot, s.device_id, s.rtc_epoch, s.rtc_set, s.config_hash, s.rate_hz, s.range_g, s.firmware,
            s.qualify_mg, s.daily_target) == (sid, log.boot, "010203040506", 0x12345678, True, 0x0BADF00D, 1000, 8, "4.5.6", 4321, 77)
    assert [(j.t_samples, j.air_samples, j.peak_mg, j.filtered) for j in c.jumps] == [
        (0x01020304, 0x0506, 0x0708, 0x090A), (0x01020399, 0x0507, 0x0709, 0)]
    (e,) = c.ends
    assert (e.session_id, e.jumps, e.duration_samples, e.fifo_overflows, e.reason, e.unlogged, e.qualifying) == (
        sid, 0x13579, 0x11223344, 0x5566, lf.END_BUTTON, 0x2468, 2)


def test_the_segment_reclaim_rule_has_one_home():
    segs = [lf.segment_name(n) for n in (0, 40, 90)]
    assert lf.reclaimable(segs, 38) == []  # the first segment holds 0..39
    assert lf.reclaimable(segs, 39) == [segs[0]]
    assert lf.reclaimable(segs, 10**6) == segs[:2]  # never the newest: it is being written


def test_impact_records_no_clip_writes_are_refused_and_an_unknown_target_rule_reads_as_landings(tmp_path):
    # BANDS with more qualifying impacts than impacts, and a target rule no firmware writes:
    # the first is refused (its CRC holds), the second read as the rule before 0.4 (0).
    import array

    log = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0)
    log.open()
    sid = (log.boot << 10) | 1
    log.begin_session(sid, bytes(6), 0, False, 0, 200, 16, (0, 4, 0), 3900, 50, 9)
    log.add_bands(array.array("i", [1, 1, 1, 0, 0]), 2)  # plausible: 2 of 3 impacts qualify
    log.add_bands(array.array("i", [1, 0, 0, 0, 0]), 5)  # 5 qualifying of 1 impact
    log.end_session(100, 0, lf.END_BUTTON)
    log.flush()
    c = contents(tmp_path / "log")
    assert c.starts[0].target_rule == 0
    assert [b.bands for b in c.bands] == [(1, 1, 1, 0, 0)] and c.implausible == 1
