# Streaming landing detector: an integer state machine over raw accelerometer counts.
#
# This one file runs unchanged on the clip (MicroPython, ESP32) and on the desktop
# (CPython, `jumpclip replay`). It has no I/O, no clock and no hardware: time is the
# sample index, and every quantity in the per-sample loop is an integer derived from raw
# counts, so both interpreters produce identical events.
#
# Signal model (at the waist): a jump is take-off, a flight phase in which the sensor is in
# free fall (|a| near 0 g), then a landing impact (|a| several g). Push-off peaks, stomps,
# steps and sitting down hard reach the impact level too, but are not preceded by free fall,
# so a landing counts only when a long enough low-g stretch ended shortly before it.
#
# ESP32 small ints have 31 bits: every value in the loop stays inside +-2**30. Counts are
# halved before squaring, so the worst case 3 * (32768 >> 1)**2 = 805,306,368 < 2**30.

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef,misc]
        return x


SHIFT = const(1)  # raw counts >> SHIFT before squaring (see the bound above)
EVENT_CAPACITY = const(32)  # events held until the caller drains them
_FAR = const(1 << 20)  # "long ago", in samples; keeps differences far inside 2**30
MAX_INDEX = const(1 << 29)  # callers reset() before the sample index reaches this
M2_MAX = const(805306368)  # 3 * (32768 >> SHIFT)**2: the largest magnitude the sensor reports

# Accelerometer full-scale range (g) -> LSB per g (MPU6050 register map, ACCEL_CONFIG).
LSB_PER_G = {2: 16384, 4: 8192, 8: 4096, 16: 2048}

# Defaults in physical units: the "jumps" profile, tuned on real waist recordings of
# countermovement jumps and everyday movement (training subjects only; see README, `make eval`).
DEFAULTS = {
    "impact_g": 2.0,  # a landing rises above this
    "rearm_g": 1.5,  # ... and the detector re-arms only after falling below this
    "refractory_ms": 200,  # no second landing this soon after one (from its peak)
    "peak_window_ms": 40,  # the landing peak is the maximum this long after the rise
    "flight": True,  # require a flight phase before a landing
    "freefall_g": 0.55,  # |a| below this is free fall
    "min_flight_ms": 170,  # shortest flight that counts (jogging strides are shorter)
    "max_flight_ms": 1000,  # longer free fall is a drop, not a jump (0 = no limit)
    "flight_gap_ms": 30,  # brief spikes inside a flight up to this long are bridged
    "landing_window_ms": 150,  # the impact must follow the end of flight within this
    "stride_guard_ms": 0,  # reject a take-off this soon after a landing: strides (0 = off)
}

_GUARD_FLIGHT_MS = const(100)  # for the stride guard, a landing is a free fall this long...
_GUARD_IMPACT_MS = const(60)  # ...followed by an impact within this


def ms_to_samples(ms, rate_hz):
    return (int(ms) * int(rate_hz) + 500) // 1000


def mg_to_m2(mg, range_g):
    # Threshold in milli-g -> squared magnitude in (counts >> SHIFT)**2. Integer math, so a
    # single-precision float on the device and a double on the desktop give the same value.
    counts = (int(mg) * (LSB_PER_G[range_g] >> SHIFT) + 500) // 1000
    if counts > 28377:  # isqrt(M2_MAX): a level beyond what the sensor can report
        return M2_MAX
    return counts * counts


def g_to_mg(g):
    # Config values are floats; round once to integer milli-g (exact in single precision
    # for every value with at most 3 decimals).
    return int(g * 1000 + 0.5)


