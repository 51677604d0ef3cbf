# A flash partition in RAM for littlefs (vfs.VfsLfs2) under the unix port: counts what
# reaches the flash (programmed bytes, erased blocks, reads) and can lose power at the k-th
# block write, tearing that write. Used by the flash-log tests and benchmarks.
import micropython

BLOCK = 4096


class PowerCut(Exception):
    pass


@micropython.viper
def copy_bytes(dst: ptr8, doff: int, src: ptr8, soff: int, n: int):  # noqa: F821
    # littlefs may call the block device while the heap is locked (file finalisers during a
    # collection), so block copies must not allocate: no slices.
    i = 0
    while i < n:
        dst[doff + i] = src[soff + i]
        i += 1


class RAMBlockDevice:
    def __init__(self, blocks, data=None, cut_at=0):
        self.blocks = blocks
        self.data = data if data is not None else bytearray(BLOCK * blocks)
        self.cut_at = cut_at  # lose power at this block write (0: never)
        self.writes = 0
        self.prog_bytes = 0
        self.erases = 0
        self.reads = 0

    def readblocks(self, block, buf, offset=0):
        self.reads += 1
        copy_bytes(buf, 0, self.data, block * BLOCK + offset, len(buf))

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # whole blocks: erase, then program
            self.erases += len(buf) // BLOCK
            offset = 0
        a = block * BLOCK + offset
        self.writes += 1
        if self.writes == self.cut_at:
            torn = (self.writes * 7919) % (len(buf) + 1)  # a deterministic torn prefix
            copy_bytes(self.data, a, buf, 0, torn)
            raise PowerCut()
        copy_bytes(self.data, a, buf, 0, len(buf))
        self.prog_bytes += len(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return BLOCK
        if op == 6:
            self.erases += 1
            return 0
        return None
