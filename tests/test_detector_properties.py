"""Properties of the detector (CPython; the same file runs on the clip, see test_parity)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jumpclip import replay
from jumpclip.synth import Builder

RATE = 200


def counts_of(v_g: np.ndarray, range_g: int = 16) -> np.ndarray:
    lsb = {2: 16384, 4: 8192, 8: 4096, 16: 2048}[range_g]
    z = np.clip(np.rint(v_g * lsb), -32768, 32767).astype(np.int16)
    out = np.zeros((len(z), 3), dtype=np.int16)
    out[:, 2] = z
    return out


def detect(counts: np.ndarray, cfg: dict | None = None) -> list[replay.Event]:
    det, _ = replay.make_detector(cfg)
    return replay.detect_counts(counts, det)


# Random signals made of physically meaningful pieces: rest, free fall, impacts, dips.
piece = st.one_of(
    st.tuples(st.just("rest"), st.integers(1, 80)),
    st.tuples(st.just("fall"), st.integers(1, 120)),
    st.tuples(st.just("impact"), st.floats(1.2, 20.0)),
    st.tuples(st.just("dip"), st.integers(1, 40)),
)


def render(pieces) -> np.ndarray:
    v: list[float] = []
    for kind, arg in pieces:
        if kind == "rest":
            v += [1.0] * arg
        elif kind == "fall":
            v += [0.05] * arg
        elif kind == "impact":
            v += list(np.linspace(1.0, arg, 4)) + list(np.linspace(arg, 1.0, 8))
        else:
            v += [0.7] * arg
    return np.array(v or [1.0])


configs = st.fixed_dictionaries(
    {
        "refractory_ms": st.integers(0, 600),
        "peak_window_ms": st.integers(0, 100),
        "min_flight_ms": st.integers(5, 300),
        "flight_gap_ms": st.integers(0, 50),
        "flight": st.booleans(),
        "series_min": st.integers(1, 8),
        "series_flight_ms": st.integers(5, 300),
        "isolation_ms": st.sampled_from([0, 300, 800, 2000]),
        "vertical_ratio": st.sampled_from([0.0, 0.5, 1.0, 3.0]),
        "long_flight_ms": st.sampled_from([0, 150, 250, 400]),
    }
)


@settings(max_examples=150, deadline=None)
@given(st.lists(piece, max_size=40), configs)
def test_no_two_events_closer_than_refractory(pieces, cfg):
    ev = detect(counts_of(render(pieces)), cfg)
    refr = (cfg["refractory_ms"] * RATE + 500) // 1000
    idx = [e.index for e in ev]
    assert idx == sorted(idx)
    assert all(b - a >= max(refr, 1) for a, b in zip(idx, idx[1:]))


@settings(max_examples=150, deadline=None)
@given(st.lists(piece, max_size=40), configs, st.floats(1.2, 6.0), st.floats(0.0, 6.0))
def test_raising_the_impact_threshold_never_adds_events(pieces, cfg, low, extra):
    counts = counts_of(render(pieces))
    a = detect(counts, {**cfg, "impact_g": low, "rearm_g": min(1.1, low)})
    b = detect(counts, {**cfg, "impact_g": min(low + extra, 15.0), "rearm_g": min(1.1, low)})
    assert len(b) <= len(a)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**31), st.sampled_from(["waist", "shoe"]))
def test_n_clean_jumps_give_n_events(n, seed, placement):
    b = Builder(np.random.default_rng(seed), placement=placement)
    b.stand(1.0)
    for _ in range(n):
        b.jump(airtime=b.rng.uniform(0.25, 0.5))
        b.stand(b.rng.uniform(0.8, 2.0))
    t, acc = b.build(tilt_deg=b.rng.uniform(0, 30))
    lsb = 2048
    counts = np.clip(np.rint(acc * lsb), -32768, 32767).astype(np.int16)
    ev = detect(counts)
    assert len(ev) == n
    for e, land in zip(ev, b.landings):
        assert abs(e.index / RATE - land) <= 0.03


@settings(max_examples=40, deadline=None)
@given(st.floats(17.0, 60.0), st.sampled_from([2, 4, 8, 16]))
def test_landing_clipped_at_range_still_counts(peak_g, range_g):
    v = np.concatenate([np.ones(200), np.full(60, 0.05), np.linspace(0.3, peak_g, 4), np.linspace(peak_g, 1, 12), np.ones(100)])
    ev = detect(counts_of(v, range_g), {"range_g": range_g, "impact_g": min(2.0, 0.9 * range_g), "rearm_g": 1.2})
    assert len(ev) == 1
    assert ev[0].peak_m2 == (32767 >> 1) ** 2  # the clipped value, not a wrapped one


@settings(max_examples=60, deadline=None)
@given(st.floats(2.5, 12.0), st.floats(2.5, 8.0), st.integers(36, 80), st.floats(0.4, 0.9), st.integers(30, 60))
def test_pushoff_peak_before_takeoff_does_not_count(pushoff_g, landing_g, flight, dip_g, dip_n):
    # Unweighting (a half-sine dip to dip_g over 150-300 ms), a push-off peak as large as
    # you like, take-off, flight, landing: one landing, at the landing.
    dip = 1.0 - (1.0 - dip_g) * np.sin(np.pi * (np.arange(dip_n) + 0.5) / dip_n)
    v = np.concatenate(
        [
            np.ones(200),  # standing still, then the countermovement
            dip,
            np.linspace(1, pushoff_g, 10),
            np.linspace(pushoff_g, 1, 10),
            np.full(flight, 0.05),
            np.linspace(0.3, landing_g, 4),
            np.linspace(landing_g, 1, 12),
            np.ones(100),
        ]
    )
    ev = detect(counts_of(v))
    landing_index = 200 + dip_n + 20 + flight + 3
    assert [e.index for e in ev] == [landing_index]
