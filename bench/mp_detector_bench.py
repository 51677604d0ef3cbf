# Detector + FIFO-decode cost per sample under the MicroPython unix port.
# Usage: micropython mp_detector_bench.py RAW.bin NSAMPLES native|clip|viper|portable|copy
# (native: viper decode + viper detector; clip: native + the ring of recent samples and each
# landing's filtered peak (forces.py), the clip's whole path; viper: viper decode + portable
# detector; portable: both portable)
# ("copy" only moves the bytes into the batch buffer: the part to subtract.)
# RAW.bin holds big-endian int16 x, y, z samples, as the MPU6050 FIFO delivers them.
# Prints: "us_per_sample X", "alloc_bytes B", "events E". NSAMPLES=0 measures the setup
# only (the callgrind baseline).
import array
import gc
import sys
import time

import detector
import detector_viper
import mpu6050

path, n_total, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
decode = mpu6050.decode_portable if kind == "portable" else mpu6050.decode
native = kind in ("native", "clip")  # viper decode and the viper detector
BATCH = int(sys.argv[4]) if len(sys.argv) > 4 else 32  # samples per detector call
with open(path, "rb") as f:
    data = f.read()
nsrc = len(data) // 6
raw = bytearray(BATCH * 6)  # one call's samples (the clip decodes several bursts per wake)
samples = array.array("h", [0] * (BATCH * 3))
det = detector.Detector(None, 200, 16)
forces = None
if kind == "clip":
    from forces import Forces

    forces = Forces(200, 16, BATCH, det.peak_window)


class Log:  # stands in for the flash log: receives the filtered peaks
    got = 0

    def set_force(self, t, v):
        Log.got += 1


log = Log()
events = 0
src = 0
gc.collect()
gc.disable()
a0 = gc.mem_alloc()
t0 = time.ticks_us()
done = 0
while done < n_total:
    # Copy the next batch into the FIFO buffer (stands in for the I2C burst read).
    if src + BATCH > nsrc:
        src = 0
    off = src * 6
    for k in range(BATCH * 6):
        raw[k] = data[off + k]
    src += BATCH
    done += BATCH
    if kind == "copy":
        continue
    decode(raw, samples, BATCH * 3, 0)
    if forces is not None:
        forces.add(samples, BATCH)
    i = 0
    while i < BATCH:
        i = detector_viper.feed(det, samples, i, BATCH) if native else det.feed(samples, i, BATCH)
        events += det.n_events
        if forces is not None:
            for k in range(det.n_events):
                forces.landed(det.ev_index[k], log)
        det.n_events = 0
    if forces is not None:
        forces.watch(det)
        forces.resolve(log)
t1 = time.ticks_us()
a1 = gc.mem_alloc()
gc.enable()
print("us_per_sample", time.ticks_diff(t1, t0) / n_total if n_total else 0)
print("alloc_bytes", a1 - a0)
print("events", events)
print("filtered", Log.got)
