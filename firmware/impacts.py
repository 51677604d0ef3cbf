# Bone-loading impacts: every impact peak of the day, from any movement, counted in the
# acceleration bands of the studies that tied hip bone density to daily impacts.
#
# The bands (Vainionpaa et al., Osteoporos Int 2006, 17:455-63; Ahola et al., BMC
# Musculoskelet Disord 2009, 10:138) are 0.3-1.0, 1.1-2.4, 2.5-3.8, 3.9-5.3 and 5.4-9.2 g
# at the waist; the impacts of 3.9 g and over were the ones associated with hip BMD change.
#
# The peak rule is impactr's find_peaks() (R/signal.R): a peak of the acceleration
# resultant at least min_height = 1.3 g high and at least min_dist = 0.4 s from a higher
# one, the criteria of Veras et al. (impactr's defaults). So the studies' lowest band
# (0.3-1.0 g, below standing still's 1 g) holds no impact by this rule, and the second
# starts at 1.3 g: BAND_MG's first edge.
#
# impactr applies scipy.signal.find_peaks to a whole recording, which may look any distance
# ahead; the clip decides in one pass, and never looks back. A candidate is the highest
# resultant since it rose above 1.3 g; a higher sample replaces it; it counts once 0.4 s
# pass without a higher one. The two rules agree except where peaks rise step by step less
# than 0.4 s apart (find_peaks keeps some of the lower steps; the clip only the top):
# `make eval` measures the agreement on the real recordings, per activity.
#
# The resultant is the raw one, the same as the detector's landing peak and the
# qualifying threshold (qualify_g), so a landing of 3.9 g is an impact of 3.9 g: one
# definition of "qualifying impact". The studies' device measured vertical acceleration;
# at an upright waist the resultant is mostly vertical (Veras et al. found resultant and
# vertical models interchangeable for jumps).
#
# Integer math over raw counts, the detector's squared-magnitude scale (counts >> 1, so the
# largest value is detector.M2_MAX < 2**30); preallocated arrays; nothing allocated per
# sample. Runs unchanged on the clip and the desktop (replay, make eval).

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


from detector import M2_MAX, SHIFT, m2_to_mg, mg_to_m2, ms_to_samples  # noqa: E402

MIN_HEIGHT_MG = const(1300)  # impactr find_peaks(min_height = 1.3)
MIN_DIST_MS = const(400)  # impactr find_peaks(min_dist = 0.4)
N_BANDS = const(5)
# Lower edge of each band, mg: 1.3-2.4 (the part of the studies' 1.1-2.4 g band this rule
# counts), 2.5-3.8, 3.9-5.3, 5.4-9.2, and 9.3 g and over (above the studies' top band).
BAND_MG = (1300, 2500, 3900, 5400, 9300)
BAND_NAMES = ("1.3-2.4 g", "2.5-3.8 g", "3.9-5.3 g", "5.4-9.2 g", ">= 9.3 g")
EVENT_CAPACITY = const(16)  # qualifying impacts held until the caller drains them


class Impacts:
    """Feed raw int16 counts (interleaved x, y, z); read the band counts.

    bands[k]: impacts of this session in band k (from reset()); day[k] the same, kept
    across sessions by the caller (the clip's daily state). Impacts at least
    qualify_mg high are also events (sample index, peak in the squared-count scale), kept
    until drained like the detector's:
        i = 0
        while i < n:
            i = imp.feed(samples, i, n)
            for k in range(imp.n_events): use(imp.ev_index[k], imp.ev_peak[k])
            imp.n_events = 0
    """

    def __init__(self, rate_hz=200, range_g=16, qualify_mg=3900):
        import array

        self.rate_hz = rate_hz
        self.range_g = range_g
        self.dist = ms_to_samples(MIN_DIST_MS, rate_hz)
        self.floor = mg_to_m2(MIN_HEIGHT_MG, range_g)
        self.qualify = mg_to_m2(qualify_mg, range_g)
        self.qualify_mg = qualify_mg
        # Band edges above the first, as squared counts; an edge past the sensor's range is
        # M2_MAX + 1, which no sample reaches.
        self.edge = array.array("i", [0] * (N_BANDS - 1))
        k = 1
        while k < N_BANDS:
            m = mg_to_m2(BAND_MG[k], range_g)
            self.edge[k - 1] = m if m < M2_MAX else M2_MAX + 1
            k += 1
        self.bands = array.array("i", [0] * N_BANDS)
        self.day = array.array("i", [0] * N_BANDS)  # the day's bands: the clip hands in its daily state's
        self.ev_index = array.array("i", [0] * EVENT_CAPACITY)
        self.ev_peak = array.array("i", [0] * EVENT_CAPACITY)
        self.st = array.array("i", [0] * 3)  # candidate peak (0: none), its sample, next sample index
        self.n_events = 0
        self.reset()

    def reset(self):
        """A new session: sample index 0, no candidate, bands at 0."""
        st = self.st
        st[0] = 0
        st[1] = 0
        st[2] = 0
        k = 0
        while k < N_BANDS:
            self.bands[k] = 0
            k += 1
        self.n_events = 0

    @micropython.native  # machine code for the same statements: the native emitter keeps Python's semantics
    def feed(self, s, start, end):
        """Process samples start..end-1 of s. Returns the first sample not processed: end,
        or earlier when the event arrays are full (drain them, then call again)."""
        st = self.st
        cand = st[0]
        cand_t = st[1]
        t = st[2]
        dist = self.dist
        floor = self.floor
        n_ev = self.n_events
        i = start
        while i < end:
            if cand and t - cand_t >= dist:
                # 0.4 s without a higher sample: the candidate is an impact.
                if cand >= self.qualify:
                    if n_ev >= EVENT_CAPACITY:
                        break  # no room: drain, then this sample again
                    self.ev_index[n_ev] = cand_t
                    self.ev_peak[n_ev] = cand
                    n_ev += 1
                edge = self.edge
                k = 0
                while k < N_BANDS - 1 and cand >= edge[k]:
                    k += 1
                self.bands[k] += 1
                self.day[k] += 1
                cand = 0
            j = 3 * i
            x = s[j] >> SHIFT
            y = s[j + 1] >> SHIFT
            z = s[j + 2] >> SHIFT
            m = x * x + y * y + z * z
            if m > cand and m >= floor:
                cand = m
                cand_t = t
            t += 1
            i += 1
        st[0] = cand
        st[1] = cand_t
        st[2] = t
        self.n_events = n_ev
        return i

    def finish(self):
        """End of stream: the candidate counts as if the wearer then stood still. Returns
        False only if the event arrays are full (drain, then call again)."""
        st = self.st
        if st[0]:
            if st[0] >= self.qualify:
                if self.n_events >= EVENT_CAPACITY:
                    return False
                self.ev_index[self.n_events] = st[1]
                self.ev_peak[self.n_events] = st[0]
                self.n_events += 1
            edge = self.edge
            k = 0
            while k < N_BANDS - 1 and st[0] >= edge[k]:
                k += 1
            self.bands[k] += 1
            self.day[k] += 1
            st[0] = 0
        return True

    def pending(self):
        """True while a candidate waits for its 0.4 s."""
        return self.st[0] != 0

    def peak_mg(self, m2):
        """Squared-count peak -> milli-g (not on the per-sample path)."""
        return m2_to_mg(m2, self.range_g)

