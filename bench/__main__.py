"""`make bench`: every benchmark, one after the other. Figures only; nothing here asserts
anything about time."""

from . import device_bench, firmware_bench, log_bench, replay_bench, sync_bench

firmware_bench.main()
print()
log_bench.main()
print()
sync_bench.main()
print()
replay_bench.main()
print()
device_bench.main()
