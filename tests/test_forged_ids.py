"""Records that lie about their numbers (issue 34, items 4, 5 and 7).

A CRC-valid record can still be forged or damaged. No clip numbers a record, or a session
(boot << 10 | session), from 2**30 on (logformat.ID_LIMIT): such a record must neither wrap
the clip's boot counter or record numbering nor reach the host's sessions. And a START from
firmware 0.2-0.3 (34 bytes) carries its threshold and daily target.
"""

from __future__ import annotations

from pathlib import Path

from jumpclip import logread
from jumpclip.fw import load
from jumpclip.logread import read_files

eventlog = load("eventlog")
lf = load("logformat")


def a_log(tmp_path, sessions: int = 1):
    log = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0)
    log.open()
    for s in range(sessions):
        sid = log.boot << 10 | (s + 1)
        log.begin_session(sid, b"\xa4\xcf\x12\x34\x56\x78", 0, False, 1, 200, 16, (0, 5, 0))
        log.add_jump(400, 50, 3000)
        log.end_session(1000, 0, lf.END_HOST)
    return log


def newest_segment(tmp_path):
    return sorted((tmp_path / "log").glob("*.log"))[-1]


def append_record(tmp_path, rtype: int, payload: bytes, seq: int) -> None:
    """A CRC-valid record, as a forger (or a bit flip that kept the CRC) would leave it."""
    buf = bytearray(lf.HEADER + len(payload) + lf.TRAILER)
    buf[lf.HEADER : lf.HEADER + len(payload)] = payload
    size = lf.seal(buf, 0, rtype, len(payload), seq)
    seg = newest_segment(tmp_path)
    seg.write_bytes(seg.read_bytes() + bytes(buf[:size]))


def end_payload(session_id: int, jumps: int = 1) -> bytes:
    b = bytearray(lf.END_BYTES)
    lf.put(b, 0, lf.END_FIELDS, "session_id", session_id)
    lf.put(b, 0, lf.END_FIELDS, "jumps", jumps)
    return bytes(b)


def files(tmp_path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (tmp_path / "log").iterdir()}


def test_a_session_id_from_2_30_on_does_not_wrap_the_boot_counter(tmp_path):
    log = a_log(tmp_path)
    boot, seq = log.boot, log.seq
    append_record(tmp_path, lf.T_SESSION_END, end_payload(0xFFFFFFFF), seq)
    again = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0)
    again.open()
    # Before the fix: boot 0xFFFFFFFF >> 10 = 4,194,303, and the next session id wrapped 32 bits.
    assert again.boot == boot + 1
    assert (again.boot << 10 | 1) < lf.ID_LIMIT
    c = read_files(files(tmp_path))
    assert c.implausible == 1 and [e.session_id for e in c.ends] == [boot << 10 | 1]


def test_a_record_numbered_from_2_30_on_does_not_wrap_the_numbering(tmp_path):
    log = a_log(tmp_path, sessions=2)
    seq = log.seq
    sid = log.boot << 10 | 2
    append_record(tmp_path, lf.T_SESSION_END, end_payload(sid, 1), 0xFFFFFFFF)
    again = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0)
    again.open()
    assert again.seq < lf.ID_LIMIT and again.seq >= seq  # numbering goes on from the real records
    c = read_files(files(tmp_path))
    assert c.implausible == 1
    assert c.last_seq < lf.ID_LIMIT  # the host does not take the log for a restored image
    assert len(c.ends) == 2 and len(c.jumps) == 2  # nothing counted twice


def start_payload(length: int, qualify_mg: int, target: int) -> bytes:
    b = bytearray(length)
    f = lf.START_FIELDS
    lf.put(b, 0, f, "session_id", 1 << 10 | 1)
    lf.put(b, 0, f, "boot", 1)
    lf.put(b, 0, f, "rate_hz", 200)
    lf.put(b, 0, f, "range_g", 16)
    lf.put(b, 0, f, "version", bytes((0, 3, 0)))
    lf.put(b, 0, f, "qualify_mg", qualify_mg)
    lf.put(b, 0, f, "daily_target", target)
    return bytes(b)


