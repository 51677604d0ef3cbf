# The device's fast path for Detector.feed: the same state machine, statement for statement,
# compiled by MicroPython's viper emitter to machine code. Device-only (viper does not exist on
# CPython). Tests run both paths over the whole corpus under the unix port and require
# identical events; the app uses this one on the clip.
#
# Viper ints are machine words (32 bits on the ESP32), and every value here stays inside
# +-2**30, as in detector.py. A ptr16 load is unsigned, so samples are sign-extended by hand.
import micropython


@micropython.viper
def feed(det, s: ptr16, start: int, end: int) -> int:  # type: ignore[name-defined]  # noqa: F821
    imp2 = int(det.impact_m2)
    rearm2 = int(det.rearm_m2)
    ff2 = int(det.freefall_m2)
    refr = int(det.refractory)
    pw = int(det.peak_window)
    need_flight = int(det.need_flight)
    minf = int(det.min_flight)
    maxf = int(det.max_flight)
    gap = int(det.flight_gap)
    win = int(det.window)
    guard = int(det.guard)
    gflight = int(det.guard_flight)
    gimp = int(det.guard_impact)
    first_imp = int(det.first_imp)
    land_end = int(det.land_end)
    far = -(1 << 20)
    t = int(det.t)
    armed = int(det.armed)
    pending = int(det.pending)
    cross_t = int(det.cross_t)
    last_peak = int(det.last_peak)
    peak = int(det.peak)
    peak_t = int(det.peak_t)
    air = int(det.air)
    low_start = int(det.low_start)
    low_last = int(det.low_last)
    n_ev = int(det.n_events)
    ev_index = ptr32(det.ev_index)  # type: ignore[name-defined]  # noqa: F821
    ev_peak = ptr32(det.ev_peak)  # type: ignore[name-defined]  # noqa: F821
    ev_air = ptr32(det.ev_air)  # type: ignore[name-defined]  # noqa: F821
    cap = int(len(det.ev_index))

    if armed and not pending:
        quiet_lo = ff2
        quiet_hi = rearm2
    else:
        quiet_lo = 1
        quiet_hi = 0
    j = 3 * start
    jend = 3 * end
    t_at_j0 = t - start
    while j < jend:
        x = int(s[j])
        if x & 0x8000:
            x -= 0x10000
        y = int(s[j + 1])
        if y & 0x8000:
            y -= 0x10000
        z = int(s[j + 2])
        if z & 0x8000:
            z -= 0x10000
        x = x >> 1
        y = y >> 1
        z = z >> 1
        m = x * x + y * y + z * z
        j += 3
        if quiet_lo <= m and m < quiet_hi:
            continue

        if n_ev >= cap:
            j -= 3
            break
        t = t_at_j0 + j // 3 - 1
        landed = far
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
                ev_index[n_ev] = peak_t
                ev_peak[n_ev] = peak
                ev_air[n_ev] = air
                n_ev += 1
                pending = 0
                last_peak = peak_t

        if m < rearm2:
            armed = 1
        elif armed and m >= imp2:
            armed = 0
            if (not pending) and t - last_peak >= refr:
                flight = low_last - low_start + 1
                guarded = 0
                if guard and low_start - land_end <= guard:
                    guarded = 1
                if (not need_flight) or (minf <= flight and flight <= maxf and t - low_last <= win and not guarded):
                    air = flight if need_flight else 0
                    if pw == 0:
                        ev_index[n_ev] = t
                        ev_peak[n_ev] = m
                        ev_air[n_ev] = air
                        n_ev += 1
                        last_peak = t
                    else:
                        pending = 1
                        cross_t = t
                        peak = m
                        peak_t = t
                    low_start = t - win - 1
                    low_last = t - win - 1
        if landed != far:
            land_end = landed
        if armed and not pending:
            quiet_lo = ff2
            quiet_hi = rearm2
        else:
            quiet_lo = 1
            quiet_hi = 0

    i = j // 3
    det.t = t_at_j0 + i
    det.armed = bool(armed)
    det.pending = bool(pending)
    det.cross_t = cross_t
    det.last_peak = last_peak
    det.peak = peak
    det.peak_t = peak_t
    det.air = air
    det.low_start = low_start
    det.low_last = low_last
    det.first_imp = first_imp
    det.land_end = land_end
    det.n_events = n_ev
    return i
