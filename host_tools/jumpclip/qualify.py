"""What qualifies: the one rule the report, `sessions`, `show` and every export count with
(a landing's or an impact's raw peak at least the session's threshold)."""

from __future__ import annotations

QUALIFY_G = 3.9  # the clip's default (firmware config.py: qualify_g), Vainionpaa 2006


def qualifies(peak_mg: int, qualify_g: float) -> bool:
    return peak_mg / 1000 >= qualify_g


def session_qualify_g(s) -> float:
    """A session's own threshold (its START's), or the default for firmware before 0.2."""
    return s["qualify_mg"] / 1000 if s["qualify_mg"] else QUALIFY_G


def qualifying_landings(jumps, qualify_g: float) -> int:
    """How many of a session's jumps (store.jumps rows: t, air, peak mg, filtered) qualify."""
    return sum(1 for _, _, peak, _ in jumps if qualifies(peak, qualify_g))
