"""The detector counts the same jumps whatever sample it starts at.

A real clip starts counting wherever power-on or a motion wake happens, and `jumpclip replay`
starts at the file's first sample. After its warm-up (Detector.warmup(): the longest history
any decision reads), the events must not depend on the start: the same landings, the same
peaks, the same airtimes. Checked on every real dev recording and every corpus trace, from
the first 64 start samples (every phase of any window of up to 64 samples) and from random
starts further in.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REAL_DEV, corpus, needs_real_dev
from jumpclip import fastpath, replay
from jumpclip.sim import feed
from jumpclip.traces import read_trace
from test_detector_properties import configs, counts_of, piece, render

OFFSETS = list(range(1, 65))


def events_from(counts: np.ndarray, start: int, cfg: dict, fast: bool = True) -> list[tuple[int, int, int]]:
    det, _ = replay.make_detector(cfg)
    evs = fastpath.detect_fast(counts[start:], det) if fast else replay.detect_counts(counts[start:], det)
    return [(e.index + start, e.peak_m2, e.air) for e in evs]


def differences(counts: np.ndarray, starts: list[int], cfg: dict, fast: bool = True) -> list[int]:
    """The starts whose events after their warm-up differ from those of a start at sample 0."""
    det, _ = replay.make_detector(cfg)
    warm = det.warmup()
    base = events_from(counts, 0, cfg, fast)
    bad = []
    for s in starts:
        got = [e for e in events_from(counts, s, cfg, fast) if e[0] >= s + warm]
        if got != [e for e in base if e[0] >= s + warm]:
            bad.append(s)
    return bad


def starts_for(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return OFFSETS + sorted(rng.randrange(65, max(66, n // 2)) for _ in range(8))


def test_the_warm_up_covers_every_history_a_decision_reads():
    for rate in (100, 200, 1000):
        det, _ = replay.make_detector({"rate_hz": rate})
        assert det.warmup() >= (1 << det.block_shift) + det.isolation + det.push + det.max_flight + (det.series_min - 1) * det.series_gap
        # Under 12 s: a series window of series_min candidates, each at most series_gap after
        # the one before, on top of the gravity window and a jump's own history.
        assert det.warmup() < 12 * rate


@needs_real_dev
def test_every_real_recording_gives_the_same_events_from_every_start():
    checked = events = 0
    for k, p in enumerate(sorted(REAL_DEV.glob("*.csv"))):
        if p.name.endswith(".events.csv"):
            continue
        counts = feed.counts(read_trace(p), 200, 16)
        bad = differences(counts, starts_for(len(counts), k), {})
        assert not bad, f"{p.name}: the events after the warm-up differ when counting starts at samples {bad[:8]}"
        checked += 1
        events += len(events_from(counts, 0, {}))
    assert checked >= 130 and events > 300


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.stem)
def test_every_corpus_trace_gives_the_same_events_from_every_start(path):
    counts = feed.counts(read_trace(path), 200, 16)
    assert not differences(counts, starts_for(len(counts), 1), {})
    # The reference itself, not only the fast path (which equals it: tests/test_fastpath.py).
    assert not differences(counts, [1, 17, 63, 200], {}, fast=False)


def _signal_module():
    import importlib.util

    import jumpclip.fw  # noqa: F401  (puts firmware's detector in sys.modules, as the fw cases import it)
    from conftest import FW_TESTS

    spec = importlib.util.spec_from_file_location("fw_detector_cases", FW_TESTS / "fw_detector_cases.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_hop_series_counts_the_same_from_every_phase_of_its_rhythm():
    # Hops every 78 samples: the case in which gravity summed in blocks counted from the
    # stream's first sample moved with the start and lost whole series.
    sig = _signal_module().Signal()
    sig.hold(1.0, 400)
    sig.hops(30, flight_samples=36, contact=42)
    sig.hold(1.0, 400)
    counts = np.frombuffer(sig.samples().tobytes(), dtype=np.int16).reshape(-1, 3)
    base = events_from(counts, 0, {})
    assert len(base) >= 28
    assert not differences(counts, OFFSETS + [78 * k + 5 for k in range(1, 4)], {}, fast=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(piece, min_size=4, max_size=40), configs, st.integers(1, 400))
def test_random_signals_give_the_same_events_after_the_warm_up(pieces, cfg, start):
    counts = counts_of(render(pieces))
    if start >= len(counts):
        start = len(counts) // 2
    assert not differences(counts, [start], cfg)