class Detector:
    """Feed raw int16 counts (interleaved x, y, z) in batches; collect landing events.

    Events are (landing sample index, peak squared magnitude, airtime in samples), kept
    in preallocated arrays until drained:
        i = 0
        while i < n:
            i = det.feed(samples, i, n)
            for k in range(det.n_events): use(det.ev_index[k], det.ev_peak[k], det.ev_air[k])
            det.n_events = 0
    `feed` stops early only if the event arrays fill up, so no event is ever dropped.
    """

    def __init__(self, params=None, rate_hz=200, range_g=16):
        import array

        p = dict(DEFAULTS)
        if params:
            for k in params:
                if k in p:
                    p[k] = params[k]
        self.params = p
        self.rate_hz = rate_hz
        self.range_g = range_g
        self.lsb_per_g = LSB_PER_G[range_g]
        # Thresholds converted once, here, to squared counts and sample counts.
        self.impact_m2 = mg_to_m2(g_to_mg(p["impact_g"]), range_g)
        rearm = p["rearm_g"]
        if rearm > p["impact_g"]:
            rearm = p["impact_g"]
        self.rearm_m2 = mg_to_m2(g_to_mg(rearm), range_g)
        self.refractory = ms_to_samples(p["refractory_ms"], rate_hz)
        self.peak_window = ms_to_samples(p["peak_window_ms"], rate_hz)
        self.need_flight = bool(p["flight"])
        self.freefall_m2 = mg_to_m2(g_to_mg(p["freefall_g"]), range_g)
        self.min_flight = max(1, ms_to_samples(p["min_flight_ms"], rate_hz))
        mx = ms_to_samples(p["max_flight_ms"], rate_hz)
        self.max_flight = mx if mx > 0 else _FAR
        self.flight_gap = ms_to_samples(p["flight_gap_ms"], rate_hz)
        self.window = max(ms_to_samples(p["landing_window_ms"], rate_hz), self.flight_gap)
        self.guard = ms_to_samples(p["stride_guard_ms"], rate_hz)
        self.guard_flight = max(1, ms_to_samples(_GUARD_FLIGHT_MS, rate_hz))
        self.guard_impact = ms_to_samples(_GUARD_IMPACT_MS, rate_hz)
        self.ev_index = array.array("i", [0] * EVENT_CAPACITY)
        self.ev_peak = array.array("i", [0] * EVENT_CAPACITY)
        self.ev_air = array.array("i", [0] * EVENT_CAPACITY)
        self.reset()

    def reset(self):
        """Start over at sample index 0 (a new session). Drops any undrained events."""
        self.t = 0  # index of the next sample
        self.n_events = 0
        self.armed = True
        self.pending = False  # inside a landing's peak window
        self.cross_t = -_FAR  # when the open landing rose above the impact threshold
        self.last_peak = -_FAR  # peak sample of the last landing emitted
        self.peak = 0
        self.peak_t = 0
        self.air = 0
        self.low_start = -_FAR  # current/last free-fall stretch [low_start, low_last]
        self.low_last = -_FAR
        # Stride guard: where the free fall of the last landing (counted or not) ended.
        self.first_imp = -_FAR  # first sample at the impact level after the last low sample
        self.land_end = -_FAR

    def feed(self, s, start, end):
        """Process samples start..end-1 of s (x, y, z counts at s[3*i], s[3*i+1], s[3*i+2]).

        Returns the index of the first sample not processed: `end`, or earlier when the
        event arrays are full (drain them, then call again from there).
        """
        # Locals, not attributes, inside the loop: cheaper on MicroPython, and no allocation.
        imp2 = self.impact_m2
        rearm2 = self.rearm_m2
        ff2 = self.freefall_m2
        refr = self.refractory
        pw = self.peak_window
        need_flight = self.need_flight
        minf = self.min_flight
        maxf = self.max_flight
        gap = self.flight_gap
        win = self.window
        guard = self.guard
        gflight = self.guard_flight
        gimp = self.guard_impact
        first_imp = self.first_imp
        land_end = self.land_end
        t = self.t
        armed = self.armed
        pending = self.pending
        cross_t = self.cross_t
        last_peak = self.last_peak
        peak = self.peak
        peak_t = self.peak_t
        air = self.air
        low_start = self.low_start
        low_last = self.low_last
        n_ev = self.n_events
        ev_index = self.ev_index
        ev_peak = self.ev_peak
        ev_air = self.ev_air
        cap = EVENT_CAPACITY

        # Fast path bounds: while armed with no peak open, a sample between free fall and
        # the re-arm level changes nothing. When not quiet, an empty range disables it.
        quiet_lo = ff2 if (armed and not pending) else 1
        quiet_hi = rearm2 if (armed and not pending) else 0
        j = 3 * start
        jend = 3 * end
        t_at_j0 = t - start  # t = t_at_j0 + j // 3, computed only off the fast path
        while j < jend:
            x = s[j] >> 1  # >> SHIFT (a literal here: a name lookup per sample is slower)
            y = s[j + 1] >> 1
            z = s[j + 2] >> 1
            m = x * x + y * y + z * z
            j += 3
            if quiet_lo <= m < quiet_hi:
                continue

            if n_ev >= cap:  # no room for an event this sample might close: stop here
                j -= 3
                break
            t = t_at_j0 + j // 3 - 1
            landed = -_FAR  # set when this sample is the impact that ends a free fall
            if m < ff2:
                if t - low_last > gap + 1:  # a new free-fall stretch starts here
                    low_start = t
                low_last = t
            elif m >= imp2 and first_imp <= low_last:
                first_imp = t
                if low_last - low_start + 1 >= gflight and t - low_last <= gimp:
                    landed = low_last  # a landing (a jump's or a stride's), for the guard

            if pending:
                if m > peak:
                    peak = m
                    peak_t = t
                if t - cross_t >= pw:
                    ev_index[n_ev] = peak_t
                    ev_peak[n_ev] = peak
                    ev_air[n_ev] = air
                    n_ev += 1
                    pending = False
                    last_peak = peak_t

            if m < rearm2:
                armed = True
            elif armed and m >= imp2:
                armed = False  # debounce: wait for the fall below the re-arm level
                # One landing per peak window; the refractory interval runs from its peak.
                if not pending and t - last_peak >= refr:
                    flight = low_last - low_start + 1
                    if not need_flight or (
                        minf <= flight <= maxf and t - low_last <= win and not (guard and low_start - land_end <= guard)
                    ):
                        air = flight if need_flight else 0
                        if pw == 0:
                            ev_index[n_ev] = t
                            ev_peak[n_ev] = m
                            ev_air[n_ev] = air
                            n_ev += 1
                            last_peak = t
                        else:
                            pending = True
                            cross_t = t
                            peak = m
                            peak_t = t
                        # This flight is used up: it cannot justify a second landing.
                        low_start = t - win - 1
                        low_last = t - win - 1
            if landed != -_FAR:
                land_end = landed  # after the check above: it guards the next take-off
            if armed and not pending:
                quiet_lo = ff2
                quiet_hi = rearm2
            else:
                quiet_lo = 1
                quiet_hi = 0

        i = j // 3
        t = t_at_j0 + i
        self.t = t
        self.armed = armed
        self.pending = pending
        self.cross_t = cross_t
        self.last_peak = last_peak
        self.peak = peak
        self.peak_t = peak_t
        self.air = air
        self.low_start = low_start
        self.low_last = low_last
        self.first_imp = first_imp
        self.land_end = land_end
        self.n_events = n_ev
        return i

    def finish(self):
        """End of stream: emit a landing whose peak window is still open. Returns False
        only if the event arrays are full (drain, then call again)."""
        if self.pending:
            if self.n_events >= EVENT_CAPACITY:
                return False
            k = self.n_events
            self.ev_index[k] = self.peak_t
            self.ev_peak[k] = self.peak
            self.ev_air[k] = self.air
            self.n_events = k + 1
            self.pending = False
            self.last_peak = self.peak_t
        return True

    def peak_mg(self, m2):
        """Squared-count peak -> milli-g (integer square root; not on the per-sample path)."""
        return isqrt(m2) * 1000 // (self.lsb_per_g >> SHIFT)


def height_mm(air_samples, rate_hz):
    """Jump height from flight time, the one definition (the clip's echo, replay, reports):
    h = g t^2 / 8 for a take-off and landing at the same height, g = 9.80665 m/s^2, in
    whole millimetres, rounded; integer math, so both interpreters agree to the digit.
    Called once per jump, not per sample (its intermediate may exceed a small int)."""
    d = 800 * rate_hz * rate_hz
    return (980665 * air_samples * air_samples + d // 2) // d


def isqrt(n):
    # Newton's method on integers: identical on both interpreters (no float sqrt).
    if n <= 0:
        return 0
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x
