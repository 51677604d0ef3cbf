# Replay raw counts through the detector under MicroPython, in FIFO-sized batches.
# Usage: micropython mp_replay.py COUNTS.bin RATE RANGE [CONFIG.json]
# COUNTS.bin holds int16 x, y, z triplets in native byte order. Prints "EV index peak air".
import array
import json
import sys

from detector import Detector

path, rate, rng = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
params = None
if len(sys.argv) > 4:
    with open(sys.argv[4]) as f:
        params = json.load(f)
det = Detector(params, rate, rng)
batch = array.array("h", [0] * 96)
raw = memoryview(batch)
with open(path, "rb") as f:
    while True:
        nbytes = f.readinto(raw)
        if not nbytes:
            break
        n = nbytes // 6
        i = 0
        while i < n:
            i = det.feed(batch, i, n)
            for k in range(det.n_events):
                print("EV", det.ev_index[k], det.ev_peak[k], det.ev_air[k])
            det.n_events = 0
fed = det.t  # (finish() feeds still samples of its own past the end)
while True:
    done = det.finish()
    for k in range(det.n_events):
        print("EV", det.ev_index[k], det.ev_peak[k], det.ev_air[k])
    det.n_events = 0
    if done:
        break
print("END", fed)
