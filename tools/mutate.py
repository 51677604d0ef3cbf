"""Mutation run over the detector's hand-written copies: is the differential test strong enough?

The state machine is written once, in firmware/detector.py (the reference, both
interpreters). The clip's compiled copy, firmware/detector_viper.py, is generated from it by
tools/gen_viper.py (a test checks it is fresh), so it cannot drift. The desktop's numpy path,
host_tools/jumpclip/fastpath.py, is written by hand and kept equal by a differential check:
the same signals through both must give the same events. This script flips one comparison at
a time (< and <=, > and >=, == and !=) in the per-sample logic of the reference and of the
fast path and runs that check on
boundary-targeted signals: every threshold at -1, 0 and +1 squared count, every duration at
-1, 0 and +1 sample, impacts in random directions, under several configurations. A mutant
the check does not catch is alive. The generated viper copy is run once over the same
signals and must give the reference's events; a mutant of it would be caught by the
freshness check before any signal (tests/test_detector_source.py).

    python tools/mutate.py           # every comparison of the three copies (make bench)
    python tools/mutate.py --ci      # every flip not argued equivalent, each stopped at its first
                                     # difference (make test: a surviving mutant fails CI)
    python tools/mutate.py --quick   # a sample of 8

It prints one line per mutant and a summary; the exit status is 1 if any mutant lives that
is not listed in EQUIVALENT (with the reason it cannot change behaviour).
"""

from __future__ import annotations

import ast
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host_tools"))

from jumpclip import fastpath, replay  # noqa: E402
from jumpclip.fw import FIRMWARE_DIR  # noqa: E402
from jumpclip.fw import config as fwconfig  # noqa: E402

COPIES = {
    "detector.py": (FIRMWARE_DIR / "detector.py", ("feed", "finish")),
    "fastpath.py": (ROOT / "host_tools" / "jumpclip" / "fastpath.py", ("detect_fast",)),
}
FLIP = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=", ast.NotEq: "=="}
CONFIGS = [
    {},
    {"series_min": 1, "vertical_ratio": 3.0, "isolation_ms": 0, "series_flight_ms": 60},  # every vertical landing counts
    {"flight": False, "refractory_ms": 0, "peak_window_ms": 0},
    {"series_min": 2, "isolation_ms": 300, "long_flight_ms": 100, "max_flight_ms": 400, "vertical_ratio": 0.3},
    {"rate_hz": 1000, "range_g": 8, "refractory_ms": 50, "flight_gap_ms": 5, "series_min": 3},
    {"impact_g": 2.0, "rearm_g": 2.0, "peak_window_ms": 10, "long_flight_ms": 0},  # re-arm level = impact level: both edges of the quiet band matter
    {"series_min": 10, "series_tilts": 3, "long_flight_ms": 0},  # the widest series window
]
# Comparisons whose flip cannot change behaviour, by their source text, with the reason.
EQUIVALENT: dict[str, str] = {
    "quiet_lo <= m": "the fast skip's lower edge: a sample exactly at the free-fall level is not free fall and, armed "
                     "with no peak open, changes nothing but the gravity window, which both branches add it to",
    "m < ff2": "in fastpath's per-sample body only: candidates are below ff2 or at least rearm2 > ff2, so a sample "
               "exactly at ff2 never reaches it",
    "tail < ff2": "fastpath's candidate selection: adding the samples exactly at ff2 adds samples that change nothing "
                   "(see 'quiet_lo <= m')",
    "e < nser": "the series window's counting loop: one more step visits its oldest candidate again, which this "
                "loop has just marked counted",
    "cross_t + pw <= last": "fastpath's close_tail at the stream's end: a window closing exactly at the last sample is "
                            "decided there or, one sample later, by the finish padding, whose still samples (at most 1 g, "
                            "detector.still_sample) open nothing and change nothing a decision reads",
    "k > 0": "finish()'s safety bound on still samples: a window closes within peak_window + 1 of them and a landing "
             "they open within as many more, so the bound (2 * peak_window + 2) is never reached",
}
# Clamps: at equality, clamping or not gives the same value.
for _v, _lim in [(v, "D_MAX") for v in ("dx", "dy", "dz")] + [(v, "G_MAX") for v in ("ux", "uy", "uz")] + [("v", "lim")]:
    EQUIVALENT[f"{_v} > {_lim}"] = "a clamp: at the limit itself, clamping leaves the value as it is"
    EQUIVALENT[f"{_v} < -{_lim}"] = "a clamp: at the limit itself, clamping leaves the value as it is"


