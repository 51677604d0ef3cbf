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

    def hold(self, g, n):
        for _ in range(n):
            self.z.append(counts_g(g))
        return len(self.z)

    def ramp(self, a, b, n):
        for k in range(n):
            self.z.append(counts_g(a + (b - a) * (k + 1) / n))
        return len(self.z)

    def jump(self, flight_samples=60, landing_g=5.0, pushoff_g=3.0):
        """Push-off peak, flight, landing. Returns the landing-peak sample index."""
        self.ramp(1.0, pushoff_g, 10)
        self.ramp(pushoff_g, 1.0, 10)
        self.hold(0.05, flight_samples)
        self.ramp(0.3, landing_g, 4)
        peak = len(self.z) - 1
        self.ramp(landing_g, 1.0, 12)
        return peak

    def samples(self):
        a = array.array("h", [0] * (3 * len(self.z)))
        for i in range(len(self.z)):
            v = self.z[i]
            a[3 * i + 2] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
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


def test_clean_jump_counted_once_with_airtime():
    sig = Signal()
    sig.hold(1.0, 100)
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
    sig.hold(1.0, 37)
    for f in (40, 55, 70, 90):
        sig.jump(flight_samples=f)
        sig.hold(1.0, 41)
    s = sig.samples()
    n = len(sig.z)
    ref = run(Detector(None, RATE, 16), s, n, batch=n)
    assert len(ref) == 4
    for b in (1, 2, 3, 7, 32, 170):
        assert run(Detector(None, RATE, 16), s, n, batch=b) == ref


def test_full_event_buffer_loses_nothing():
    # No flight check, no refractory, no peak window: every rise is a landing.
    sig = Signal()
    for _ in range(3 * detector.EVENT_CAPACITY):
        sig.hold(1.0, 2)
        sig.hold(4.0, 1)
    params = {"flight": False, "refractory_ms": 0, "peak_window_ms": 0}
    ev = run(Detector(params, RATE, 16), sig.samples(), len(sig.z), batch=len(sig.z))
    assert len(ev) == 3 * detector.EVENT_CAPACITY


def test_clipped_landing_still_counts():
    sig = Signal()
    sig.hold(1.0, 50)
    peak = sig.jump(flight_samples=60, landing_g=30.0)  # beyond +-16 g: clipped at 32767
    sig.hold(1.0, 50)
    ev = run(Detector(None, RATE, 16), sig.samples(), len(sig.z))
    assert len(ev) == 1
    assert ev[0][0] <= peak
    assert ev[0][1] == (32767 >> 1) * (32767 >> 1)


def test_reset_starts_a_new_session_at_index_zero():
    sig = Signal()
    sig.hold(1.0, 30)
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
