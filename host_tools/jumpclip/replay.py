"""Replay traces through the firmware's own detector (firmware/detector.py, not a copy)."""

from __future__ import annotations

import array
from dataclasses import dataclass

import numpy as np

from .fw import config as fwconfig
from .fw import detector as fwdetector
from .fw import impacts as fwimpacts
from .sim import feed
from .traces import Trace



@dataclass(frozen=True)
class Event:
    index: int  # landing-peak sample, counted from the first sample at the detector's rate
    peak_m2: int  # squared magnitude in (counts >> SHIFT)**2
    air: int  # airtime in samples

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.index, self.peak_m2, self.air)


def make_detector(cfg: dict | None = None):
    c, errors = fwconfig.validate(cfg or {})
    if errors:
        raise ValueError("; ".join(errors))
    return fwdetector.Detector(fwconfig.detector_params(c), c["rate_hz"], c["range_g"]), c


def detect_counts(counts: np.ndarray, det) -> list[Event]:
    """Stream (n, 3) int16 counts through a Detector, in FIFO-sized batches as the clip does."""
    flat = array.array("h", np.ascontiguousarray(counts, dtype=np.int16).tobytes())
    n = len(counts)
    events: list[Event] = []

    def drain() -> None:
        for k in range(det.n_events):
            events.append(Event(det.ev_index[k], det.ev_peak[k], det.ev_air[k]))
        det.n_events = 0

    i = 0
    while i < n:
        i = det.feed(flat, i, n)
        drain()
    while not det.finish():
        drain()
    drain()
    return events


def impact_bands(counts: np.ndarray, rate_hz: int, range_g: int, qualify_mg: int) -> tuple[list[int], list[tuple[int, int]]]:
    """The clip's impact counter (firmware/impacts.py) over (n, 3) int16 counts, in the
    clip's wakes of 80 samples: (impacts per band, [(sample, peak mg)] of those at least
    qualify_mg high). The same code and the same numbers as the clip's."""
    flat = array.array("h", np.ascontiguousarray(counts, dtype=np.int16).tobytes())
    n = len(counts)
    imp = fwimpacts.Impacts(rate_hz, range_g, qualify_mg)
    found: list[tuple[int, int]] = []

    def drain() -> None:
        found.extend((imp.ev_index[k], imp.peak_mg(imp.ev_peak[k])) for k in range(imp.n_events))
        imp.n_events = 0

    i = 0
    while i < n:
        end = min(n, i + 80)
        while i < end:
            i = imp.feed(flat, i, end)
            drain()
    while not imp.finish():
        drain()
    drain()
    return list(imp.bands), found


def detect_trace(trace: Trace, cfg: dict | None = None) -> tuple[list[Event], dict]:
    det, c = make_detector(cfg)
    counts = feed.counts(trace, c["rate_hz"], c["range_g"])
    return detect_counts(counts, det), c


