# The clip's filtered landing peaks (impact.py) for the force estimate: a ring of the most
# recent samples, and the landings waiting for the samples after their peak. A landing is
# logged at once (counting never waits); its filtered peak is filled into the log's RAM copy
# of the jump when its window is complete, usually at the next wake, before the flush.
#
# Device-only (viper). The desktop computes the same value from the whole trace
# (replay.py): the window rule is the same on both, samples outside the stream repeating
# the nearest one, so both agree on every landing (tests/test_impact.py, on the virtual board).
import array

import micropython
from micropython import const

from impact import ImpactPeak

_WAITING = const(32)  # landings awaiting their window (a wake holds far fewer)


@micropython.viper
def _ring_put(ring: ptr16, mask: int, pos: int, s: ptr16, n: int):  # type: ignore[name-defined]  # noqa: F821
    """Copy n samples (3 int16 each) from s into the ring at sample position pos (mod size)."""
    i = 0
    while i < n:
        r = 3 * (pos & mask)
        j = 3 * i
        ring[r] = s[j]
        ring[r + 1] = s[j + 1]
        ring[r + 2] = s[j + 2]
        pos += 1
        i += 1


class Forces:
    def __init__(self, rate_hz, range_g, max_batch):
        self.peak = ImpactPeak(rate_hz, range_g)
        half = self.peak.half
        size = 1
        while size < max_batch + 2 * half + 2:  # the oldest sample a waiting window needs survives a batch
            size <<= 1
        self.size = size
        self.ring = array.array("h", [0] * (3 * size))
        self.wait = array.array("i", [0] * _WAITING)
        self.reset()

    def reset(self):
        """A new session: sample index 0, nothing waiting."""
        self.t = 0  # samples written: the next sample's index
        self.n_wait = 0

    def add(self, samples, n):
        """The n samples just decoded into samples (before the detector sees them)."""
        _ring_put(self.ring, self.size - 1, self.t, samples, n)  # type: ignore[arg-type]
        self.t += n

    def landed(self, t):
        """A landing peaked at sample t: its filtered peak is due when its window is complete."""
        if self.n_wait < _WAITING:
            self.wait[self.n_wait] = t
            self.n_wait += 1

    def resolve(self, log, final=False):
        """Compute the filtered peak of every waiting landing whose window is complete (all
        of them at the end of the session, the window then ending at the last sample) and
        fill it into the log. Once per wake, never per sample."""
        half = self.peak.half
        k = 0
        kept = 0
        while k < self.n_wait:
            t = self.wait[k]
            if final or t + half < self.t:
                if log:
                    log.set_force(t, self._compute(t))
            else:
                self.wait[kept] = t
                kept += 1
            k += 1
        self.n_wait = kept

    def _compute(self, t):
        p = self.peak
        win = p.win
        ring = self.ring
        mask = self.size - 1
        oldest = self.t - self.size if self.t > self.size else 0
        last = self.t - 1
        i = t - p.half
        k = 0
        while k < p.n:
            j = i if i > oldest else oldest
            if j > last:
                j = last
            r = 3 * (j & mask)
            win[3 * k] = ring[r]
            win[3 * k + 1] = ring[r + 1]
            win[3 * k + 2] = ring[r + 2]
            i += 1
            k += 1
        return p.peak(win)