def test_a_firmware_0_3_start_keeps_its_threshold_and_target():
    buf = bytearray(64)
    payload = start_payload(lf.START_BYTES_V2, 2000, 80)  # 34 bytes: firmware 0.2-0.3
    buf[lf.HEADER : lf.HEADER + len(payload)] = payload
    size = lf.seal(buf, 0, lf.T_SESSION_START, len(payload), 3)
    c = logread.LogContents()
    logread.parse_segment(bytes(buf[:size]), "00000003.log", c, set())
    (s,) = c.starts
    # Before the fix these read None and None: the report re-scored the session at 3.9 g and 50.
    assert (s.qualify_mg, s.daily_target, s.target_rule) == (2000, 80, 0)


def test_the_checkpoints_open_count_is_bounded_by_the_log(tmp_path):
    # Issue 34, item 8: 999 in state.json closed a 6-jump session "with 1005 jumps".
    import json

    log = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0, flush_jumps=2)
    log.open()
    sid = log.boot << 10 | 1
    log.begin_session(sid, b"\xa4\xcf\x12\x34\x56\x78", 0, False, 1, 200, 16, (0, 5, 0))
    for k in range(6):
        log.add_jump(400 * (k + 1), 50, 3000)
    log.flush()
    log._checkpoint()
    state = tmp_path / "log" / "state.json"
    cp = json.loads(state.read_text())
    assert cp["open"] == sid and cp["open_jumps"] == 6
    cp["open_jumps"] = 999  # a power cut, and a checkpoint that lies
    state.write_text(json.dumps(cp))
    again = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0)
    again.open()
    c = read_files(files(tmp_path))
    assert [(e.session_id, e.jumps) for e in c.ends] == [(sid, 6)]
    assert len(c.jumps) == 6
    assert any("the checkpoint counted 999 jumps for session" in n.text and "the log holds 6" in n.text for n in c.notes)


def test_a_power_cut_on_a_full_log_keeps_the_held_sessions_count(tmp_path):
    # Issue 34, item 3: with the flash under its reserve the clip counts in RAM and wrote the
    # count only in the session's END, which a held session never got: a power cut lost all
    # 60 landings and the session read 0:00.
    log = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=1 << 40, flush_samples=1000)
    log.open()
    assert log.full
    sid = log.boot << 10 | 1
    log.begin_session(sid, b"\xa4\xcf\x12\x34\x56\x78", 0, False, 1, 200, 16, (0, 5, 0))
    t = 0
    for _ in range(60):
        t += 220  # a landing every 1.1 s at 200 Hz, ticked each wake as the loop does
        log.tick(t - 110)
        log.add_jump(t, 50, 3000)
        log.tick(t)
    assert log.unlogged == 60
    # the power cut: no END; at most the last flush interval (1000 samples) is at risk
    again = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=1 << 40)
    again.open()
    c = read_files(files(tmp_path))
    (end,) = c.ends
    assert end.session_id == sid and end.unlogged == end.jumps
    assert 60 - 1000 // 220 - 1 <= end.jumps <= 60
    assert end.duration_samples >= t - 1000


# --- issue 34, item 6: every record checked against the session it claims ---------------


def session_log(tmp_path):
    """One closed session of 20 s at 200 Hz (4,000 samples), qualify 3.9 g, and a second one
    open; the records below claim one or the other."""
    log = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0)
    log.open()
    first, second = log.boot << 10 | 1, log.boot << 10 | 2
    log.begin_session(first, b"\xa4\xcf\x12\x34\x56\x78", 0, False, 1, 200, 16, (0, 5, 0), 3900, 50)
    log.add_jump(400, 50, 4200)
    log.end_session(4000, 0, lf.END_HOST)
    log.begin_session(second, b"\xa4\xcf\x12\x34\x56\x78", 0, False, 1, 200, 16, (0, 5, 0), 3900, 50)
    log.add_jump(300, 50, 4100)
    log.flush()
    return log, first, second


def jumps_payload(sid: int, t: int, air: int, peak: int) -> bytes:
    b = bytearray(lf.JUMPS_HEAD + lf.JUMP_BYTES)
    lf.put_u32(b, 0, sid)
    lf.put_u32(b, lf.JUMPS_HEAD + lf.J_T, t)
    lf.put_u16(b, lf.JUMPS_HEAD + lf.J_AIR, air)
    lf.put_u16(b, lf.JUMPS_HEAD + lf.J_PEAK, peak)
    return bytes(b)