def filtered_peaks(counts: np.ndarray, indices: list[int], rate_hz: int, range_g: int) -> list[int]:
    """Each landing's 20 Hz filtered peak as the clip stores it (firmware/impact.py: mg, bit
    15 = clipped), from the stream the way the clip computes it from its ring of recent
    samples: the same window, samples outside the stream repeating the nearest one.

    numpy runs firmware/impact.py's integer recurrence for all landings at once (the same
    statements on arrays: a day of landings in a second); tests/test_impact.py requires
    the result to equal ImpactPeak.peak() exactly, landing by landing."""
    from .fw import load

    impact = load("impact")
    ip = impact.ImpactPeak(rate_hz, range_g)
    if not indices:
        return []
    n, half, pad = ip.n, ip.half, impact.PAD
    idx = np.clip(np.asarray(indices, dtype=np.int64)[:, None] + np.arange(-half, half + 1), 0, len(counts) - 1)
    win = counts[idx].astype(np.int64)  # (landings, n, 3)
    x = win >> 2
    ext = np.empty((len(indices), n + 2 * pad, 3), dtype=np.int64)
    ext[:, pad : pad + n] = x
    k = np.arange(1, pad + 1)
    ext[:, pad - k] = 2 * x[:, :1] - ext[:, pad + k]
    ext[:, pad + n - 1 + k] = 2 * x[:, -1:] - ext[:, pad + n - 1 - k]
    np.clip(ext, -8192, 8192, out=ext)
    a = ip.a
    for order in (range(ext.shape[1]), range(ext.shape[1] - 1, -1, -1)):
        order = list(order)
        for sct in range(2):
            a1, a2 = a[2 * sct], a[2 * sct + 1]
            g4 = (1 << impact.Q) + a1 + a2
            v = ext[:, order[0]].copy()
            x1, x2, y1, y2 = v.copy(), v.copy(), v.copy(), v.copy()
            for i in order:
                x0 = ext[:, i].copy()
                y0 = (((g4 * (x0 + 2 * x1 + x2)) >> 2) - a1 * y1 - a2 * y2) >> impact.Q
                ext[:, i] = y0
                x2, x1, y2, y1 = x1, x0, y1, y0
    out = ext[:, pad : pad + n]
    c, near = half, ip.near
    m = (out[:, c - near : c + near + 1] ** 2).sum(axis=2).max(axis=1)
    res = []
    rails = win[:, c - near : c + near + 1]
    clipped = ((rails >= 32767) | (rails <= -32768)).any(axis=(1, 2))
    for mm, cl in zip(m.tolist(), clipped.tolist()):
        mg = min(impact.isqrt(int(mm)) * 1000 // ip.lsb_quarter, 0x7FFF)
        res.append(mg | (impact.CLIPPED if cl else 0))
    return res


def event_fields(ev: Event, c: dict, t0: float = 0.0, filtered: int | None = None) -> dict:
    rate = c["rate_hz"]
    lsb = fwdetector.LSB_PER_G[c["range_g"]] >> fwdetector.SHIFT
    air_s = ev.air / rate
    out = {
        "t_s": round(t0 + ev.index / rate, 4),
        "peak_g": round(float(np.sqrt(ev.peak_m2)) / lsb, 3),
        "airtime_s": round(air_s, 4),
        "height_cm": fwdetector.height_mm(int(ev.air), int(rate)) / 10,
    }
    if filtered is not None:
        out["filtered_peak_g"] = (filtered & 0x7FFF) / 1000
        out["clipped"] = bool(filtered & 0x8000)
    return out


# --- replaying files: the document `jumpclip replay --json` prints -----------------------
def replay_file(path: str, cfg: dict | None = None, tolerance_s: float = 0.1, fast: bool = True, units: str | None = None) -> dict:
    """One file's entry: events, truth and metrics; `error` (one line) if it cannot be read."""
    from . import fastpath, score
    from .traces import TraceError, nominal_rate, read_trace

    entry: dict = {"path": str(path), "rate_hz": None, "duration_s": None, "count": 0, "events": [], "impact_bands": None,
                   "qualifying_impacts": None,
                   "truth": None, "metrics": None, "notes": [], "error": None, "units": units}
    det, c = make_detector(cfg)
    try:
        from pathlib import Path

        from . import bigtrace

        big = None
        if fast and units is None and Path(path).is_file() and Path(path).stat().st_size > bigtrace.BIG_BYTES:
            big = bigtrace.read_counts(path, c["rate_hz"], c["range_g"])  # None: not regular, take the general path
        if big is not None:
            tr, counts = big
        else:
            tr = read_trace(path, units)
            counts = feed.counts(tr, c["rate_hz"], c["range_g"])
    except TraceError as e:
        entry["error"] = str(e)
        return entry
    evs = fastpath.detect_fast(counts, det) if fast else detect_counts(counts, det)
    notes = list(tr.notes)
    if nominal_rate(tr) != c["rate_hz"]:
        notes.append(f"resampled from {tr.rate_hz:.4g} Hz to the detector's {c['rate_hz']} Hz")
    t0 = float(tr.t[0])
    fpk = filtered_peaks(counts, [e.index for e in evs], c["rate_hz"], c["range_g"])
    bands, qualifying = (fastpath.impact_bands_fast if fast else impact_bands)(counts, c["rate_hz"], c["range_g"],
                                                                               fwdetector.g_to_mg(c["qualify_g"]))
    entry.update(
        rate_hz=c["rate_hz"],
        duration_s=round(tr.duration_s, 3),
        count=len(evs),
        events=[event_fields(e, c, t0, f) for e, f in zip(evs, fpk)],
        impact_bands=dict(zip(fwimpacts.BAND_NAMES, bands)),
        qualifying_impacts=len(qualifying),
        notes=notes,
    )
    truth_t = tr.truth if tr.truth is not None else (np.array([]) if tr.label_jumps == 0 else None)
    if truth_t is not None:
        entry["truth"] = {"count": int(len(truth_t)), "events": [{"t_s": round(float(x), 4)} for x in truth_t]}
    elif tr.label_jumps is not None:
        entry["truth"] = {"count": tr.label_jumps, "events": None}
    tally = score.score_file([e["t_s"] for e in entry["events"]], truth_t, tr.label_jumps, tr.duration_s / 60, tolerance_s)
    if tally is not None:
        m = tally.metrics()
        m["count"] = tally.count
        m["truth_count"] = tally.truth
        m["jump_free"] = tally.truth == 0
        if tally.truth == 0:
            m["false_per_min"] = round(tally.per_minute, 3)
        entry["metrics"] = m
        entry["_tally"] = tally
        entry["_subject"] = score.subject_of(tr.header)
    return entry


def summarise(files: list[dict]) -> dict:
    """Totals over every file with ground truth, and a separate line for jump-free files."""
    from .score import Tally

    jumps, free = Tally(timed=False), Tally()  # timed once a file with landing times is in
    for f in files:
        t = f.get("_tally")
        if t is None:
            continue
        (free if t.truth == 0 else jumps).add(t)
    scored = jumps.tp + jumps.fp + jumps.fn > 0 or jumps.truth > 0
    with_truth = {**jumps.metrics(), "count": jumps.count, "truth_count": jumps.truth, "minutes": round(jumps.minutes, 2)}
    if not scored:  # nothing was scored: no F1 of 1.0 from zero events
        for k in ("precision", "recall", "f1", "count_error"):
            with_truth[k] = None
        if not jumps.timed:
            for k in ("tp", "fp", "fn"):
                with_truth[k] = None
    return {
        "files": len(files),
        "errors": sum(1 for f in files if f["error"]),
        "events": sum(f["count"] for f in files),
        "with_truth": with_truth,
        "jump_free": {"files": sum(1 for f in files if f.get("_tally") is not None and f["_tally"].truth == 0),
                      "minutes": round(free.minutes, 2), "false_counts": free.count,
                      "false_per_min": round(free.per_minute, 3)},
    }


def public(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if not k.startswith("_")}
