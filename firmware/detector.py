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
SERIES_MAX = const(10)  # the largest series_min: the window of candidates (a decision emits up to this many events)
_FAR = const(1 << 20)  # "long ago", in samples; keeps differences far inside 2**30
MAX_INDEX = const(1 << 29)  # callers reset() before the sample index reaches this
M2_MAX = const(805306368)  # 3 * (32768 >> SHIFT)**2: the largest magnitude the sensor reports

# Accelerometer full-scale range (g) -> LSB per g (MPU6050 register map, ACCEL_CONFIG).
LSB_PER_G = {2: 16384, 4: 8192, 8: 4096, 16: 2048}

# Defaults in physical units, chosen by leave-one-subject-out cross-validation on real waist
# recordings (docs/detector.md; `make eval` prints the result per activity).
DEFAULTS = {
    "impact_g": 1.8,  # a landing rises above this
    "rearm_g": 1.5,  # ... and the detector re-arms only after falling below this
    "refractory_ms": 200,  # no second landing this soon after one (from its peak)
    "peak_window_ms": 160,  # the landing peak is the maximum this long after the rise
    "flight": True,  # require a flight phase before a landing
    "freefall_g": 0.55,  # |a| below this is free fall
    "min_flight_ms": 100,  # shortest flight of a jump on its own
    "series_flight_ms": 140,  # shortest flight of a landing in a rebound series
    "max_flight_ms": 1000,  # longer free fall is a drop, not a jump (0 = no limit)
    "flight_gap_ms": 60,  # brief spikes inside a flight up to this long are bridged
    "landing_window_ms": 150,  # the impact must follow the end of flight within this
    "isolation_ms": 1000,  # this still before the push-off: a jump on its own
    "series_min": 6,  # vertical landings in a row before a rebound series counts
    "vertical_ratio": 0.5,  # a vertical landing: horizontal/vertical impact at most this
    "long_flight_ms": 250,  # a vertical landing after a flight this long counts (0 = off)
    "series_tilts": 0,  # tilted landings among the series_min of a short-flight series
    "series_long_ms": 220,  # half a window's flights this long: a series, tilted or not (0 = off)
}

# Fixed parts of the rule (not settings: they describe the body, not the wearer).
_CONTEXT_FLIGHT_MS = const(60)  # a shorter free fall is no landing at all, not even a stride
_SERIES_GAP_MS = const(1500)  # landings further apart are no rebound series (hops 0.4-0.7 s apart, double-unders ~1.2)
_PUSH_MS = const(350)  # activity this close before the take-off is its push-off
_CLUSTER_GAP_MS = const(100)  # samples at the re-arm level this close are one movement
_GRAVITY_MS = const(1280)  # gravity: the mean of a sliding window this long, ending at the take-off
_GRAVITY_MAX_SHIFT = const(9)  # ... at most 512 samples (1000 Hz: 512 ms), so the ring stays small
_RING_BIAS = const(16384)  # the ring holds half-counts + this: non-negative, so 16-bit loads need no sign
_IMPACT_MS = const(40)  # the impact window, from the rise, over which verticality is measured
UNIT = const(5)  # verticality works in 1/32 g (2**5): coarse enough for 31-bit ints
D_MAX = const(255)  # dynamic impact clamp, 1/32 g (8 g)
G_MAX = const(63)  # gravity clamp, 1/32 g (2 g)
RATIO_DEN = const(16)  # vertical_ratio is applied as (1 + ratio**2) in 16ths


