"""`make eval`: detector accuracy, per activity, on people the settings never saw.

On the real waist and pocket recordings (../shared/data/real-dev/, when present):

1. the default config on every subject (the defaults were chosen on all of them);
2. leave-one-subject-out cross-validation (LOSO): for each subject, the detector settings
   are chosen on the other subjects (the grid below, best pooled F1 over their recordings,
   falls excluded) and scored on the one left out. This is the honest estimate for unseen
   people, reported per activity;
3. each design decision, checked the same way: the LOSO result with one rule taken out.

Then the synthetic corpus (tests/data/), which checks the code, not the accuracy.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from jumpclip import score, tune
from jumpclip.sim import feed
from jumpclip.traces import TraceError, read_trace

ROOT = Path(__file__).resolve().parents[1]
REAL_DEV = ROOT.parent / "shared" / "data" / "real-dev"
CORPUS = ROOT / "tests" / "data"
TOL_S = 0.1

# The settings LOSO chooses among. min_flight_ms (isolated jumps) is not tuned: see DESIGN.
GRID = {
    "series_flight_ms": [120, 140, 160],
    "isolation_ms": [600, 800, 1000],
    "series_min": [4, 5, 6],
    "vertical_ratio": [0.5, 0.6, 0.7],
    "long_flight_ms": [250, 0],
}
# Each rule taken out (or changed), LOSO-tuned over the rest of the grid.
DESIGN = {
    "the default rules": {},
    "no isolation rule (no jump counts for stillness)": {"isolation_ms": [10000]},
    "no rebound-series rule": {"series_min": [20]},
    "no verticality test (every impact counts as vertical)": {"vertical_ratio": [3.0]},
    "no long-flight rule": {"long_flight_ms": [0]},
    "isolated jumps need 140 ms of flight, not 100": {"min_flight_ms": [140]},
}
ACTIVITY_ORDER = ["jumps", "hops (waist)", "hops (pocket)", "jogging", "walking", "stairs", "everyday", "falls"]

out = Console(width=170)  # a wide table, also when piped


def activity_of(path: Path, has_jumps: bool) -> str:
    """What the wearer was doing, from the file name (the data README's naming)."""
    name = path.stem
    if name.startswith("umafall_"):
        _, place, act = name.split("_")[:3]
        return f"hops ({place})" if act == "hop" else act
    if not name.startswith("sisfall_"):
        return "jumps" if has_jumps else "jump-free"  # the synthetic corpus
    code = name.split("_")[2]  # sisfall_waist_<code>_<subject>_R<trial>
    if code == "jump":
        return "jumps"
    if code in ("D01", "D02"):
        return "walking"
    if code in ("D03", "D04"):
        return "jogging"
    if code in ("D05", "D06"):
        return "stairs"
    return "falls" if code.startswith("F") else "everyday"


@dataclass
class Recording:
    path: Path
    subject: str
    activity: str
    counts: np.ndarray
    truth: np.ndarray | None
    label: int | None
    minutes: float
    t0: float


def load(paths: list[Path]) -> list[Recording]:
    recs = []
    for p in paths:
        tr = read_trace(p)
        has_jumps = tr.truth is not None and len(tr.truth) > 0
        recs.append(Recording(p, score.subject_of(tr.header) or p.stem, activity_of(p, has_jumps),
                              feed.counts(tr, 200, 16), tr.truth, tr.label_jumps, tr.duration_s / 60, float(tr.t[0])))
    return recs


_RECS: list[Recording] = []


def _init(recs: list[Recording]) -> None:
    global _RECS
    _RECS = recs


def _score_config(cfg: dict) -> list[score.Tally | None]:
    return [tune.score_counts(cfg, r.counts, r.truth, r.label, r.minutes, r.t0, TOL_S) for r in _RECS]


def configs(axes: dict[str, list]) -> list[dict]:
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k] for k in keys))]


def score_all(recs: list[Recording], cfgs: list[dict]) -> list[list[score.Tally | None]]:
    with Pool(2, initializer=_init, initargs=(recs,)) as pool:
        return pool.map(_score_config, cfgs)


def pooled(recs: list[Recording], row: list[score.Tally | None], keep) -> score.Tally:
    t = score.Tally()
    for r, tl in zip(recs, row):
        if tl is not None and keep(r):
            t.add(tl)
    return t


def loso(recs: list[Recording], table_: list[list[score.Tally | None]]) -> tuple[dict[str, int], int]:
    """For each subject, the index of the config best on the others; and the best on all."""

    def best(keep) -> int:
        return int(np.argmax([pooled(recs, row, keep).f1 for row in table_]))

    chosen = {s: best(lambda r, s=s: r.subject != s and r.activity != "falls") for s in sorted({r.subject for r in recs})}
    return chosen, best(lambda r: r.activity != "falls")


def by_activity(recs: list[Recording], pick) -> dict[str, score.Tally]:
    """Tallies per activity; pick(recording) -> that recording's Tally."""
    acts: dict[str, score.Tally] = {}
    for r in recs:
        tl = pick(r)
        if tl is not None:
            acts.setdefault(r.activity, score.Tally()).add(tl)
    return acts


