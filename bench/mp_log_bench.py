# Flash cost of the log under the MicroPython unix port, on littlefs (vfs.VfsLfs2) over a
# RAM block device sized like the ESP32's 2 MB partition, counting what reaches the flash.
# Prints "key value" lines for bench/__main__.py.
import time

import vfs

import eventlog
import logformat as lf
from ramdisk import RAMBlockDevice

BLOCKS = 512


def CountingBlockDev():
    return RAMBlockDevice(BLOCKS)


def day(jumps, seconds_between, wake_s=0.4, rate=200):
    """One day's training: `jumps` landings, one every seconds_between, the loop waking
    every wake_s; default flush policy (5 s or 32 jumps)."""
    bd = CountingBlockDev()
    vfs.VfsLfs2.mkfs(bd)
    vfs.mount(vfs.VfsLfs2(bd), "/f")
    log = eventlog.EventLog("/f/log")
    log.open()
    p0, e0 = bd.prog_bytes, bd.erases
    log.begin_session(1, b"abcdef", 0, False, 1, rate, 16, (0, 1, 0))
    t = 0
    next_jump = 0.0
    done = 0
    wake = int(wake_s * rate)
    while done < jumps:
        t += wake
        while done < jumps and next_jump * rate <= t:
            log.add_jump(int(next_jump * rate), 60, 3500)
            done += 1
            next_jump += seconds_between
        log.tick(t)
    log.end_session(t, 0, lf.END_HOST)
    prog, erases = bd.prog_bytes - p0, bd.erases - e0
    vfs.umount("/f")
    return prog, erases, log.flushes


def recovery(jumps):
    bd = CountingBlockDev()
    vfs.VfsLfs2.mkfs(bd)
    vfs.mount(vfs.VfsLfs2(bd), "/f")
    log = eventlog.EventLog("/f/log")
    log.open()
    per_session = 2000
    s = 0
    while s * per_session < jumps:
        log.begin_session(s, b"abcdef", 0, False, 1, 200, 16, (0, 1, 0))
        for j in range(per_session):
            log.add_jump(j * 100, 60, 3500)
        log.end_session(per_session * 100, 0, lf.END_HOST)
        s += 1
    segs = len(log.segments())
    vfs.umount("/f")
    vfs.mount(vfs.VfsLfs2(bd), "/f")
    r0 = bd.reads
    t0 = time.ticks_us()
    log2 = eventlog.EventLog("/f/log")
    log2.open()
    us = time.ticks_diff(time.ticks_us(), t0)
    ok = log2.jumps == s * per_session
    vfs.umount("/f")
    return us, bd.reads - r0, segs, ok


for name, n, gap in (("rope", 2000, 0.5), ("cmj", 2000, 6.0)):
    prog, erases, flushes = day(n, gap)
    print("day_%s_prog_bytes %d" % (name, prog))
    print("day_%s_erases %d" % (name, erases))
    print("day_%s_flushes %d" % (name, flushes))
us, reads, segs, ok = recovery(100000)
print("recover_us %d" % us)
print("recover_reads %d" % reads)
print("recover_segments %d" % segs)
print("recover_ok %d" % (1 if ok else 0))
