"""The durable flash log: the power-cut sweep on littlefs (MicroPython), and the desktop
reader against real logs written by the firmware's own writer, intact and damaged."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FW_TESTS, run_micropython
from jumpclip.fw import load
from jumpclip import logread
from jumpclip.logread import read_files

eventlog = load("eventlog")
lf = load("logformat")


def test_power_cut_sweep_every_write(capsys):
    proc = run_micropython(FW_TESTS / "mp_log_faults.py", extra_path=(FW_TESTS,), timeout=600, args_before=("-X", "heapsize=32M"))
    out = proc.stdout
    m = re.search(r"power-cut cases tried: (\d+) of (\d+) block writes, failures: (\d+)", out)
    assert m, out[-3000:] + proc.stderr[-2000:]
    tried, total, failures = (int(g) for g in m.groups())
    with capsys.disabled():
        print(f"\n  flash log: {tried} power-cut cases tried (every block write of the workload), {failures} failed")
    assert failures == 0, out[-3000:]
    assert tried == total and total > 500


def write_log(tmp_path, sessions=3, jumps=100, seg_max=1024):
    log = eventlog.EventLog(str(tmp_path / "log"), seg_max=seg_max, flush_jumps=32, reserve_bytes=0)
    log.open()
    expected = []
    for s in range(sessions):
        log.begin_session(10 + s, b"\xa4\xcf\x12\x34\x56\x78", 0, False, 0xBEEF, 200, 16, (0, 1, 0))
        t = 0
        for j in range(jumps):
            t += 200 + j
            log.add_jump(t, 40 + j % 50, 2500 + j)
            expected.append((10 + s, t, 40 + j % 50, 2500 + j))
            log.tick(t)
        log.end_session(t + 100, 1, lf.END_HOST)
    return {p.name: p.read_bytes() for p in (tmp_path / "log").iterdir()}, expected


def jumps_of(contents):
    return [(j.session_id, j.t_samples, j.air_samples, j.peak_mg) for j in contents.jumps]


def test_reader_gets_everything_back(tmp_path):
    files, expected = write_log(tmp_path)
    c = read_files(files)
    assert jumps_of(c) == expected
    assert [s.session_id for s in c.starts] == [10, 11, 12]
    assert [(e.session_id, e.jumps, e.fifo_overflows) for e in c.ends] == [(10, 100, 1), (11, 100, 1), (12, 100, 1)]
    assert c.starts[0].device_id == "a4cf12345678" and c.starts[0].firmware == "0.1.0"
    assert c.damage == [] and c.foreign == [] and len([n for n in files if n.endswith(".log")]) > 2


@settings(max_examples=200, deadline=None)
@given(t=st.integers(0, 2**31 - 1), air=st.integers(0, 65535), peak=st.integers(0, 65535), fpeak=st.integers(0, 65535),
       o=st.integers(0, 20))
def test_put_jump_writes_each_field_where_the_layout_says(t, air, peak, fpeak, o):
    # logformat.put_jump (one call a landing on the clip) against the field table the reader
    # uses: the same bytes as a field-by-field write, and nothing outside the jump.
    a = bytearray(b"\xee" * 40)
    b = bytearray(b"\xee" * 40)
    lf.put_jump(a, o, t, air, peak, fpeak)
    for (name, off, size), v in zip(lf.JUMP_FIELDS, (t, air, peak, fpeak)):
        (lf.put_u32 if size == 4 else lf.put_u16)(b, o + off, v)
    assert a == b
    assert sum(size for _, _, size in lf.JUMP_FIELDS) == lf.JUMP_BYTES


def test_jump_payload_is_ten_bytes_and_old_records_still_read():
    # firmware 0.3 adds the 20 Hz filtered peak (2 bytes); 0.1-0.2 wrote 8-byte jumps.
    assert lf.JUMP_BYTES == 10 and lf.jump_bytes(lf.T_JUMPS) == 10 and lf.jump_bytes(lf.T_JUMPS_V1) == 8
    buf = bytearray(64)
    p = lf.HEADER
    lf.put_u32(buf, p, 1025)
    lf.put_u32(buf, p + 4, 400)  # t
    lf.put_u16(buf, p + 8, 60)  # air
    lf.put_u16(buf, p + 10, 4200)  # peak mg
    size = lf.seal(buf, 0, lf.T_JUMPS_V1, lf.JUMPS_HEAD + 8, 7)
    c = logread.LogContents()
    logread.parse_segment(bytes(buf[:size]), "00000007.log", c, set())
    assert [(j.t_samples, j.air_samples, j.peak_mg, j.filtered) for j in c.jumps] == [(400, 60, 4200, 0)]


def record_spans(data):
    spans, o = [], 0
    while o < len(data):
        size = lf.check(data, o, len(data))
        assert size
        spans.append((o, o + size, lf.get_u32(data, o + 4)))
        o += size
    return spans


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_damage_is_skipped_and_everything_after_it_kept(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("log")
    files, _ = write_log(tmp, sessions=2, jumps=60)
    names = sorted(n for n in files if n.endswith(".log"))
    victim = data.draw(st.sampled_from(names))
    raw = bytearray(files[victim])
    kind = data.draw(st.sampled_from(["flips", "truncate", "zero", "garbage"]))
    hit: set[int] = set()
    if kind == "flips":
        for _ in range(data.draw(st.integers(1, 5))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
            hit.add(i)
    elif kind == "truncate":
        cut = data.draw(st.integers(0, len(raw) - 1))
        hit = set(range(cut, len(raw)))
    elif kind == "zero":
        a = data.draw(st.integers(0, len(raw) - 1))
        b = min(len(raw), a + data.draw(st.integers(1, 600)))
        raw[a:b] = bytes(b - a)
        hit = set(range(a, b))
    else:
        a = data.draw(st.integers(0, len(raw)))
        junk = data.draw(st.binary(min_size=1, max_size=300))
        raw[a:a] = junk
        hit = {a}
    if kind == "truncate":
        raw = raw[: min(hit)]
    elif kind in ("flips", "zero"):  # only bytes that really changed count as damage
        hit = {i for i in range(len(raw)) if raw[i] != files[victim][i]}
    spans = record_spans(files[victim])
    damaged = dict(files)
    damaged[victim] = bytes(raw)
    clean = read_files(files)
    got = read_files(damaged)  # never raises
    got_seqs = {j.seq for j in got.jumps} | {s.seq for s in got.starts} | {e.seq for e in got.ends}
    # Every record of the other segments, and every record of the damaged one that the
    # damage did not touch, is still there.
    other = {j.seq for j in clean.jumps if j.seq} | {s.seq for s in clean.starts} | {e.seq for e in clean.ends}
    untouched = set()
    for start, end, seq in spans:
        if kind == "garbage":
            if end <= min(hit) or start >= min(hit):
                untouched.add(seq)
        elif not any(start <= i < end for i in hit):
            untouched.add(seq)
    victim_seqs = {seq for _, _, seq in spans}
    assert (other - victim_seqs) | (untouched & other) <= got_seqs
    if kind in ("flips", "zero", "garbage") and hit:
        assert got.damage  # damage is reported, never silent
    for d in got.damage:
        assert d.file == victim and d.length > 0


def test_foreign_files_and_empty_segments(tmp_path):
    files, expected = write_log(tmp_path, sessions=1, jumps=10)
    files["notes.txt"] = b"hello"
    files["00000099.log"] = b""
    files["00000100.log"] = b"\xa5" * 40
    c = read_files(files)
    assert jumps_of(c) == expected
    assert c.foreign == ["notes.txt"]
    assert any("00000100.log" in str(d) for d in c.damage)
    assert any("not log segments" in line for line in c.report())


def test_writer_recovers_a_torn_tail_and_appends(tmp_path):
    files, expected = write_log(tmp_path, sessions=1, jumps=10)
    seg = sorted(n for n in files if n.endswith(".log"))[-1]
    path = tmp_path / "log" / seg
    path.write_bytes(path.read_bytes() + b"\xa5\x11\x40\x00garbage")  # a torn record
    log = eventlog.EventLog(str(tmp_path / "log"), seg_max=4096, reserve_bytes=0)
    log.open()
    assert any("cut a damaged tail of 11 bytes" in n for n in log.notes)
    log.begin_session(77, b"\0" * 6, 0, False, 1, 200, 16, (0, 1, 0))
    log.add_jump(5, 50, 3000)
    log.end_session(10, 0, lf.END_HOST)
    c = read_files({p.name: p.read_bytes() for p in (tmp_path / "log").iterdir()})
    assert c.damage == []
    assert jumps_of(c) == expected + [(77, 5, 50, 3000)]


def test_boot_closes_a_session_a_power_cut_left_open(tmp_path):
    log = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0)
    log.open()
    log.begin_session(5, b"\0" * 6, 0, False, 1, 200, 16, (0, 1, 0))
    for t in range(40):
        log.add_jump(t * 100, 50, 3000)
    # power cut: no end_session; 32 jumps were flushed, 8 were still in RAM
    log2 = eventlog.EventLog(str(tmp_path / "log"), reserve_bytes=0)
    log2.open()
    c = read_files({p.name: p.read_bytes() for p in (tmp_path / "log").iterdir()})
    assert len(c.jumps) == 32
    assert [(e.session_id, e.jumps, e.reason) for e in c.ends] == [(5, 32, lf.END_RECOVERED)]
    assert log2.sessions == 1 and log2.jumps == 32 and log2.boot == 2


def test_jumps_mirrored_before_a_reset_are_written_once(tmp_path):
    # The RTC-memory mirror of unwritten jumps (app.mirror_pending) goes back into the log at
    # the next boot: those after the last jump on flash only, so a flush that a reset
    # interrupted after writing (the mirror not yet cleared) does not count a jump twice.
    from jumpclip.fw import load
    from jumpclip.logread import read_files

    eventlog = load("eventlog")
    lf = load("logformat")

    def counting(folder):
        mirror = {}

        def keep(sid, buf, at, n):  # what app.mirror_pending does with RTC memory
            block = bytearray(lf.PENDING_BYTES)
            lf.put_pending(block, 0, sid, buf, at, n)
            mirror["block"] = bytes(block)

        log = eventlog.EventLog(str(folder), reserve_bytes=0)
        log.open()
        log.on_pending = keep
        log.begin_session(1025, b"\xa4\xcf\x12\x34\x56\x78", 0, False, 1, 200, 16, (0, 2, 0))
        for k in range(5):
            log.add_jump(100 * k, 60, 4000)
        log.flush()
        assert mirror["block"][0] == 0  # on flash: nothing mirrored
        for k in range(5, 9):
            log.add_jump(100 * k, 60, 4000)
        assert mirror["block"][6] == 4
        return log, mirror["block"]

    def reboot(folder, block):
        eventlog.EventLog(str(folder), reserve_bytes=0).open(block)
        return read_files({p.name: p.read_bytes() for p in folder.iterdir()})

    # A reset with four jumps in RAM only: the mirror brings them back.
    _, block = counting(tmp_path / "a")
    got = reboot(tmp_path / "a", block)
    assert [j.t_samples for j in got.jumps] == [100 * k for k in range(9)] and got.ends[-1].jumps == 9
    # A reset just after the flush wrote them, before the mirror was cleared: written once.
    log, block = counting(tmp_path / "b")
    log.on_pending = None
    log.flush()
    got = reboot(tmp_path / "b", block)
    assert [j.t_samples for j in got.jumps] == [100 * k for k in range(9)] and got.ends[-1].jumps == 9