def table(title: str, acts: dict[str, score.Tally]) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("activity", "minutes", "labelled", "counted", "F1", "precision", "recall", "count error", "false/min", "false/5 min"):
        t.add_column(col, justify="right")
    order = [a for a in ACTIVITY_ORDER if a in acts] + sorted(a for a in acts if a not in ACTIVITY_ORDER)
    for a in order:
        tl = acts[a]
        jumpfree = tl.truth == 0
        t.add_row(
            a,
            f"{tl.minutes:.1f}",
            str(tl.truth),
            str(tl.count),
            "" if jumpfree else f"{tl.f1:.3f}",
            "" if jumpfree else f"{tl.precision:.3f}",
            "" if jumpfree else f"{tl.recall:.3f}",
            "" if jumpfree else f"{100 * tl.count_error:+.1f} %",
            f"{tl.per_minute:.2f}" if jumpfree else "",
            f"{5 * tl.per_minute:.2f}" if jumpfree else "",
        )
    return t


def summary(acts: dict[str, score.Tally]) -> dict[str, float]:
    jumps, everyday, jog = score.Tally(), score.Tally(), score.Tally()
    for a, tl in acts.items():
        if a in ("jumps", "hops (waist)", "hops (pocket)"):
            jumps.add(tl)
        elif a in ("walking", "stairs", "everyday"):
            everyday.add(tl)
        elif a == "jogging":
            jog.add(tl)
    return {"f1": jumps.f1, "count_error": jumps.count_error, "everyday_per_5min": 5 * everyday.per_minute, "jogging_per_min": jog.per_minute}


def real_data() -> None:
    recs = load(sorted(p for p in REAL_DEV.glob("*.csv") if not p.name.endswith(".events.csv")))
    subjects = sorted({r.subject for r in recs})
    out.print(f"{len(recs)} recordings of {len(subjects)} people ({', '.join(subjects)}) from {REAL_DEV}")

    default_row = score_all(recs, [{}])[0]
    out.print(table("1. The default config, every subject (the defaults were chosen on all of them)",
                    by_activity(recs, lambda r: default_row[recs.index(r)])))

    results = {}
    for name, change in DESIGN.items():
        axes = {**GRID, **{k: v for k, v in change.items() if k in GRID}}
        fixed = {k: v[0] for k, v in change.items() if k not in GRID}
        cfgs = [{**fixed, **c} for c in configs(axes)]
        tab = score_all(recs, cfgs)
        chosen, best = loso(recs, tab)
        acts = by_activity(recs, lambda r: tab[chosen[r.subject]][recs.index(r)])
        results[name] = summary(acts)
        if name == "the default rules":
            out.print(table("2. Leave one subject out: settings chosen on the others, scored on the one left out", acts))
            picks = sorted({tuple(sorted(cfgs[i].items())) for i in chosen.values()})
            out.print("   settings chosen (per left-out subject): " + "; ".join(", ".join(f"{k}={v}" for k, v in p) for p in picks))
            out.print("   chosen on all subjects (the defaults in firmware/detector.py): "
                      + ", ".join(f"{k}={v}" for k, v in cfgs[best].items()))
            goal = results[name]
            out.print("   goals (jumps and hops together; everyday = walking, stairs and other daily activities): "
                      f"F1 {goal['f1']:.3f} (>= 0.99), count error {100 * goal['count_error']:+.1f} % (within 1 %), "
                      f"everyday {goal['everyday_per_5min']:.2f} per 5 min (<= 1), jogging {goal['jogging_per_min']:.2f} per min (<= 1)")

    t = Table(title="3. Each design decision, by leave-one-subject-out (LOSO-tuned over the rest of the grid)", title_justify="left")
    for col in ("variant", "F1 jumps+hops", "count error", "everyday false/5 min", "jogging false/min"):
        t.add_column(col, justify="right")
    for name, r in results.items():
        t.add_row(name, f"{r['f1']:.3f}", f"{100 * r['count_error']:+.1f} %", f"{r['everyday_per_5min']:.2f}", f"{r['jogging_per_min']:.2f}")
    out.print(t)
    out.print("Falls are reported apart (they are not everyday movement). Jump labels come from a flight-phase "
              "labeller, not video (see the data README).")


def main() -> int:
    out.print("Detector accuracy; landings matched within 100 ms")
    try:
        if REAL_DEV.is_dir():
            real_data()
        else:
            out.print(f"[yellow]{REAL_DEV} not present: real-data evaluation skipped[/]")
        recs = load(sorted(p for p in CORPUS.glob("*.csv") if not p.name.endswith(".events.csv")))
        row = score_all(recs, [{}])[0]
        out.print(table("Synthetic corpus (tests/data; checks the code, not the accuracy)", by_activity(recs, lambda r: row[recs.index(r)])))
    except TraceError as e:
        out.print(f"[red]error:[/] {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
