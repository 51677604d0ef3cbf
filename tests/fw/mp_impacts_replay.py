# Replay counts through both device paths of the impact counter under MicroPython: the
# portable Impacts.feed (impacts.py) and the viper fast path (impacts_viper.py, or the module
# named by the 5th argument: a mutant). Usage:
#   micropython mp_impacts_replay.py COUNTS.bin RATE RANGE QUALIFY_MG BATCH [MODULE]
# BATCH: samples per call (80: the clip's wake at 200 Hz; more fills the event arrays).
# Prints "P ..." and "V ..." lines: each event (sample, peak), then the bands.
import array
import sys

from impacts import Impacts

path, rate, rng, qualify = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
batch_n = int(sys.argv[5])
viper = __import__(sys.argv[6] if len(sys.argv) > 6 else "impacts_viper")
with open(path, "rb") as f:
    data = f.read()
n_all = len(data) // 6
for tag, feed in (("P", None), ("V", viper.feed)):
    imp = Impacts(rate, rng, qualify)
    batch = array.array("h", [0] * (3 * batch_n))
    k = 0
    while k < n_all:
        n = batch_n if n_all - k >= batch_n else n_all - k
        for q in range(3 * n):
            v = data[6 * k + 2 * q] | (data[6 * k + 2 * q + 1] << 8)
            batch[q] = v - 0x10000 if v & 0x8000 else v
        i = 0
        while i < n:
            i = imp.feed(batch, i, n) if feed is None else feed(imp, batch, i, n)
            for e in range(imp.n_events):
                print(tag, imp.ev_index[e], imp.ev_peak[e])
            imp.n_events = 0
        k += n
    print(tag, "bands", list(imp.bands), list(imp.day))