def impacts_payload(sid: int, t: int, peak: int) -> bytes:
    b = bytearray(lf.JUMPS_HEAD + lf.IMPACT_BYTES)
    lf.put_u32(b, 0, sid)
    lf.put_u32(b, lf.JUMPS_HEAD + lf.I_T, t)
    lf.put_u16(b, lf.JUMPS_HEAD + lf.I_PEAK, peak)
    return bytes(b)


def bands_payload(sid: int, bands, qualifying: int) -> bytes:
    b = bytearray(lf.BANDS_BYTES)
    lf.put(b, 0, lf.BANDS_FIELDS, "session_id", sid)
    for k, v in zip(lf.BAND_KEYS, bands):
        lf.put(b, 0, lf.BANDS_FIELDS, k, v)
    lf.put(b, 0, lf.BANDS_FIELDS, "qualifying", qualifying)
    return bytes(b)


def forged_start(sid: int, rate: int = 200, version=(0, 5, 0), device=b"\xa4\xcf\x12\x34\x56\x78") -> bytes:
    b = bytearray(lf.START_BYTES)
    f = lf.START_FIELDS
    lf.put(b, 0, f, "session_id", sid)
    lf.put(b, 0, f, "boot", sid >> 10)
    lf.put(b, 0, f, "device", device)
    lf.put(b, 0, f, "rate_hz", rate)
    lf.put(b, 0, f, "range_g", 16)
    lf.put(b, 0, f, "version", bytes(version))
    lf.put(b, 0, f, "qualify_mg", 3900)
    lf.put(b, 0, f, "daily_target", 50)
    lf.put(b, 0, f, "target_rule", lf.TARGET_IMPACTS)
    return bytes(b)


def sealed(records) -> bytes:
    """CRC-valid records [(type, payload, seq)], one after the other."""
    out = b""
    for rtype, payload, seq in records:
        buf = bytearray(lf.HEADER + len(payload) + lf.TRAILER)
        buf[lf.HEADER : lf.HEADER + len(payload)] = payload
        out += bytes(buf[: lf.seal(buf, 0, rtype, len(payload), seq)])
    return out