# The detector's state and settings live in two int arrays, so that a call reads and writes
# them by index (cheap, also for the clip's compiled copy) instead of by attribute name.
_P_IMP2 = const(0)
_P_REARM2 = const(1)
_P_FF2 = const(2)
_P_REFR = const(3)
_P_PW = const(4)
_P_NEED_FLIGHT = const(5)
_P_MINF = const(6)
_P_SERF = const(7)
_P_CTXF = const(8)
_P_MAXF = const(9)
_P_LONGF = const(10)
_P_GAP = const(11)
_P_WIN = const(12)
_P_ISO = const(13)
_P_NSER = const(14)
_P_VNUM = const(15)
_P_PUSH = const(16)
_P_CGAP = const(17)
_P_BSH = const(18)
_P_VSH = const(19)
_P_GSH = const(20)
_P_DSH = const(21)
_P_TILTS = const(22)
_P_SGAP = const(23)
_P_SLONG = const(24)
_N_PARAMS = const(25)
_F_TILTED = const(1)  # ser_flag bits: the candidate's impact was tilted
_F_SERIES_FLIGHT = const(2)  # ... it flew at least series_flight
_F_BEGINS = const(4)  # ... it came after stillness or series_gap after the one before
_F_DONE = const(8)  # ... it was counted (or can no longer be)
_F_LONG = const(16)  # ... it flew at least series_long
_S_CROSS_T = const(0)  # when the open landing rose above the impact threshold
_S_LAST_PEAK = const(1)  # peak sample of the last landing emitted
_S_PEAK = const(2)  # the open landing's peak so far
_S_PEAK_T = const(3)  # ... and its sample
_S_AIR = const(4)  # its flight, in samples
_S_LOW_START = const(5)  # current/last free-fall stretch [low_start, low_last]
_S_LOW_LAST = const(6)
_S_RING_I = const(7)  # gravity: where the next sample goes in the ring (index into 3 * window)
_S_SX = const(8)  # the ring's sums (biased half-counts): the sliding window's sums
_S_SY = const(9)
_S_SZ = const(10)
_S_GX = const(11)  # at each take-off: gravity (the window's sums, unbiased)
_S_GY = const(12)
_S_GZ = const(13)
_S_STILL = const(14)  # ... how long the wearer was still before the push-off
_S_PUSHED = const(15)  # ... whether a push-off came just before
_S_HI_LAST = const(16)  # movement clusters (samples at the re-arm level): the last such sample
_S_CL_START = const(17)  # the current cluster's start
_S_CL_PREV_END = const(18)  # the previous cluster's end
_S_GMX = const(19)  # the open landing: gravity's mean per sample (half-counts)
_S_GMY = const(20)
_S_GMZ = const(21)
_S_UX = const(22)  # ... gravity's direction in 1/32 g
_S_UY = const(23)
_S_UZ = const(24)
_S_UU = const(25)  # ... its squared length >> UNIT
_S_SD = const(26)  # ... the impact window's sum of |d|^2
_S_SV = const(27)  # ... and of (d . u)^2
_S_ISOLATED = const(28)  # ... its take-off pushed off from stillness (0/1)
_S_CALM = const(29)  # ... its take-off came after stillness (0/1)
_S_RPOS = const(30)  # the series window (ser_* arrays, a ring of series_min): where the next candidate goes
_S_RN = const(31)  # ... how many candidates it holds (up to series_min)
_S_PREV_PEAK = const(32)  # the previous candidate's peak sample
_N_STATE = const(33)


def ms_to_samples(ms, rate_hz):
    return (int(ms) * int(rate_hz) + 500) // 1000


