"""One detector, two interpreters: CPython and the MicroPython unix port give identical
events on every trace of the test corpus (and on the real recordings when present)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import FW_TESTS, REAL_DEV, corpus, needs_real_dev, run_micropython
from jumpclip import replay
from jumpclip.sim import feed
from jumpclip.traces import read_trace

CONFIGS = [
    {},
    {"rate_hz": 1000, "range_g": 8},
    {"flight": False, "refractory_ms": 0, "peak_window_ms": 0},
    {"impact_g": 3.5, "min_flight_ms": 60, "flight_gap_ms": 0, "rearm_g": 1.2, "series_min": 2, "vertical_ratio": 1.2, "isolation_ms": 400},
]


def both(trace_path, cfg, tmp_path):
    tr = read_trace(trace_path)
    det, c = replay.make_detector(cfg)
    counts = feed.counts(tr, c["rate_hz"], c["range_g"])
    cpy = [e.as_tuple() for e in replay.detect_counts(counts, det)]
    bin_path = tmp_path / "counts.bin"
    bin_path.write_bytes(np.ascontiguousarray(counts, dtype=np.int16).tobytes())
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps({k: v for k, v in cfg.items() if k not in ("rate_hz", "range_g")}))
    proc = run_micropython(FW_TESTS / "mp_replay.py", str(bin_path), str(c["rate_hz"]), str(c["range_g"]), str(cfg_path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    mpy = [tuple(int(x) for x in ln.split()[1:]) for ln in lines if ln.startswith("EV")]
    end = [ln for ln in lines if ln.startswith("END")]
    assert end and int(end[0].split()[1]) == len(counts)
    return cpy, mpy, tr


@pytest.mark.parametrize("cfg", CONFIGS, ids=["default", "1kHz-8g", "plain-threshold", "tuned"])
@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.stem)
def test_identical_events_on_corpus(path, cfg, tmp_path):
    cpy, mpy, tr = both(path, cfg, tmp_path)
    assert cpy == mpy
    if not cfg and tr.label_jumps is not None:
        assert len(cpy) == tr.label_jumps  # synthetic traces: the count is exact


@needs_real_dev
def test_identical_events_on_real_recordings(tmp_path):
    paths = sorted(p for p in REAL_DEV.glob("*.csv") if not p.name.endswith(".events.csv"))
    total = 0
    for p in paths[::4]:  # every 4th recording keeps this under a few seconds
        cpy, mpy, _ = both(p, {}, tmp_path)
        assert cpy == mpy, p.name
        total += len(cpy)
    assert total > 0


@pytest.mark.parametrize("cfg", CONFIGS, ids=["default", "1kHz-8g", "plain-threshold", "tuned"])
def test_viper_fast_path_equals_portable_on_corpus(cfg, tmp_path):
    """The clip's viper detector gives the portable detector's events, on every trace."""
    c = replay.make_detector(cfg)[1]
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps({k: v for k, v in cfg.items() if k not in ("rate_hz", "range_g")}))
    total = 0
    for path in corpus():
        counts = feed.counts(read_trace(path), c["rate_hz"], c["range_g"])
        bin_path = tmp_path / "counts.bin"
        bin_path.write_bytes(np.ascontiguousarray(counts, dtype="<i2").tobytes())
        proc = run_micropython(FW_TESTS / "mp_viper_replay.py", str(bin_path), str(c["rate_hz"]), str(c["range_g"]), str(cfg_path), extra_path=(FW_TESTS,))
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        portable = [ln[2:] for ln in lines if ln.startswith("P ")]
        viper = [ln[2:] for ln in lines if ln.startswith("V ")]
        assert viper == portable, path.name
        total += len(portable)
    assert total > 0


def test_every_comparison_mutant_that_can_change_behaviour_is_caught():
    # tools/mutate.py --ci flips every comparison of the reference detector and the numpy
    # fast path that is not argued equivalent (tools/mutate.py's EQUIVALENT, each with its
    # reason), and runs the differential check on boundary-targeted signals until the first
    # difference. A flip that survives is a rule the tests cannot see: this test fails.
    import subprocess
    import sys

    root = FW_TESTS.parents[1]
    proc = subprocess.run([sys.executable, str(root / "tools" / "mutate.py"), "--ci"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    summary = [ln for ln in proc.stdout.splitlines() if ln.startswith("mutation run:") and "killed" in ln]
    assert summary and "alive: 0" in summary[-1], proc.stdout[-3000:]
    flips = int(proc.stdout.split("mutation run: ", 1)[1].split(" ", 1)[0])
    assert flips >= 50  # the comparisons of two copies: a refactor that hides them from the run fails here


def _impact_signal() -> np.ndarray:
    """The corpus' first traces, then spikes at each band edge and at the 0.4 s distance
    exactly, equal neighbours and a burst of qualifying impacts (a full event array)."""
    parts = [feed.counts(read_trace(p), 200, 16) for p in corpus()[:4]]
    rows = []
    rest = [0, 0, 2048]
    for mg in (1300, 2500, 3900, 5400, 9300):  # each threshold's exact half-count (detector.mg_to_m2), and either side
        half = (mg * 1024 + 500) // 1000
        for c in (2 * half - 2, 2 * half, 2 * half + 2):
            rows += [rest] * 100 + [[0, 0, c]]
    for gap in (79, 80, 81):  # the distance rule, either side of 0.4 s, a lower and a higher second peak
        rows += [rest] * 100 + [[0, 0, 10000]] + [rest] * (gap - 1) + [[0, 0, 9000]]
        rows += [rest] * 100 + [[0, 0, 9000]] + [rest] * (gap - 1) + [[0, 0, 10000]]
        rows += [rest] * 100 + [[0, 0, 9000]] + [rest] * (gap - 1) + [[0, 0, 9000]]
    rows += ([[0, 0, 12000]] + [rest] * 80) * 40  # 40 qualifying impacts, one every 81 samples
    rows += [[-32768, -32768, -32768]] + [rest] * 100
    return np.concatenate(parts + [np.array(rows, dtype=np.int16)])


def _impacts_both(tmp_path, batch: int, module: str | None = None) -> tuple[list[str], list[str], int]:
    bin_path = tmp_path / "imp.bin"
    bin_path.write_bytes(np.ascontiguousarray(_impact_signal(), dtype="<i2").tobytes())
    args = [str(bin_path), "200", "16", "3900", str(batch)] + ([module] if module else [])
    proc = run_micropython(FW_TESTS / "mp_impacts_replay.py", *args, extra_path=(FW_TESTS, tmp_path))
    lines = proc.stdout.splitlines()
    return [ln[2:] for ln in lines if ln.startswith("P ")], [ln[2:] for ln in lines if ln.startswith("V ")], proc.returncode


@pytest.mark.parametrize("batch", [80, 1600])  # the clip's wake at 200 Hz; a batch that fills the event arrays
def test_the_viper_impact_counter_equals_the_portable_one(tmp_path, batch):
    portable, viper, rc = _impacts_both(tmp_path, batch)
    assert rc == 0
    assert viper == portable
    bands = [int(v) for v in portable[-1].split("[")[1].split("]")[0].split(",")]
    assert len(portable) > 60 and all(b > 0 for b in bands), portable[-1]


def test_every_comparison_of_the_viper_impact_counter_is_checked(tmp_path):
    # Each comparison of impacts_viper.feed flipped in turn (>= to >, > to >=, < to <=,
    # != to ==): the signal above must show a difference from the portable counter.
    import re

    src = (FW_TESTS.parents[1] / "firmware" / "impacts_viper.py").read_text()
    body = src[src.index("def feed"):]
    flips = {">=": ">", ">": ">=", "<": "<=", "!=": "=="}
    ops = [m for m in re.finditer(r"(?<![<>=!-])(>=|<=|!=|>|<)(?![<>=])", body) if m.group(1) in flips]  # not "->"
    assert len(ops) >= 7
    for m in ops:
        mutant = src[: src.index("def feed") + m.start()] + flips[m.group(1)] + body[m.end():]
        (tmp_path / "impacts_mutant.py").write_text(mutant)
        portable, viper, rc = _impacts_both(tmp_path, 1600, "impacts_mutant")
        line = body[: m.start()].count("\n") + 1
        assert rc != 0 or viper != portable, f"flipping {m.group(1)!r} on line {line} of feed changed nothing"
