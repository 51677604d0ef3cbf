"""Sensor feed: what the MPU6050 model "feels", and the counts it reports.

A trace becomes a regular grid at its own whole-number rate R, in units of 1/16384 g
(the finest MPU6050 step, at +-2 g), stored as int32. The sensor takes sample k of its
own grid at t_k = k * (1e6 // F) us and holds feed sample t_k * R // 1e6; the range then
sets the step (counts = v >> AFS_SEL, rounded) and clips at +-full scale.

`counts()` applies the same integer rule on the host with numpy, so `jumpclip replay`
and the virtual board hand the detector the very same numbers (tested).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..traces import Trace, nominal_rate, regular_grid

FINE_LSB_PER_G = 16384
AFS_SHIFT = {2: 0, 4: 1, 8: 2, 16: 3}


def fine_units(trace: Trace) -> tuple[int, np.ndarray]:
    """(R, samples as int32 in 1/16384 g on the regular grid at R Hz)."""
    rate = nominal_rate(trace)
    g = regular_grid(trace, rate)
    v = np.rint(g * FINE_LSB_PER_G)
    v = np.clip(v, -(2**31) + 1, 2**31 - 1).astype(np.int32)
    return rate, v


def write_feed(trace: Trace, path: str | Path) -> int:
    rate, v = fine_units(trace)
    with open(path, "wb") as f:
        f.write(b"JCF1" + struct.pack("<II", rate, len(v)) + b"\0" * 4)
        f.write(np.ascontiguousarray(v, dtype="<i4").tobytes())
    return len(v)


def quantise(v: np.ndarray, range_g: int) -> np.ndarray:
    """1/16384 g -> int16 counts at the given range, rounded and clipped as the model does."""
    sh = AFS_SHIFT[range_g]
    v = v.astype(np.int64)
    if sh:
        v = (v + (1 << (sh - 1))) >> sh
    return np.clip(v, -32768, 32767).astype(np.int16)


def counts(trace: Trace, rate_hz: int, range_g: int) -> np.ndarray:
    """The (n, 3) int16 counts the sensor produces from this trace at rate_hz and range_g."""
    feed_rate, v = fine_units(trace)
    return counts_from_fine(v, feed_rate, rate_hz, range_g)


def counts_from_fine(v: np.ndarray, feed_rate: int, rate_hz: int, range_g: int) -> np.ndarray:
    period_us = 1_000_000 // rate_hz
    n = (len(v) * rate_hz) // feed_rate
    k = np.arange(n, dtype=np.int64)
    idx = np.minimum((k * period_us) * feed_rate // 1_000_000, len(v) - 1)
    return quantise(v[idx], range_g)
