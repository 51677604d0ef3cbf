# The clip's filtered landing peaks (impact.py) for the force estimate: a ring of the most
# recent samples, and the landings waiting for the samples after their peak. A landing is
# logged at once (counting never waits); its filtered peak is filled into the log's RAM copy
# of the jump when its window is complete, usually at the next wake, before the flush.
#
# A landing the detector holds (a rebound series still proving itself) is counted only when
# the series has proved itself, seconds later, when its samples have long left the ring. So
# held landings are watched: their filtered peaks are computed while the ring still has
# them, and kept until the detector counts them (or drops them with their series).
#
# Device-only (viper). The desktop computes the same value from the whole trace
# (replay.py): the window rule is the same on both, samples outside the stream repeating
# the nearest one, so both agree on every landing (tests/test_impact.py, on the virtual board).
import array

import micropython
from micropython import const

import impact_viper
from detector import SERIES_MAX
from impact import ImpactPeak

_WAITING = const(32)  # landings awaiting their window (a wake holds far fewer)
_KEPT = const(20)  # filtered peaks of held landings (a series window holds at most SERIES_MAX = 10)


@micropython.viper
def _window_of(f, t: int):
    """The window of the landing at sample t, from f's ring into f.peak.win: samples
    t - half .. t + half, each index held inside the ring's oldest .. newest sample (outside
    the stream the nearest sample repeats, as impact.window_from does)."""
    ring = ptr16(f.ring)  # type: ignore[name-defined]  # noqa: F821
    p = f.peak
    win = ptr16(p.win)  # type: ignore[name-defined]  # noqa: F821
    n = int(p.n)
    size = int(f.size)
    mask = size - 1
    last = int(f.t) - 1
    oldest = last + 1 - size
    if oldest < 0:
        oldest = 0
    i = t - int(p.half)
    k = 0
    while k < n:
        j = i
        if j < oldest:
            j = oldest
        if j > last:
            j = last
        r = 3 * (j & mask)
        win[3 * k] = ring[r]
        win[3 * k + 1] = ring[r + 1]
        win[3 * k + 2] = ring[r + 2]
        i += 1
        k += 1


@micropython.viper
def _index_of(a: ptr32, n: int, t: int) -> int:  # type: ignore[name-defined]  # noqa: F821
    """Where the sample index t (>= 0) is among a's first n int32 entries, or -1. (A ptr32
    load is zero-extended on a 64-bit build: an entry of -1 matches no t >= 0 there either.)
    Once or twice a landing: a Python loop over the kept list cost about 15 k instructions."""
    k = 0
    while k < n:
        if a[k] == t:
            return k
        k += 1
    return -1


