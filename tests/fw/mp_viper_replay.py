# Replay counts through both device paths under MicroPython: the portable Detector.feed and
# the viper fast path. Usage: micropython mp_viper_replay.py COUNTS.bin RATE RANGE CONFIG.json
# Prints "P index peak air" and "V index peak air" lines.
import array
import json
import sys

import detector_viper
from detector import Detector

path, rate, rng = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(sys.argv[4]) as f:
    params = json.load(f)
with open(path, "rb") as f:
    data = f.read()
n_all = len(data) // 6
for tag, feed in (("P", None), ("V", detector_viper.feed)):
    det = Detector(params, rate, rng)
    batch = array.array("h", [0] * 96)
    k = 0
    while k < n_all:
        n = 32 if n_all - k >= 32 else n_all - k
        for q in range(3 * n):
            v = data[6 * k + 2 * q] | (data[6 * k + 2 * q + 1] << 8)
            batch[q] = v - 0x10000 if v & 0x8000 else v
        i = 0
        while i < n:
            i = det.feed(batch, i, n) if feed is None else feed(det, batch, i, n)
            for e in range(det.n_events):
                print(tag, det.ev_index[e], det.ev_peak[e], det.ev_air[e])
            det.n_events = 0
        k += n
    while True:
        done = det.finish()
        for e in range(det.n_events):
            print(tag, det.ev_index[e], det.ev_peak[e], det.ev_air[e])
        det.n_events = 0
        if done:
            break
