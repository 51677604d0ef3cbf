"""Collect the MicroPython ESP32 stubs into one folder for type-checking firmware/.

micropython-esp32-stubs installs its .pyi files at the top of site-packages beside
everything else, so the firmware check points mypy at a folder of links to just those
(stdlib stubs come from micropython-stdlib-stubs through --custom-typeshed-dir)."""

import sys
from importlib import metadata
from pathlib import Path

dest = Path(sys.argv[1])
dest.mkdir(parents=True, exist_ok=True)
dist = metadata.distribution("micropython-esp32-stubs")
for f in dist.files or []:
    top = f.parts[0]
    if top.endswith(".dist-info") or not (f.suffix == ".pyi" or len(f.parts) > 1):
        continue
    src = Path(dist.locate_file(top))
    link = dest / top
    if not link.exists() and src.exists():
        link.symlink_to(src)
print(dest)
