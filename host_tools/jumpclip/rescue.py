"""`jumpclip rescue FLASH.bin`: get the jumps back from a raw flash dump (what
`esptool read_flash 0 0x400000 FLASH.bin` writes), for a clip whose firmware no longer boots.

The ESP-IDF partition table at 0x8000 names the data partition MicroPython mounts (label
"vfs"); littlefs-python mounts it and the log reader takes every valid record. A dump of the
partition alone (a littlefs image) works too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from littlefs import LittleFS, LittleFSError

from .logread import LogContents, parse_segment, read_files

PARTITION_TABLE = 0x8000
ENTRY = struct.Struct("<2sBBII16sI")  # magic, type, subtype, offset, size, label, flags
MAGIC = b"\xaa\x50"
BLOCK = 4096


class RescueError(Exception):
    """One line: what is wrong with the dump and what to do."""


@dataclass
class Partition:
    label: str
    ptype: int
    subtype: int
    offset: int
    size: int


def partitions(dump: bytes) -> list[Partition]:
    out = []
    for o in range(PARTITION_TABLE, PARTITION_TABLE + 0xC00, ENTRY.size):
        if o + ENTRY.size > len(dump):
            break
        magic, ptype, sub, off, size, label, _ = ENTRY.unpack_from(dump, o)
        if magic != MAGIC:
            break
        out.append(Partition(label.rstrip(b"\0").decode(errors="replace"), ptype, sub, off, size))
    return out


def _is_littlefs(data: bytes) -> bool:
    # The superblock names itself "littlefs" at offset 8 of block 0 or block 1.
    return data[8:16] == b"littlefs" or data[BLOCK + 8 : BLOCK + 16] == b"littlefs"


def find_filesystem(dump: bytes) -> tuple[bytes, str]:
    """(littlefs image, where it was found)."""
    if _is_littlefs(dump):
        return dump, "the whole file (a partition image)"
    parts = partitions(dump)
    if not parts:
        raise RescueError("no ESP32 partition table at 0x8000 and no littlefs image: is this a full flash dump (esptool read_flash 0 0x400000)?")
    data_parts = [p for p in parts if p.ptype == 1]
    preferred = [p for p in data_parts if p.label == "vfs"] + [p for p in data_parts if p.label != "vfs"]
    for p in preferred:
        image = dump[p.offset : p.offset + p.size]
        if len(image) < p.size:
            raise RescueError(f"the dump ends inside partition {p.label!r} (needs 0x{p.offset + p.size:x} bytes): read the whole flash")
        if _is_littlefs(image):
            return image, f"partition {p.label!r} at 0x{p.offset:x} ({p.size // 1024} KB)"
    labels = ", ".join(p.label for p in parts)
    raise RescueError(f"no littlefs filesystem in the partitions ({labels}): was MicroPython's filesystem ever formatted?")


def read_log_from_image(image: bytes) -> tuple[LogContents, str | None]:
    """Every valid record in log/ (device id from its session records, if any)."""
    try:
        fs = LittleFS(block_size=BLOCK, block_count=len(image) // BLOCK, mount=False)
        fs.context.buffer = bytearray(image)
        fs.mount()
    except LittleFSError as e:
        raise RescueError(f"the littlefs filesystem does not mount ({e}): the flash is too damaged to read files") from None
    files: dict[str, bytes] = {}
    try:
        names = fs.listdir("log")
    except LittleFSError:
        raise RescueError("the filesystem has no log/ folder: this clip never logged a session") from None
    for name in names:
        try:
            with fs.open("log/" + name, "rb") as f:
                files[name] = f.read()
        except LittleFSError:
            files[name] = b""  # unreadable: reported as damage by the reader
    log = read_files(files)
    device = log.starts[0].device_id if log.starts else None
    return log, device


def raw_scan(data: bytes) -> tuple[LogContents, str | None]:
    """Every record whose CRC holds, wherever it lies in the bytes: for a dump whose
    filesystem no longer mounts (truncated, bit rot). littlefs may hold older copies of a
    block; a record number seen twice is kept once. The log id comes from a checkpoint
    (state.json) still readable in the bytes, when there is one."""
    import re
    from collections import Counter

    log = LogContents()
    parse_segment(data, "raw scan", log, set())
    log.check_sessions()
    log.damage = []  # everything between records is filesystem structure, not damage
    ids = Counter(m.group(1).decode() for m in re.finditer(rb'"id": "([0-9a-f]{16})"', data))
    if ids:
        log.log_id = ids.most_common(1)[0][0]
    device = log.starts[0].device_id if log.starts else None
    return log, device


MAX_DUMP = 64 << 20  # the largest ESP32 flash is 16 MB: anything far larger is not a dump


def rescue(path: str | Path) -> tuple[LogContents, str | None, str]:
    p = Path(path)
    try:
        if p.exists() and not p.is_file():
            raise RescueError(f"{path}: not a regular file; give the dump esptool wrote (esptool read_flash 0 0x400000 flash.bin)")
        if p.exists() and p.stat().st_size > MAX_DUMP:
            raise RescueError(f"{path}: {p.stat().st_size >> 20} MB, larger than any ESP32 flash (16 MB): is it a flash dump?")
        dump = p.read_bytes()
    except FileNotFoundError:
        raise RescueError(f"{path}: no such file") from None
    except OSError as e:
        raise RescueError(f"{path}: cannot read ({e.strerror})") from None
    try:
        image, where = find_filesystem(dump)
        log, device = read_log_from_image(image)
        return log, device, where
    except RescueError as e:
        log, device = raw_scan(dump)
        if not log.records:
            raise RescueError(f"{e}; and no intact log record anywhere in the dump") from None
        return log, device, f"a raw scan of the dump ({e.args[0].split(':')[0]}; the files could not be read)"
