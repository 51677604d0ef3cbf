"""The numpy fast path gives exactly the streaming reference's events."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REAL_DEV, corpus, needs_real_dev
from jumpclip import fastpath, replay
from jumpclip.sim import feed
from jumpclip.traces import read_trace
from test_detector_properties import configs, counts_of, piece, render

CONFIGS = [
    {},
    {"series_min": 1, "vertical_ratio": 3.0, "isolation_ms": 0, "series_flight_ms": 60},  # every vertical landing
    {"flight": False, "refractory_ms": 0, "peak_window_ms": 0},
    {"rate_hz": 1000, "range_g": 8},
    {"series_min": 10, "long_flight_ms": 0, "isolation_ms": 3000, "max_flight_ms": 400},  # strict
]


def both(counts, cfg):
    det, _ = replay.make_detector(cfg)
    ref = replay.detect_counts(counts, det)
    det2, _ = replay.make_detector(cfg)
    return ref, fastpath.detect_fast(counts, det2)


@pytest.mark.parametrize("cfg", CONFIGS, ids=["default", "permissive", "plain", "1kHz", "strict"])
@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.stem)
def test_fast_equals_reference_on_corpus(path, cfg):
    c = replay.make_detector(cfg)[1]
    counts = feed.counts(read_trace(path), c["rate_hz"], c["range_g"])
    ref, fast = both(counts, cfg)
    assert fast == ref


@settings(max_examples=300, deadline=None)
@given(st.lists(piece, max_size=50), configs)
def test_fast_equals_reference_on_random_signals(pieces, cfg):
    ref, fast = both(counts_of(render(pieces)), cfg)
    assert fast == ref


@needs_real_dev
@pytest.mark.parametrize("cfg", [CONFIGS[i] for i in (0, 1, 2, 4)], ids=["default", "permissive", "plain", "strict"])
def test_fast_equals_reference_on_real_recordings(cfg):
    n = 0
    for p in sorted(REAL_DEV.glob("*.csv")):
        if p.name.endswith(".events.csv"):
            continue
        ref, fast = both(feed.counts(read_trace(p), 200, 16), cfg)
        assert fast == ref, p.name
        n += len(ref)
    assert n > 0


def test_default_counts_rebound_series_and_rejects_strides():
    """One default for every kind of jump: isolated jumps, box jumps and rebound series
    (rope skipping, hops) count in full; jogging and stairs count nothing (synthetic traces:
    this checks the rules, make eval checks the accuracy on real recordings)."""
    from conftest import DATA

    def count(name, cfg):
        c = replay.make_detector(cfg)[1]
        counts = feed.counts(read_trace(DATA / name), c["rate_hz"], c["range_g"])
        return len(fastpath.detect_fast(counts, replay.make_detector(cfg)[0]))

    assert count("rope_single_s1.csv", {}) == 20
    assert count("hops_s1.csv", {}) == 10
    assert count("cmj_s1.csv", {}) == 6
    assert count("box_jumps_s1.csv", {}) == 5
    assert count("jogging_s1.csv", {}) == 0
    assert count("stairs_s1.csv", {}) == 0
    # Each context rule carries weight: without the verticality test (any impact direction
    # continues a series), the jogging strides count.
    assert count("jogging_s1.csv", {"vertical_ratio": 3.0, "series_min": 1, "series_flight_ms": 60}) > 0


def test_the_end_of_a_stream_opens_no_landing_that_never_happened():
    # Found by the random test: four 20 g impacts without flight (flight off, no refractory)
    # fill the gravity window before the "take-off"; finish() padded the stream with that
    # window's mean, 2 g, which opened one more landing past the last sample. Its still
    # sample is now at most 1 g (detector.still_sample), in both paths.
    from test_detector_properties import render

    cfg = {"refractory_ms": 0, "peak_window_ms": 58, "min_flight_ms": 5, "flight_gap_ms": 0, "flight": False,
           "series_min": 1, "series_flight_ms": 5, "isolation_ms": 0, "vertical_ratio": 0.0, "long_flight_ms": 0}
    counts = counts_of(render([("rest", 46)] + [("impact", 20.0)] * 4))
    ref, fast = both(counts, cfg)
    assert fast == ref
    assert len(ref) == 4 and all(e.index < len(counts) for e in ref), ref
