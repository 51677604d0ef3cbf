# The flash partition, with a word to the counting loop before each sector erase.
#
# A log flush that starts a littlefs block erases a 4 KB sector: 45 ms typically, 400 ms at
# the flash chip's maximum (W25Q32JV datasheet, tSE), and a flush can erase two (a new data
# block and a metadata compaction). The sensor's FIFO holds 850 ms at 200 Hz, so two erases
# at the maximum overflow it. The erase is one call into the partition (ESP-IDF
# esp_partition_erase_range), which nothing can interrupt; but littlefs asks for each erase
# separately, through the block device's ioctl(6) (MicroPython's extmod/vfs_lfsx.c,
# lfs_bd_erase), so the loop can empty the FIFO before each one (App.drain_fifo): then no
# more than one erase ever passes between two reads of the FIFO.
#
# MicroPython's block-device protocol (docs: vfs, "Block devices", the extended interface):
# readblocks(n, buf, offset), writeblocks(n, buf, offset), ioctl(op, arg).
#
# Being Python, the guard is also where a scheduled callback can run inside a littlefs
# operation: the VM runs them at branches (py/vm.c, pending_exception_check), and the esp32
# port's machine.Timer callbacks are scheduled (machine_timer.c, mp_sched_schedule). littlefs
# is not re-entrant (lfs2.h locks only in LFS2_THREADSAFE builds, which MicroPython's are
# not), so a callback that writes the log there would run a second littlefs operation inside
# the first. readblocks and writeblocks have no branch (littlefs always passes the offset:
# extmod/vfs_blockdev.c, mp_vfs_blockdev_write_ext); ioctl sets `busy` before its first
# branch and clears it as it returns, and the held session's timer leaves the flash alone
# while it is set (App.count_held).
from micropython import const

_ERASE = const(6)  # ioctl op: erase a block (vfs block-device protocol)


class EraseGuard:
    def __init__(self, bdev):
        self.bdev = bdev
        self.before_erase = None  # App.drain_fifo once the counting loop exists
        self.busy = False  # inside ioctl, where a scheduled callback can run (see above)

    # No branch in these two: no callback can run inside them.
    def readblocks(self, n, buf, offset=0):
        return self.bdev.readblocks(n, buf, offset)

    def writeblocks(self, n, buf, offset=0):
        return self.bdev.writeblocks(n, buf, offset)

    def ioctl(self, op, arg):
        self.busy = True  # first, before any branch
        try:
            if op == _ERASE and self.before_erase is not None:
                try:
                    self.before_erase()
                except Exception:  # the erase must happen whatever the sensor does
                    pass
            return self.bdev.ioctl(op, arg)
        finally:
            self.busy = False  # also when a Ctrl-C is raised at a branch above


def mount(bdev):
    """Mount bdev behind an EraseGuard as the root filesystem (it was mounted plainly at
    boot: ports/esp32/modules/_boot.py). Returns the guard, or None if the root stays as it
    was (then flushes erase unguarded, as before)."""
    import os

    import vfs

    guard = EraseGuard(bdev)
    try:
        fs = vfs.VfsLfs2(guard)  # type: ignore[abstract,arg-type]  # the stubs want their own AbstractBlockDev
    except OSError:
        return None  # not a littlefs partition: leave it
    try:
        vfs.umount("/")
    except OSError:
        return None
    try:
        vfs.mount(fs, "/")
    except OSError:
        vfs.mount(bdev, "/")  # back as it was: the log must stay reachable
        os.chdir("/")
        return None
    os.chdir("/")
    return guard
