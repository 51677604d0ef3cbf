"""The one path from the desktop to the firmware's own modules (no copies).

The detector and the config rules run on the clip and here, from the same files in
firmware/. They import each other by their device names (`import detector`), so they are
loaded under those names. From a checkout (`make setup` installs jumpclip editable) the
files are the repository's firmware/ itself; an installed wheel carries a copy of them,
made when the wheel is built (setup.py), as the package data `jumpclip/_firmware/`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
IN_CHECKOUT = (REPO_ROOT / "firmware" / "main.py").is_file() and (REPO_ROOT / "pyproject.toml").is_file()
FIRMWARE_DIR = REPO_ROOT / "firmware" if IN_CHECKOUT else Path(__file__).resolve().parent / "_firmware"


MANIFEST = "manifest.py"  # firmware/manifest.py: for a frozen MicroPython build, not a file on the clip


def board_files(root: Path | None = None) -> list[Path]:
    """The firmware's files that go onto a clip: every .py in firmware/ but the manifest."""
    return sorted(p for p in (root or FIRMWARE_DIR).glob("*.py") if p.name != MANIFEST)


def build_dir() -> Path:
    """Where generated files go: build/ in a checkout, the user's cache folder otherwise."""
    if IN_CHECKOUT:
        return REPO_ROOT / "build"
    import platformdirs

    return Path(platformdirs.user_cache_dir("jumpclip", appauthor=False))

# Firmware modules that are pure computation and so also run under CPython.
SHARED_MODULES = ("detector", "config", "logformat", "eventlog", "logboot", "daily", "bouts", "impact", "impacts")


def pin_map() -> dict[str, int]:
    """firmware/board.py's constants (pins, bus, address): the only source of the wiring,
    read by the schematic, the wiring-table test and the virtual board's netlist."""
    import re

    text = (FIRMWARE_DIR / "board.py").read_text()
    return {k: int(v, 0) for k, v in re.findall(r"^([A-Z0-9_]+) = const\(([0-9x_]+)\)", text, re.M)}


def load(name: str) -> ModuleType:
    if name not in SHARED_MODULES:
        raise ImportError(f"firmware module {name!r} is device-only (it needs `machine`)")
    mod = sys.modules.get(name)
    if mod is not None and Path(getattr(mod, "__file__", "")).resolve() == FIRMWARE_DIR / f"{name}.py":
        return mod
    path = FIRMWARE_DIR / f"{name}.py"
    if not path.is_file():
        raise ImportError(f"{path} is missing: reinstall jumpclip (its firmware files are part of the package)")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


detector = load("detector")
config = load("config")
logformat = load("logformat")
logboot = load("logboot")
bouts = load("bouts")  # before daily, which imports it by its device name
impacts = load("impacts")  # the day's impact bands: the clip's counter, replayed on the desktop
