"""The landing's 20 Hz filtered peak (firmware/impact.py): the force model's input.

Measured against scipy's Butterworth (the filter the model's authors used), kept inside
31-bit ints, computed identically by the desktop's numpy path, and by the clip on the
virtual board."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import butter, sosfiltfilt

from conftest import REAL_DEV, corpus, needs_real_dev
from jumpclip import replay
from jumpclip.fw import load
from jumpclip.sim import feed
from jumpclip.sim.board import run_trace
from jumpclip.traces import read_trace

impact = load("impact")


def reference(counts: np.ndarray, indices: list[int], rate: int = 200, range_g: int = 16) -> list[int]:
    """firmware/impact.py itself, one landing at a time, as the clip runs it."""
    ip = impact.ImpactPeak(rate, range_g)
    out = []
    for i in indices:
        impact.window_from(lambda j, a: int(counts[j, a]), i, len(counts), ip.half, ip.win)
        out.append(ip.peak(ip.win))
    return out


def test_the_coefficients_are_scipys_butterworth():
    for rate, table in impact.SECTIONS.items():
        sos = butter(4, 20 / (rate / 2), output="sos")
        want = tuple(int(round(v * (1 << impact.Q))) for s in sos for v in (s[4], s[5]))
        assert table == want, rate
        # The numerator the clip derives, g * (1, 2, 1) with unity gain at 0 Hz, is scipy's
        # up to where scipy puts the overall gain (its first section).
        gains = [(1 + s[4] + s[5]) / 4 for s in sos]
        assert all(s[:3] / s[0] == pytest.approx([1, 2, 1]) for s in sos)
        assert sos[0][0] * sos[1][0] == pytest.approx(gains[0] * gains[1])


def scipy_peaks(counts: np.ndarray, indices: list[int], rate: int = 200, lsb: int = 2048) -> np.ndarray:
    """The model's preprocessing on the whole recording: zero-phase Butterworth (order 4,
    20 Hz) per axis, the resultant, its largest value near the landing (impactr's way)."""
    sos = butter(4, 20 / (rate / 2), output="sos")
    r = np.sqrt((sosfiltfilt(sos, counts.astype(float) / lsb, axis=0) ** 2).sum(axis=1))
    near = impact.ms_to_samples(impact.PEAK_MS, rate)
    return np.array([r[max(0, i - near) : i + near + 1].max() * 1000 for i in indices])


def relative_errors(paths) -> np.ndarray:
    errs = []
    for p in paths:
        tr = read_trace(p)
        counts = feed.counts(tr, 200, 16)
        idx = [e.index for e in replay.detect_trace(tr)[0]]
        if not idx:
            continue
        clip = np.array([v & 0x7FFF for v in replay.filtered_peaks(counts, idx, 200, 16)])
        ref = scipy_peaks(counts, idx)
        ok = ref < 15000  # a clipped landing's scipy peak is as wrong as ours: compared elsewhere
        errs += list((clip[ok] - ref[ok]) / ref[ok])
    return np.array(errs)


def test_close_to_scipy_on_the_corpus():
    e = relative_errors(corpus())
    assert len(e) > 50
    assert abs(e.mean()) < 0.01 and np.abs(e).max() < 0.02


@needs_real_dev
def test_close_to_scipy_on_the_real_recordings(capsys):
    e = relative_errors(sorted(p for p in REAL_DEV.glob("*.csv") if not p.name.endswith(".events.csv")))
    assert len(e) > 100
    with capsys.disabled():
        print(f"\n  filtered peak vs scipy sosfiltfilt, {len(e)} real landings: mean {100 * e.mean():+.2f} %, "
              f"largest {100 * np.abs(e).max():.2f} %")
    assert abs(e.mean()) < 0.01 and np.abs(e).max() < 0.02


def test_the_desktops_numpy_path_equals_the_clips_code_on_the_corpus():
    n = 0
    for p in corpus():
        tr = read_trace(p)
        counts = feed.counts(tr, 200, 16)
        idx = [e.index for e in replay.detect_trace(tr)[0]]
        assert replay.filtered_peaks(counts, idx, 200, 16) == reference(counts, idx)
        n += len(idx)
    assert n > 50


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(impact.SECTIONS)), st.sampled_from([2, 4, 8, 16]), st.integers(0, 2**32 - 1),
       st.sampled_from(["noise", "rails", "steps"]))
