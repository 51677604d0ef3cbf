# The clip's fast path for ImpactPeak.peak (impact.py): the same statements, in the same
# order, compiled by MicroPython's viper emitter to machine code; the native emitter's copy
# cost 1.5 million instructions a landing (issue 35). Device-only (viper does not exist on
# CPython). tests/test_impact.py runs both under the unix port on windows from the real and
# synthetic traces and at the sensor's rails, and requires the same value for each; a
# flipped comparison in this copy fails it.
#
# Viper ints are machine words, and every value here stays inside +-2**30, as in impact.py.
# A ptr16 load is unsigned, so samples are sign-extended by hand. The filter's scratch
# array holds negative values, and a ptr32 load is the 32-bit word: signed on the clip,
# zero-extended on a 64-bit build (the unix port the tests run on), where a negative value
# is brought back by subtracting 2**32 (never taken on the clip; k32 is a variable so that
# the compiler does not fold 2**32 into a constant).
import micropython
from micropython import const

from detector import isqrt

_PAD = const(15)  # impact.PAD
_Q = const(14)  # impact.Q
_CLIPPED = const(0x8000)  # impact.CLIPPED


@micropython.viper
def _filter_axis(ip, win: ptr16, axis: int):  # type: ignore[name-defined]  # noqa: F821
    """ImpactPeak._filter_axis: one axis of win, filtered forwards then backwards, into
    out[axis::3]."""
    k32 = 0x10000
    n = int(ip.n)
    ext = ptr32(ip.ext)  # type: ignore[name-defined]  # noqa: F821
    first = int(win[axis])
    if first & 0x8000:
        first -= 0x10000
    first = first >> 2
    last = int(win[3 * (n - 1) + axis])
    if last & 0x8000:
        last -= 0x10000
    last = last >> 2
    k = 0
    while k < n:
        v = int(win[3 * k + axis])
        if v & 0x8000:
            v -= 0x10000
        ext[_PAD + k] = v >> 2
        k += 1
    k = 1
    while k <= _PAD:
        e = int(ext[_PAD + k])
        if (e >> 16) >= 0x8000:
            e -= k32 * k32
        ext[_PAD - k] = 2 * first - e
        e = int(ext[_PAD + n - 1 - k])
        if (e >> 16) >= 0x8000:
            e -= k32 * k32
        ext[_PAD + n - 1 + k] = 2 * last - e
        k += 1
    k = 0
    m = n + 2 * _PAD
    while k < m:
        e = int(ext[k])
        if (e >> 16) >= 0x8000:
            e -= k32 * k32
        if e > 8192:
            ext[k] = 8192
        elif e < -8192:
            ext[k] = -8192
        k += 1
    _pass(ip, 0, 1)
    _pass(ip, m - 1, -1)
    out = ptr32(ip.out)  # type: ignore[name-defined]  # noqa: F821
    k = 0
    while k < n:
        out[3 * k + axis] = ext[_PAD + k]
        k += 1


@micropython.viper
def _pass(ip, start: int, step: int):
    """ImpactPeak._pass: both sections over ext, in place, from start in direction step."""
    k32 = 0x10000
    ext = ptr32(ip.ext)  # type: ignore[name-defined]  # noqa: F821
    a = ptr32(ip.a)  # type: ignore[name-defined]  # noqa: F821
    m = int(len(ip.ext))
    s = 0
    while s < 2:
        a1 = int(a[2 * s])
        if (a1 >> 16) >= 0x8000:
            a1 -= k32 * k32
        a2 = int(a[2 * s + 1])
        if (a2 >> 16) >= 0x8000:
            a2 -= k32 * k32
        g4 = (1 << _Q) + a1 + a2
        v = int(ext[start])
        if (v >> 16) >= 0x8000:
            v -= k32 * k32
        x1 = v
        x2 = v
        y1 = v
        y2 = v
        i = start
        k = 0
        while k < m:
            x0 = int(ext[i])
            if (x0 >> 16) >= 0x8000:
                x0 -= k32 * k32
            y0 = ((g4 * (x0 + 2 * x1 + x2)) >> 2) - a1 * y1 - a2 * y2
            y0 = y0 >> _Q
            ext[i] = y0
            x2 = x1
            x1 = x0
            y2 = y1
            y1 = y0
            i += step
            k += 1
        s += 1


@micropython.viper
def peak(ip, win: ptr16) -> int:  # type: ignore[name-defined]  # noqa: F821
    """ImpactPeak.peak(win): the filtered peak in milli-g, CLIPPED set if an axis reached
    the sensor's range within PEAK_MS of the landing peak."""
    k32 = 0x10000
    axis = 0
    while axis < 3:
        _filter_axis(ip, win, axis)
        axis += 1
    out = ptr32(ip.out)  # type: ignore[name-defined]  # noqa: F821
    c = int(ip.half)
    near = int(ip.near)
    best = 0
    k = c - near
    while k <= c + near:
        x = int(out[3 * k])
        if (x >> 16) >= 0x8000:
            x -= k32 * k32
        y = int(out[3 * k + 1])
        if (y >> 16) >= 0x8000:
            y -= k32 * k32
        z = int(out[3 * k + 2])
        if (z >> 16) >= 0x8000:
            z -= k32 * k32
        m = x * x + y * y + z * z
        if m > best:
            best = m
        k += 1
    mg = int(isqrt(best)) * 1000 // int(ip.lsb_quarter)
    if mg > 0x7FFF:
        mg = 0x7FFF
    k = 3 * (c - near)
    end = 3 * (c + near + 1)
    while k < end:
        v = int(win[k])
        if v & 0x8000:
            v -= 0x10000
        if v >= 32767 or v <= -32768:
            return mg | _CLIPPED
        k += 1
    return mg


@micropython.viper
def window(ring: ptr16, mask: int, oldest: int, last: int, i: int, n: int, win: ptr16):  # type: ignore[name-defined]  # noqa: F821
    """Forces._compute's copy: samples i .. i + n - 1 of the ring into win, each index held
    inside oldest .. last (the nearest sample repeated outside the stream)."""
    k = 0
    while k < n:
        j = i if i > oldest else oldest
        if j > last:
            j = last
        r = 3 * (j & mask)
        win[3 * k] = ring[r]
        win[3 * k + 1] = ring[r + 1]
        win[3 * k + 2] = ring[r + 2]
        i += 1
        k += 1
