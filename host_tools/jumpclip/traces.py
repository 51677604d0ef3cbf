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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

COLUMNS = ("t_s", "ax_g", "ay_g", "az_g")
MIN_RATE_HZ = 1
MAX_RATE_HZ = 10_000
MAX_SAMPLES = 60_000_000  # 3.5 days at 200 Hz; resampled, a trace of this length needs ~1.5 GB
MAX_HEADER_LINE = 1 << 16  # a header or column line longer than this is not a trace (/dev/zero, a binary)
MAX_G = 1000.0  # no accelerometer a person wears reads more (the largest MEMS parts: +-400 g)
STANDARD_GRAVITY = 9.80665  # m/s^2 in one g (CGPM 1901)
UNITS = {"g": 1.0, "m/s2": STANDARD_GRAVITY, "m/s^2": STANDARD_GRAVITY, "ms2": STANDARD_GRAVITY}  # divide by it for g
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


def read_trace(path: str | Path, units: str | None = None) -> Trace:
    """Read a trace file: the header line by line, then pyarrow's CSV reader parses the rows
    in blocks (multi-threaded, C++), which numpy gets as float64 columns: a 24-hour file of
    568 MB reads in seconds, where np.loadtxt took half a minute and four times the memory."""
    p = Path(path)
    try:
        f = p.open("rb")
    except FileNotFoundError:
        raise TraceError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise TraceError(f"{p}: is a folder, not a trace file") from None
    except OSError as e:
        raise TraceError(f"{p}: cannot read ({e.strerror})") from None
    with f:
        return _parse(f, str(p), events_path(p), units)


def parse_trace(text: str, name: str = "<trace>", truth_path: Path | None = None, units: str | None = None) -> Trace:
    return _parse(io.BytesIO(text.encode("utf-8")), name, truth_path, units)


def read_header(f, name: str) -> tuple[dict[str, str], list[str], int]:
    """From a binary file at its start: (header keys, column names, number of the column
    row). Leaves f at the first data row. A UTF-8 byte-order mark (Excel) is skipped."""
    header: dict[str, str] = {}
    line_no = 0
    column_line = ""
    while True:
        raw = f.readline(MAX_HEADER_LINE + 1)  # bounded: /dev/zero has no line end
        if not raw:
            break
        if line_no == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        line_no += 1
        if len(raw) > MAX_HEADER_LINE or b"\0" in raw:
            raise TraceError(f"{name}: not a text file (line {line_no} is binary or over 64 KB); a trace is CSV (t_s,ax_g,ay_g,az_g)")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TraceError(f"{name}: not a text file; a trace is CSV (t_s,ax_g,ay_g,az_g)") from None
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
    twice = [c for c in COLUMNS if cols.count(c) > 1]
    if twice:
        raise TraceError(f"{name}: line {line_no}: column {twice[0]} appears {cols.count(twice[0])} times; "
                         f"which one is meant? Keep one t_s,ax_g,ay_g,az_g each")
    missing = [c for c in COLUMNS if c not in cols]
    if missing:
        raise TraceError(
            f"{name}: line {line_no}: missing column(s) {', '.join(missing)}; "
            f"the header row must name t_s,ax_g,ay_g,az_g"
        )
    return header, cols, line_no


def read_blocks(f, name: str, ncols: int, first_line: int, block_bytes: int = 1 << 22, columns: bool = False,
                threads: bool = True):
    """The data rows from f's position on, as float64 arrays (rows, ncols), a block at a
    time (columns=True: a list of ncols column arrays instead, without the copy into one
    array). An unreadable row raises TraceError naming its line. 4 MB blocks: pyarrow reads
    ahead by a few blocks, and larger ones only cost memory, not time."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    start = f.tell()
    names = [f"c{i}" for i in range(ncols)]
    try:
        reader = pacsv.open_csv(
            f,
            read_options=pacsv.ReadOptions(column_names=names, block_size=block_bytes, use_threads=threads),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.float64() for n in names}),
        )
        for batch in reader:
            if batch.num_rows:
                cols = [batch.column(i).to_numpy(zero_copy_only=False) for i in range(ncols)]
                yield cols if columns else np.column_stack(cols)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as e:
        if "Empty CSV" in str(e):
            return  # no rows: the caller says so
        f.seek(start)
        lines = (raw.decode("utf-8", "replace") for raw in f)
        where = _first_bad_row(lines, first_line, ncols)
        raise TraceError(f"{name}: {where or 'unreadable rows'} ({_short(e)})") from None


def header_units(header: dict[str, str]) -> str | None:
    """The unit a `# units:` line names first ("g (m/s^2 / 9.80665), including gravity" is
    g), or None when it names none we know."""
    m = re.match(r"\s*(m/s\^?2|m/s²|ms2|g)\b", header.get("units", "").strip().lower())
    return m.group(1).replace("²", "2") if m else None


def trace_units(header: dict[str, str], units: str | None, name: str) -> float:
    """What the file's acceleration columns are divided by to give g: --units, else the
    header's `# units:`, else g (1)."""
    u = (units or header_units(header) or "g").strip().lower().replace("²", "2")
    if u not in UNITS:
        raise TraceError(f"{name}: units {u!r} unknown; use g or m/s2")
    return UNITS[u]


def check_plausible(acc: np.ndarray, name: str, first_line: int, stated_units: bool) -> None:
    """Acceleration in g, as a body-worn sensor gives it: none beyond MAX_G, and at rest
    about 1 g. A resting level near 9.8 is m/s^2 under g headers (jumps of 20-odd "g", past
    the range of any wearable sensor's header)."""
    with np.errstate(over="ignore"):  # a value like 1e300 squares to inf: refused just below, not a warning
        mag = np.sqrt((acc * acc).sum(axis=1)) if len(acc) <= 200_000 else np.sqrt((acc[::len(acc) // 200_000] ** 2).sum(axis=1))
    over = np.abs(acc) > MAX_G
    if over.any():
        k = int(np.flatnonzero(over.any(axis=1))[0])
        raise TraceError(f"{name}: line {first_line + k}: {float(np.abs(acc[k]).max()):.3g} g, beyond any worn accelerometer "
                         f"(+-{MAX_G:g} g); is the column in g?")
    rest = float(np.median(mag))
    if not stated_units and 6.0 < rest < 13.0:
        raise TraceError(f"{name}: at rest it reads {rest:.1f}, which is m/s2, not g; add '# units: m/s2' to its header "
                         f"or give --units m/s2")


def _parse(f, name: str, truth_path: Path | None, units: str | None = None) -> Trace:
    header, cols, line_no = read_header(f, name)
    divisor = trace_units(header, units, name)
    order = [cols.index(c) for c in COLUMNS]
    data_start = line_no + 1
    blocks = list(read_blocks(f, name, len(cols), data_start))
    data = np.concatenate(blocks) if len(blocks) > 1 else (blocks[0] if blocks else np.empty((0, len(cols))))
    del blocks
    if data.size == 0:
        raise TraceError(f"{name}: no data rows after the header")
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
    acc = data[:, 1:4]  # a view: no second copy
    if divisor != 1.0:
        acc /= divisor
        notes.append("units: m/s2, converted to g (9.80665 m/s2 a g)")
    check_plausible(acc, name, data_start, bool(units or header_units(header)))
    trace = Trace(name, header, t, acc, rate, notes)
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
