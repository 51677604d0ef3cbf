"""The virtual board's flash: a littlefs image file, laid out like the ESP32's partition.

MicroPython on a 4 MB ESP32 mounts a 2 MB `vfs` partition of 4096-byte blocks with
littlefs v2 at /. The virtual board mounts this file the same way (vfs.VfsLfs2), and the
host reads or writes it with littlefs-python (building an image, `jumpclip rescue`).
"""

from __future__ import annotations

import json
from pathlib import Path

from littlefs import LittleFS

from ..fw import FIRMWARE_DIR, board_files

BLOCK_SIZE = 4096
BLOCK_COUNT = 512  # 2 MB: the ESP32 port's default vfs partition on 4 MB flash


def firmware_files() -> list[Path]:
    """The files flashed onto the virtual board: firmware/, or $JUMPCLIP_SIM_FIRMWARE (the
    witness check, tools/witness.py, flashes an older firmware to show a test fails on it)."""
    import os

    return board_files(Path(os.environ.get("JUMPCLIP_SIM_FIRMWARE") or FIRMWARE_DIR))


def build_image(path: str | Path, config: dict | None = None, files: list[Path] | None = None) -> None:
    """A freshly formatted flash holding the firmware (and config.json when given)."""
    fs = LittleFS(block_size=BLOCK_SIZE, block_count=BLOCK_COUNT)
    for f in files if files is not None else firmware_files():
        with fs.open(f.name, "wb") as out:
            out.write(f.read_bytes())
    if config is not None:
        with fs.open("config.json", "w") as out:
            out.write(json.dumps(config))
    Path(path).write_bytes(bytes(fs.context.buffer))


def open_image(path: str | Path) -> LittleFS:
    data = Path(path).read_bytes()
    fs = LittleFS(block_size=BLOCK_SIZE, block_count=len(data) // BLOCK_SIZE, mount=False)
    fs.context.buffer = bytearray(data)
    fs.mount()
    return fs


def write_file(image: str | Path, name: str, data: bytes) -> None:
    fs = open_image(image)
    if "/" in name:
        fs.makedirs(name.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(name, "wb") as out:
        out.write(data)
    Path(image).write_bytes(bytes(fs.context.buffer))


def remove_file(image: str | Path, name: str) -> None:
    fs = open_image(image)
    fs.remove(name)
    Path(image).write_bytes(bytes(fs.context.buffer))


def read_file(image: str | Path, name: str) -> bytes:
    fs = open_image(image)
    with fs.open(name, "rb") as f:
        return f.read()
