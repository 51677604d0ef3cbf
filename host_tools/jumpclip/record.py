"""`jumpclip record`: the clip streams raw FIFO samples; the host writes a trace file."""

from __future__ import annotations

import binascii
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .fw import detector as fwdetector
from .traces import write_trace
from .transport import Transport, TransportError


@dataclass
class Recording:
    info: dict
    counts: np.ndarray  # (n, 3) int16
    dropped_batches: int = 0
    overflows: int = 0
    warnings: list[str] = field(default_factory=list)


def receive(t: Transport, seconds: int, on_samples=None) -> Recording:
    """on_samples(n, expected): called as each batch of n samples arrives (a progress bar)."""
    # The counting loop's App when it runs: its sensor is recorded and the open session
    # counts what is recorded. Without one (MicroPython only), recorder makes its own bus.
    t.exec_start(f"import recorder; recorder.record({int(seconds)}, None, None, globals().get('app'))")
    line = b""
    while not line.endswith(b"\n"):
        line += t.read_exact(1, timeout=10)
    if line.startswith(b"JCERR "):
        t.exec_finish()
        msg = line[6:].decode(errors="replace").strip()
        raise TransportError(f"the clip's sensor did not start ({msg}): check its wiring; `jumpclip doctor` says more")
    if not line.startswith(b"JCREC "):
        raise TransportError(f"the clip did not start recording ({line[:60]!r}): run `jumpclip deploy`")
    info = json.loads(line[6:])
    batches: list[bytes] = []
    warnings: list[str] = []
    expect = 0
    dropped = 0
    while True:
        kind = t.read_exact(2, timeout=10)
        if kind == b"JR":
            head = t.read_exact(4)
            seq, flag, n = struct.unpack("<HBB", head)
            body = t.read_exact(n * 6)
            (crc,) = struct.unpack("<I", t.read_exact(4))
            if binascii.crc32(body, binascii.crc32(b"JR" + head)) & 0xFFFFFFFF != crc:
                raise TransportError("a recording batch failed its CRC: try another cable, then record again")
            if seq != expect:
                lost = (seq - expect) & 0xFFFF
                dropped += lost
                warnings.append(f"{lost} batches ({lost * n} samples) lost on the link before sample {len(batches) * n}")
            if flag:
                warnings.append(f"the sensor FIFO overflowed before sample {len(batches) * n}: samples are missing there")
            expect = (seq + 1) & 0xFFFF
            batches.append(body)
            if on_samples:
                on_samples(n, seconds * int(info.get("rate_hz", 0) or 1))
        elif kind == b"JE":
            end = t.read_exact(6)
            (crc,) = struct.unpack("<I", t.read_exact(4))
            if binascii.crc32(end, binascii.crc32(b"JE")) & 0xFFFFFFFF != crc:
                raise TransportError("the recording's end frame failed its CRC: record again")
            total, overflows = struct.unpack("<IH", end)
            break
        else:
            raise TransportError(f"unexpected bytes in the recording ({kind!r}): record again")
    t.exec_finish()
    counts = np.frombuffer(b"".join(batches), dtype=">i2").astype(np.int16).reshape(-1, 3)
    if total != len(counts):
        warnings.append(f"the clip sent {total} samples, {len(counts)} arrived")
    # The clip sends whole batches of 32, so up to 31 samples past the end: keep what was asked.
    counts = counts[: int(seconds) * int(info.get("rate_hz", 0) or len(counts))]
    return Recording(info, counts, dropped, overflows, warnings)


def from_clip(port: str, seconds: int, on_samples=None) -> Recording:
    """Record from the clip on `port`: take it over without a reset, receive `seconds` of
    raw samples, and hand it back counting (its session goes on: the recorder reads the
    loop's own sensor). Raises TransportError (one line)."""
    from .device import resume_counting
    from .transport import SerialTransport

    t = SerialTransport(port)
    try:
        t.open()
        t.interrupt()
        t.enter_raw()
        rec = receive(t, seconds, on_samples)
        resume_counting(t)
    finally:
        t.close()
    return rec


def write(rec: Recording, out: str | Path, placement: str | None, jumps: int | None) -> None:
    rate = int(rec.info["rate_hz"])
    lsb = fwdetector.LSB_PER_G[int(rec.info["range_g"])]
    t = np.arange(len(rec.counts)) / rate
    header: dict[str, object] = {
        "rate_hz": rate,
        "range_g": rec.info["range_g"],
        "dlpf_hz": rec.info["dlpf_hz"],
        "device": rec.info["device"],
        "firmware": rec.info["firmware"],
        "source": "jumpclip record (raw MPU6050 FIFO counts / LSB per g)",
    }
    if placement:
        header["placement"] = placement
    if jumps is not None:
        header["label"] = f"jumps={jumps}"
    if rec.dropped_batches or rec.overflows:
        header["gaps"] = f"{rec.dropped_batches} batches lost, {rec.overflows} FIFO overflows"
    # Six decimals: every count survives the round trip through g exactly, at any range.
    write_trace(out, t, rec.counts.astype(np.float64) / lsb, header, decimals=6)
