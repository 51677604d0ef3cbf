"""Scoring detected landings against ground truth: one-to-one matching within a tolerance,
precision / recall / F1, count error, and false counts per minute for jump-free files."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def match(pred: np.ndarray | list[float], truth: np.ndarray | list[float], tol_s: float = 0.1) -> tuple[int, int, int]:
    """(TP, FP, FN) from a maximum one-to-one matching of predicted to true times, where a
    pair matches when its times are within tol_s.

    Every window [x - tol, x + tol] has the same width, so no window lies strictly inside
    another, and a sweep in time order that pairs each truth with the earliest unmatched
    prediction in its window is a maximum matching (an exchange argument: any maximum
    matching can be rearranged, pair by pair, into the sweep's). tests/test_replay_tools.py
    checks it against an exhaustive augmenting-path matching on random inputs."""
    p = np.sort(np.asarray(pred, dtype=float))
    t = np.sort(np.asarray(truth, dtype=float))
    i = j = tp = 0
    while i < len(p) and j < len(t):
        if t[j] - p[i] > tol_s:  # the same test as |p - t| <= tol, in floating point too
            i += 1  # this prediction is too early for every remaining truth
        elif p[i] - t[j] > tol_s:
            j += 1  # this truth is too early for every remaining prediction
        else:
            tp += 1
            i += 1
            j += 1
    return tp, len(p) - tp, len(t) - tp


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    count: int = 0  # detected
    truth: int = 0  # labelled
    minutes: float = 0.0
    timed: bool = True  # the truth has landing times (False: a jumps=N label, a count only)

    def add(self, other: "Tally") -> None:
        for k in ("tp", "fp", "fn", "count", "truth"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.minutes += other.minutes
        self.timed = self.timed or other.timed

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def count_error(self) -> float:
        """(detected - labelled) / labelled, signed."""
        return (self.count - self.truth) / self.truth if self.truth else 0.0

    @property
    def per_minute(self) -> float:
        return self.count / self.minutes if self.minutes else 0.0

    def metrics(self) -> dict:
        """Without landing times there is nothing to match: precision, recall and F1 are
        None (not 1.0 from zero events), the count error stands."""
        timed = self.timed
        return {
            "tp": self.tp if timed else None,
            "fp": self.fp if timed else None,
            "fn": self.fn if timed else None,
            "precision": round(self.precision, 4) if timed else None,
            "recall": round(self.recall, 4) if timed else None,
            "f1": round(self.f1, 4) if timed else None,
            "count_error": round(self.count_error, 4),
        }


def score_file(pred_t: list[float], truth_t: np.ndarray | None, label_jumps: int | None, minutes: float, tol_s: float) -> Tally | None:
    """A Tally for one file, or None when the file carries no ground truth."""
    if truth_t is not None:
        tp, fp, fn = match(pred_t, truth_t, tol_s)
        return Tally(tp, fp, fn, len(pred_t), len(truth_t), minutes)
    if label_jumps == 0:
        return Tally(0, len(pred_t), 0, len(pred_t), 0, minutes)
    if label_jumps is not None:  # a count label without times: count error only
        return Tally(0, 0, 0, len(pred_t), label_jumps, minutes, timed=False)
    return None


def subject_of(header: dict[str, str]) -> str | None:
    """The subject ID: the header's `subject` value up to its first parenthesis, if any
    ("SA01 (adult 19-30 y)" -> "SA01", "MobiAct S03 (age 26, ...)" -> "MobiAct S03": a
    dataset's name before the ID keeps its people apart from another dataset's)."""
    value = " ".join(header.get("subject", "").split("(", 1)[0].split())
    return value or None