def test_records_that_contradict_their_session_are_refused_and_named(tmp_path):
    # Inside a session's numbering (between its START and its END), a record can still
    # contradict it: after its length, below its threshold, more than it can hold.
    sid = 1 << 10 | 1
    end = bytearray(end_payload(sid, 1))
    lf.put(end, 0, lf.END_FIELDS, "duration", 4000)  # 20 s at 200 Hz
    inside = [
        (lf.T_BANDS, bands_payload(sid, (0, 0, 0, 0, 200_000_000), 0), "more impacts in bands"),
        (lf.T_IMPACTS, impacts_payload(sid, 100, 2000), "below its qualifying threshold"),
        (lf.T_JUMPS, jumps_payload(sid, 90_000, 50, 4000), "landings after their session's end"),
        (lf.T_IMPACTS, impacts_payload(sid, 90_000, 4000), "impacts after their session's end"),
    ]
    data = sealed([(lf.T_SESSION_START, forged_start(sid), 10), (lf.T_JUMPS, jumps_payload(sid, 400, 50, 4200), 11)]
                  + [(t, p, 12 + k) for k, (t, p, _) in enumerate(inside)] + [(lf.T_SESSION_END, bytes(end), 20)])
    c = read_files({"00000010.log": data})
    assert c.implausible == len(inside), c.refused
    text = " ".join(c.report())
    for *_, why in inside:
        assert why in text, (why, text)
    assert [(j.session_id, j.t_samples) for j in c.jumps] == [(sid, 400)] and c.bands == [] and c.impacts == []

    # Appended to a real log: what no clip writes, and what claims a session after its END.
    log, first, second = session_log(tmp_path)
    seq = log.seq
    forged = [
        (lf.T_IMPACTS, impacts_payload(second, 100, 0), "below every qualifying threshold"),
        (lf.T_JUMPS, jumps_payload(second, 500, 0, 0), "a landing no clip counts"),
        (lf.T_JUMPS, jumps_payload(first, 900, 50, 4000), "landings outside their session"),
        (lf.T_BANDS, bands_payload(first, (1, 1, 0, 0, 0), 0), "impact bands outside their session"),
        (lf.T_SESSION_START, forged_start(first), "a second start for one session"),
        (lf.T_SESSION_END, end_payload(first, 1), "a second end for one session"),
        (lf.T_SESSION_START, forged_start(log.boot << 10 | 9, rate=0), "a rate, range or firmware version"),
        (lf.T_SESSION_START, forged_start(log.boot << 10 | 10, rate=65535), "a rate, range or firmware version"),
        (lf.T_SESSION_START, forged_start(log.boot << 10 | 11, version=(255, 255, 255)), "a rate, range or firmware version"),
    ]
    big_unlogged = bytearray(end_payload(second, 1))
    lf.put(big_unlogged, 0, lf.END_FIELDS, "duration", 4000)
    lf.put(big_unlogged, 0, lf.END_FIELDS, "unlogged", 4_000_000_000)
    many_overflows = bytearray(end_payload(second, 1))
    lf.put(many_overflows, 0, lf.END_FIELDS, "duration", 4000)
    lf.put(many_overflows, 0, lf.END_FIELDS, "overflows", 65535)
    forged += [(lf.T_SESSION_END, bytes(big_unlogged), "a session end whose counts"),
               (lf.T_SESSION_END, bytes(many_overflows), "a session end whose counts")]
    for k, (rtype, payload, _) in enumerate(forged):
        append_record(tmp_path, rtype, payload, seq + k)
    c = read_files(files(tmp_path))
    assert c.implausible == len(forged), c.refused
    text = " ".join(c.report())
    for *_, why in forged:
        assert why in text, (why, text)
    # what the real sessions hold is untouched
    assert sorted((s.session_id, s.seq) for s in c.starts) == sorted((s.session_id, s.seq) for s in read_files(files(tmp_path)).starts)
    assert sorted(s.session_id for s in c.starts) == [first, second]
    assert [(j.session_id, j.t_samples) for j in c.jumps] == [(first, 400), (second, 300)]
    assert [(e.session_id, e.jumps, e.duration_samples) for e in c.ends] == [(first, 1, 4000)]


def test_a_start_naming_another_clip_inside_the_log_is_refused(tmp_path):
    log, first, second = session_log(tmp_path)
    append_record(tmp_path, lf.T_SESSION_START, forged_start(log.boot << 10 | 5, device=b"\x01\x02\x03\x04\x05\x06"), log.seq)
    append_record(tmp_path, lf.T_SESSION_START, forged_start(log.boot << 10 | 6), log.seq + 1)
    c = read_files(files(tmp_path))
    assert c.refused == {"a session start naming another clip inside this log": 1}
    assert {s.device_id for s in c.starts} == {"a4cf12345678"}


def test_records_of_a_session_that_never_started_are_flagged(tmp_path):
    from jumpclip.store import Store

    log, first, second = session_log(tmp_path)
    append_record(tmp_path, lf.T_JUMPS, jumps_payload(log.boot << 10 | 77, 300, 50, 3000), log.seq)
    c = read_files(files(tmp_path))
    res = Store(tmp_path / "db.sqlite").import_log("a4cf12345678", c, None, "rescue", log_id="abc")
    assert res.orphans == 1 and res.new_sessions == 2


