"""`make eval`: detector accuracy with the default config.

On the real waist recordings (../shared/data/real-dev/, when present), split into the
training subjects the defaults were tuned on and the held-out subjects, and on the
synthetic corpus (tests/data/), which checks the code, not the accuracy.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from jumpclip import replay, score
from jumpclip.traces import TraceError, read_trace

ROOT = Path(__file__).resolve().parents[1]
REAL_DEV = ROOT.parent / "shared" / "data" / "real-dev"
CORPUS = ROOT / "tests" / "data"
TRAIN_SUBJECTS = {"SA01", "SA02", "SA03", "SA04", "SA05", "SA06", "SA07"}
TOL_S = 0.1

out = Console(width=160)  # a wide table, also when piped


def group_of(path: Path, has_jumps: bool) -> str:
    if has_jumps:
        return "jumps"
    if not path.stem.startswith("sisfall_"):
        return "jump-free"  # synthetic confounders
    code = path.stem.split("_")[2]  # sisfall_waist_<code>_<subject>_R<trial>
    if code in ("D03", "D04"):
        return "jogging"
    if code.startswith("F"):
        return "falls"
    return "everyday"


def evaluate(paths: list[Path], cfg: dict | None = None) -> dict[tuple[str, str], score.Tally]:
    tallies: dict[tuple[str, str], score.Tally] = {}
    for p in paths:
        tr = read_trace(p)
        evs, c = replay.detect_trace(tr, cfg)
        pred = [float(tr.t[0]) + e.index / c["rate_hz"] for e in evs]
        t = score.score_file(pred, tr.truth, tr.label_jumps, tr.duration_s / 60, TOL_S)
        if t is None:
            continue
        subj = score.subject_of(tr.header)
        split = "train" if subj in TRAIN_SUBJECTS else "held-out" if subj else "synthetic"
        has_jumps = tr.truth is not None and len(tr.truth) > 0
        key = (split, group_of(p, has_jumps))
        tallies.setdefault(key, score.Tally()).add(t)
    return tallies


def table(title: str, tallies: dict[tuple[str, str], score.Tally]) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("split", "group", "minutes", "labelled", "counted", "F1", "precision", "recall", "count error", "false/min", "false/5 min"):
        t.add_column(col, justify="right")
    for (split, group), tl in sorted(tallies.items()):
        jumpfree = tl.truth == 0
        t.add_row(
            split,
            group,
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


def csvs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.csv") if not p.name.endswith(".events.csv"))


def main() -> int:
    cfg = None
    out.print("Detector accuracy, default config (jumps profile); landings matched within 100 ms")
    try:
        if REAL_DEV.is_dir():
            out.print(table(f"Real waist recordings (SisFall subset, {REAL_DEV})", evaluate(csvs(REAL_DEV), cfg)))
            out.print(table("The same with the 'running' profile (stride guard 800 ms)", evaluate(csvs(REAL_DEV), {"profile": "running"})))
            out.print(
                "Defaults were tuned on the training subjects SA01-SA07; held-out: SA09-SA11. "
                "Jump labels come from a flight-phase labeller, not video (see the data README)."
            )
        else:
            out.print(f"[yellow]{REAL_DEV} not present: real-data evaluation skipped[/]")
        out.print(table("Synthetic corpus (tests/data; checks the code, not the accuracy)", evaluate(csvs(CORPUS), cfg)))
    except TraceError as e:
        out.print(f"[red]error:[/] {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
