"""Counting does not depend on how the clip is worn or how a recording was sampled.

Every real dev recording (../shared/data/real-dev; skipped without it), through the default
detector (the desktop's fast path, proven equal to the firmware in test_fastpath.py):

- a fixed rotation of the sensor (upside down, sideways, a random one) gives the same events:
  the rule reads magnitudes and angles between vectors, never an axis;
- the same recording read from a resampling grid moved by a fraction of a sample, or with a
  few mg of sensor noise, gives a count within 1;
- a rotation of the sensor between take-off and landing (a pocket turning with the thigh, a
  waistband that slips) keeps the jumps: a long-flight series and a jump on its own do not
  ask how the landing is oriented.

The start-offset property is test_start_offset.py's; device equals desktop, test_parity.py's.
"""

from __future__ import annotations

import dataclasses
import zlib
from functools import lru_cache

import numpy as np
import pytest

from conftest import REAL_DEV, needs_real_dev
from jumpclip import fastpath, replay, score
from jumpclip.sim import feed
from jumpclip.traces import Trace, read_trace

pytestmark = needs_real_dev
RATE, RANGE = 200, 16
TOL_S = 0.1  # make eval's matching tolerance


def recordings() -> list[str]:
    if not REAL_DEV.is_dir():
        return []
    return sorted(p.name for p in REAL_DEV.glob("*.csv") if not p.name.endswith(".events.csv"))


@lru_cache(maxsize=None)
def trace(name: str) -> Trace:
    return read_trace(REAL_DEV / name)


def events(tr: Trace) -> list[tuple[int, int]]:
    det, _ = replay.make_detector({})
    return [(e.index, e.air) for e in fastpath.detect_fast(feed.counts(tr, RATE, RANGE), det)]


def rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    """Rodrigues' rotation matrix about axis."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    th = np.radians(degrees)
    return np.eye(3) + np.sin(th) * k + (1 - np.cos(th)) * (k @ k)


def rotated(tr: Trace, r: np.ndarray) -> Trace:
    return dataclasses.replace(tr, acc=tr.acc @ r.T)


FIXED = {
    "upside down": np.diag([1.0, -1.0, -1.0]),
    "sideways": np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
}


def turns(name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # the same draw every run
    return {**FIXED, "random": rotation(rng.normal(size=3), rng.uniform(20, 180))}


def jump_recordings() -> list[str]:
    return [n for n in recordings() if (REAL_DEV / n.replace(".csv", ".events.csv")).exists()]


@pytest.mark.parametrize("name", jump_recordings())
def test_a_fixed_rotation_counts_the_same_jumps(name: str) -> None:
    tr = trace(name)
    base = events(tr)
    for how, r in turns(name).items():
        got = events(rotated(tr, r))
        # A rotation re-rounds each sample to whole counts (half a count is 0.24 mg at
        # +-16 g). That can move a free fall's edge by a sample or two, and on a phone's clipped
        # plateau (2 g rails, up to 0.2 s flat) which sample is the highest: the same
        # landings, matched as make eval matches them, with flights within 2 samples (10 ms).
        assert len(got) == len(base), f"{name}, {how}: {len(got)} events, upright {len(base)}"
        moved = [(a, b) for a, b in zip(base, got) if abs(a[0] - b[0]) > TOL_S * RATE or abs(a[1] - b[1]) > 2]
        assert not moved, f"{name}, {how}: landings moved or flights changed {moved[:3]}"


def test_no_rotation_lets_jogging_past_the_goal() -> None:
    """Jump-free recordings (jogging, walking, everyday; falls apart): under every fixed
    rotation the false counts stay within the goal, 0.5 a minute of jogging. A short-flight
    series still asks for upright landings, measured in 1/32 g steps, so a rotation can move
    a borderline window of strides either way (docs/detector.md); the pooled rate holds."""
    names = [n for n in recordings() if n not in jump_recordings() and ("jogging" in n or "_D03_" in n or "_D04_" in n)]
    minutes = sum(trace(n).duration_s for n in names) / 60
    assert minutes > 30, "the whole jogging recordings are missing"
    for how in ("upright", *FIXED, "random"):
        false = 0
        for n in names:
            tr = trace(n)
            false += len(events(tr if how == "upright" else rotated(tr, turns(n)[how])))
        assert false / minutes <= 0.5, f"{how}: {false} false counts in {minutes:.0f} min of jogging"


@pytest.mark.parametrize("name", recordings())
def test_a_moved_grid_or_sensor_noise_changes_the_count_by_at_most_one(name: str) -> None:
    tr = trace(name)
    n = len(events(tr))
    rng = np.random.default_rng(7)
    for frac in (0.25, 0.5, 0.75):  # the recording read on a grid moved by part of a sample
        got = len(events(dataclasses.replace(tr, t=tr.t + frac / RATE)))
        assert abs(got - n) <= 1, f"{name}: grid moved by {frac} sample: {got} jumps, {n} on the grid"
    noisy = dataclasses.replace(tr, acc=tr.acc + rng.normal(0.0, 0.003, tr.acc.shape))  # 3 mg rms per axis
    got = len(events(noisy))
    assert abs(got - n) <= 1, f"{name}: 3 mg of noise: {got} jumps, {n} without"


def turned_in_flight(tr: Trace, degrees: float, rng: np.random.Generator) -> Trace:
    """The sensor turns by `degrees` about a random axis in the flight before every other
    landing and back before the next, so that every landing meets a sensor turned by that
    much against the gravity it saw before its take-off."""
    assert tr.truth is not None
    r = rotation(rng.normal(size=3), degrees)
    acc = tr.acc.copy()
    for i in range(0, len(tr.truth), 2):
        end = tr.truth[i + 1] - 0.12 if i + 1 < len(tr.truth) else tr.t[-1] + 1
        sel = (tr.t >= tr.truth[i] - 0.12) & (tr.t < end)  # from inside the flight (landing - 120 ms)
        acc[sel] = acc[sel] @ r.T
    return dataclasses.replace(tr, acc=acc)


def test_a_turn_in_flight_keeps_the_jumps() -> None:
    kept: dict[str, list[int]] = {}
    rng = np.random.default_rng(40)
    for name in recordings():
        tr = trace(name)
        if tr.truth is None or not len(tr.truth):
            continue
        got = [tr.t[0] + i / RATE for i, _ in events(turned_in_flight(tr, 40.0, rng))]
        tp, _, _ = score.match(got, tr.truth, TOL_S)
        group = "short-flight hops" if name.startswith("umafall_") else "other jumps"
        k = kept.setdefault(group, [0, 0])
        k[0] += tp
        k[1] += len(tr.truth)
    assert kept, "no labelled recording"
    print("\n  a 40-degree turn in flight: " + ", ".join(f"{g} {k[0]} of {k[1]} kept" for g, k in sorted(kept.items())))
    tp, n = kept["other jumps"]
    # Isolated jumps and long-flight series (>= 220 ms, half a window) never ask how a
    # landing is oriented: at least 95 % of them survive a 40-degree turn in flight.
    assert tp >= 0.95 * n, f"a 40-degree turn in flight kept {tp} of {n} jumps"
    # UMAFall's hops fly about 200 ms, under the long-flight series' 220 ms: they still
    # need upright landings (the verticality test, against the gravity before take-off).
    # docs/detector.md gives the figure; this bound holds it where it is measured.
    tp, n = kept["short-flight hops"]
    assert tp >= 0.6 * n, f"a 40-degree turn in flight kept {tp} of {n} short-flight hops"
