"""Replaying a day-long trace in seconds and a few hundred MB.

A 24-hour, 200 Hz trace is 17 million rows (568 MB of CSV). Holding it as float64 columns
takes 553 MB before any work. But every step from g to the detector's counts is per sample
when the timestamps are regular and the trace's rate is the detector's (the feed's rule in
sim/feed.py: rint(g * 16384), then the range's shift, rounding and clip). So the rows are
converted block by block as pyarrow parses them, and only the timestamps (float64, to check
them exactly as traces.py does) and the int16 counts are kept: 242 MB for the day.

When the file is not like that (irregular timestamps, repaired rows, another rate), this
returns None and replay takes the general path, which gives the same events by the same
rules. tests/test_replay_tools.py checks that the two paths agree.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .sim import feed
from .traces import COLUMNS, MAX_RATE_HZ, MAX_SAMPLES, MIN_RATE_HZ, Trace, TraceError, events_path, read_blocks, read_events, read_header

BIG_BYTES = 64 << 20  # files above this take the streaming path


def _quantise(g: np.ndarray, sh: int) -> np.ndarray:
    """feed.fine_units then feed.quantise, in float64 and in place: rint(g * 16384) is a
    whole number far below 2**53, so adding half a step and dividing by 2**sh is exact and
    floor() is the arithmetic shift. tests/test_replay_tools.py checks it against the feed."""
    w = g * feed.FINE_LSB_PER_G
    np.rint(w, out=w)
    np.clip(w, -(2**31) + 1, 2**31 - 1, out=w)
    if sh:
        w += 1 << (sh - 1)
        w /= 1 << sh
        np.floor(w, out=w)
    np.clip(w, -32768, 32767, out=w)
    return w.astype(np.int16)


class _Range(io.RawIOBase):
    """Bytes start..end of a file, as a stream for pyarrow's CSV reader."""

    def __init__(self, path: Path, start: int, end: int):
        super().__init__()
        self.f = path.open("rb")
        self.f.seek(start)
        self.left = end - start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.f.tell()

    def seek(self, pos: int, whence: int = 0) -> int:
        self.left += self.f.tell() - pos
        return self.f.seek(pos, whence)

    def readinto(self, b) -> int:
        n = min(len(b), self.left)
        if n <= 0:
            return 0
        got = self.f.readinto(memoryview(b)[:n])
        self.left -= got
        return got

    def close(self) -> None:
        self.f.close()
        super().close()


@dataclass
class _Part:
    """What one thread made of its byte range: counts and what the checks need."""

    counts: np.ndarray
    n: int = 0
    first: float = 0.0
    last: float = 0.0
    steps: dict = field(default_factory=dict)
    ok: bool = True


GRID_TOL_S = 1e-7  # per part; two parts' errors add: 2e-7, far inside np.allclose's 1e-6 + 1e-5 |t|


def _read_part(path: Path, name: str, begin: int, end: int, cols: int, order: list[int], r0: int, sh: int, est_rows: int) -> _Part:
    part = _Part(np.empty((est_rows, 3), dtype=np.int16))
    try:
        _fill(part, path, name, begin, end, cols, order, r0, sh)
    except TraceError:
        part.ok = False  # an unreadable row: the general path names its line
    return part


def _fill(part: _Part, path: Path, name: str, begin: int, end: int, cols: int, order: list[int], r0: int, sh: int) -> None:
    with _Range(path, begin, end) as src:
        # One reader per thread, each single-threaded: the two parts are the parallelism, and
        # pyarrow's own read-ahead threads would only hold more blocks in memory.
        for block in read_blocks(src, name, cols, 0, block_bytes=1 << 20, columns=True, threads=False):
            block = [block[i] for i in order]
            tb = block[0]
            k = len(tb)
            if not all(np.isfinite(c).all() for c in block):
                part.ok = False  # repairs are the general path's
                return
            if part.n == 0:
                part.first = float(tb[0])
            # On the grid relative to this part's first sample; the parts are joined after.
            if np.abs(tb - (part.first + np.arange(part.n, part.n + k) / r0)).max() > GRID_TOL_S:
                part.ok = False
                return
            d = np.diff(tb) if part.n == 0 else np.diff(np.concatenate(([part.last], tb)))
            if (d <= 0).any():
                part.ok = False
                return
            for v, c in zip(*np.unique(d, return_counts=True)):
                part.steps[float(v)] = part.steps.get(float(v), 0) + int(c)
            if len(part.steps) > 100_000:
                part.ok = False
                return
            part.last = float(tb[-1])
            if part.n + k > len(part.counts):
                part.counts.resize((max(part.n + k, int(len(part.counts) * 1.25)), 3), refcheck=False)
            for axis in range(3):
                part.counts[part.n : part.n + k, axis] = _quantise(block[axis + 1], sh)
            part.n += k


