"""Flash cost of the log: bytes programmed and blocks erased per jump (littlefs metadata
included, counted at the block device), the implied flash lifetime, and boot recovery."""

from __future__ import annotations

import subprocess

from jumpclip.fw import FIRMWARE_DIR
from jumpclip.sim.board import find_micropython

from .firmware_bench import HERE

PARTITION_BLOCKS = 512  # the 2 MB vfs partition of a 4 MB ESP32 (littlefs wear-levels over it)
ERASE_CYCLES = 100_000  # NOR flash endurance (e.g. GD25Q32 / W25Q32 datasheets: 100k cycles)


def main() -> None:
    p = subprocess.run(
        [find_micropython(), "-X", "heapsize=16M", str(HERE / "mp_log_bench.py")],
        capture_output=True,
        text=True,
        env={"MICROPYPATH": f"{FIRMWARE_DIR}:{HERE.parent / 'tests' / 'fw'}", "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    r = {k: int(v) for k, v in (line.split() for line in p.stdout.split("\n") if line.strip())}
    print("Flash log (littlefs on a counting RAM block device, default flush policy: 5 s or 32 jumps):")
    for name, what in (("rope", "2,000 jumps/day, one every 0.5 s (skipping)"), ("cmj", "2,000 jumps/day, one every 6 s (worst case: each jump flushed alone)")):
        prog, erases = r[f"day_{name}_prog_bytes"], r[f"day_{name}_erases"]
        years = PARTITION_BLOCKS * ERASE_CYCLES / erases / 365 if erases else float("inf")
        print(f"  {what}:")
        print(f"    {prog / 2000:7.0f} bytes programmed per jump, {erases / 2000:.3f} block erases per jump, {r[f'day_{name}_flushes']} flushes")
        print(f"    flash lifetime at this rate: {years:,.0f} years (512 blocks x 100k cycles, wear-levelled; goal > 10)")
    ok = "records all accounted" if r["recover_ok"] else "TOTALS WRONG"
    print(f"  boot recovery with 100,000 jumps logged ({r['recover_segments']} segments): {r['recover_us'] / 1000:.1f} ms on the unix port, {r['recover_reads']} block reads ({ok})")


if __name__ == "__main__":
    main()