def test_a_held_session_whose_log_lost_its_identity_is_closed_where_it_began(tmp_path):
    # Issue 34, item 9: log/id and the checkpoint deleted while a session was held: the clip
    # goes on under a new log id, and the session's END arrived in the new log. It became a
    # phantom "clip counted 6" session there, and the real one stayed open for ever.
    from jumpclip.store import Store

    log, first, second = session_log(tmp_path)  # `second` is open: START and one jump
    store = Store(tmp_path / "db.sqlite")
    store.import_log("a4cf12345678", read_files(files(tmp_path)), None, "sync", log_id="aaaaaaaaaaaaaaaa")
    later = tmp_path / "later"
    (later / "log").mkdir(parents=True)
    seq = log.seq
    buf = bytearray(256)
    n = 0
    for rtype, payload in ((lf.T_JUMPS, jumps_payload(second, 900, 50, 3500)), (lf.T_SESSION_END, end_payload(second, 2))):
        buf[n + lf.HEADER : n + lf.HEADER + len(payload)] = payload
        n += lf.seal(buf, n, rtype, len(payload), seq)
        seq += 1
    (later / "log" / lf.segment_name(log.seq)).write_bytes(bytes(buf[:n]))
    res = store.import_log("a4cf12345678", read_files(files(later)), None, "sync", log_id="bbbbbbbbbbbbbbbb")
    assert res.orphans == 0 and res.new_jumps == 1
    rows = [(s["log_id"], s["session_id"], s["jumps"], s["end_seq"] is not None) for s in store.sessions()]
    assert rows == [("aaaaaaaaaaaaaaaa", first, 1, True), ("aaaaaaaaaaaaaaaa", second, 2, True)], rows


# --- issue 34's general rule, as a property --------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

U32 = st.integers(0, 2**32 - 1)
U16 = st.integers(0, 2**16 - 1)


@st.composite
def forged_record(draw, first, second):
    sid = draw(st.sampled_from([first, second, 1 << 10 | 5]) | U32)
    kind = draw(st.sampled_from(["jumps", "impacts", "bands", "end", "start", "note"]))
    if kind == "jumps":
        return lf.T_JUMPS, jumps_payload(sid, draw(U32), draw(U16), draw(U16))
    if kind == "impacts":
        return lf.T_IMPACTS, impacts_payload(sid, draw(U32), draw(U16))
    if kind == "bands":
        return lf.T_BANDS, bands_payload(sid, tuple(draw(U32) for _ in range(5)), draw(U32))
    if kind == "end":
        b = bytearray(end_payload(sid, draw(U32)))
        for name in ("duration", "unlogged", "qualifying"):
            lf.put(b, 0, lf.END_FIELDS, name, draw(U32))
        lf.put(b, 0, lf.END_FIELDS, "overflows", draw(U16))
        return lf.T_SESSION_END, bytes(b)
    if kind == "start":
        return lf.T_SESSION_START, forged_start(sid, rate=draw(st.sampled_from([200, 100, 0, 65535])),
                                                version=(draw(st.integers(0, 255)), 5, 0))
    return lf.T_NOTE, draw(st.binary(min_size=1, max_size=60))


def sessions_of(store):
    return {s["session_id"]: (s["jumps"], s["reported_jumps"], s["duration_samples"], s["start_seq"], s["end_seq"])
            for s in store.sessions()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_valid_records_never_merge_recount_or_change_a_session(tmp_path_factory, data):
    # Any CRC-valid records appended to a log (numbered after it, as a forger must to be
    # read at all): refused or flagged, never merging two sessions, never counting a landing
    # twice, never changing a session the log closed.
    import tempfile

    from jumpclip.store import Store

    root = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    log, first, second = session_log(root)
    base = Store(root / "base.sqlite")
    base.import_log("a4cf12345678", read_files(files(root)), None, "sync", log_id="aaaaaaaaaaaaaaaa")
    before = sessions_of(base)
    records = data.draw(st.lists(forged_record(first, second), min_size=1, max_size=6))
    for k, (rtype, payload) in enumerate(records):
        append_record(root, rtype, payload, log.seq + k)
    c = read_files(files(root))
    after_store = Store(root / "forged.sqlite")
    res = after_store.import_log("a4cf12345678", c, None, "sync", log_id="aaaaaaaaaaaaaaaa")
    after = sessions_of(after_store)
    assert after[first] == before[first]  # the closed session: untouched
    # the open one keeps its start and every landing it had; nothing was counted twice
    assert after[second][3] == before[second][3] and after[second][0] >= before[second][0]
    accepted = sum(1 for j in c.jumps if j.seq >= log.seq)
    assert after_store.count_jumps() == base.count_jumps() + accepted
    assert res.new_jumps == base.count_jumps() + accepted
    # every session id is one row: nothing merged into another
    assert len(after) == len(after_store.sessions())