def read_counts(path: str | Path, rate_hz: int, range_g: int) -> tuple[Trace, np.ndarray] | None:
    """(the trace without its samples, the sensor's counts), or None: use the general path.

    Kept in memory: the int16 counts only. Two threads parse the two halves of the file
    (pyarrow and numpy release the GIL). The timestamps are checked block by block against
    t0 + k / R, with R from the first rows, within 2e-7 s: stricter than the general path's
    test (np.allclose, 1e-6 s plus a relative term), so a file that passes here is one the
    general path also takes as regular, on the same grid. The median step (the general
    path's rate) comes exactly from a count of the distinct steps, which are few in a
    regular file."""
    import pyarrow as pa

    p = Path(path)
    name = str(p)
    size = p.stat().st_size
    sh = feed.AFS_SHIFT[range_g]
    with p.open("rb") as f:
        header, cols, line_no = read_header(f, name)
        order = [cols.index(c) for c in COLUMNS]
        start = f.tell()
        sample = f.read(1 << 16)
        f.seek(start + (size - start) // 2)
        f.readline()  # the split falls after a line end
        middle = f.tell()
    lines = sample[: sample.rfind(b"\n") + 1]
    try:
        head = np.loadtxt(io.BytesIO(lines), delimiter=",", ndmin=2)[:, order]
    except ValueError:
        return None
    if len(head) < 3 or middle >= size:
        return None
    r0 = int(round(1.0 / float(np.median(np.diff(head[:, 0])))))
    if not 1 <= r0 <= 1000 or r0 != rate_hz:
        return None
    t0 = float(head[0, 0])
    per_row = len(lines) / len(head)
    est = [int((middle - start) / per_row * 1.05) + 1024, int((size - middle) / per_row * 1.05) + 1024]
    with ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(_read_part, p, name, a, b, len(cols), order, r0, sh, e)
                for (a, b), e in zip(((start, middle), (middle, size)), est)]
        first, second = (j.result() for j in jobs)
    pa.default_memory_pool().release_unused()  # the parser's buffers: not needed from here on
    if not (first.ok and second.ok) or first.n == 0 or second.n == 0:
        return None
    n = first.n + second.n
    if first.first != t0 or abs(second.first - (t0 + first.n / r0)) > GRID_TOL_S or second.first <= first.last or n > MAX_SAMPLES:
        return None
    steps = first.steps
    for v, c in second.steps.items():
        steps[v] = steps.get(v, 0) + c
    joint = second.first - first.last
    steps[joint] = steps.get(joint, 0) + 1
    # The median step, as np.median(np.diff(t)) takes it: the middle one, or the mean of two.
    total = n - 1
    want = [(total - 1) // 2, total // 2]
    found: list[float] = []
    seen = 0
    for v in sorted(steps):
        c = steps[v]
        while len(found) < 2 and want[len(found)] < seen + c:
            found.append(v)
        seen += c
    median = found[0] if total % 2 else (found[0] + found[1]) / 2
    rate = 1.0 / median
    last = second.last
    if max(1, int(round(rate))) != r0 or not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        return None
    if int(np.floor((last - t0) * r0 + 1e-9)) + 1 != n:
        return None  # traces.regular_grid would build a grid of another length
    counts = first.counts
    del first
    counts.resize((n, 3), refcheck=False)  # in place where the allocator can (mremap)
    counts[n - second.n :] = second.counts[: second.n]
    del second
    trace = Trace(name, header, np.array([t0, last]), np.empty((0, 3)), rate, [])
    stated = trace.header_number("rate_hz")
    if stated is not None and stated > 0 and abs(stated - rate) / rate > 0.02:
        trace.notes.append(f"warning: header says rate_hz {stated:g} but the timestamps say {rate:.4g} Hz; trusting the timestamps")
    truth = events_path(p)
    if truth.is_file():
        trace.truth = read_events(truth)
    return trace, counts


__all__ = ["read_counts", "BIG_BYTES", "TraceError"]
