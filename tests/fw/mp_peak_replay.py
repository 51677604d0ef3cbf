# The filtered peak through both device paths under MicroPython: the portable
# ImpactPeak.peak (impact.py, the native emitter's copy) and the viper fast path
# (impact_viper.py, or the module named by the 2nd argument: a mutant). Usage:
#   micropython mp_peak_replay.py WINDOWS.bin [MODULE]
# WINDOWS.bin: blocks of (rate u16, range u16, count u32, then count windows of 3 * n
# little-endian int16, n = ImpactPeak(rate, range).n). Prints "P v" and "V v" for each.
import sys

from impact import ImpactPeak

viper = __import__(sys.argv[2] if len(sys.argv) > 2 else "impact_viper")
with open(sys.argv[1], "rb") as f:
    data = f.read()
o = 0
while o < len(data):
    rate = data[o] | (data[o + 1] << 8)
    rng = data[o + 2] | (data[o + 3] << 8)
    count = data[o + 4] | (data[o + 5] << 8) | (data[o + 6] << 16) | (data[o + 7] << 24)
    o += 8
    p = ImpactPeak(rate, rng)
    for _ in range(count):
        for q in range(3 * p.n):
            v = data[o] | (data[o + 1] << 8)
            p.win[q] = v - 0x10000 if v & 0x8000 else v
            o += 2
        print("P", p.peak(p.win))
        print("V", viper.peak(p, p.win))
print("DONE")
