"""Pictures of a replay: why a landing was counted, missed or added, at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .fw import detector as fwdetector
from .traces import read_trace


def plot_replay(entry: dict, cfg: dict, out_dir: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .replay import make_detector

    tr = read_trace(entry["path"], entry.get("units"))
    det, c = make_detector(cfg)
    mag = np.linalg.norm(tr.acc, axis=1)
    lsb = fwdetector.LSB_PER_G[c["range_g"]] >> fwdetector.SHIFT
    level = lambda m2: float(np.sqrt(m2)) / lsb  # noqa: E731
    fig, ax = plt.subplots(figsize=(14, 4), dpi=100)
    ax.plot(tr.t, mag, lw=0.7, color="0.25", label="|a| (g)")
    ax.axhline(level(det.impact_m2), color="tab:red", lw=0.8, ls="--", label=f"impact {level(det.impact_m2):.2f} g")
    ax.axhline(level(det.rearm_m2), color="tab:orange", lw=0.6, ls=":", label=f"re-arm {level(det.rearm_m2):.2f} g")
    ax.axhline(level(det.freefall_m2), color="tab:blue", lw=0.8, ls="--", label=f"free fall {level(det.freefall_m2):.2f} g")
    qualify_g = float(c["qualify_g"])  # the level the product is about: a qualifying impact
    ax.axhline(qualify_g, color="tab:green", lw=1.0, ls="-.", label=f"qualifying {qualify_g:g} g")
    for k, e in enumerate(entry["events"]):
        ax.axvspan(e["t_s"] - e["airtime_s"] - 0.03, e["t_s"] - 0.03, color="tab:green", alpha=0.15, lw=0, label="airtime" if k == 0 else None)
        ax.plot(e["t_s"], e["peak_g"], "v", color="tab:green", ms=7, label="detected landing" if k == 0 else None)
    truth = (entry.get("truth") or {}).get("events") or []
    for k, t in enumerate(truth):
        ax.axvline(t["t_s"], color="tab:purple", lw=0.8, alpha=0.6, label="true landing" if k == 0 else None)
    m = entry.get("metrics") or {}
    title = f"{Path(entry['path']).name}: {entry['count']} landings"
    if m and not m.get("jump_free") and m.get("f1") is not None:
        title += f" (truth {m['truth_count']}; TP {m['tp']}, FP {m['fp']}, FN {m['fn']}, F1 {m['f1']:.3f})"
    elif m and not m.get("jump_free"):
        title += f" (labelled {m['truth_count']}: a count, no landing times)"
    elif m:
        title += f" in a jump-free recording ({m['false_per_min']:.2f} per minute)"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("|a| (g)")
    ax.set_ylim(0, max(4.0, float(mag.max()) * 1.05))
    # The legend beside the plot, never over it: it covered landing markers.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0)
    fig.tight_layout()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / (Path(entry["path"]).stem + ".png")
    fig.savefig(path)
    plt.close(fig)
    return path
