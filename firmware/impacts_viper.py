# The clip's fast path for Impacts.feed (impacts.py): the same statements, in the same
# order, compiled by MicroPython's viper emitter to machine code; the native emitter's copy
# cost 2,000 instructions a sample (make bench: the counting loop). Device-only (viper does
# not exist on CPython). tests/test_parity.py runs both under the unix port over the corpus
# and random signals and requires the same bands and events, and a flipped comparison in
# this copy fails it.
#
# Viper ints are machine words, and every value here stays inside +-2**30, as in
# impacts.py; the state arrays hold non-negative values only (a ptr32 load is unsigned on
# a 64-bit build). A ptr16 load is unsigned, so samples are sign-extended by hand.
import micropython
from micropython import const

_N_BANDS = const(5)  # impacts.N_BANDS
_EVENT_CAPACITY = const(16)  # impacts.EVENT_CAPACITY


@micropython.viper
def feed(imp, s: ptr16, start: int, end: int) -> int:  # type: ignore[name-defined]  # noqa: F821
    st = ptr32(imp.st)  # type: ignore[name-defined]  # noqa: F821
    edge = ptr32(imp.edge)  # type: ignore[name-defined]  # noqa: F821
    bands = ptr32(imp.bands)  # type: ignore[name-defined]  # noqa: F821
    day = ptr32(imp.day)  # type: ignore[name-defined]  # noqa: F821
    ev_index = ptr32(imp.ev_index)  # type: ignore[name-defined]  # noqa: F821
    ev_peak = ptr32(imp.ev_peak)  # type: ignore[name-defined]  # noqa: F821
    cand = int(st[0])
    cand_t = int(st[1])
    t = int(st[2])
    dist = int(imp.dist)
    floor = int(imp.floor)
    qualify = int(imp.qualify)
    n_ev = int(imp.n_events)
    t0 = t
    j = 3 * start
    jend = 3 * end
    while j < jend:
        if cand != 0 and t - cand_t >= dist:
            # 0.4 s without a higher sample: the candidate is an impact.
            if cand >= qualify:
                if n_ev >= _EVENT_CAPACITY:
                    break  # no room: drain, then this sample again
                ev_index[n_ev] = cand_t
                ev_peak[n_ev] = cand
                n_ev += 1
            k = 0
            while k < _N_BANDS - 1 and cand >= int(edge[k]):
                k += 1
            bands[k] = int(bands[k]) + 1
            day[k] = int(day[k]) + 1
            cand = 0
        # (x ^ 0x8000) - 0x8000: the sign extension without a branch
        x = ((int(s[j]) ^ 0x8000) - 0x8000) >> 1
        y = ((int(s[j + 1]) ^ 0x8000) - 0x8000) >> 1
        z = ((int(s[j + 2]) ^ 0x8000) - 0x8000) >> 1
        m = x * x + y * y + z * z
        if m > cand and m >= floor:
            cand = m
            cand_t = t
        t += 1
        j += 3
    st[0] = cand
    st[1] = cand_t
    st[2] = t
    imp.n_events = n_ev
    return start + t - t0
