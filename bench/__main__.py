"""`make bench`: every benchmark, one after the other. Figures only; nothing here asserts
anything about time."""

from . import device_bench, firmware_bench, flash_stall_bench, heap_bench, log_bench, replay_bench, store_bench, sync_bench

firmware_bench.main()
print()
heap_bench.main()  # says how to run it when $MICROPY_SRC is not set
print()
log_bench.main()
print()
flash_stall_bench.main()
print()
sync_bench.main()
print()
replay_bench.main()
print()
store_bench.main()
print()
device_bench.main()
print()
# The detector's three copies: every comparison flipped, against the differential check.
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "tools" / "mutate.py")], check=False)
