"""Replay speed on the desktop: the streaming reference (the firmware's detector under
CPython) and the numpy fast path; a day of data; tune over 100 configurations."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from jumpclip import fastpath, replay, tune
from jumpclip.sim import feed
from jumpclip.synth import Builder
from jumpclip.traces import read_trace

ROOT = Path(__file__).resolve().parents[1]
REAL_DEV = ROOT.parent / "shared" / "data" / "real-dev"


def day_of_counts(rate: int = 200) -> np.ndarray:
    """24 h at 200 Hz (17.28 M samples): rest, an hour of walking, a jump session."""
    rng = np.random.default_rng(0)
    b = Builder(rng)
    b.walk(600)
    for _ in range(100):
        b.jump()
        b.stand(2.0)
    b.walk(3000)
    t, acc = b.build()
    active = np.clip(np.rint(acc * 2048), -32768, 32767).astype(np.int16)
    n = 24 * 3600 * rate
    rest = np.zeros((n - len(active), 3), dtype=np.int16)
    rest[:, 2] = 2048
    rest += rng.normal(0, 0.015 * 2048, rest.shape).astype(np.int16)
    return np.concatenate([rest[: len(rest) // 2], active, rest[len(rest) // 2 :]])


def write_day_csv(path: Path) -> None:
    """The day of counts as a trace file in g, 4 decimals, as `jumpclip record` writes them
    (568 MB). Written in blocks; cached in build/ between runs."""
    day = day_of_counts()
    with path.open("w") as f:
        f.write("# rate_hz: 200\n# label: a day at the waist\nt_s,ax_g,ay_g,az_g\n")
        step = 1_000_000
        for a in range(0, len(day), step):
            g = day[a : a + step] / 2048
            t = np.arange(a, a + len(g)) / 200
            np.savetxt(f, np.column_stack([t, g]), fmt=["%.3f", "%.4f", "%.4f", "%.4f"], delimiter=",")


CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from jumpclip import bigtrace, replay
if sys.argv[2] == "general":
    bigtrace.BIG_BYTES = 1 << 62  # force the general path (read the whole file, then convert)
e = replay.replay_file(sys.argv[1])
took = time.perf_counter() - t0
print(json.dumps({"s": took, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "error": e["error"],
                  "events": [(x["t_s"], x["peak_g"], x["airtime_s"]) for x in e["events"]]}))
"""


def day_csv_replay() -> None:
    import json
    import subprocess
    import sys

    path = ROOT / "build" / "bench" / "day-24h-200hz.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        write_day_csv(path)
        print(f"  (wrote {path.relative_to(ROOT)}, {path.stat().st_size / 1e6:.0f} MB, in {time.perf_counter() - t0:.0f} s; kept for next time)")
    runs = {}
    for how in ("streaming", "general"):
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), how], capture_output=True, text=True, check=True).stdout
        runs[how] = json.loads(out)
    st, ge = runs["streaming"], runs["general"]
    same = st["events"] == ge["events"] and not st["error"]
    print(f"  `jumpclip replay` of a 24 h CSV ({path.stat().st_size / 1e6:.0f} MB, end to end in a fresh process): "
          f"{st['s']:.1f} s, peak {st['rss_mb']:.0f} MB, {len(st['events'])} landings (goal < 5 s, < 500 MB)")
    print(f"    the general path (whole file as float64, then converted): {ge['s']:.1f} s, peak {ge['rss_mb']:.0f} MB; "
          f"events identical: {'yes' if same else 'NO'}")


def rate(fn, counts) -> tuple[float, int]:
    det, _ = replay.make_detector({})
    t0 = time.perf_counter()
    evs = fn(counts, det)
    return len(counts) / (time.perf_counter() - t0), len(evs)


def main() -> None:
    demo = feed.counts(read_trace(ROOT / "host_tools" / "jumpclip" / "data" / "demo_session.csv"), 200, 16)
    sample = np.concatenate([demo] * 20)
    ref_rate, n1 = rate(replay.detect_counts, sample)
    fast_rate, n2 = rate(fastpath.detect_fast, sample)
    print("Replay throughput on the desktop (CPython, one core; demo session x20):")
    print(f"  streaming reference:  {ref_rate / 1e6:6.2f} M samples/s ({n1} landings)")
    print(f"  numpy fast path:      {fast_rate / 1e6:6.2f} M samples/s ({n2} landings, identical events: tested)")
    day = day_of_counts()
    det, _ = replay.make_detector({})
    t0 = time.perf_counter()
    evs = fastpath.detect_fast(day, det)
    t_day = time.perf_counter() - t0
    print(f"  24 h at 200 Hz ({len(day) / 1e6:.2f} M samples, fast path): {t_day:.2f} s, {len(evs)} landings (goal < 5 s)")
    t0 = time.perf_counter()
    ref = replay.impact_bands(day, 200, 16, 3900)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast = fastpath.impact_bands_fast(day, 200, 16, 3900)
    t_fast = time.perf_counter() - t0
    print(f"  the impact bands of those 24 h: the clip's counter {t_ref:.2f} s, the desktop's fast path {t_fast:.2f} s "
          f"(identical: {'yes' if ref == fast else 'NO'})")
    day_csv_replay()
    if REAL_DEV.is_dir():
        paths = [str(p) for p in sorted(REAL_DEV.glob("*.csv")) if not p.name.endswith(".events.csv")]
        grid = tune.parse_grid(tune.DEFAULT_GRID)
        t0 = time.perf_counter()
        res = tune.tune(paths, grid)
        print(f"  tune: {len(grid)} configurations x {len(paths)} real recordings, {res.folds}-fold CV: {time.perf_counter() - t0:.1f} s (goal < 60 s)")
    else:
        print("  tune: ../shared/data/real-dev not present; skipped")


if __name__ == "__main__":
    main()
