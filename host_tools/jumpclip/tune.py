"""`jumpclip tune`: sweep detector settings over labelled traces, choose by cross-validation.

Every configuration of the grid runs once on every file (the fast path makes that cheap);
cross-validation then only adds up tallies. Folds are subjects when every file names one
(`# subject:`), else files: for each fold the configuration that scores best on the other
folds is scored on the held-out one, so the validation score is honest. The configuration
written out is the one that scores best on all the data.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import fastpath, replay, score
from .sim import feed
from .traces import read_trace

DEFAULT_GRID = "min_flight_ms=80,100,120;series_flight_ms=120,140,160;series_min=4,5,6;vertical_ratio=0.5,0.6,0.7"


class TuneError(Exception):
    pass


def parse_grid(spec: str) -> list[dict]:
    """`key=v1,v2;key2=start:stop:step` -> every combination, each checked by config rules."""
    from .fw import config as fwconfig

    axes: list[tuple[str, list]] = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        key, sep, values = part.partition("=")
        key = key.strip()
        if not sep or key not in fwconfig.SCHEMA:
            raise TuneError(f"grid: {part!r} is not key=values with a config key ({', '.join(fwconfig.DETECTOR_KEYS)})")
        if ":" in values:
            try:
                a, b, step = (float(x) for x in values.split(":"))
            except ValueError:
                raise TuneError(f"grid: {part!r}: a range is start:stop:step") from None
            if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(step)) or step <= 0 or (b - a) / step > 10_000:
                raise TuneError(f"grid: {part!r}: a range is start:stop:step with a positive step and at most 10,000 values")
            # Plain Python numbers (not numpy scalars): whole numbers as int, so that they
            # read as themselves in messages and in the config written.
            vals = [int(x) if float(x).is_integer() and fwconfig.SCHEMA[key][1] != "f" else float(x)
                    for x in np.round(np.arange(a, b + step / 2, step), 6)]
        else:
            vals = []
            for v in values.split(","):
                v = v.strip()
                vals.append(True if v == "true" else False if v == "false" else float(v) if "." in v else int(v) if v.lstrip("-").isdigit() else v)
        for v in vals:
            _, problem = fwconfig.check(key, v)
            if problem:
                raise TuneError(f"grid: {problem}")
        axes.append((key, vals))
    if not axes:
        raise TuneError("grid: empty; e.g. --grid 'min_flight_ms=150,170;freefall_g=0.5,0.55'")
    return [dict(zip((k for k, _ in axes), combo)) for combo in itertools.product(*(v for _, v in axes))]


@dataclass
class Labelled:
    path: str
    group: str
    counts: np.ndarray
    truth: np.ndarray | None
    label: int | None
    minutes: float
    t0: float


def load(paths: list[str], rate_hz: int, range_g: int) -> list[Labelled]:
    out = []
    for p in paths:
        tr = read_trace(p)
        if tr.truth is None and tr.label_jumps is None:
            continue  # no ground truth: nothing to tune against
        out.append(Labelled(p, score.subject_of(tr.header) or "", feed.counts(tr, rate_hz, range_g), tr.truth, tr.label_jumps, tr.duration_s / 60, float(tr.t[0])))
    if not out:
        raise TuneError("no labelled traces (a <stem>.events.csv or a '# label: jumps=N' header) among the files")
    if not all(f.group for f in out):
        for f in out:
            f.group = f.path  # folds by file
    return out


def score_counts(cfg: dict, counts: np.ndarray, truth: np.ndarray | None, label: int | None, minutes: float, t0: float,
                 tolerance_s: float) -> score.Tally | None:
    """One recording's tally under one configuration (the fast path: equal to the firmware's)."""
    det, c = replay.make_detector(cfg)
    pred = [t0 + e.index / c["rate_hz"] for e in fastpath.detect_fast(counts, det)]
    return score.score_file(pred, truth, label, minutes, tolerance_s)


def objective_value(t: score.Tally, objective: str) -> float:
    if objective == "f1":
        return t.f1
    return -abs(t.count - t.truth) / max(t.truth, 1)


@dataclass
class TuneResult:
    best: dict
    best_score: float
    folds: int
    train_score: float  # mean over folds of the best training score
    validation_score: float | None  # pooled over the held-out folds; None with one group
    validation: score.Tally
    configs: int


def tune(paths: list[str], grid: list[dict], objective: str = "f1", tolerance_s: float = 0.1,
         progress: Callable[[int, int], None] | None = None, base: dict | None = None) -> TuneResult:
    base = dict(base or {})
    _, c = replay.make_detector(base)
    data = load(paths, c["rate_hz"], c["range_g"])
    groups = sorted({d.group for d in data})
    # tallies[i][j]: configuration i on file j
    tallies: list[list[score.Tally]] = []
    for i, g in enumerate(grid):
        cfg = {**base, **g}
        try:
            row = [score_counts(cfg, d.counts, d.truth, d.label, d.minutes, d.t0, tolerance_s) for d in data]
        except ValueError as e:
            raise TuneError(f"grid point {g}: {e}") from None
        tallies.append(row)
        if progress:
            progress(i + 1, len(grid))

    def pooled(i: int, keep) -> score.Tally:
        t = score.Tally()
        for j, d in enumerate(data):
            if keep(d):
                t.add(tallies[i][j])
        return t

    def best_on(keep) -> tuple[int, float]:
        scores = [objective_value(pooled(i, keep), objective) for i in range(len(grid))]
        i = int(np.argmax(scores))
        return i, scores[i]

    val = score.Tally()
    train_scores = []
    if len(groups) < 2:  # nothing to hold out: no honest validation score exists
        i, s = best_on(lambda d: True)
        return TuneResult({**base, **grid[i]}, s, len(groups), s, None, val, len(grid))
    for g in groups:
        i, s = best_on(lambda d, g=g: d.group != g)
        train_scores.append(s)
        val.add(pooled(i, lambda d, g=g: d.group == g))
    i, s = best_on(lambda d: True)
    return TuneResult({**base, **grid[i]}, s, len(groups), float(np.mean(train_scores)) if train_scores else s,
                      objective_value(val, objective), val, len(grid))
