# The landing's peak acceleration as the force model expects it: the resultant of the three
# axes, each low-pass filtered at 20 Hz by a 4th-order Butterworth filter run forwards and
# backwards (zero phase). That is the preprocessing the model was fitted on: impactr's
# filter_acc() defaults (order 4, cut-off 20 Hz, scipy.signal.butter + filtfilt on each
# axis), then use_resultant() (impactr, R/filter.R; Veras et al., see loading.py).
#
# It runs once per landing, on a window of raw counts around the detector's landing peak,
# kept apart from the detector's own signal so that detection does not change. Integer math
# only, with preallocated buffers: the clip and the desktop compute the same value, and no
# value leaves the ESP32's 31-bit small ints. tests/test_impact.py measures it against
# scipy's sosfiltfilt on the real recordings.

try:
    import micropython
    from micropython import const
except ImportError:  # CPython: the native emitter's decorator does nothing there

    class micropython:  # type: ignore[no-redef]
        @staticmethod
        def native(f):
            return f

    def const(x):  # type: ignore[no-redef,misc]
        return x


# The detector's own helpers: the same sample-count rounding and integer square root.
from detector import LSB_PER_G, isqrt, ms_to_samples  # noqa: E402

WINDOW_MS = const(120)  # raw counts this long before and after the landing peak
PEAK_MS = const(40)  # the filtered peak is the largest resultant this close to the raw one
PAD = const(15)  # odd-extension padding at each end: scipy's padlen for this filter (3 * 5 taps)
Q = const(14)  # coefficients in Q14
CLIPPED = const(0x8000)  # flag bit of the stored value: an axis reached the sensor's range

# Denominator coefficients (a1, a2) of the two second-order sections of
# scipy.signal.butter(4, 20 / (rate / 2), output="sos"), in Q14, per sample rate. Each
# section's numerator is g * (1, 2, 1) with g chosen for unity gain at 0 Hz, computed exactly
# from a1 and a2 below. tests/test_impact.py recomputes this table with scipy.
SECTIONS = {
    100: (-5390, 1058, -7424, 7640),
    125: (-9864, 2024, -13270, 8382),
    200: (-17180, 4852, -21642, 10367),
    250: (-19871, 6292, -24245, 11283),
    500: (-25809, 10262, -28980, 13536),
    1000: (-29136, 12983, -31022, 14884),
}

