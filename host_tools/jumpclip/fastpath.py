"""The detector's fast path for the desktop: numpy finds the samples that can change the
state machine, and the exact logic of firmware/detector.py runs on those alone.

Why this is exact: in Detector.feed, a sample whose squared magnitude lies in the quiet band
[freefall_m2, rearm_m2) changes nothing except (a) it re-arms the detector (it is below the
re-arm level) and (b) time passes, so an open peak window may close; its peak cannot change,
because the peak is at least the impact level, above the band (and the stride guard looks
only at free-fall and impact-level samples). Every other sample goes
through the same statements as in the firmware, in the same order. Tests compare the two on
every trace of the corpus, on random signals and on the real recordings.
"""

from __future__ import annotations

import numpy as np

from .replay import Event


def magnitudes(counts: np.ndarray) -> np.ndarray:
    """Squared magnitude of (counts >> 1), as the firmware computes it. (counts >> 1) is at
    most 16384 in size, so the sum of three squares (8.05e8) fits int32; a block at a time,
    so that a day of samples needs no int64 copies."""
    out = np.empty(len(counts), dtype=np.int32)
    step = 1 << 20
    for a in range(0, len(counts), step):
        c = counts[a : a + step].astype(np.int32) >> 1  # arithmetic shift, like the firmware's >> on ints
        out[a : a + step] = (c * c).sum(axis=1, dtype=np.int32)
    return out


def detect_fast(counts: np.ndarray, det) -> list[Event]:
    """Events identical to streaming `counts` through `det` (a fresh firmware Detector)."""
    m_all = magnitudes(counts)
    ff2, rearm2, imp2 = det.freefall_m2, det.rearm_m2, det.impact_m2
    cand = np.flatnonzero((m_all < ff2) | (m_all >= rearm2))
    refr, pw = det.refractory, det.peak_window
    need_flight, minf, maxf = det.need_flight, det.min_flight, det.max_flight
    gap, win = det.flight_gap, det.window
    guard, gflight, gimp = det.guard, det.guard_flight, det.guard_impact
    far = 1 << 20
    first_imp = land_end = -far
    armed, pending = True, False
    cross_t = last_peak = -far
    peak = peak_t = air = 0
    low_start = low_last = -far
    events: list[Event] = []
    prev = -1
    for t, m in zip(cand.tolist(), m_all[cand].tolist()):
        if t - prev > 1:  # quiet samples prev+1 .. t-1 were skipped
            if pending and cross_t + pw <= t - 1:
                events.append(Event(peak_t, peak, air))
                pending = False
                last_peak = peak_t
            armed = True
        prev = t
        # From here on: the firmware's per-sample body, statement for statement.
        landed = -far
        if m < ff2:
            if t - low_last > gap + 1:
                low_start = t
            low_last = t
        elif m >= imp2 and first_imp <= low_last:
            first_imp = t
            if low_last - low_start + 1 >= gflight and t - low_last <= gimp:
                landed = low_last
        if pending:
            if m > peak:
                peak = m
                peak_t = t
            if t - cross_t >= pw:
                events.append(Event(peak_t, peak, air))
                pending = False
                last_peak = peak_t
        if m < rearm2:
            armed = True
        elif armed and m >= imp2:
            armed = False
            if not pending and t - last_peak >= refr:
                flight = low_last - low_start + 1
                if not need_flight or (
                    minf <= flight <= maxf and t - low_last <= win and not (guard and low_start - land_end <= guard)
                ):
                    air = flight if need_flight else 0
                    if pw == 0:
                        events.append(Event(t, m, air))
                        last_peak = t
                    else:
                        pending = True
                        cross_t = t
                        peak = m
                        peak_t = t
                    low_start = t - win - 1
                    low_last = t - win - 1
        if landed != -far:
            land_end = landed
    if pending:  # closes in the trailing quiet samples, or at the end of the stream
        events.append(Event(peak_t, peak, air))
    return events
