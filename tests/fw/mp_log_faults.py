# Power-cut sweep for the flash log on the real littlefs (vfs.VfsLfs2, MicroPython unix port).
#
# A scripted workload (several sessions, hundreds of jumps) runs once without faults to
# record every block write and every record. Then, for every k from 1 to the number of block
# writes, it runs again on a fresh filesystem and loses power at the k-th write, which is
# torn (only a prefix reaches the flash). After each cut the flash is remounted and booted:
#   - every record flushed before the cut reads back, identical to the reference;
#   - no corrupt record is ever returned (each one equals the reference's of the same seq);
#   - sequence numbers are unique;
#   - the firmware boots, closes the interrupted session and keeps appending.
# Usage: micropython mp_log_faults.py [STEP]   (STEP > 1 tries every STEP-th k only)
import sys

import vfs

import eventlog
import logformat as lf
from ramdisk import BLOCK, PowerCut, RAMBlockDevice

BLOCKS = 512  # the ESP32 port's 2 MB vfs partition


def CutBlockDev(data, cut_at=0):
    return RAMBlockDevice(BLOCKS, data, cut_at)


def workload(log, durable):
    """Three sessions of varied size; durable[0] = last seq known flushed (API returned)."""
    for s in range(3):
        log.begin_session(100 + s, b"\xa4\xcf\x12\x34\x56\x78", 0, False, 0xBEEF, 200, 16, (0, 1, 0))
        durable[0] = log.last_seq
        t = 0
        for j in range(90 + 40 * s):
            t += 150 + (j * 37) % 200
            log.add_jump(t, 50 + j % 30, 3000 + j)
            durable[0] = log.last_seq
            log.tick(t)
            durable[0] = log.last_seq
        log.end_session(t + 400, 0, lf.END_HOST)
        durable[0] = log.last_seq


def mount(data, cut_at=0):
    bd = CutBlockDev(data, cut_at)
    fs = vfs.VfsLfs2(bd)
    vfs.mount(fs, "/flash")
    return bd


def records(root):
    """Every CRC-valid record in the segments: {seq: bytes}; raises on a duplicate seq."""
    import os

    found = {}
    for name in sorted(os.listdir(root)):
        if lf.segment_seq(name) < 0:
            continue
        with open(root + "/" + name, "rb") as f:
            data = f.read()
        o = 0
        while o < len(data):
            size = lf.check(data, o, len(data))
            if size == 0:
                break
            seq = lf.get_u32(data, o + 4)
            if seq in found:
                raise AssertionError("duplicate seq %d" % seq)
            found[seq] = bytes(data[o : o + size])
            o += size
    return found


def fresh_image():
    data = bytearray(BLOCK * BLOCKS)
    bd = CutBlockDev(data)
    vfs.VfsLfs2.mkfs(bd)
    return data


def main():
    step = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    base = fresh_image()
    # Reference run.
    data = bytearray(base)
    bd = mount(data)
    log = eventlog.EventLog("/flash/log")
    log.open()
    start_writes = bd.writes
    workload(log, [0])
    total = bd.writes - start_writes
    ref = records("/flash/log")
    vfs.umount("/flash")
    ref_jumps = log.jumps
    print("reference: %d block writes, %d records, %d jumps" % (total, len(ref), ref_jumps))

    tried = 0
    failures = 0
    k = 1
    while k <= total:
        data = bytearray(base)
        bd = mount(data)
        log = eventlog.EventLog("/flash/log")
        log.open()
        bd.cut_at = bd.writes + k
        durable = [-1]
        try:
            workload(log, durable)
            raise AssertionError("no power cut at write %d" % k)
        except PowerCut:
            pass
        except OSError:
            pass  # littlefs may report the failed write as EIO before our exception
        try:
            vfs.umount("/flash")
        except OSError:
            pass
        # Power back on: a fresh mount of what reached the flash, and a boot.
        try:
            bd2 = mount(data)
            got = records("/flash/log")
            for seq in ref:
                if seq <= durable[0] and seq not in got:
                    raise AssertionError("flushed record %d lost" % seq)
            for seq in got:
                if seq in ref and got[seq] != ref[seq]:
                    raise AssertionError("record %d differs from what was written" % seq)
            log2 = eventlog.EventLog("/flash/log")
            log2.open()
            after = records("/flash/log")
            for seq in got:
                if seq not in after:
                    raise AssertionError("boot lost record %d" % seq)
            log2.begin_session(999, b"\x00" * 6, 0, False, 1, 200, 16, (0, 1, 0))
            log2.add_jump(10, 40, 2500)
            log2.end_session(100, 0, lf.END_HOST)
            final = records("/flash/log")
            new = [s for s in final if s not in after]
            if len(new) != 3 or (after and min(new) <= max(after)):
                raise AssertionError("appending after the cut failed: new seqs %r" % new)
            for seq in got:
                if final[seq] != got[seq]:
                    raise AssertionError("boot changed record %d" % seq)
            vfs.umount("/flash")
        except Exception as e:  # report every failing k, then go on
            failures += 1
            print("FAIL k=%d: %r" % (k, e))
            try:
                vfs.umount("/flash")
            except OSError:
                pass
        tried += 1
        k += step
    print("power-cut cases tried: %d of %d block writes, failures: %d" % (tried, total, failures))


main()