class ImpactPeak:
    """peak(win) -> the filtered peak in milli-g, with CLIPPED set if any axis reached the
    sensor's range near the landing. win holds 2 * half + 1 samples (x, y, z counts, int16),
    the landing peak in the middle."""

    def __init__(self, rate_hz=200, range_g=16):
        import array

        self.rate_hz = rate_hz
        self.half = ms_to_samples(WINDOW_MS, rate_hz)
        self.near = ms_to_samples(PEAK_MS, rate_hz)
        self.n = 2 * self.half + 1
        self.lsb_quarter = LSB_PER_G[range_g] >> 2
        a = SECTIONS[rate_hz]
        self.a = array.array("i", a)
        self.m = self.n + 2 * PAD
        self.ext = array.array("i", [0] * self.m)  # one axis, padded
        self.out = array.array("i", [0] * (3 * self.n))  # filtered axes, interleaved
        self.win = array.array("h", [0] * (3 * self.n))  # the caller fills this

    # The three methods below are also the source of firmware/impact_viper.py, the clip's
    # copy compiled by the viper emitter (tools/gen_viper_peak.py rewrites them: a test keeps
    # it fresh). So every load from an array is a statement of its own (`v = arr[i]`), where
    # the generator can add viper's sign extension, and the instance's state is read into
    # locals first.
    @micropython.native  # machine code for the same statements: the native emitter keeps Python's semantics
    def _filter_axis(self, win, axis):
        """One axis of win, filtered forwards then backwards, into out[axis::3]."""
        n = self.n
        ext = self.ext
        out = self.out
        c = self.half
        near = self.near
        # Quarter counts (8192 at full range): with the filter's overshoot, every product
        # below stays under 2**30 at every rate. Odd extension at each end, as filtfilt pads.
        v = win[axis]
        first = v >> 2
        v = win[3 * (n - 1) + axis]
        last = v >> 2
        k = 0
        while k < n:
            v = win[3 * k + axis]
            ext[PAD + k] = v >> 2
            k += 1
        # The extension clamped to what a sensor can read (the samples themselves, int16 >> 2,
        # are inside -8192 .. 8191 already): keeps every product below 2**30.
        k = 1
        while k <= PAD:
            e = ext[PAD + k]
            e = 2 * first - e
            if e > 8192:
                e = 8192
            elif e < -8192:
                e = -8192
            ext[PAD - k] = e
            e = ext[PAD + n - 1 - k]
            e = 2 * last - e
            if e > 8192:
                e = 8192
            elif e < -8192:
                e = -8192
            ext[PAD + n - 1 + k] = e
            k += 1
        m = n + 2 * PAD
        self._pass(0, 1, m)
        # Backwards only down to the first sample the peak looks at (c - near): a section's
        # output there depends on its later samples alone, so the values the peak reads are
        # filtfilt's, and the rest of out is never read.
        self._pass(m - 1, -1, m - PAD - c + near)
        k = c - near
        while k <= c + near:
            e = ext[PAD + k]
            out[3 * k + axis] = e
            k += 1

    @micropython.native  # machine code for the same statements: the native emitter keeps Python's semantics
    def _pass(self, start, step, m):
        """Both sections over m values of ext, in place, from start in direction step, the
        second fed by the first value by value (one pass, not one per section: a third less
        work on the clip). Each starts in its steady state for the first value (scipy's
        sosfilt_zi times that value): the first section's output there is exactly that value
        (g4 * 4v / 4 - (a1 + a2) * v = v << Q), so the second's steady state is the same."""
        ext = self.ext
        a = self.a
        a1 = a[0]
        a2 = a[1]
        b1 = a[2]
        b2 = a[3]
        g4 = (1 << Q) + a1 + a2  # 4 * g in Q14: the numerator's exact unity-gain weight
        h4 = (1 << Q) + b1 + b2  # the same for the second section
        v = ext[start]
        x1 = v
        x2 = v
        y1 = v
        y2 = v
        z1 = v
        z2 = v
        i = start
        k = 0
        while k < m:
            x0 = ext[i]
            y0 = ((g4 * (x0 + 2 * x1 + x2)) >> 2) - a1 * y1 - a2 * y2
            y0 = y0 >> Q
            z0 = ((h4 * (y0 + 2 * y1 + y2)) >> 2) - b1 * z1 - b2 * z2
            z0 = z0 >> Q
            ext[i] = z0
            x2 = x1
            x1 = x0
            y2 = y1
            y1 = y0
            z2 = z1
            z1 = z0
            i += step
            k += 1

    @micropython.native  # machine code for the same statements: the native emitter keeps Python's semantics
    def peak(self, win):
        axis = 0
        while axis < 3:
            self._filter_axis(win, axis)
            axis += 1
        out = self.out
        c = self.half
        near = self.near
        lsb_quarter = self.lsb_quarter
        best = 0
        k = c - near
        while k <= c + near:
            x = out[3 * k]
            y = out[3 * k + 1]
            z = out[3 * k + 2]
            m = x * x + y * y + z * z
            if m > best:
                best = m
            k += 1
        mg = isqrt(best) * 1000 // lsb_quarter
        if mg > 0x7FFF:
            mg = 0x7FFF
        # Clipped: a raw axis at either rail within PEAK_MS of the peak.
        k = 3 * (c - near)
        end = 3 * (c + near + 1)
        while k < end:
            v = win[k]
            if v >= 32767 or v <= -32768:
                return mg | CLIPPED
            k += 1
        return mg


def window_from(counts_at, index, n_samples, half, win):
    """Fill win with samples index-half .. index+half; outside 0 .. n_samples-1 the nearest
    sample is repeated. counts_at(i, axis) reads sample i. (The desktop's way in; the clip
    copies from its ring of recent samples with the same rule.)"""
    k = 0
    i = index - half
    while k < 2 * half + 1:
        j = i if i >= 0 else 0
        if j > n_samples - 1:
            j = n_samples - 1
        win[3 * k] = counts_at(j, 0)
        win[3 * k + 1] = counts_at(j, 1)
        win[3 * k + 2] = counts_at(j, 2)
        k += 1
        i += 1
