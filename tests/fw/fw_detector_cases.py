# Detector tests that run unchanged under CPython (pytest) and the MicroPython unix port
# (tests/fw/mprun.py). Plain Python only: no numpy, no f-strings in hot code, no pytest.
import array

import detector
from detector import Detector

RATE = 200
LSB = 2048  # +-16 g


def counts_g(g):
    return int(g * LSB)


class Signal:
    """Build a vertical-axis signal sample by sample, in g (x = y = 0)."""

    def __init__(self):
        self.z = []
        self.x = {}  # sample index -> x counts (a tilted impact)

    def hold(self, g, n):
        for _ in range(n):
            self.z.append(counts_g(g))
        return len(self.z)

    def ramp(self, a, b, n):
        for k in range(n):
            self.z.append(counts_g(a + (b - a) * (k + 1) / n))
        return len(self.z)

    def jump(self, flight_samples=60, landing_g=5.0, pushoff_g=3.0, tilt=False):
        """Push-off peak, flight, landing. Returns the landing-peak sample index. A tilted
        landing brakes: its impact is as much sideways (x) as vertical, like a stride's."""
        self.ramp(1.0, pushoff_g, 10)
        self.ramp(pushoff_g, 1.0, 10)
        self.hold(0.05, flight_samples)
        start = len(self.z)
        self.ramp(0.3, landing_g, 4)
        peak = len(self.z) - 1
        self.ramp(landing_g, 1.0, 12)
        if tilt:
            for i in range(start, len(self.z)):
                self.x[i] = self.z[i] - LSB  # the dynamic part, sideways
        return peak

    def hops(self, n, flight_samples=40, contact=50, tilt_at=()):
        """A rebound series: n hops, each a flight then a landing, no pause; the hops whose
        index is in tilt_at land like a stride. Returns the landing-peak indices."""
        peaks = []
        for k in range(n):
            self.hold(0.05, flight_samples)
            start = len(self.z)
            self.ramp(0.3, 4.0, 4)
            peaks.append(len(self.z) - 1)
            self.ramp(4.0, 1.0, 12)
            if k in tilt_at:
                for i in range(start, len(self.z)):
                    self.x[i] = self.z[i] - LSB
            self.ramp(1.0, 2.5, contact // 2)  # the push into the next hop
            self.ramp(2.5, 1.0, contact - contact // 2)
        return peaks

    def samples(self):
        a = array.array("h", [0] * (3 * len(self.z)))
        for i in range(len(self.z)):
            v = self.z[i]
            a[3 * i + 2] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
            if i in self.x:
                v = self.x[i]
                a[3 * i] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
        return a


def run(det, s, n, batch=32):
    out = []
    i = 0
    while i < n:
        end = i + batch if i + batch < n else n
        while i < end:
            i = det.feed(s, i, end)
            for k in range(det.n_events):
                out.append((det.ev_index[k], det.ev_peak[k], det.ev_air[k]))
            det.n_events = 0
    while True:
        done = det.finish()
        for k in range(det.n_events):
            out.append((det.ev_index[k], det.ev_peak[k], det.ev_air[k]))
        det.n_events = 0
        if done:
            break
    return out


def test_worst_case_intermediates_fit_esp32_small_ints():
    # ESP32 small ints hold -2**30 .. 2**30 - 1; anything wider silently allocates.
    lim = 1 << 30
    for v in (-32768, 32767):
        x = v >> detector.SHIFT
        assert x * x < lim
        assert x * x + x * x < lim
        assert x * x + x * x + x * x < lim
    for rng in (2, 4, 8, 16):
        assert detector.mg_to_m2(16000, rng) < lim  # largest threshold, any range
        assert detector.mg_to_m2(16000, rng) <= detector.M2_MAX
    # Sample indices: the caller resets before MAX_INDEX; the loop's differences stay small.
    assert detector.MAX_INDEX + (1 << 20) + 1000 < lim
    det = Detector(None, 1000, 2)
    assert det.impact_m2 < lim and det.max_flight < lim
    # The context rules' sums, at every rate and range, with the config's widest ratio.
    for rate in (100, 125, 200, 250, 500, 1000):
        for rng in (2, 4, 8, 16):
            d = Detector({"vertical_ratio": 3.0}, rate, rng)
            block = 1 << d.block_shift
            assert block <= 512  # the gravity ring: at most 3 * 512 int16 (3 KB) at any rate
            assert block * 32767 < lim  # the gravity window's sums of biased half-counts (0..32767 each)
            assert 3 * block < lim
            assert (16384 << d.impact_shift) + 16384 < lim  # gravity mean times the impact window
            dd = 3 * detector.D_MAX * detector.D_MAX  # |d|^2 after the clamp
            uu = (3 * detector.G_MAX * detector.G_MAX) >> detector.UNIT
            v = (3 * detector.D_MAX * detector.G_MAX) >> detector.UNIT
            sd = dd  # each term divided by the window length, so the sum stays at one term
            sv = v * v
            assert (sd >> detector.UNIT) * uu * detector.RATIO_DEN < lim
            assert sv * d.vertical_num < lim
            assert d.gravity_shift > 0 and d.impact_dshift > 0


def test_clean_jump_counted_once_with_airtime():
    sig = Signal()
    sig.hold(1.0, 200)
    peak = sig.jump(flight_samples=60, landing_g=5.0)
    sig.hold(1.0, 100)
    ev = run(Detector(None, RATE, 16), sig.samples(), len(sig.z))
    assert len(ev) == 1
    assert ev[0][0] == peak
    assert 58 <= ev[0][2] <= 62  # airtime in samples: the 60-sample flight


def test_pushoff_and_stomp_without_flight_are_not_counted():
    sig = Signal()
    sig.hold(1.0, 50)
    sig.ramp(1.0, 6.0, 8)  # a stomp: big impact, no free fall before it
    sig.ramp(6.0, 1.0, 12)
    sig.hold(1.0, 50)
    ev = run(Detector(None, RATE, 16), sig.samples(), len(sig.z))
    assert ev == []


def test_flight_check_can_be_switched_off():
    sig = Signal()
    sig.hold(1.0, 50)
    sig.ramp(1.0, 6.0, 8)
    sig.ramp(6.0, 1.0, 12)
    sig.hold(1.0, 50)
    ev = run(Detector({"flight": False}, RATE, 16), sig.samples(), len(sig.z))
    assert len(ev) == 1 and ev[0][2] == 0


def test_too_short_flight_is_a_stride_not_a_jump():
    sig = Signal()
    sig.hold(1.0, 50)
    sig.jump(flight_samples=10)  # 50 ms: a jogging stride
    sig.hold(1.0, 50)
    assert run(Detector(None, RATE, 16), sig.samples(), len(sig.z)) == []


def test_events_do_not_depend_on_batch_boundaries():
    sig = Signal()
    sig.hold(1.0, 237)
    for f in (40, 55, 70, 90):
        sig.jump(flight_samples=f)
        sig.hold(1.0, 241)
    sig.hops(8, flight_samples=30)
    sig.hold(1.0, 41)
    s = sig.samples()
    n = len(sig.z)
    ref = run(Detector(None, RATE, 16), s, n, batch=n)
    assert len(ref) == 12
    for b in (1, 2, 3, 7, 32, 170):
        assert run(Detector(None, RATE, 16), s, n, batch=b) == ref


def test_full_event_buffer_loses_nothing():
    # No flight check, no refractory, the shortest peak window (the 40 ms impact window):
    # every rise is a landing.
    sig = Signal()
    for _ in range(3 * detector.EVENT_CAPACITY):
        sig.hold(1.0, 9)
        sig.hold(4.0, 1)
    params = {"flight": False, "refractory_ms": 0, "peak_window_ms": 0}
    ev = run(Detector(params, RATE, 16), sig.samples(), len(sig.z), batch=len(sig.z))
    assert len(ev) == 3 * detector.EVENT_CAPACITY


def test_clipped_landing_still_counts():
    sig = Signal()
    sig.hold(1.0, 200)
    peak = sig.jump(flight_samples=60, landing_g=30.0)  # beyond +-16 g: clipped at 32767
    sig.hold(1.0, 50)
    ev = run(Detector(None, RATE, 16), sig.samples(), len(sig.z))
    assert len(ev) == 1
    assert ev[0][0] <= peak
    assert ev[0][1] == (32767 >> 1) * (32767 >> 1)


def test_reset_starts_a_new_session_at_index_zero():
    sig = Signal()
    sig.hold(1.0, 200)
    peak = sig.jump()
    sig.hold(1.0, 30)
    det = Detector(None, RATE, 16)
    a = run(det, sig.samples(), len(sig.z))
    det.reset()
    b = run(det, sig.samples(), len(sig.z))
    assert a == b and a[0][0] == peak


def test_thresholds_are_integers_from_physical_units():
    det = Detector({"impact_g": 2.5, "freefall_g": 0.45, "refractory_ms": 250}, 1000, 8)
    assert det.impact_m2 == (2500 * 2048 // 1000) ** 2
    assert det.freefall_m2 == ((450 * 2048 + 500) // 1000) ** 2
    assert det.refractory == 250
    assert Detector({"refractory_ms": 250}, 200, 16).refractory == 50


def test_isqrt():
    for n in (0, 1, 2, 3, 4, 15, 16, 17, 99980001, 805306368):
        r = detector.isqrt(n)
        assert r * r <= n < (r + 1) * (r + 1)


def test_jump_height_is_one_integer_definition():
    import detector

    # h = g t^2 / 8: a 0.5 s flight is 306.5 mm (9.80665 * 0.25 / 8 m), rounded to 306.
    assert detector.height_mm(100, 200) == 306
    assert detector.height_mm(0, 200) == 0
    assert detector.height_mm(200, 200) == 1226  # 1 s of flight: 1.2258 m
    # Whole millimetres at every rate, the same on the clip and the desktop.
    for rate in (100, 125, 200, 250, 500, 1000):
        for air in (1, 37, 150, 999, 3000):
            exact = 9.80665 * (air / rate) ** 2 / 8 * 1000
            assert abs(detector.height_mm(air, rate) - exact) <= 0.5 + 1e-9


def test_a_jump_from_stillness_counts_and_the_same_jump_after_movement_does_not():
    # 120 ms of flight: short enough that only its context can make it a jump.
    def one(before):
        sig = Signal()
        sig.hold(1.0, before)
        sig.ramp(1.0, 3.0, 4)  # movement (e.g. a step), then stillness of `before` samples
        sig.ramp(3.0, 1.0, 4)
        sig.hold(1.0, before)
        peak = sig.jump(flight_samples=24)
        sig.hold(1.0, 100)
        return peak, run(Detector(None, RATE, 16), sig.samples(), len(sig.z))

    peak, ev = one(200)  # 1 s still before the push-off: a jump on its own
    assert [e[0] for e in ev] == [peak]
    assert one(40)[1] == []  # 0.2 s after moving: neither alone nor in a series


def test_the_start_of_the_stream_is_not_stillness():
    sig = Signal()
    sig.hold(1.0, 20)
    sig.jump(flight_samples=24)  # 0.1 s into the stream: nothing known about before
    sig.hold(1.0, 100)
    assert run(Detector(None, RATE, 16), sig.samples(), len(sig.z)) == []
    # ... but a long flight counts wherever it is (a drop landing, a box jump); this early,
    # with no gravity measured yet, its direction is taken as vertical.
    sig = Signal()
    sig.hold(1.0, 20)
    peak = sig.jump(flight_samples=60)
    sig.hold(1.0, 100)
    assert [e[0] for e in run(Detector(None, RATE, 16), sig.samples(), len(sig.z))] == [peak]


def test_a_rebound_series_counts_every_hop_once_it_has_proved_itself():
    sig = Signal()
    sig.hold(1.0, 200)
    peaks = sig.hops(12, flight_samples=34)  # 170 ms flights, no stillness between them
    sig.hold(1.0, 100)
    det = Detector(None, RATE, 16)
    ev = run(det, sig.samples(), len(sig.z))
    assert [e[0] for e in ev] == peaks  # the first ones were held, then counted in order
    # One hop fewer than series_min is not yet a series: none counts.
    sig = Signal()
    sig.hold(1.0, 200)
    sig.hops(det.series_min - 1, flight_samples=34)
    sig.hold(1.0, 100)
    assert run(Detector(None, RATE, 16), sig.samples(), len(sig.z)) == []


def nine_hops(tilt_at):
    sig = Signal()
    sig.hold(1.0, 200)
    peaks = sig.hops(9, flight_samples=34, tilt_at=tilt_at)
    sig.hold(1.0, 100)
    return sig, peaks


def test_a_tilted_landing_breaks_a_series_when_no_tilt_is_allowed():
    sig, peaks = nine_hops((4,))  # the fifth lands like a stride
    strict = {"series_min": 5, "series_tilts": 0}
    ev = run(Detector(strict, RATE, 16), sig.samples(), len(sig.z))
    # Hops 1-4 were held and are dropped with the tilted fifth; 6-9 are four, one short.
    assert ev == []
    # The same with series_min 4: hops 1-4 and hops 6-9 are two series, and count; the
    # tilted fifth between them does not.
    ev = run(Detector({"series_min": 4, "series_tilts": 0}, RATE, 16), sig.samples(), len(sig.z))
    assert [e[0] for e in ev] == peaks[:4] + peaks[5:]


def test_a_series_window_allows_series_tilts_tilted_landings():
    five = {"series_min": 5, "series_tilts": 1}  # (the default is 0: test_a_tilted_landing_breaks...)
    # The fifth tilted: the window of hops 1-5 has one tilted landing, a series; every
    # later window too. All nine count, the tilted one with them.
    sig, peaks = nine_hops((4,))
    ev = run(Detector(five, RATE, 16), sig.samples(), len(sig.z))
    assert [e[0] for e in ev] == peaks
    # The fifth and sixth tilted: hops 1-5 are a series; every window with both is not,
    # and hops 7-9 are too few for a window of their own.
    sig, peaks = nine_hops((4, 5))
    ev = run(Detector(five, RATE, 16), sig.samples(), len(sig.z))
    assert [e[0] for e in ev] == peaks[:5]
    # The third and the seventh tilted: windows with one of them are series, and together
    # they cover every hop.
    sig, peaks = nine_hops((2, 6))
    ev = run(Detector(five, RATE, 16), sig.samples(), len(sig.z))
    assert [e[0] for e in ev] == peaks
    # Two tilted landings allowed: the fifth and sixth are one window's two.
    sig, peaks = nine_hops((4, 5))
    ev = run(Detector({"series_min": 5, "series_tilts": 2}, RATE, 16), sig.samples(), len(sig.z))
    assert [e[0] for e in ev] == peaks


def test_a_long_flight_series_counts_however_its_landings_are_tilted():
    # Half a window's flights at series_long_ms (220 ms: 44 samples) or more: a series, tilted
    # or not (people who land tilted: docs/detector.md). Hops of 230 ms (under the single
    # long-flight rule's 250) with every other one tilted count, every one; with the rule
    # off, or with 170 ms flights, none does.
    def hops(flights, tilted):
        sig = Signal()
        sig.hold(1.0, 200)
        peaks = []
        for k, f in enumerate(flights):
            peaks += sig.hops(1, flight_samples=f, tilt_at=(0,) if k in tilted else ())
        sig.hold(1.0, 100)
        return sig, peaks

    def events(sig, cfg=None):
        return [e[0] for e in run(Detector(cfg, RATE, 16), sig.samples(), len(sig.z))]

    sig, peaks = hops([46] * 9, (1, 3, 5, 7))
    assert events(sig) == peaks
    assert events(sig, {"series_long_ms": 0}) == []
    sig, peaks = hops([34] * 9, (1, 3, 5, 7))  # a short-flight series asks for upright landings
    assert events(sig) == []
    # Three of six at exactly the limit make the window (every landing tilted); one sample
    # less on one of them, and it does not.
    edge = Detector(None, RATE, 16).series_long
    sig, peaks = hops([edge, 30, edge, 30, edge, 30], range(6))
    assert events(sig) == peaks
    sig, peaks = hops([edge - 1, 30, edge, 30, edge, 30], range(6))
    assert events(sig) == []


def test_a_pause_longer_than_the_series_gap_starts_a_new_series():
    # Four hops, a pause of 1.5 s (no stillness: the wearer sways at 1.6 g), four more:
    # with series_min 5, no window of five hops without a new beginning inside it.
    sig = Signal()
    sig.hold(1.0, 200)
    sig.hops(4, flight_samples=34)
    for _ in range(30):
        sig.hold(1.6, 5)
        sig.hold(1.0, 5)
    sig.hops(4, flight_samples=34)
    sig.hold(1.0, 100)
    assert run(Detector({"series_min": 5}, RATE, 16), sig.samples(), len(sig.z)) == []
    # With series_min 4, each group is a series of its own.
    assert len(run(Detector({"series_min": 4}, RATE, 16), sig.samples(), len(sig.z))) == 8


def test_finish_decides_a_window_open_at_the_end_of_the_stream():
    sig = Signal()
    sig.hold(1.0, 200)
    sig.ramp(1.0, 3.0, 10)
    sig.ramp(3.0, 1.0, 10)
    sig.hold(0.05, 60)
    sig.ramp(0.3, 5.0, 4)  # the stream ends 3 samples into the landing
    det = Detector(None, RATE, 16)
    ev = run(det, sig.samples(), len(sig.z))
    assert len(ev) == 1 and ev[0][0] == len(sig.z) - 1 and not det.pending
