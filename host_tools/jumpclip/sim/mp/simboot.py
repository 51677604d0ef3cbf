# Boot of the virtual board: `micropython simboot.py SIMCONFIG.json`.
#
# Loads the simulated machine and time modules (they shadow the unix port's), attaches the
# MPU6050 model to the I2C bus, mounts the flash image with vfs.VfsLfs2 as the root
# filesystem, exactly as the ESP32 port does, and then imports main.py from that flash.
import gc
import json
import os
import sys

import vfs

import simcore

with open(sys.argv[1]) as f:
    cfg = json.load(f)

sim = simcore.Sim(cfg)
simcore.sim = sim

import esp32  # noqa: E402,F401  (simulated: deep-sleep wake sources)
import machine  # noqa: E402  (the simulated one, from this folder)
import time  # noqa: E402,F401  (likewise: must be cached before the host filesystem goes)

import mpu6050_model  # noqa: E402

if cfg.get("sensor", True):
    model = mpu6050_model.MPU6050Model(sim.feed, cfg.get("who_am_i", 0x68), cfg.get("mpu", {}))
    sim.devices[cfg.get("sensor_addr", 0x68)] = model
    sim.device_list.append(model)

bdev = simcore.FileBlockDevice(cfg["flash"], cfg.get("block_size", 4096), cfg["block_count"])
sim.bdev = bdev  # flashbdev.bdev, as on the chip
import flashbdev  # noqa: E402,F401  (cached before the host filesystem goes)
flash = vfs.VfsLfs2(bdev)
vfs.umount("/")
vfs.mount(flash, "/")
os.chdir("/")
# The ESP32 port's sys.path: mp_init() gives "" and ".frozen" (py/runtime.c), and the port's
# main.c appends "/lib". A frozen firmware image (firmware/manifest.py) is found through
# ".frozen"; a module on the flash shadows its frozen copy, as on the chip.
sys.path.clear()
sys.path.append("")
sys.path.append(".frozen")
sys.path.append("/lib")

crashed = None


def write_report():
    gc.collect()  # the report is the simulation's: room for it after the firmware's garbage
    rep = sim.report()
    rep["crashed"] = crashed
    rep["heap_before_firmware"] = heap_before
    rep["block_writes"] = bdev.writes
    rep["flash_bytes_written"] = bdev.bytes_written
    rep["flash_erases"] = bdev.erases
    rep["lfs_reentries"] = sim.lfs_reentries
    # The last word of this boot (the host keeps it), one line written in small pieces: after
    # a day of counting the shared heap has no room for the whole text at once.
    w = simcore.side_write
    w("SIM report {")
    first = True
    for k in rep:
        w(("" if first else ", ") + json.dumps(k) + ": ")
        first = False
        v = rep[k]
        if isinstance(v, list):
            w("[")
            for i in range(len(v)):
                w(("" if i == 0 else ", ") + json.dumps(v[i]))
            w("]")
        else:
            w(json.dumps(v))
    w("}\n")


sim.on_halt = write_report
gc.collect()
heap_before = gc.mem_alloc()
sim.heap_base = heap_before
if cfg.get("heap_probe"):  # what this heap leaves the firmware (BoardOptions.heap_bytes)
    simcore.say("heap %d bytes free for the firmware of %d" % (gc.mem_free(), gc.mem_free() + gc.mem_alloc()))
simcore.say("boot")
sim.run_chip_thread()
try:
    # As the ESP32 port does after boot.py: run main.py in the REPL's globals, so `app`
    # is there for the host's raw-REPL commands afterwards.
    try:
        with open("main.py") as f:
            code = compile(f.read(), "main.py", "exec")  # the source is garbage once compiled
    except OSError:
        code = None  # MicroPython only, no jumpclip yet: straight to the REPL
        simcore.say("no main.py")
    if not cfg.get("run_main", True):
        code = None  # a test wants the REPL first (e.g. to record the trace from its start)
    if code is not None:
        exec(code, globals())
    code = None
except SystemExit:
    raise
except BaseException as e:  # a firmware crash: print it as the board would, then report it
    sys.print_exception(e)
    crashed = repr(e)
finally:
    if not sim.halted:
        write_report()
        simcore.say("exit")
