"""Replay traces through the firmware's own detector (firmware/detector.py, not a copy)."""

from __future__ import annotations

import array
from dataclasses import dataclass

import numpy as np

from .fw import config as fwconfig
from .fw import detector as fwdetector
from .sim import feed
from .traces import Trace

G = 9.80665


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


def detect_trace(trace: Trace, cfg: dict | None = None) -> tuple[list[Event], dict]:
    det, c = make_detector(cfg)
    counts = feed.counts(trace, c["rate_hz"], c["range_g"])
    return detect_counts(counts, det), c


def event_fields(ev: Event, c: dict, t0: float = 0.0) -> dict:
    rate = c["rate_hz"]
    lsb = fwdetector.LSB_PER_G[c["range_g"]] >> fwdetector.SHIFT
    air_s = ev.air / rate
    return {
        "t_s": round(t0 + ev.index / rate, 4),
        "peak_g": round(float(np.sqrt(ev.peak_m2)) / lsb, 3),
        "airtime_s": round(air_s, 4),
        "height_cm": round(100 * G * air_s * air_s / 8, 1),
    }
