# Simulated flashbdev for the virtual board: the partition simboot mounted as the root
# filesystem, as the esp32 port's frozen flashbdev.py gives the one its _boot.py mounts
# (ports/esp32/modules/flashbdev.py: esp32.Partition.find(TYPE_DATA, label="vfs")[0]).
import simcore

bdev = simcore.sim.bdev
