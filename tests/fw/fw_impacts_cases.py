# Impact-band tests (firmware/impacts.py) that run unchanged under CPython (pytest) and
# the MicroPython unix port (tests/fw/mprun.py). Under MicroPython the feeding runs under
# micropython.heap_lock(): the counter allocates nothing per sample.
import array
import sys

import impacts
from detector import M2_MAX, SHIFT
from impacts import Impacts

RATE = 200
LSB = 2048  # +-16 g
MICROPYTHON = sys.implementation.name == "micropython"


def trace(spikes, total):
    """1 g at rest on z; each spike (sample, g) a 3-sample triangle peaking at g there."""
    z = [LSB] * total
    for at, g in spikes:
        z[at] = int(g * LSB)
        z[at - 1] = int((1 + g) / 2 * LSB)
        z[at + 1] = int((1 + g) / 2 * LSB)
    s = array.array("h", [0] * (3 * total))
    for i in range(total):
        s[3 * i + 2] = z[i]
    return s


def drain(imp, got_t, got_p, ng):
    """Copy the counter's events into got_t, got_p from ng on; returns the new ng."""
    k = 0
    while k < imp.n_events:
        got_t[ng] = imp.ev_index[k]
        got_p[ng] = imp.ev_peak[k]
        ng += 1
        k += 1
    imp.n_events = 0
    return ng


def run(s, n, start=0, qualify_mg=3900):
    """Feed s[start:n] in wakes of 80 samples; (bands, [(t, peak_mg)]) with t from the start."""
    imp = Impacts(RATE, 16, qualify_mg)
    events = []
    got_t = array.array("i", [0] * 64)
    got_p = array.array("i", [0] * 64)
    ng = 0
    if MICROPYTHON:
        import micropython

        imp.feed(s, start, start + 1)  # the native code's first call outside the lock
        imp.reset()
        micropython.heap_lock()
    try:
        i = start
        while i < n:
            end = i + 80 if i + 80 < n else n
            while i < end:
                i = imp.feed(s, i, end)
                ng = drain(imp, got_t, got_p, ng)
        while not imp.finish():
            ng = drain(imp, got_t, got_p, ng)
        ng = drain(imp, got_t, got_p, ng)
    finally:
        if MICROPYTHON:
            micropython.heap_unlock()
    for k in range(ng):
        events.append((got_t[k] + start, imp.peak_mg(got_p[k])))
    return list(imp.bands), events, list(imp.day)


def test_each_band_gets_its_impacts():
    # One impact per band, 1 s apart: 1.5, 3.0, 4.5, 7.0 and 12 g, and a 1.2 g bump below
    # impactr's 1.3 g floor, which is no impact.
    s = trace([(100, 1.5), (300, 3.0), (500, 4.5), (700, 7.0), (900, 12.0), (1100, 1.2)], 1300)
    bands, events, day = run(s, 1300)
    assert bands == [1, 1, 1, 1, 1], bands
    assert day == bands, day
    # Impacts of 3.9 g and over are events, at their peak sample, with their height.
    assert [t for t, _ in events] == [500, 700, 900], events
    assert [abs(p - g) <= 2 for (_, p), g in zip(events, (4500, 7000, 12000))] == [True] * 3, events


def test_band_edges_are_the_studies_bands():
    assert impacts.BAND_MG == (1300, 2500, 3900, 5400, 9300)
    # Just below and just above each edge (a count is 1/2048 g: 3.9 g itself reads as
    # 7987 counts, 3.8999 g): 2.49 g is in the 1.3-2.4 band, 2.501 g in the next.
    spikes = []
    at = 100
    for g in (2.49, 2.501, 3.89, 3.901, 5.39, 5.401, 9.29, 9.301):
        spikes.append((at, g))
        at += 200
    s = trace(spikes, at + 100)
    bands, events, _ = run(s, at + 100)
    assert bands == [1, 2, 2, 2, 1], bands
    assert len(events) == 5, events  # 3.9 g and over


def test_a_lower_peak_within_0_4_s_of_a_higher_one_is_not_an_impact():
    # impactr's min_dist: 0.4 s (80 samples at 200 Hz). 6 g then 3 g 60 samples later: one.
    s = trace([(100, 6.0), (160, 3.0)], 400)
    assert run(s, 400)[0] == [0, 0, 0, 1, 0]
    # A higher one 60 samples after: it replaces the first, which is no impact then.
    s = trace([(100, 3.0), (160, 6.0)], 400)
    bands, events, _ = run(s, 400)
    assert bands == [0, 0, 0, 1, 0] and [t for t, _ in events] == [160], (bands, events)
    # 0.4 s apart: two impacts.
    s = trace([(100, 6.0), (180, 3.0)], 400)
    assert run(s, 400)[0] == [0, 1, 0, 1, 0]


def test_the_same_impacts_whatever_sample_the_stream_starts_at():
    # After the first stretch below 1.3 g of at least 0.4 s following the start, the
    # counter's state is the same from every start: the impacts from there on are equal.
    spikes = [(50, 2.0), (90, 4.0), (140, 3.0), (300, 5.0), (340, 2.0), (500, 1.8), (545, 2.6), (700, 8.0)]
    n = 900
    s = trace(spikes, n)
    _, ref, _ = run(s, n, 0, 1400)
    for start in range(0, 460, 7):
        _, got, _ = run(s, n, start, 1400)
        quiet = start
        # first sample from which 80 samples below the floor follow the start
        while any(s[3 * j + 2] >= int(1.3 * LSB) for j in range(quiet, min(n, quiet + 80))):
            quiet += 1
        assert [e for e in got if e[0] >= quiet + 80] == [e for e in ref if e[0] >= quiet + 80], (start, got, ref)


def test_every_value_stays_inside_small_ints():
    # The largest squared magnitude the sensor can report, and every threshold, are below
    # 2**30 at every range: nothing in the loop leaves the ESP32's small ints.
    for rng in (2, 4, 8, 16):
        imp = Impacts(RATE, rng, 3900)
        for v in list(imp.edge) + [imp.floor, imp.qualify]:
            assert 0 < v <= M2_MAX + 1 < (1 << 30), (rng, v)
    assert 3 * (32768 >> SHIFT) ** 2 == M2_MAX < (1 << 30)
    # Rails on all axes: counted in the top band, no overflow.
    s = array.array("h", [0] * (3 * 200))
    for i in range(200):
        s[3 * i + 2] = 2048
    s[300], s[301], s[302] = -32768, -32768, -32768
    bands, events, _ = run(s, 200)
    assert bands == [0, 0, 0, 0, 1] and len(events) == 1, (bands, events)


def test_a_full_event_array_stops_the_feed_and_loses_nothing():
    # 40 qualifying impacts in one call: the arrays hold 16; feed stops and resumes.
    spikes = [(10 + 90 * k, 5.0) for k in range(40)]
    n = 10 + 90 * 40 + 100
    s = trace(spikes, n)
    imp = Impacts(RATE, 16, 3900)
    got = 0
    i = 0
    calls = 0
    while i < n:
        i = imp.feed(s, i, n)
        got += imp.n_events
        imp.n_events = 0
        calls += 1
    imp.finish()
    got += imp.n_events
    assert got == 40 and imp.bands[2] == 40 and calls > 1, (got, list(imp.bands), calls)