def log2_floor(n):
    """The largest k with 2**k <= n (n >= 1): window lengths are powers of two so that means
    are shifts, identical on every interpreter and in viper."""
    k = 0
    while (2 << k) <= n:
        k += 1
    return k


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

    A landing candidate is a free fall of at least 60 ms ended by an impact. It counts when
      - it is isolated: still for isolation_ms before its push-off, the flight at least
        min_flight_ms (a jump on its own: countermovement, box, gentle jumps);
      - or it is part of a rebound series: series_min candidates in a row (hops, skipping,
        repeated jumps), each flying at least series_flight_ms, at most series_tilts of
        them tilted; a candidate waits (up to series_min - 1 candidates) for the window
        that proves it;
      - or it is vertical after a flight of at least long_flight_ms.
    Jogging strides fail all three: never still before, rarely vertical for several in a
    row (the stride brakes and sways), and their flights are short. "Vertical" compares the
    impact's mean dynamic acceleration with the gravity measured before take-off.

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
        self.need_flight = bool(p["flight"])
        self.freefall_m2 = mg_to_m2(g_to_mg(p["freefall_g"]), range_g)
        self.min_flight = max(1, ms_to_samples(p["min_flight_ms"], rate_hz))
        self.series_flight = max(1, ms_to_samples(p["series_flight_ms"], rate_hz))
        self.context_flight = min(self.min_flight, self.series_flight, max(1, ms_to_samples(_CONTEXT_FLIGHT_MS, rate_hz)))
        mx = ms_to_samples(p["max_flight_ms"], rate_hz)
        self.max_flight = mx if mx > 0 else _FAR
        lf = ms_to_samples(p["long_flight_ms"], rate_hz)
        self.long_flight = lf if lf > 0 else _FAR
        self.flight_gap = ms_to_samples(p["flight_gap_ms"], rate_hz)
        self.window = max(ms_to_samples(p["landing_window_ms"], rate_hz), self.flight_gap)
        self.isolation = ms_to_samples(p["isolation_ms"], rate_hz)
        self.series_min = min(max(1, int(p["series_min"])), SERIES_MAX)
        self.series_tilts = min(max(0, int(p["series_tilts"])), 3)
        self.series_gap = ms_to_samples(_SERIES_GAP_MS, rate_hz)
        sl = ms_to_samples(p["series_long_ms"], rate_hz)
        self.series_long = sl if sl > 0 else _FAR
        # (1 + ratio**2) in 16ths, rounded; the verticality test compares squares.
        r = g_to_mg(p["vertical_ratio"])
        self.vertical_num = RATIO_DEN + (r * r * RATIO_DEN + 500000) // 1000000
        self.push = ms_to_samples(_PUSH_MS, rate_hz)
        self.cluster_gap = ms_to_samples(_CLUSTER_GAP_MS, rate_hz)
        # Power-of-two windows: gravity over a sliding window of 2**block_shift samples, the
        # impact's mean over 2**impact_shift samples. The peak window is at least the impact
        # window, so the decision at its end has the whole impact.
        self.block_shift = min(_GRAVITY_MAX_SHIFT, log2_floor(max(1, ms_to_samples(_GRAVITY_MS, rate_hz))))
        self.impact_shift = log2_floor(max(1, ms_to_samples(_IMPACT_MS, rate_hz)))
        self.peak_window = max(ms_to_samples(p["peak_window_ms"], rate_hz), 1 << self.impact_shift)
        # Shifts that bring sums to 1/32 g: half-counts per g is 2**hc.
        hc = log2_floor(self.lsb_per_g >> SHIFT)
        self.gravity_shift = self.block_shift + hc - UNIT  # the window's sum -> 1/32 g
        self.impact_dshift = hc - UNIT  # one sample -> 1/32 g
        self.ev_index = array.array("i", [0] * EVENT_CAPACITY)
        self.ev_peak = array.array("i", [0] * EVENT_CAPACITY)
        self.ev_air = array.array("i", [0] * EVENT_CAPACITY)
        self.ser_index = array.array("i", [0] * SERIES_MAX)
        self.ser_peak = array.array("i", [0] * SERIES_MAX)
        self.ser_air = array.array("i", [0] * SERIES_MAX)
        self.ser_flag = array.array("i", [0] * SERIES_MAX)  # _F_* bits of each candidate
        self.pad = array.array("h", [0, 0, 0])  # finish(): one still sample
        # The gravity window's samples (x, y, z interleaved), biased: allocated once.
        self.ring = array.array("h", [_RING_BIAS] * (3 << self.block_shift))
        prm = [0] * _N_PARAMS
        prm[_P_IMP2] = self.impact_m2
        prm[_P_REARM2] = self.rearm_m2
        prm[_P_FF2] = self.freefall_m2
        prm[_P_REFR] = self.refractory
        prm[_P_PW] = self.peak_window
        prm[_P_NEED_FLIGHT] = 1 if self.need_flight else 0
        prm[_P_MINF] = self.min_flight
        prm[_P_SERF] = self.series_flight
        prm[_P_CTXF] = self.context_flight
        prm[_P_MAXF] = self.max_flight
        prm[_P_LONGF] = self.long_flight
        prm[_P_GAP] = self.flight_gap
        prm[_P_WIN] = self.window
        prm[_P_ISO] = self.isolation
        prm[_P_NSER] = self.series_min
        prm[_P_VNUM] = self.vertical_num
        prm[_P_PUSH] = self.push
        prm[_P_CGAP] = self.cluster_gap
        prm[_P_BSH] = self.block_shift
        prm[_P_VSH] = self.impact_shift
        prm[_P_GSH] = self.gravity_shift
        prm[_P_DSH] = self.impact_dshift
        prm[_P_TILTS] = self.series_tilts
        prm[_P_SGAP] = self.series_gap
        prm[_P_SLONG] = self.series_long
        self.prm = array.array("i", prm)
        self.st = array.array("i", [0] * _N_STATE)
        self.reset()

    def reset(self):
        """Start over at sample index 0 (a new session). Drops any undrained events."""
        self.t = 0  # index of the next sample
        self.n_events = 0
        self.armed = True
        self.pending = False  # inside a landing's peak window
        st = self.st
        for k in range(_N_STATE):
            st[k] = 0
        st[_S_CROSS_T] = -_FAR
        st[_S_LAST_PEAK] = -_FAR
        st[_S_LOW_START] = -_FAR
        st[_S_LOW_LAST] = -_FAR
        st[_S_PREV_PEAK] = -_FAR
        # The gravity window starts full of zero acceleration (the bias), so its sums are
        # exact from the first sample on: a shorter mean while the stream is younger than
        # the window, then the mean of the last 2**block_shift samples, whatever sample the
        # stream started at (no block boundaries: the decisions do not depend on the start).
        ring = self.ring
        for k in range(len(ring)):
            ring[k] = _RING_BIAS
        w = (1 << self.block_shift) * _RING_BIAS
        st[_S_SX] = w
        st[_S_SY] = w
        st[_S_SZ] = w
        # Movement clusters start at 0: the stream's start counts as movement. Nothing is
        # known about before it, so nothing there proves stillness.

    def feed(self, s, start, end):
        """Process samples start..end-1 of s (x, y, z counts at s[3*i], s[3*i+1], s[3*i+2]).

        Returns the index of the first sample not processed: `end`, or earlier when the
        event arrays are full (drain them, then call again from there).
        """
        # Locals, not attributes, inside the loop: cheaper on MicroPython, and no allocation.
        prm = self.prm
        st = self.st
        imp2 = prm[_P_IMP2]
        rearm2 = prm[_P_REARM2]
        ff2 = prm[_P_FF2]
        refr = prm[_P_REFR]
        pw = prm[_P_PW]
        need_flight = prm[_P_NEED_FLIGHT]
        minf = prm[_P_MINF]
        serf = prm[_P_SERF]
        ctxf = prm[_P_CTXF]
        maxf = prm[_P_MAXF]
        longf = prm[_P_LONGF]
        gap = prm[_P_GAP]
        win = prm[_P_WIN]
        iso = prm[_P_ISO]
        nser = prm[_P_NSER]
        vnum = prm[_P_VNUM]
        push = prm[_P_PUSH]
        cgap = prm[_P_CGAP]
        bsh = prm[_P_BSH]
        vsh = prm[_P_VSH]
        vn = 1 << vsh
        gsh = prm[_P_GSH]
        dsh = prm[_P_DSH]
        tilts = prm[_P_TILTS]
        t = self.t
        armed = self.armed
        pending = self.pending
        cross_t = st[_S_CROSS_T]
        last_peak = st[_S_LAST_PEAK]
        peak = st[_S_PEAK]
        peak_t = st[_S_PEAK_T]
        air = st[_S_AIR]
        low_start = st[_S_LOW_START]
        low_last = st[_S_LOW_LAST]
        ri = st[_S_RING_I]
        sx = st[_S_SX]
        sy = st[_S_SY]
        sz = st[_S_SZ]
        gx = st[_S_GX]
        gy = st[_S_GY]
        gz = st[_S_GZ]
        still = st[_S_STILL]
        pushed = st[_S_PUSHED]
        hi_last = st[_S_HI_LAST]
        cl_start = st[_S_CL_START]
        cl_prev_end = st[_S_CL_PREV_END]
        gmx = st[_S_GMX]
        gmy = st[_S_GMY]
        gmz = st[_S_GMZ]
        ux = st[_S_UX]
        uy = st[_S_UY]
        uz = st[_S_UZ]
        uu = st[_S_UU]
        sd = st[_S_SD]
        sv = st[_S_SV]
        rpos = st[_S_RPOS]
        rn = st[_S_RN]
        prev_peak = st[_S_PREV_PEAK]
        isolated = st[_S_ISOLATED]
        calm = st[_S_CALM]
        n_ev = self.n_events
        ev_index = self.ev_index
        ev_peak = self.ev_peak
        ev_air = self.ev_air
        room = EVENT_CAPACITY - nser  # a decision emits at most nser events
        ser_index = self.ser_index
        ser_peak = self.ser_peak
        ser_air = self.ser_air
        ser_flag = self.ser_flag
        sgap = prm[_P_SGAP]
        slong = prm[_P_SLONG]
        ring = self.ring
        rend = 3 << bsh
        gbias = _RING_BIAS << bsh  # the window's sums at zero acceleration

        # Fast path bounds: while armed with no peak open, a sample between free fall and
        # the re-arm level changes nothing but the gravity sums. When not quiet, an empty
        # range disables it.
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
            quiet = quiet_lo <= m < quiet_hi
            if not quiet and n_ev > room:  # no room for the events this sample might close: stop here
                break
            j += 3
            # Gravity: each sample enters the sliding window and the oldest one leaves it.
            o = ring[ri]
            ring[ri] = x + 16384  # + _RING_BIAS (a literal here, like the shift above)
            sx += x + 16384 - o
            o = ring[ri + 1]
            ring[ri + 1] = y + 16384
            sy += y + 16384 - o
            o = ring[ri + 2]
            ring[ri + 2] = z + 16384
            sz += z + 16384 - o
            ri += 3
            if ri == rend:
                ri = 0
            if quiet:
                continue

            t = t_at_j0 + j // 3 - 1
            if m < ff2:
                if t - low_last > gap + 1:
                    # A new free-fall stretch: a take-off. Note gravity, and how still the
                    # wearer was before the push-off (or before the take-off, if none).
                    low_start = t
                    gx = sx - gbias
                    gy = sy - gbias
                    gz = sz - gbias
                    if t - hi_last <= push:
                        still = cl_start - cl_prev_end
                        pushed = 1
                    else:
                        still = t - hi_last
                        pushed = 0
                low_last = t
            elif m >= rearm2:
                if t - hi_last > cgap:  # a new movement starts
                    cl_start = t
                    cl_prev_end = hi_last
                    if t - low_last <= win and low_last - low_start >= serf:
                        cl_prev_end = t  # ... as a hop's landing: it ends no stillness
                hi_last = t

            if pending:
                if m > peak:
                    peak = m
                    peak_t = t
                if t - cross_t >= pw:
                    pending = False
                    # The decision. Vertical when the impact's horizontal part is at most
                    # vertical_ratio of its vertical part, summed over the impact window:
                    # sum |d|^2 |u|^2 <= (1 + ratio^2) sum (d . u)^2 (see the sums below).
                    vertical = uu == 0  # no gravity (a window of zero mean): unknown, not tilted
                    if sv > 0 and (sd >> UNIT) * uu * RATIO_DEN <= sv * vnum:
                        vertical = True
                    # The series window: the last series_min landing candidates. It is a
                    # rebound series when each flew at least series_flight, at most
                    # series_tilts of them were tilted (a hop that swayed, a phone that
                    # turned in the pocket), and none after the first began anew (after
                    # stillness, or series_gap after the one before). Then each of them
                    # counts, once. Only the last candidates decide, so the count does not
                    # depend on where the stream started (docs/detector.md).
                    f = 0
                    if not vertical:
                        f = _F_TILTED
                    if air >= serf:
                        f += _F_SERIES_FLIGHT
                    if air >= slong:
                        f += _F_LONG
                    if calm or peak_t - prev_peak > sgap:
                        f += _F_BEGINS
                    prev_peak = peak_t
                    # Candidates before this one that a window with it may still count: a
                    # long flight among them waits for its window (counting it at once would
                    # put it before them).
                    waiting = 0
                    if (f & _F_BEGINS) == 0:
                        k = 0
                        while k < rn:
                            if (ser_flag[k] & (_F_DONE | _F_SERIES_FLIGHT)) == _F_SERIES_FLIGHT:
                                waiting += 1
                            k += 1
                    ser_index[rpos] = peak_t
                    ser_peak[rpos] = peak
                    ser_air[rpos] = air
                    ser_flag[rpos] = f
                    rpos += 1
                    if rpos == nser:
                        rpos = 0
                    if rn < nser:
                        rn += 1
                    series = 0
                    if rn == nser:
                        # Two ways a window is a series; neither may begin anew after its
                        # first candidate. Each flew series_flight and at most series_tilts
                        # were tilted; or at least half of them flew series_long, whichever
                        # way they landed: jogging strides rarely fly that long (the rule
                        # adds no jogging count on the dev recordings: make eval, table 4, LOSO),
                        # while people who land tilted do (docs/detector.md). A count over the
                        # window, so no single landing decides it.
                        series = 1
                        tilted_n = 0
                        long_n = 0
                        k = 0
                        q = rpos  # the oldest candidate of the window
                        while k < nser:
                            g = ser_flag[q]
                            if (g & _F_SERIES_FLIGHT) == 0:
                                tilted_n += 4  # (more than any series_tilts: not this way)
                            if k > 0 and (g & _F_BEGINS) != 0:
                                series = 0
                            tilted_n += g & _F_TILTED
                            long_n += (g & _F_LONG) >> 4
                            q += 1
                            if q == nser:
                                q = 0
                            k += 1
                        if tilted_n > tilts and 2 * long_n < nser:
                            series = 0
                    if series:
                        # Every candidate of the window not counted yet counts, in order.
                        e = 0
                        q = rpos
                        while e < nser:
                            g = ser_flag[q]
                            if (g & _F_DONE) == 0:
                                ev_index[n_ev] = ser_index[q]
                                ev_peak[n_ev] = ser_peak[q]
                                ev_air[n_ev] = ser_air[q]
                                n_ev += 1
                                ser_flag[q] = g | _F_DONE
                            q += 1
                            if q == nser:
                                q = 0
                            e += 1
                    elif (
                        not need_flight
                        or (vertical and air >= longf and waiting == 0)
                        or (isolated and air >= minf)
                    ):
                        # A jump on its own. The candidates before it are no series' part
                        # any more (a later window counting them would count out of order).
                        k = 0
                        while k < nser:
                            ser_flag[k] = ser_flag[k] | _F_DONE
                            k += 1
                        ev_index[n_ev] = peak_t
                        ev_peak[n_ev] = peak
                        ev_air[n_ev] = air
                        n_ev += 1
                    last_peak = peak_t  # each candidate is a landing, counted now, later or never

            if m < rearm2:
                armed = True
            elif armed and m >= imp2:
                armed = False  # debounce: wait for the fall below the re-arm level
                # One landing per peak window; the refractory interval runs from its peak.
                if not pending and t - last_peak >= refr:
                    flight = low_last - low_start + 1
                    if not need_flight or (ctxf <= flight <= maxf and t - low_last <= win):
                        air = flight if need_flight else 0
                        pending = True
                        cross_t = t
                        peak = m
                        peak_t = t
                        # Gravity before the take-off: its mean in half-counts, and its
                        # direction u in 1/32 g (clamped: 31-bit products below).
                        gmx = gx >> bsh
                        gmy = gy >> bsh
                        gmz = gz >> bsh
                        ux = gx >> gsh
                        uy = gy >> gsh
                        uz = gz >> gsh
                        if ux > G_MAX:
                            ux = G_MAX
                        elif ux < -G_MAX:
                            ux = -G_MAX
                        if uy > G_MAX:
                            uy = G_MAX
                        elif uy < -G_MAX:
                            uy = -G_MAX
                        if uz > G_MAX:
                            uz = G_MAX
                        elif uz < -G_MAX:
                            uz = -G_MAX
                        uu = (ux * ux + uy * uy + uz * uz) >> UNIT
                        # Its take-off's context, kept: a dip in the landing's ringing may
                        # start another free fall before the decision.
                        calm = 0  # still before: a series, if any, is over
                        if still >= iso:
                            calm = 1
                        isolated = 0  # ... and it pushed off from that stillness
                        if calm and pushed:
                            isolated = 1
                        sd = 0
                        sv = 0
                        # This flight is used up: it cannot justify a second landing.
                        low_start = t - win - 1
                        low_last = t - win - 1
            if pending and t - cross_t < vn:
                # The impact window: sums of |d|^2 and of (d . u)^2 over its samples, d the
                # dynamic acceleration in 1/32 g. Each term is divided by the window length
                # (a power of two), so the sums have the same scale at every rate.
                dx = (x - gmx) >> dsh
                dy = (y - gmy) >> dsh
                dz = (z - gmz) >> dsh
                if dx > D_MAX:
                    dx = D_MAX
                elif dx < -D_MAX:
                    dx = -D_MAX
                if dy > D_MAX:
                    dy = D_MAX
                elif dy < -D_MAX:
                    dy = -D_MAX
                if dz > D_MAX:
                    dz = D_MAX
                elif dz < -D_MAX:
                    dz = -D_MAX
                v = (dx * ux + dy * uy + dz * uz) >> UNIT
                sd += (dx * dx + dy * dy + dz * dz) >> vsh
                sv += (v * v) >> vsh
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
        st[_S_CROSS_T] = cross_t
        st[_S_LAST_PEAK] = last_peak
        st[_S_PEAK] = peak
        st[_S_PEAK_T] = peak_t
        st[_S_AIR] = air
        st[_S_LOW_START] = low_start
        st[_S_LOW_LAST] = low_last
        st[_S_RING_I] = ri
        st[_S_SX] = sx
        st[_S_SY] = sy
        st[_S_SZ] = sz
        st[_S_GX] = gx
        st[_S_GY] = gy
        st[_S_GZ] = gz
        st[_S_STILL] = still
        st[_S_PUSHED] = pushed
        st[_S_HI_LAST] = hi_last
        st[_S_CL_START] = cl_start
        st[_S_CL_PREV_END] = cl_prev_end
        st[_S_GMX] = gmx
        st[_S_GMY] = gmy
        st[_S_GMZ] = gmz
        st[_S_UX] = ux
        st[_S_UY] = uy
        st[_S_UZ] = uz
        st[_S_UU] = uu
        st[_S_SD] = sd
        st[_S_SV] = sv
        st[_S_RPOS] = rpos
        st[_S_RN] = rn
        st[_S_PREV_PEAK] = prev_peak
        st[_S_ISOLATED] = isolated
        st[_S_CALM] = calm
        self.n_events = n_ev
        return i

    def finish(self):
        """End of stream: decide a landing whose peak window is still open, as if the wearer
        then stood still (samples equal to the gravity before its take-off). Returns False
        only if the event arrays are full (drain, then call again)."""
        pad = self.pad
        k = 2 * self.peak_window + 2  # bound: at most one more landing can open (see docs)
        while self.pending and k > 0:
            if self.n_events > EVENT_CAPACITY - self.series_min:
                return False  # feed() would stop: no room for what this decision may emit
            st = self.st
            still_sample(st[_S_GX], st[_S_GY], st[_S_GZ], self.block_shift, self.lsb_per_g >> SHIFT, pad)
            self.feed(pad, 0, 1)
            k -= 1
        return True

    def last_candidate(self):
        """The peak sample of the last landing candidate decided (a new value: the series
        window changed), or a value below 0 before the first. No allocation."""
        return self.st[_S_PREV_PEAK]

    def series_pending(self, out):
        """The peak samples of the candidates in the series window that a later window may
        still count (neither counted nor given up), into out (SERIES_MAX long at least);
        returns how many. The clip keeps the filtered peaks of these landings meanwhile
        (forces.py). One call for the whole window (a call a slot cost about 9 k instructions
        a landing on the clip). No allocation."""
        n = 0
        k = 0
        while k < self.st[_S_RN]:
            if (self.ser_flag[k] & _F_DONE) == 0:
                out[n] = self.ser_index[k]
                n += 1
            k += 1
        return n

    def warmup(self):
        """Samples after which the events no longer depend on where the stream started: the
        longest history a decision reads (the gravity window before a take-off, the flight,
        the stillness and push-off before it, the landing window and the peak window). An
        event at or after start + warmup() is the same whatever sample the stream started
        at (tests/test_start_offset.py checks it on every recording from many starts)."""
        flight = self.max_flight if self.max_flight < _FAR else ms_to_samples(3000, self.rate_hz)
        one = (1 << self.block_shift) + self.isolation + self.push + self.cluster_gap + flight + self.window + self.peak_window
        return one + (self.series_min - 1) * self.series_gap  # a series window spans at most this

    def peak_mg(self, m2):
        """Squared-count peak -> milli-g (integer square root; not on the per-sample path)."""
        return m2_to_mg(m2, self.range_g)


def m2_to_mg(m2, range_g):
    """A squared magnitude in (counts >> SHIFT)**2 -> milli-g: mg_to_m2's inverse, with an
    integer square root (once per event, never per sample)."""
    return isqrt(m2) * 1000 // (LSB_PER_G[range_g] >> SHIFT)


def still_sample(gx, gy, gz, block_shift, one_g, pad):
    """finish()'s still sample, into pad: gravity's direction from the window sums before the
    take-off (half-counts), at most 1 g (one_g half-counts) in size. The window can hold
    impacts (a dense run of landings without flight), and a pad above the impact level
    would open a landing that never happened. Integer math: the same on both interpreters
    and in the desktop's fast path, which calls this too."""
    x = gx >> block_shift
    y = gy >> block_shift
    z = gz >> block_shift
    m2 = x * x + y * y + z * z
    if m2 > one_g * one_g:
        r = isqrt(m2)
        x = x * one_g // r
        y = y * one_g // r
        z = z * one_g // r
    pad[0] = x << 1
    pad[1] = y << 1
    pad[2] = z << 1


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
