"""The detector's fast path for the desktop: numpy finds the samples that can change the
state machine, and the exact logic of firmware/detector.py runs on those alone.

Why this is exact: in Detector.feed, a sample whose squared magnitude lies in the quiet band
[freefall_m2, rearm_m2) changes only three things: (a) it re-arms the detector (it is below
the re-arm level); (b) it enters the gravity window and, inside a landing's impact
window, to the verticality sums; (c) time passes, so an open peak window may close. Its peak
cannot change (the peak is at least the impact level, above the band), and free fall and
movement clusters look only at samples outside the band. So (b) is computed here with numpy,
exactly (the same integer shifts, whole arrays at a time), and every other sample goes
through the same statements as in the firmware, in the same order. Tests compare the two on
every trace of the corpus, on random and boundary signals and on the real recordings, and
tools/mutate.py checks that the comparison catches a flip of any comparison in either copy.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .replay import Event

from .fw import detector as _fw

_D_MAX, _G_MAX, _RATIO_DEN, _UNIT = _fw.D_MAX, _fw.G_MAX, _fw.RATIO_DEN, _fw.UNIT


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


def _clamp(v: int, lim: int) -> int:
    return lim if v > lim else -lim if v < -lim else v


class _Stream:
    """The stream's half-counts on demand (no full-size copy: a day of samples is 100 MB as
    int16 already), and the gravity window's sums at any sample."""

    def __init__(self, counts: np.ndarray, block_shift: int):
        self.counts = counts
        self.window = 1 << block_shift

    def half(self, a: int, b: int) -> np.ndarray:
        return self.counts[a:b].astype(np.int64) >> 1

    def gravity(self, t: int) -> tuple[int, int, int]:
        """The firmware's window sums, unbiased, while it processes sample t: the half-counts
        of the last `window` samples up to and including t (the window starts full of zero
        acceleration, so a younger stream sums what it has)."""
        g = self.half(max(0, t + 1 - self.window), t + 1).sum(axis=0)
        return int(g[0]), int(g[1]), int(g[2])