class Forces:
    def __init__(self, rate_hz, range_g, max_batch, lookback=0):
        """lookback: how many samples before the end of a batch a landing's peak can lie when
        the detector decides it (its peak window), so that a landing held in that batch
        still has its window in the ring when watch() sees it."""
        self.peak = ImpactPeak(rate_hz, range_g)
        half = self.peak.half
        size = 1
        while size < max_batch + lookback + 2 * half + 2:  # the oldest sample a waiting window needs survives a batch
            size <<= 1
        self.size = size
        self.ring = array.array("h", [0] * (3 * size))
        self.wait = array.array("i", [0] * _WAITING)
        self.wait_held = bytearray(_WAITING)  # 1: a held landing (its peak goes to kept_*)
        self.kept_t = array.array("i", [-1] * _KEPT)
        self.kept_v = array.array("i", [0] * _KEPT)
        self.pending = array.array("i", [0] * SERIES_MAX)  # the detector's pending candidates (watch)
        self.reset()

    def reset(self):
        """A new session: sample index 0, nothing waiting, nothing kept."""
        self.t = 0  # samples written: the next sample's index
        self.n_wait = 0
        self.seen = -1  # the detector's last candidate that watch() has looked at
        self.next_kept = 0
        k = 0
        while k < _KEPT:
            self.kept_t[k] = -1
            k += 1

    @micropython.viper
    def add(self, s: ptr16, n: int):  # type: ignore[name-defined]  # noqa: F821
        """The n samples just decoded into s (before the detector sees them), copied into the
        ring at sample position t (mod size): in two runs, up to the ring's end and on from
        its start. Two values a load where the runs are whole words (t and n even, as the
        clip's bursts of 32 are; both arrays are heap buffers, word-aligned), one at a time
        otherwise. Viper, once a wake (make bench: the counting loop)."""
        ring = ptr16(self.ring)  # type: ignore[name-defined]  # noqa: F821
        pos = int(self.t)
        o = 3 * (pos & (int(self.size) - 1))
        run = 3 * int(self.size) - o  # values before the ring's end
        end = 3 * n
        if run > end:
            run = end
        self.t = pos + n
        j = 0
        if ((o | run | end) & 1) == 0 and ((int(ring) | int(s)) & 3) == 0:
            r32 = ptr32(ring)  # type: ignore[name-defined]  # noqa: F821
            s32 = ptr32(s)  # type: ignore[name-defined]  # noqa: F821
            o = o >> 1
            run = run >> 1
            end = end >> 1
            while j < run:
                r32[o + j] = s32[j]
                j += 1
            o = -run  # word j goes to the ring's start
            while j < end:
                r32[o + j] = s32[j]
                j += 1
            return
        while j < run:
            ring[o + j] = s[j]
            j += 1
        o = -run  # value j goes to ring[j - run]: the ring's start
        while j < end:
            ring[o + j] = s[j]
            j += 1

    def landed(self, t, log):
        """A landing peaked at sample t was counted (and logged): its filtered peak goes into
        the log now if it was kept while the landing was held, else when its window is
        complete."""
        k = self._kept(t)
        if k >= 0:
            log.set_force(t, self.kept_v[k])
            self.kept_t[k] = -1
            return
        k = _index_of(self.wait, self.n_wait, t)  # type: ignore[arg-type]
        if k >= 0:  # watched while held, window not complete yet: now for the log
            self.wait_held[k] = 0
            return
        self._wait(t, 0)

    def watch(self, det):
        """The landings det may still count (its series window): compute their filtered peaks
        while their samples are in the ring. Once per wake, after the detector's call; only
        when a candidate was decided since the last look (the window changes then alone:
        most wakes have none, and rescanning it every wake cost 10 % of the loop)."""
        last = det.last_candidate()
        if last == self.seen:
            return
        self.seen = last
        n = det.series_pending(self.pending)
        k = 0
        while k < n:
            t = self.pending[k]
            if _index_of(self.kept_t, _KEPT, t) < 0 and _index_of(self.wait, self.n_wait, t) < 0:  # type: ignore[arg-type]
                self._wait(t, 1)
            k += 1

    def _wait(self, t, held):
        if self.n_wait < _WAITING:
            self.wait[self.n_wait] = t
            self.wait_held[self.n_wait] = held
            self.n_wait += 1

    def _kept(self, t):
        return _index_of(self.kept_t, _KEPT, t)  # type: ignore[arg-type]

    def resolve(self, log, final=False):
        """Compute the filtered peak of every waiting landing whose window is complete (all
        of them at the end of the session, the window then ending at the last sample) and
        fill it into the log. Once per wake, never per sample."""
        k = 0
        kept = 0
        while k < self.n_wait:
            t = self.wait[k]
            if final or t + self.peak.half < self.t:
                self._resolved(k, t, log)
            else:
                self.wait[kept] = t
                self.wait_held[kept] = self.wait_held[k]
                kept += 1
            k += 1
        self.n_wait = kept

    def _resolved(self, k, t, log):
        # (Apart from resolve: few locals, so its frame stays on the C stack; App.wake says why.)
        if self.wait_held[k]:  # kept until the detector counts it
            self.kept_t[self.next_kept] = t
            self.kept_v[self.next_kept] = self._compute(t)
            self.next_kept = (self.next_kept + 1) % _KEPT
        elif log is not None:
            log.set_force(t, self._compute(t))

    def _compute(self, t):
        """The filtered peak of the landing at sample t, from the ring. The window's copy and
        the filter are viper (impact_viper.py: ImpactPeak.peak, generated from impact.py)."""
        _window_of(self, t)
        return impact_viper.peak(self.peak, self.peak.win)  # type: ignore[arg-type]