# --- mutants --------------------------------------------------------------------------------
def comparison_sites(path: Path, functions: tuple[str, ...]) -> list[tuple[int, int, int, str, str, str]]:
    """(line, col start, col end, operator, flipped, the comparison's source) of every
    comparison in the functions."""
    src = path.read_text()
    lines = src.splitlines()
    out = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            for cmp in ast.walk(node):
                if not isinstance(cmp, ast.Compare):
                    continue
                left = cmp.left
                for op, right in zip(cmp.ops, cmp.comparators):
                    if type(op) not in FLIP:
                        left = right
                        continue
                    if left.end_lineno != right.lineno:
                        left = right
                        continue
                    line = lines[left.end_lineno - 1]
                    between = line[left.end_col_offset : right.col_offset]
                    text = between.strip()
                    a = left.end_col_offset + between.index(text)
                    expr = f"{ast.get_source_segment(src, left)} {text} {ast.get_source_segment(src, right)}"
                    out.append((left.end_lineno, a, a + len(text), text, FLIP[type(op)], expr))
                    left = right
    return out


def mutated(path: Path, site) -> str:
    line_no, a, b, _, flipped, _ = site
    lines = path.read_text().splitlines(keepends=True)
    ln = lines[line_no - 1]
    lines[line_no - 1] = ln[:a] + flipped + ln[b:]
    return "".join(lines)


# --- boundary-targeted signals ----------------------------------------------------------------
def three_squares(target: int) -> tuple[int, int, int] | None:
    """(a, b, c) with a^2 + b^2 + c^2 == target and each below 16384 (half counts)."""
    c = min(16383, int(target**0.5))
    while c >= 0:
        rest = target - c * c
        b = min(c, int(rest**0.5))
        while b >= 0 and b * b * 2 >= rest - 0:
            a2 = rest - b * b
            a = int(round(a2**0.5))
            if a * a == a2 and a <= b:
                return a, b, c
            b -= 1
        c -= 1
        if c < int(target**0.5) - 60:
            return None
    return None


def sample_at(m: int) -> list[int]:
    """Counts (x, y, z) whose firmware magnitude ((v >> 1)^2 summed) is exactly m, or near."""
    for d in (0, 1, -1, 2, -2):
        abc = three_squares(max(0, m + d))
        if abc:
            return [2 * v for v in abc]
    r = int(m**0.5)
    return [0, 0, 2 * r]


def oriented(sample: list[int], rng: random.Random) -> list[int]:
    """The same magnitude in another direction: axes permuted, signs flipped (exact)."""
    v = [sample[i] for i in rng.sample(range(3), 3)]
    return [-c if rng.random() < 0.5 and c > -32768 else c for c in v]


def durations_of(det) -> list[int]:
    far = 1 << 19
    return [d for d in (det.min_flight, det.series_flight, det.context_flight, det.max_flight, det.long_flight,
                        det.flight_gap, det.window, det.refractory, det.peak_window, det.isolation, det.push,
                        det.cluster_gap, 1 << det.block_shift, 1 << det.impact_shift, det.series_gap) if d < far]