def test_numpy_equals_reference_on_any_signal_and_stays_in_31_bits(rate, range_g, seed, kind):
    rng = np.random.default_rng(seed)
    n = 400
    if kind == "noise":
        counts = rng.integers(-32768, 32768, size=(n, 3))
    elif kind == "rails":
        counts = rng.choice([-32768, 32767], size=(n, 3))
    else:
        counts = np.repeat(rng.choice([-32768, 0, 32767], size=(n // 20, 3)), 20, axis=0)
    counts = counts.astype(np.int16)
    idx = sorted(rng.integers(0, n, size=6).tolist()) + [0, n - 1]
    assert replay.filtered_peaks(counts, idx, rate, range_g) == reference(counts, idx, rate, range_g)
    # Every intermediate of the recurrence: below 2**30 (the ESP32's small ints).
    ip = impact.ImpactPeak(rate, range_g)
    worst = 0
    for s in range(2):
        a1, a2 = ip.a[2 * s], ip.a[2 * s + 1]
        g4 = (1 << impact.Q) + a1 + a2
        y = 8192 * 3 // 2  # filtered values stay within 1.5 x full scale (checked below)
        worst = max(worst, abs(g4) * 4 * y, abs(g4 * 4 * y >> 2) + (abs(a1) + abs(a2)) * y)
    assert worst < 2**30

    class Watch(impact.ImpactPeak):
        peak_seen = 0

        def _pass(self, start, step, m):
            super()._pass(start, step, m)
            Watch.peak_seen = max(Watch.peak_seen, max(abs(v) for v in self.ext))

    w = Watch(rate, range_g)
    for i in idx:
        impact.window_from(lambda j, a: int(counts[j, a]), i, n, w.half, w.win)
        w.peak(w.win)
    assert Watch.peak_seen <= 8192 * 3 // 2


def test_a_landing_at_the_rails_is_flagged_clipped():
    counts = np.zeros((300, 3), dtype=np.int16)
    counts[:, 2] = 2048
    counts[150:153, 2] = 32767  # 16 g and beyond on one axis
    (v,) = replay.filtered_peaks(counts, [151], 200, 16)
    assert v & impact.CLIPPED and 0 < v & 0x7FFF < 16000
    counts[150:153, 2] = 20000
    (v,) = replay.filtered_peaks(counts, [151], 200, 16)
    assert not v & impact.CLIPPED


def test_the_clip_and_the_desktop_agree_on_every_landing(tmp_path):
    """On the virtual board, the firmware stores each landing's filtered peak in its log; the
    desktop computes it from the same samples: equal, landing by landing."""
    lg = load("logformat")
    from test_power_and_daily import log_of

    n = 0
    for path in corpus():
        tr = read_trace(path)
        if not tr.label_jumps:
            continue
        name = path.name
        wd = tmp_path / name
        run = run_trace(path, wd)
        k0 = run.report["models"][0]["first_fifo_index"]
        counts = feed.counts(tr, 200, 16)[k0:]  # the stream the clip saw, from its first sample
        jumps = log_of(wd).jumps
        assert jumps and all(j.filtered for j in jumps), name
        desk = replay.filtered_peaks(counts, [j.t_samples for j in jumps], 200, 16)
        assert [j.filtered for j in jumps] == desk, name
        n += len(jumps)
    assert n >= 70 and lg.JUMP_BYTES == 10


def test_the_clip_and_the_desktop_count_the_same_impacts_in_each_band(tmp_path):
    """Impacts from any movement (firmware/impacts.py): the virtual board's synced band
    counts and qualifying impacts equal the desktop's replay of the same samples, file by file."""
    from test_power_and_daily import log_of

    files = 0
    total = [0] * 5
    for path in corpus()[:8]:
        tr = read_trace(path)
        wd = tmp_path / path.name
        run = run_trace(path, wd)
        k0 = run.report["models"][0]["first_fifo_index"]
        counts = feed.counts(tr, 200, 16)[k0:]
        log = log_of(wd)
        if not log.bands:
            continue
        bands, qualifying = replay.impact_bands(counts, 200, 16, 3900)
        last = {b.session_id: b for b in log.bands}  # the newest record of each session holds
        assert len(last) == 1, path.name
        (b,) = last.values()
        assert list(b.bands) == bands, path.name
        assert b.qualifying == len(qualifying) == len(log.impacts), path.name
        assert [(i.t_samples, i.peak_mg) for i in log.impacts] == qualifying, path.name
        total = [a + c for a, c in zip(total, bands)]
        files += 1
    assert files >= 6 and sum(total) > 50 and total[2] > 0, (files, total)


def test_the_desktops_impact_bands_equal_the_clips_counter():
    # Issue 35: `jumpclip replay` spent most of a day's replay in the clip's impact counter,
    # a Python loop per sample. fastpath.impact_bands_fast runs the same statements on the
    # samples at the 1.3 g floor only: the same bands and the same qualifying impacts, on
    # the corpus, the real recordings, and random signals around every edge.
    import numpy as np

    from conftest import REAL_DEV
    from jumpclip import fastpath

    traces = [feed.counts(read_trace(p), 200, 16) for p in corpus()]
    if REAL_DEV.is_dir():
        traces += [feed.counts(read_trace(p), 200, 16) for p in sorted(REAL_DEV.glob("*.csv"))[:60]
                   if not p.name.endswith(".events.csv")]
    rng = np.random.default_rng(35)
    for _ in range(40):  # around the floor and the band edges, clipped at the rails, short and long
        n = int(rng.integers(1, 3000))
        g = rng.choice([1.0, 1.3, 2.5, 3.9, 5.4, 9.3, 16.0], size=n) + rng.normal(0, 0.05, n)
        counts = np.zeros((n, 3), dtype=np.int16)
        counts[:, 2] = np.clip(np.rint(g * 2048), -32768, 32767)
        traces.append(counts)
    for counts in traces:
        for qualify in (3900, 1500):
            assert fastpath.impact_bands_fast(counts, 200, 16, qualify) == replay.impact_bands(counts, 200, 16, qualify)


# --- the clip's viper copy (firmware/impact_viper.py) against impact.py, under MicroPython ---


def _windows_file(path, with_corpus=True):
    """Windows for both device paths: every landing of the corpus at 200 Hz, and synthetic
    windows (noise, the rails, steps, a still clip) at each rate and range the clip sets."""
    import struct

    rng = np.random.default_rng(20261207)
    blocks = []
    cases = []
    if with_corpus:
        wins = []
        for p in corpus():
            tr = read_trace(p)
            counts = feed.counts(tr, 200, 16)
            ip = impact.ImpactPeak(200, 16)
            for e in replay.detect_trace(tr)[0]:
                impact.window_from(lambda j, a: int(counts[j, a]), e.index, len(counts), ip.half, ip.win)
                wins.append(list(ip.win))
        cases.append((200, 16, wins))
    for rate in sorted(impact.SECTIONS):
        for range_g in (2, 4, 8, 16):
            ip = impact.ImpactPeak(rate, range_g)
            n3 = 3 * ip.n
            wins = [rng.integers(-32768, 32768, size=n3), rng.choice([-32768, 32767], size=n3),
                    np.repeat(rng.choice([-32768, 0, 32767], size=(n3 + 14) // 15), 15)[:n3],
                    np.tile([0, 0, 2048], ip.n), (rng.integers(-3000, 3000, size=n3) >> rng.integers(0, 8))]
            spike = np.tile([0, 0, 2048], ip.n)
            spike[3 * ip.half + 2] = 32767  # a landing at the rail: the clipped flag
            wins.append(spike)
            cases.append((rate, range_g, [list(np.asarray(w, dtype=np.int64)) for w in wins]))
    for rate, range_g, wins in cases:
        blocks.append(struct.pack("<HHI", rate, range_g, len(wins)))
        for w in wins:
            blocks.append(struct.pack(f"<{len(w)}h", *[int(v) for v in w]))
    path.write_bytes(b"".join(blocks))
    return sum(len(w) for _, _, w in cases)


def _peaks_both(tmp_path, module=None, with_corpus=True):
    from conftest import FW_TESTS, run_micropython

    bin_path = tmp_path / "windows.bin"
    n = _windows_file(bin_path, with_corpus)
    proc = run_micropython(FW_TESTS / "mp_peak_replay.py", str(bin_path), *([module] if module else []),
                           extra_path=(FW_TESTS, tmp_path), timeout=600)
    lines = proc.stdout.splitlines()
    return n, [ln[2:] for ln in lines if ln.startswith("P ")], [ln[2:] for ln in lines if ln.startswith("V ")], proc


def test_the_viper_filtered_peak_equals_impact_py(tmp_path):
    n, portable, viper, proc = _peaks_both(tmp_path)
    assert proc.stdout.rstrip().endswith("DONE"), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(portable) == n and n > 150
    assert viper == portable
    assert any(int(v) & impact.CLIPPED for v in portable) and any(not int(v) & impact.CLIPPED for v in portable)


def test_the_viper_filtered_peak_is_generated_from_impact_py():
    import subprocess
    import sys

    from conftest import FW_TESTS

    root = FW_TESTS.parents[1]
    proc = subprocess.run([sys.executable, str(root / "tools" / "gen_viper_peak.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
