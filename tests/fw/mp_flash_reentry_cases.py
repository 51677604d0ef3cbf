# A timer callback never runs inside a littlefs operation without finding the erase guard
# busy (issue 34, item 13). MicroPython only: it needs the VM's own scheduler.
#
# On the chip, machine.Timer's interrupt schedules its callback (ports/esp32/machine_timer.c,
# mp_sched_schedule) and the VM runs it at the next branch of any Python code (py/vm.c,
# pending_exception_check). Inside a littlefs operation the only Python code is the block
# device's, the firmware's eraseguard.EraseGuard; the partition under it is C
# (esp32.Partition), where nothing runs. Here the partition is native code, which takes no
# pending check at its branches either (py/emitnative.c has none), and it schedules the
# "timer" at every program and erase, when the chip's interrupt would most likely come: the
# flash's work is where the time goes.
import micropython
import os
import vfs

import eraseguard

BLOCK = 4096
BLOCKS = 64


class Partition:
    """esp32.Partition's protocol, with no pending check inside (native code)."""

    def __init__(self):
        self.data = bytearray(BLOCK * BLOCKS)
        self.callback = None  # scheduled at each program and erase
        self.pending = False

    @micropython.native
    def readblocks(self, n, buf, offset=0):
        start = n * BLOCK + offset
        buf[:] = memoryview(self.data)[start : start + len(buf)]

    @micropython.native
    def writeblocks(self, n, buf, offset=0):
        start = n * BLOCK + offset
        memoryview(self.data)[start : start + len(buf)] = buf
        if self.callback is not None and not self.pending:
            self.pending = True
            micropython.schedule(self.callback, 0)

    @micropython.native
    def ioctl(self, op, arg):
        if op == 4:
            return BLOCKS
        if op == 5:
            return BLOCK
        if op == 6 and self.callback is not None and not self.pending:
            self.pending = True
            micropython.schedule(self.callback, 0)
        return 0


class Host:
    """The host's file operations; in_op is set around each call into littlefs, with no
    branch between the flag and the call, so a callback that sees it set runs inside one."""

    def __init__(self):
        self.in_op = False


def _run(writes_in_callback):
    part = Partition()
    vfs.VfsLfs2.mkfs(part)
    guard = eraseguard.EraseGuard(part)
    fs = vfs.VfsLfs2(guard)
    vfs.mount(fs, "/reentry")
    host = Host()
    seen = {"inside": 0, "inside_busy": 0, "outside": 0, "wrote": 0}

    def timer(_arg):
        part.pending = False
        if host.in_op:
            seen["inside"] += 1
            if getattr(guard, "busy", False):
                seen["inside_busy"] += 1
                return  # App.count_held: leave the flash alone, come again soon
        else:
            seen["outside"] += 1
        if writes_in_callback and not getattr(guard, "busy", False):
            with open("/reentry/log", "ab") as f:  # the held session's flush
                f.write(b"J" * 40)
            seen["wrote"] += 1

    part.callback = timer
    try:
        for k in range(24):
            name = "/reentry/f%d" % (k % 3)
            host.in_op = True
            f = open(name, "wb")
            host.in_op = False
            for _ in range(5):
                host.in_op = True
                f.write(bytes([k]) * 1000)
                host.in_op = False
            host.in_op = True
            f.close()
            host.in_op = False
            host.in_op = True
            with open(name, "rb") as r:
                back = r.read()
            host.in_op = False
            if back != bytes([k]) * 5000:
                raise AssertionError("file %s read back wrong" % name)
        part.callback = None
        micropython.schedule(lambda _a: None, 0)  # flush the queue
        log_size = os.stat("/reentry/log")[6] if seen["wrote"] else 0
    finally:
        part.callback = None
        vfs.umount("/reentry")
    return seen, log_size


def test_a_callback_inside_littlefs_finds_the_guard_busy():
    seen, _ = _run(False)
    if seen["inside"] == 0 or seen["outside"] == 0:
        raise AssertionError("the schedule did not reach both places: %r" % seen)
    if seen["inside_busy"] != seen["inside"]:
        raise AssertionError("a callback ran inside littlefs with the guard not busy: %r" % seen)


def test_a_flush_from_the_callback_never_nests_and_keeps_every_record():
    seen, log_size = _run(True)
    if seen["wrote"] == 0:
        raise AssertionError("no callback wrote: %r" % seen)
    if log_size != 40 * seen["wrote"]:
        raise AssertionError("log holds %d bytes for %d writes: %r" % (log_size, seen["wrote"], seen))