def signal(det, rng: random.Random, pieces: int = 14) -> list[list[int]]:
    """One signal made of pieces at the detector's thresholds and durations, each -1/0/+1,
    with impacts in random directions (the verticality test)."""
    lv = {
        "ff": [det.freefall_m2 - 1, det.freefall_m2, det.freefall_m2 + 1, max(0, det.freefall_m2 // 4)],
        "quiet": [det.freefall_m2 + 2, det.rearm_m2 - 1, (det.freefall_m2 + det.rearm_m2) // 2],
        "rearm": [det.rearm_m2 - 1, det.rearm_m2, det.rearm_m2 + 1],
        "imp": [det.impact_m2 - 1, det.impact_m2, det.impact_m2 + 1, det.impact_m2 * 2, det.impact_m2 * 3],
    }
    durations = durations_of(det)

    def dur() -> int:
        return max(1, rng.choice(durations) + rng.choice((-1, 0, 1)))

    up = sample_at((det.freefall_m2 + det.rearm_m2) // 2)  # "gravity" for this signal
    out: list[list[int]] = []
    for _ in range(pieces):
        kind = rng.choice(["ff", "ff", "quiet", "quiet", "rearm", "imp", "imp", "impulse", "series"])
        if kind == "impulse":  # a landing-like rise and fall through every level
            for m in rng.sample(lv["imp"], 3) + [rng.choice(lv["rearm"]), rng.choice(lv["quiet"])]:
                s = sample_at(m) if rng.random() < 0.5 else oriented(sample_at(m), rng)
                out += [s] * rng.choice((1, 1, 2, det.peak_window + rng.choice((-1, 0, 1)) or 1))
        elif kind == "series":  # hops: flight, a vertical or a tilted impact, a short contact
            for _ in range(rng.randint(1, det.series_min + 2)):
                out += [sample_at(rng.choice(lv["ff"]))] * max(1, rng.choice((det.series_flight, det.min_flight, det.context_flight)) + rng.choice((-1, 0, 1)))
                imp = sample_at(rng.choice(lv["imp"][1:]))
                out += [imp if rng.random() < 0.6 else oriented(imp, rng)] * (1 << det.impact_shift)
                out += [up] * rng.randint(1, 40)
        else:
            smp = sample_at(rng.choice(lv[kind]))
            out += [smp if kind != "imp" or rng.random() < 0.5 else oriented(smp, rng)] * dur()
    return out


def templates(det) -> list[list[list[int]]]:
    """Signals built for each rule's boundary: every length and level at -1, 0 and +1."""
    ff, quiet = sample_at(det.freefall_m2 - 1), sample_at((det.freefall_m2 + det.rearm_m2) // 2)
    imp, big = sample_at(det.impact_m2), sample_at(det.impact_m2 * 2)
    push = sample_at(det.rearm_m2)
    maxf = det.max_flight if det.max_flight < 1 << 19 else 300
    pm = (-1, 0, 1)
    still = [quiet] * (det.isolation + 5)  # long enough stillness: the next jump is isolated
    out = []
    for length in {det.min_flight + d for d in pm} | {maxf + d for d in pm} | {det.context_flight + d for d in pm} \
            | {det.long_flight + d for d in pm if det.long_flight < 1 << 19}:
        for delay in {det.window + d for d in pm} | {0, 1}:
            out.append(still + [push, quiet] + [ff] * max(1, length) + [quiet] * max(0, delay) + [imp, big, imp])
    for g in {det.flight_gap + d for d in (-1, 0, 1, 2)}:  # a dip inside a flight: bridged or not
        for a in (det.min_flight // 2, det.min_flight - g - 1, det.min_flight - g):
            out.append(still + [push] + [ff] * max(1, a) + [quiet] * max(0, g) + [ff] * max(1, det.min_flight - a - g + 1) + [imp])
            out.append(still + [push] + [ff] * max(1, a) + [quiet] * max(0, g) + [ff] * max(1, det.min_flight - a - g) + [imp])
    jump = [push] + [ff] * (det.min_flight + 3) + [imp]
    # Isolation: movement, then stillness of iso +-1 before the push-off; a push-off +-1 inside
    # its window before the take-off; two movements +-1 apart (one cluster or two).
    for d in pm:
        out.append([big] + [quiet] * max(0, det.isolation + d - 1) + jump + still)
        out.append(still + [push] + [quiet] * max(0, det.push + d - 1) + [ff] * (det.min_flight + 3) + [imp] + still)
        out.append([big] + [quiet] * max(0, det.isolation - 3) + [push] + [quiet] * max(0, det.cluster_gap + d - 1) + jump + still)
    # Rebound series of series_min +-1 vertical hops, flights at series_flight +-1, after stillness
    # and after movement; once more with one tilted impact in the middle.
    for n in {det.series_min + d for d in pm}:
        for f in {det.series_flight + d for d in pm}:
            hop = [ff] * max(1, f) + [big] * (1 << det.impact_shift) + [quiet] * 20
            out.append([big] + [quiet] * 30 + hop * max(1, n) + still)
            tilted = [ff] * max(1, f) + [[big[2], big[1], big[0]]] * (1 << det.impact_shift) + [quiet] * 20
            out.append([big] + [quiet] * 30 + hop * max(1, n // 2) + tilted + hop * max(1, n) + still)
    # Hops series_gap -1/0/+1 apart (peak to peak), with movement between (never still): one
    # series, or each hop beginning anew.
    for d in pm:
        hop = [ff] * (det.series_flight + 2) + [big] * (1 << det.impact_shift)
        filler: list[list[int]] = []
        while len(filler) < det.series_gap + d - len(hop):
            filler += [push] + [quiet] * max(1, det.cluster_gap // 2)
        filler = filler[: max(0, det.series_gap + d - len(hop))]
        out.append(still + (hop + filler) * (det.series_min + 1) + still)
    # A movement that begins win +-1 after a hop's free fall (a landing: it ends no stillness)
    # and holds the push-off of a jump: isolated or not.
    for d in (-2, -1, 0, 1):
        out.append(still + [ff] * (det.series_flight + 2) + [quiet] * max(0, det.window + d) + [push] + [quiet] * 10
                   + [ff] * (det.min_flight + 3) + [big] + still)
    # The gravity window: a take-off on either side of the moment it has filled.
    blk = 1 << det.block_shift
    for d in (-2, -1, 0, 1):
        out.append([quiet] * max(0, 2 * blk + d) + [ff] * (det.series_flight + 2) + [big] * 3 + still)
    # A peak window that ends on skipped quiet samples, then a higher sample just after it.
    for d in {det.peak_window + e for e in pm}:
        out.append(still + [push] + [ff] * (det.min_flight + 3) + [imp] + [quiet] * max(0, d) + [big, quiet])
    # Landings two samples apart (plain counting): the event arrays fill within one call.
    out.append([imp, quiet] * 120)
    for d in {det.refractory + e for e in pm} | {det.peak_window + e for e in pm}:  # two landings d apart
        gap_len = max(0, d - len(jump))
        out.append(still + jump + [quiet] * gap_len + jump)
    for d in {det.peak_window + e for e in pm}:  # a higher sample d after the rise: inside the window or not
        out.append(still + [push] + [ff] * (det.min_flight + 3) + [imp] + [sample_at(det.impact_m2 + 5)] * max(0, d - 1) + [big, quiet])
    for lv in (det.rearm_m2 - 1, det.rearm_m2, det.rearm_m2 + 1):  # the debounce: re-armed between two rises or not
        out.append(still + jump + [sample_at(lv), imp] + [quiet] * (det.refractory + 2) + jump)
    for lv in (det.impact_m2 - 1, det.impact_m2, det.impact_m2 + 1):
        out.append(still + [push] + [ff] * (det.min_flight + 3) + [sample_at(lv)] + [quiet] * 3)
    for lv in (det.freefall_m2 - 1, det.freefall_m2, det.freefall_m2 + 1):
        out.append(still + [push] + [sample_at(lv)] * (det.min_flight + 3) + [imp])
    return out


def corpus(seed: int = 7, per_config: int = 400) -> list[tuple[dict, np.ndarray]]:
    rng = random.Random(seed)
    sets = []
    for cfg in CONFIGS:
        det, c = replay.make_detector(cfg)
        rest = [sample_at((det.freefall_m2 + det.rearm_m2) // 2)] * (det.window + det.refractory + det.max_flight % 4000 + 50)
        rows: list[list[int]] = []
        for sig in templates(det):
            rows += sig + rest
        for _ in range(per_config):
            rows += signal(det, rng) + rest
        # Streams that end inside an open peak window, or exactly where it closes: finish()
        # decides it. The second stands at the impact level first, so that finish()'s still
        # samples (the gravity before take-off) are themselves at the impact level.
        rows += templates(det)[0][: -2] + rest
        high = sample_at(det.impact_m2 + det.impact_m2 // 2)
        rows += [high] * (4 << det.block_shift) + [sample_at(det.freefall_m2 - 1)] * (det.series_flight + 2) \
            + [sample_at(det.impact_m2 * 2)] + [sample_at((det.freefall_m2 + det.rearm_m2) // 2)] * det.peak_window
        sets.append((cfg, np.array(rows, dtype=np.int16)))
    return sets


# --- the differential check -----------------------------------------------------------------
def events_of(det_module, cfg: dict, counts: np.ndarray) -> list[tuple[int, int, int]]:
    valid, _ = fwconfig.validate(cfg)
    det = det_module.Detector(fwconfig.detector_params(valid), valid["rate_hz"], valid["range_g"])
    return [(e.index, e.peak_m2, e.air) for e in replay.detect_counts(counts, det)]


def finish_when_full(det_module) -> tuple:
    """Feed landings without draining until the event arrays are full with one more peak
    window open, then finish(): it must say False (drain first), as the reference does."""
    det = det_module.Detector({"flight": False, "refractory_ms": 0, "peak_window_ms": 10}, 200, 16)
    imp, quiet = sample_at(det.impact_m2 * 2), sample_at((det.freefall_m2 + det.rearm_m2) // 2)
    rows = ([imp] + [quiet] * (det.peak_window + 1)) * (det_module.EVENT_CAPACITY + 2)  # one landing each
    flat = __import__("array").array("h", np.array(rows, dtype=np.int16).tobytes())
    try:
        stop = det.feed(flat, 0, len(rows))
        full = (stop, det.n_events, det.finish(), det.n_events, det.pending)
        # Exactly as many events as a decision may still add, with one window open: finish()
        # has room and must decide it (True), not ask for a drain.
        det.reset()
        room = det_module.EVENT_CAPACITY - det.series_min
        rows = ([imp] + [quiet] * (det.peak_window + 1)) * room + [imp, quiet]
        flat = __import__("array").array("h", np.array(rows, dtype=np.int16).tobytes())
        stop = det.feed(flat, 0, len(rows))
        return full + (stop, det.n_events, det.finish(), det.n_events, det.pending)
    except Exception as e:
        return ("raised", type(e).__name__)


def fast_events(fast_module, cfg: dict, counts: np.ndarray) -> list[tuple[int, int, int]]:
    det, _ = replay.make_detector(cfg)
    return [(e.index, e.peak_m2, e.air) for e in fast_module.detect_fast(counts, det)]


VIPER_HARNESS = """
import array, json, sys
import detector_viper
from detector import Detector
raw = bytearray(960)
batch = array.array("h", [0] * 480)
for name in sys.argv[1:]:
    with open(name + ".json") as f:
        spec = json.load(f)
    det = Detector(spec["params"], spec["rate"], spec["range"])
    with open(name + ".bin", "rb") as f:
        while True:
            got = f.readinto(raw)
            if not got:
                break
            n = got // 6
            for q in range(3 * n):
                v = raw[2 * q] | (raw[2 * q + 1] << 8)
                batch[q] = v - 0x10000 if v & 0x8000 else v
            i = 0
            while i < n:
                i = detector_viper.feed(det, batch, i, n)
                for e in range(det.n_events):
                    print(name, det.ev_index[e], det.ev_peak[e], det.ev_air[e])
                det.n_events = 0
    det.finish()
    for e in range(det.n_events):
        print(name, det.ev_index[e], det.ev_peak[e], det.ev_air[e])
print("DONE")
"""


def viper_events(viper_source: str, sets, work: Path) -> dict[str, list[tuple[int, int, int]]] | None:
    """Events of the viper feed under MicroPython, per signal set; None if it failed to run."""
    fw = work / "fw"
    fw.mkdir(exist_ok=True)
    for f in FIRMWARE_DIR.glob("*.py"):
        (fw / f.name).write_text(f.read_text())
    (fw / "detector_viper.py").write_text(viper_source)
    (fw / "harness.py").write_text(VIPER_HARNESS)
    names = []
    for k, (cfg, counts) in enumerate(sets):
        valid, _ = fwconfig.validate(cfg)
        name = str(work / f"set{k}")
        Path(name + ".bin").write_bytes(counts.astype("<i2").tobytes())
        Path(name + ".json").write_text(json.dumps({"params": fwconfig.detector_params(valid), "rate": valid["rate_hz"], "range": valid["range_g"]}))
        names.append(name)
    mp = os.environ.get("MICROPYTHON") or str(Path(sys.executable).parent / "micropython")
    proc = subprocess.run([mp, "-X", "heapsize=8M", str(fw / "harness.py"), *names], capture_output=True, text=True, timeout=600,
                          env={"MICROPYPATH": str(fw), "PATH": "/usr/bin:/bin"})
    if not proc.stdout.rstrip().endswith("DONE"):
        if os.environ.get("MUTATE_DEBUG"):
            print(proc.stdout[-500:], proc.stderr[-1500:])
        return None  # a mutant that does not even run (or crashes) is caught
    out: dict[str, list[tuple[int, int, int]]] = {n: [] for n in names}
    for line in proc.stdout.splitlines()[:-1]:
        n, a, b, c = line.split()
        out[n].append((int(a), int(b), int(c)))
    return out


def load_module(name: str, source: str, package: str | None = None) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__package__ = package
    exec(compile(source, name, "exec"), mod.__dict__)
    return mod


def first_difference(got_of, want: list) -> bool:
    """Does any signal set give other events than `want`? Stops at the first that does."""
    return any(got_of(k) != w for k, w in enumerate(want))


_RUN: dict = {}  # the signal sets and the reference's events, shared with the pool's workers by fork


def judge(item) -> bool:
    """Is this mutant killed: does some signal set give other events than the reference?"""
    copy, site = item
    sets, ref = _RUN["sets"], _RUN["ref"]
    src = mutated(COPIES[copy][0], site)
    try:
        if copy == "detector.py":
            mod = load_module("detector", src)
            # The mutant reference against the unmutated copies' events (ref).
            return first_difference(lambda k: events_of(mod, *sets[k]), ref) or finish_when_full(mod) != _RUN["finish_ref"]
        mod = load_module("jumpclip.fastpath_mutant", src, "jumpclip")
        return first_difference(lambda k: fast_events(mod, *sets[k]), ref)
    except Exception:  # a mutant that crashes is caught
        return True


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    ci = "--ci" in argv
    sets = corpus(per_config=150 if quick else 400)
    detector_src = (FIRMWARE_DIR / "detector.py").read_text()
    reference = load_module("detector", detector_src)
    ref = [events_of(reference, cfg, counts) for cfg, counts in sets]
    assert ref == [fast_events(fastpath, cfg, counts) for cfg, counts in sets], "the copies differ before any mutation"
    sites = [(copy, site) for copy, (path, fns) in COPIES.items() for site in comparison_sites(path, fns)]
    if quick:
        sites = random.Random(1).sample(sites, 8)
    if ci:  # an equivalent flip is argued in EQUIVALENT; every other one must be killed
        sites = [(copy, site) for copy, site in sites if site[5] not in EQUIVALENT]
    total_events = sum(len(r) for r in ref)
    print(f"mutation run: {len(sites)} comparison flips over {len(COPIES)} copies; {sum(len(c) for _, c in sets):,} samples, "
          f"{total_events} landings in {len(sets)} configurations of boundary-targeted signals")
    with tempfile.TemporaryDirectory() as td:
        work = Path(td)
        base = viper_events((FIRMWARE_DIR / "detector_viper.py").read_text(), sets, work)
        assert base is not None and [base[str(work / f"set{k}")] for k in range(len(sets))] == ref, "viper differs before any mutation"
    _RUN.update(sets=sets, ref=ref, finish_ref=finish_when_full(reference))
    with multiprocessing.get_context("fork").Pool(2) as pool:  # the mutants are independent: both cores
        verdicts = pool.map(judge, sites, chunksize=1)
    alive = []
    for (copy, site), killed in zip(sites, verdicts):
        key = f"{copy}:{site[0]}: {site[5]}  ({site[3]} -> {site[4]})"
        print(f"  {'killed' if killed else 'ALIVE '}  {key}")
        if not killed:
            alive.append((key, site[5]))
    unexplained = [a for a, expr in alive if expr not in EQUIVALENT]
    print(f"mutation run: {len(sites) - len(alive)} of {len(sites)} killed; alive: {len(alive)} "
          f"({len(alive) - len(unexplained)} known equivalent)")
    for a, expr in alive:
        print(f"  alive {a}: {EQUIVALENT.get(expr, 'NOT EXPLAINED')}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
