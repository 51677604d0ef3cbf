"""Trace files: recorded or synthetic accelerometer data in g, with optional ground truth.

Format (shared by the virtual board, replay, record and synth):

    # rate_hz: 200
    # range_g: 16
    # placement: waist
    # label: jumps=2
    t_s,ax_g,ay_g,az_g
    0.000,0.01,-0.02,1.00
    ...

Leading `# key: value` lines are kept (unknown keys too); a value may carry text after its
number (`rate_hz: 200 (nominal)`). Ground truth sits beside the trace in `<stem>.events.csv`
with a `t_s` column of landing times. Timestamps may be irregular: readers resample onto
a regular grid and say so.

Every problem with a file is a TraceError with a one-line message that says what to do.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

COLUMNS = ("t_s", "ax_g", "ay_g", "az_g")
MIN_RATE_HZ = 1
MAX_RATE_HZ = 10_000
MAX_SAMPLES = 60_000_000  # 3.5 days at 200 Hz; resampled, a trace of this length needs ~1.5 GB
_NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)")


class TraceError(Exception):
    """A trace file that cannot be used; str() is one line naming the file and the fix."""


@dataclass
class Trace:
    path: str
    header: dict[str, str]
    t: np.ndarray  # seconds, strictly increasing
    acc: np.ndarray  # (n, 3) in g, gravity included
    rate_hz: float  # sample rate implied by the timestamps
    notes: list[str] = field(default_factory=list)  # repairs and warnings, one line each
    truth: np.ndarray | None = None  # landing times (s), from <stem>.events.csv

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0]) + 1.0 / self.rate_hz if len(self.t) else 0.0

    @property
    def label_jumps(self) -> int | None:
        m = re.search(r"jumps\s*=\s*(\d+)", self.header.get("label", ""))
        return int(m.group(1)) if m else None

    def header_number(self, key: str) -> float | None:
        m = _NUMBER.match(self.header.get(key, ""))
        return float(m.group(1)) if m else None


def events_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.stem + ".events.csv")


def read_trace(path: str | Path) -> Trace:
    """Read a trace file. Streams: the header line by line, then numpy parses the rows
    straight from the open file, so a large file is read once and held once (as floats)."""
    p = Path(path)
    try:
        f = p.open("r", encoding="utf-8-sig", newline="")  # -sig: a byte-order mark (Excel) is not part of the header
    except FileNotFoundError:
        raise TraceError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise TraceError(f"{p}: is a folder, not a trace file") from None
    except OSError as e:
        raise TraceError(f"{p}: cannot read ({e.strerror})") from None
    with f:
        try:
            return _parse(f, str(p), events_path(p))
        except UnicodeDecodeError:
            raise TraceError(f"{p}: not a text file; a trace is CSV (t_s,ax_g,ay_g,az_g)") from None


def parse_trace(text: str, name: str = "<trace>", truth_path: Path | None = None) -> Trace:
    return _parse(io.StringIO(text), name, truth_path)


def _parse(f, name: str, truth_path: Path | None) -> Trace:
    header: dict[str, str] = {}
    line_no = 0
    column_line = ""
    while True:
        line = f.readline()  # readline, not iteration: tell() must work afterwards
        if not line:
            break
        line_no += 1
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                header[key.strip()] = value.strip()
        elif line.strip():
            column_line = line
            break
    if not column_line:
        raise TraceError(f"{name}: empty trace: expected a header row t_s,ax_g,ay_g,az_g and data rows")
    cols = [c.strip() for c in column_line.split(",")]
    missing = [c for c in COLUMNS if c not in cols]
    if missing:
        raise TraceError(
            f"{name}: line {line_no}: missing column(s) {', '.join(missing)}; "
            f"the header row must name t_s,ax_g,ay_g,az_g"
        )
    order = [cols.index(c) for c in COLUMNS]
    data_start = line_no + 1
    if hasattr(f, "seek"):
        body_at = f.tell()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data": reported below, in one line
            data = np.loadtxt(f, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as e:
        where = None
        if hasattr(f, "seek"):
            f.seek(body_at)
            where = _first_bad_row(f, data_start, len(cols))
        raise TraceError(f"{name}: {where or 'unreadable rows'} ({_short(e)})") from None
    if data.size == 0:
        raise TraceError(f"{name}: no data rows after the header")
    if data.shape[1] != len(cols):
        raise TraceError(f"{name}: rows have {data.shape[1]} values, the header names {len(cols)}")
    if order != [0, 1, 2, 3]:
        data = data[:, order]
    i = data_start - 2  # so that row k of data is line k + i + 2, as below
    notes: list[str] = []

    bad = ~np.isfinite(data).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0]) + i + 2
        if bad.mean() > 0.05:
            raise TraceError(f"{name}: {int(bad.sum())} rows hold NaN or inf (first at line {first}); fix the recording")
        data = data[~bad]
        notes.append(f"repaired: dropped {int(bad.sum())} rows with NaN/inf (first at line {first}); the gaps are interpolated")
    if len(data) < 2:
        raise TraceError(f"{name}: fewer than 2 valid rows")

    t = data[:, 0]
    dt = np.diff(t)
    if (dt < 0).any():
        k = int(np.flatnonzero(dt < 0)[0])
        raise TraceError(
            f"{name}: timestamps go backwards at row {k + 2} ({t[k]:.6g} then {t[k + 1]:.6g}); "
            f"rejected: sort or split the recording"
        )
    dup = dt == 0
    if dup.any():
        keep = np.concatenate([[True], ~dup])
        notes.append(f"repaired: dropped {int(dup.sum())} rows with a repeated timestamp (kept the first)")
        data = data[keep]
        t = data[:, 0]
        dt = np.diff(t)
    if len(data) < 2:
        raise TraceError(f"{name}: fewer than 2 distinct timestamps")

    rate = 1.0 / float(np.median(dt))
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise TraceError(f"{name}: the timestamps say {rate:.3g} samples per second; a trace is {MIN_RATE_HZ}-{MAX_RATE_HZ} Hz "
                         f"(t_s is in seconds)")
    span = float(t[-1] - t[0])
    if span * rate > MAX_SAMPLES:
        raise TraceError(f"{name}: spans {span:.3g} s at {rate:.4g} Hz, {span * rate:.3g} samples; "
                         f"split it into parts of at most {MAX_SAMPLES / rate / 3600:.0f} h")
    trace = Trace(name, header, t, data[:, 1:4], rate, notes)  # views: no second copy
    stated = trace.header_number("rate_hz")
    if stated is not None and stated > 0 and abs(stated - rate) / rate > 0.02:
        notes.append(f"warning: header says rate_hz {stated:g} but the timestamps say {rate:.4g} Hz; trusting the timestamps")
    if (np.abs(dt - 1.0 / rate) > 0.25 / rate).any():
        notes.append("irregular timestamps: resampled onto a regular grid")
    if truth_path is not None and truth_path.is_file():
        trace.truth = read_events(truth_path)
    return trace


def read_events(path: Path) -> np.ndarray:
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines or lines[0].split(",")[0].strip() != "t_s":
        raise TraceError(f"{path}: an events file starts with a t_s header row")
    try:
        times = np.array([float(ln.split(",")[0]) for ln in lines[1:]], dtype=np.float64)
    except ValueError:
        raise TraceError(f"{path}: non-numeric landing time; each row is a time in seconds") from None
    if not np.isfinite(times).all():
        raise TraceError(f"{path}: a landing time is NaN or infinite; each row is a time in seconds")
    return times


def _first_bad_row(lines, start: int, ncols: int) -> str | None:
    """The first unreadable row, streaming from an iterable of lines numbered from start."""
    for n, line in enumerate(lines, start):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) != ncols:
            return f"line {n}: {len(parts)} values, expected {ncols}"
        for v in parts:
            try:
                float(v)
            except ValueError:
                return f"line {n}: {v.strip()!r} is not a number"
    return None


def _short(e: Exception) -> str:
    return str(e).splitlines()[0][:120]


def nominal_rate(trace: Trace) -> int:
    """The trace's rate as a whole number of Hz (the grid the feed is built on)."""
    return max(1, int(round(trace.rate_hz)))


def regular_grid(trace: Trace, rate_hz: int) -> np.ndarray:
    """Acceleration (n, 3) in g at t0 + k / rate_hz, by linear interpolation."""
    n = int(math.floor((trace.t[-1] - trace.t[0]) * rate_hz + 1e-9)) + 1
    tk = trace.t[0] + np.arange(n) / rate_hz
    if len(trace.t) == n and np.allclose(trace.t, tk, atol=1e-6):
        return trace.acc
    return np.column_stack([np.interp(tk, trace.t, trace.acc[:, a]) for a in range(3)])


def write_trace(path: str | Path, t: np.ndarray, acc: np.ndarray, header: dict[str, object], truth=None, decimals: int = 4) -> None:
    p = Path(path)
    with p.open("w") as f:
        for k, v in header.items():
            f.write(f"# {k}: {v}\n")
        f.write(",".join(COLUMNS) + "\n")
        fmt = f"%.{decimals}f"
        np.savetxt(f, np.column_stack([t, acc]), fmt=[fmt] * 4, delimiter=",")
    if truth is not None:
        with events_path(p).open("w") as f:
            f.write("t_s\n")
            for x in truth:
                f.write(f"{x:.4f}\n")
