# Flash-log cases that need the MicroPython unix port (vfs.VfsLfs2, heap_lock).
import micropython
import vfs

import eventlog
import logformat as lf
from ramdisk import RAMBlockDevice


def fresh(path="/t"):
    bd = RAMBlockDevice(64)
    vfs.VfsLfs2.mkfs(bd)
    vfs.mount(vfs.VfsLfs2(bd), path)
    return bd


def test_append_allocates_nothing_in_steady_state():
    fresh()
    try:
        log = eventlog.EventLog("/t/log", flush_jumps=32, reserve_bytes=4096)
        log.open()
        log.begin_session(1, b"abcdef", 0, False, 7, 200, 16, (0, 1, 0))
        log.add_jump(5, 40, 3000)  # the first jump opens the JUMPS record
        micropython.heap_lock()
        try:
            t = 10
            for _ in range(30):  # below the flush threshold: no flush, so no allocation
                log.add_jump(t, 45, 3100)
                log.tick(t)
                t += 20
        finally:
            micropython.heap_unlock()
        log.end_session(t, 0, lf.END_HOST)
        assert log.jumps == 31
    finally:
        vfs.umount("/t")


def test_full_log_keeps_counting_and_never_overwrites():
    bd = fresh()
    try:
        # A tiny partition: the log fills up after a few hundred jumps.
        log = eventlog.EventLog("/t/log", seg_max=4096, flush_jumps=32, reserve_bytes=52 * 4096)
        log.open()
        log.begin_session(1, b"abcdef", 0, False, 7, 200, 16, (0, 1, 0))
        for j in range(5000):
            log.add_jump(j * 10, 40, 3000)
        log.end_session(30000, 0, lf.END_HOST)
        assert log.full
        assert log.session_jumps == 5000
        assert log.jumps + log.unlogged == 5000  # every jump is on flash or in the summary
        assert any("flash full" in n for n in log.notes)
        before = log.segments()
        # The host acknowledges everything but the newest segment: space comes back.
        with open("/t/log/ack", "w") as f:
            f.write(str(lf.segment_seq(before[-1]) - 1))
        assert log.reclaim() == len(before) - 1
        assert log.segments() == before[-1:]
    finally:
        vfs.umount("/t")