def detect_fast(counts: np.ndarray, det) -> list[Event]:
    """Events identical to streaming `counts` through `det` (a fresh firmware Detector),
    including its finish() at the end of the stream."""
    counts = np.asarray(counts)
    m_all = magnitudes(counts)
    ff2, rearm2, imp2 = det.freefall_m2, det.rearm_m2, det.impact_m2
    refr, pw = det.refractory, det.peak_window
    need_flight, minf, ctxf, maxf, longf = det.need_flight, det.min_flight, det.context_flight, det.max_flight, det.long_flight
    serf, tilts, sgap, slong = det.series_flight, det.series_tilts, det.series_gap, det.series_long
    gap, win, iso, nser, vnum = det.flight_gap, det.window, det.isolation, det.series_min, det.vertical_num
    push, cgap = det.push, det.cluster_gap
    bsh, vsh, gsh, dsh = det.block_shift, det.impact_shift, det.gravity_shift, det.impact_dshift
    vn = 1 << vsh
    far = 1 << 20
    st = _Stream(counts, bsh)
    armed, pending = True, False
    cross_t = last_peak = -far
    peak = peak_t = air = 0
    low_start = low_last = -far
    gx = gy = gz = 0
    still = 0
    pushed = False
    hi_last = cl_start = cl_prev_end = 0
    gmx = gmy = gmz = ux = uy = uz = uu = 0
    window: deque[list] = deque(maxlen=nser)  # the firmware's series window (ser_* arrays)
    rn = 0
    prev_peak = -far
    isolated = calm = False
    prev = -1  # the last sample processed
    events: list[Event] = []

    def impact_sums(t0: int) -> tuple[int, int]:
        """sd, sv of the firmware's impact window [t0, t0 + vn), from the half-counts (plain
        ints: a window is a handful of samples)."""
        sd = sv = 0
        for x, y, z in st.half(t0, t0 + vn).tolist():
            dx = _clamp((x - gmx) >> dsh, _D_MAX)
            dy = _clamp((y - gmy) >> dsh, _D_MAX)
            dz = _clamp((z - gmz) >> dsh, _D_MAX)
            v = (dx * ux + dy * uy + dz * uz) >> _UNIT
            sd += (dx * dx + dy * dy + dz * dz) >> vsh
            sv += (v * v) >> vsh
        return sd, sv

    def decide() -> None:
        """The end of a peak window: count the landing or not (firmware: 'The decision')."""
        nonlocal last_peak, prev_peak, rn
        sd, sv = impact_sums(cross_t)
        vertical = uu == 0
        if sv > 0 and (sd >> _UNIT) * uu * _RATIO_DEN <= sv * vnum:
            vertical = True
        # The series window: the last nser candidates, oldest first (a deque here, a ring on
        # the clip), each [event, tilted, series flight, begins, done, long flight].
        begins = calm or peak_t - prev_peak > sgap
        prev_peak = peak_t
        waiting = 0 if begins else sum(1 for c in window if c[2] and not c[4])
        window.append([Event(peak_t, peak, air), not vertical, air >= serf, begins, False, air >= slong])
        if rn < nser:
            rn += 1
        series = False
        if rn == nser:
            series = not any(c[3] for c in list(window)[1:])
            if (not all(c[2] for c in window) or sum(1 for c in window if c[1]) > tilts) and 2 * sum(1 for c in window if c[5]) < nser:
                series = False
        if series:
            for c in window:
                if not c[4]:
                    events.append(c[0])
                    c[4] = True
        elif not need_flight or (vertical and air >= longf and waiting == 0) or (isolated and air >= minf):
            for c in window:
                c[4] = True
            events.append(Event(peak_t, peak, air))
        last_peak = peak_t

    def process(ts: list[int], ms: list[int]) -> None:
        nonlocal armed, pending, cross_t, peak, peak_t, air, low_start, low_last, gx, gy, gz
        nonlocal still, pushed, hi_last, cl_start, cl_prev_end, gmx, gmy, gmz, ux, uy, uz, uu, prev, isolated, calm
        for t, m in zip(ts, ms):
            if t - prev > 1:  # quiet samples prev+1 .. t-1 were skipped
                if pending and cross_t + pw <= t - 1:
                    pending = False
                    decide()
                armed = True
            prev = t
            # From here on: the firmware's per-sample body, statement for statement.
            if m < ff2:
                if t - low_last > gap + 1:
                    low_start = t
                    gx, gy, gz = st.gravity(t)
                    if t - hi_last <= push:
                        still = cl_start - cl_prev_end
                        pushed = True
                    else:
                        still = t - hi_last
                        pushed = False
                low_last = t
            elif m >= rearm2:
                if t - hi_last > cgap:
                    cl_start = t
                    cl_prev_end = hi_last
                    if t - low_last <= win and low_last - low_start >= serf:
                        cl_prev_end = t
                hi_last = t
            if pending:
                if m > peak:
                    peak = m
                    peak_t = t
                if t - cross_t >= pw:
                    pending = False
                    decide()
            if m < rearm2:
                armed = True
            elif armed and m >= imp2:
                armed = False
                if not pending and t - last_peak >= refr:
                    flight = low_last - low_start + 1
                    if not need_flight or (ctxf <= flight <= maxf and t - low_last <= win):
                        air = flight if need_flight else 0
                        pending = True
                        cross_t = t
                        peak = m
                        peak_t = t
                        gmx, gmy, gmz = gx >> bsh, gy >> bsh, gz >> bsh
                        ux, uy, uz = _clamp(gx >> gsh, _G_MAX), _clamp(gy >> gsh, _G_MAX), _clamp(gz >> gsh, _G_MAX)
                        uu = (ux * ux + uy * uy + uz * uz) >> _UNIT
                        calm = still >= iso
                        isolated = calm and pushed
                        low_start = t - win - 1
                        low_last = t - win - 1
            # (the firmware's impact-window sums: impact_sums(), at the decision)

    def candidates(a: int) -> tuple[list[int], list[int]]:
        tail = m_all[a:]
        idx = np.flatnonzero((tail < ff2) | (tail >= rearm2))
        return (idx + a).tolist(), tail[idx].tolist()

    def close_tail(last: int) -> None:
        """The quiet samples after the last candidate, up to `last`: a window may close."""
        nonlocal pending
        if pending and cross_t + pw <= last:  # (then last > prev: the window was open at prev)
            pending = False
            decide()

    n = len(counts)
    process(*candidates(0))
    close_tail(n - 1)
    if pending:
        # finish(): the stream goes on with still samples of the take-off's gravity (at most
        # 1 g: detector.still_sample) until the window closes. Such samples can open no
        # landing (1 g is below every impact level), so all k of them are processed here.
        one = [0, 0, 0]
        _fw.still_sample(gx, gy, gz, bsh, det.lsb_per_g >> _fw.SHIFT, one)
        pad = np.array(one, dtype=np.int16)
        k = 2 * pw + 2
        counts = np.concatenate([counts, np.tile(pad, (k, 1))])
        m_all = magnitudes(counts)
        st = _Stream(counts, bsh)
        process(*candidates(n))
        close_tail(n + k - 1)
    return events


def impact_bands_fast(counts: np.ndarray, rate_hz: int, range_g: int, qualify_mg: int) -> tuple[list[int], list[tuple[int, int]]]:
    """replay.impact_bands (the clip's firmware/impacts.py over the stream), identical, for
    the desktop: numpy finds the samples at or above the 1.3 g floor, and the counter's
    statements run on those alone. Why this is exact: in Impacts.feed a sample below the
    floor changes nothing but time, and time only matters when the next sample at the floor
    comes (the candidate counts before it if 0.4 s have passed) or at the stream's end
    (finish() counts it). tests/test_impact.py compares the two, and tools/mutate.py is not
    needed: the loop below is the firmware's, statement for statement, on fewer samples."""
    from .fw import impacts as fw

    imp = fw.Impacts(rate_hz, range_g, qualify_mg)
    floor, dist, qualify, edge = imp.floor, imp.dist, imp.qualify, list(imp.edge)
    m_all = magnitudes(np.asarray(counts))
    idx = np.flatnonzero(m_all >= floor)
    bands = [0] * fw.N_BANDS
    found: list[tuple[int, int]] = []
    cand = cand_t = 0

    def emit() -> None:
        if cand >= qualify:
            found.append((cand_t, imp.peak_mg(cand)))
        k = 0
        while k < fw.N_BANDS - 1 and cand >= edge[k]:
            k += 1
        bands[k] += 1

    for t, m in zip(idx.tolist(), m_all[idx].tolist()):
        if cand and t - cand_t >= dist:
            emit()
            cand = 0
        if m > cand:  # (m >= floor: these samples alone)
            cand, cand_t = m, t
    if cand:
        emit()
    return bands, found
