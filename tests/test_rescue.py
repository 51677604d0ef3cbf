"""`jumpclip rescue` on flash dumps made from the virtual board's flash."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import DATA
from jumpclip.cli import main
from jumpclip.rescue import ENTRY, MAGIC
from jumpclip.sim.board import run_trace
from jumpclip.store import Store
from jumpclip.traces import read_trace

FLASH_4MB = 0x400000
# MicroPython's ESP32 partition table for 4 MB boards (partitions-4MiB.csv).
TABLE = [("nvs", 1, 2, 0x9000, 0x6000), ("phy_init", 1, 1, 0xF000, 0x1000), ("factory", 0, 0, 0x10000, 0x1F0000), ("vfs", 1, 0x81, 0x200000, 0x200000)]


def full_dump(image: bytes) -> bytes:
    """What esptool read_flash 0 0x400000 would return: table at 0x8000, vfs at 0x200000."""
    dump = bytearray(b"\xff" * FLASH_4MB)
    for i, (label, t, sub, off, size) in enumerate(TABLE):
        ENTRY.pack_into(dump, 0x8000 + i * ENTRY.size, MAGIC, t, sub, off, size, label.encode().ljust(16, b"\0"), 0)
    dump[0x200000 : 0x200000 + len(image)] = image
    return bytes(dump)


def test_rescue_a_full_dump_into_the_database(tmp_path):
    run = run_trace(DATA / "session_s1.csv", tmp_path / "board")
    image = (tmp_path / "board" / "flash.img").read_bytes()
    dump = tmp_path / "flash.bin"
    dump.write_bytes(full_dump(image))
    db = tmp_path / "db.sqlite"
    res = CliRunner().invoke(main, ["rescue", str(dump), "--db", str(db)])
    assert res.exit_code == 0, res.output
    k = read_trace(DATA / "session_s1.csv").label_jumps
    assert "partition 'vfs' at 0x200000" in res.output and f"{k} new jumps" in res.output
    assert Store(db).count_jumps() == k == len(run.jumps())
    again = CliRunner().invoke(main, ["rescue", str(dump), "--db", str(db)])
    assert "0 new jumps" in again.output  # the same records count once


def test_rescue_a_damaged_log_keeps_the_rest(tmp_path):
    run_trace(DATA / "cmj_s1.csv", tmp_path / "board")
    from jumpclip.sim import flash

    fs = flash.open_image(tmp_path / "board" / "flash.img")
    seg = [n for n in fs.listdir("log") if n.endswith(".log")][0]
    with fs.open("log/" + seg, "rb") as f:
        data = bytearray(f.read())
    data[20] ^= 0xFF  # damage the first record
    with fs.open("log/" + seg, "wb") as f:
        f.write(data)
    (tmp_path / "p.img").write_bytes(bytes(fs.context.buffer))
    res = CliRunner().invoke(main, ["rescue", str(tmp_path / "p.img"), "--db", str(tmp_path / "db.sqlite"), "--device", "a4cf12345678"])
    assert res.exit_code == 0, res.output
    assert "damaged bytes skipped" in res.output and "6 jumps" in res.output


def test_not_a_dump(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"\0" * 100000)
    res = CliRunner().invoke(main, ["rescue", str(p), "--db", str(tmp_path / "db.sqlite")])
    assert res.exit_code == 1 and "no ESP32 partition table" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["rescue", str(tmp_path / "missing.bin")])
    assert res.exit_code == 1 and "no such file" in res.output


def test_rescue_a_dump_whose_filesystem_no_longer_mounts(tmp_path):
    # Truncated (the read stopped early) and bit-rotted dumps: littlefs cannot mount them, but
    # the records whose CRC holds are still in the bytes. Each is recovered once, under the
    # log's own id, and a second rescue or a sync adds nothing twice.
    run_trace(DATA / "session_s1.csv", tmp_path / "board")
    image = bytearray((tmp_path / "board" / "flash.img").read_bytes())
    k = read_trace(DATA / "session_s1.csv").label_jumps
    for i in range(0, 2 * 4096, 4096):  # wipe both superblocks: no mount
        image[i : i + 64] = b"\xff" * 64
    broken = tmp_path / "broken.img"
    # ... and the dump stops before its end: one block after the block of the session's last
    # jumps record (littlefs places blocks anywhere, so where depends on the writes before;
    # the session itself is still open, held for the host that took over).
    end = ((image.rfind(b"\xa5\x13") // 4096) + 2) * 4096
    assert end < len(image)
    broken.write_bytes(bytes(image[:end]))
    db = tmp_path / "db.sqlite"
    res = CliRunner().invoke(main, ["rescue", str(broken), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "raw scan" in res.output and f"{k} new jumps" in res.output, res.output
    (log,) = Store(db).logs_of("a4cf12345678")
    assert len(log["log_id"]) == 16  # found in a checkpoint in the bytes
    again = CliRunner().invoke(main, ["rescue", str(broken), "--db", str(db)])
    assert "0 new jumps" in again.output


def test_a_forged_record_whose_crc_holds_is_refused_and_said(tmp_path):
    # A CRC is no proof of origin: a JUMPS record with a 13,161,861 cm jump and a session
    # end that "counted 4000000000" were taken as they were. Appended to a real dump's raw
    # bytes, they are refused, the reader says so, and every real jump is still rescued.
    from jumpclip.fw import load
    from jumpclip.logread import read_files

    lf = load("logformat")

    def record(rtype, payload, seq):
        b = bytearray(lf.HEADER + len(payload) + lf.TRAILER)
        b[lf.HEADER : lf.HEADER + len(payload)] = payload
        lf.seal(b, 0, rtype, len(payload), seq)
        return bytes(b)

    sid = 1025
    jump = bytearray(4 + lf.JUMP_BYTES)
    lf.put_u32(jump, 0, sid)
    lf.put_u32(jump, 4, 1000)
    lf.put_u16(jump, 8, 65535)  # airtime: 327 s at 200 Hz
    lf.put_u16(jump, 10, 3000)
    end = bytearray(lf.END_BYTES)
    lf.put_u32(end, 0, sid)
    lf.put_u32(end, 4, 4_000_000_000)
    forged = record(lf.T_JUMPS, bytes(jump), 900) + record(lf.T_SESSION_END, bytes(end), 901)
    log = read_files({lf.segment_name(900): forged})
    assert log.jumps == [] and log.ends == [] and log.implausible == 2
    assert any("2 record(s) refused" in line for line in log.report())

    run_trace(DATA / "session_s1.csv", tmp_path / "board")
    dump = tmp_path / "dump.bin"
    dump.write_bytes(b"\xff" * 8192 + (tmp_path / "board" / "flash.img").read_bytes()[8192:] + forged)  # no superblock: a raw scan
    db = tmp_path / "db.sqlite"
    res = CliRunner().invoke(main, ["rescue", str(dump), "--db", str(db)])
    assert res.exit_code == 0 and "raw scan" in res.output, res.output
    assert "refused" in res.output, res.output
    store = Store(db)
    assert store.count_jumps() == read_trace(DATA / "session_s1.csv").label_jumps
    assert max(r["reported_jumps"] or 0 for r in store.sessions()) < 1000


def test_rescue_refuses_what_is_not_a_dump_file(tmp_path):
    if Path("/dev/zero").exists():  # it was read until memory ran out
        res = CliRunner().invoke(main, ["rescue", "/dev/zero", "--db", str(tmp_path / "db.sqlite")])
        assert res.exit_code == 1 and "not a regular file" in res.output and "Traceback" not in res.output
    from jumpclip.rescue import RescueError, rescue

    with pytest.raises(RescueError, match="not a regular file"):
        rescue(tmp_path)
