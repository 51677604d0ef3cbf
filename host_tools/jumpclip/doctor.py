"""`jumpclip doctor`: bring-up checks for a clip, one line each with a verdict.

The clip is reached as sync reaches it (Ctrl-C until a wake window catches one), asked for
its facts (firmware/doctor.py), then asked to read its sensor for a while; the sample rate
is measured against this computer's clock, which is what the jump timings rely on. The clip
goes back to counting afterwards.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Callable

from .transport import Transport

OK, WARN, FAIL = "ok", "warn", "fail"

# Limits for a verdict. Jump timing (flight ms, the refractory period) scales with the sample
# clock: 2 % moves a 300 ms flight by 6 ms, under one sample at 100 Hz.
RATE_OK = 0.02
RATE_WARN = 0.05
FLASH_MIN = 64 * 1024  # ~6,700 jumps at 9.7 bytes each (`make bench`, flash log)
WAKE_OK_S = 1.0  # the host must reach a sleeping clip within a second (README, "Sync")
BOOT_S = 5.0  # a clip up for less than this after it answered was booting, not asleep
# A margin, not a measured need, so only a warning: the firmware allocates its buffers at
# boot, but the helpers the host loads (sync, doctor, recorder) allocate their code when
# imported, and a heap without an 8 KB piece left is fragmented enough to report.
HEAP_BLOCK_MIN = 8 * 1024


@dataclass
class Check:
    name: str
    status: str  # OK, WARN or FAIL
    detail: str


class DoctorError(Exception):
    """One line: what went wrong and what to do."""


def _facts(t: Transport) -> dict:
    out = t.exec("import doctor as _d; _d.facts(globals().get('app'))", timeout=15)
    for line in out.splitlines():
        if line.startswith("JCDOCTOR "):
            try:
                f = json.loads(line[9:])
            except ValueError:
                break
            # micropython.mem_info()'s line, after it: "max free sz: N" blocks (py/gc.c).
            m = re.search(r"max free sz: (\d+)", out)
            if m and "gc_block_bytes" in f:
                f["heap_largest"] = int(m.group(1)) * int(f["gc_block_bytes"])
            return f
    raise DoctorError(f"the device on {t.port} did not describe itself (got {out[:60]!r}): run `jumpclip deploy`")


def _rate_line(t: Transport, timeout: float) -> str:
    """The next line of the rate probe, past the clip's own output (at most 200 lines)."""
    end = time.monotonic() + timeout
    line = ""
    for _ in range(200):
        line = t.read_line(timeout=max(0.1, end - time.monotonic()))
        if line.startswith("JCRATE") or not line:
            return line
    return line


def measure_rate(t: Transport, seconds: float) -> tuple[int, int, float, float] | None:
    """(samples, overflows, host seconds, device seconds) of a `seconds` reading, or None
    when the clip has no sensor up."""
    t.exec_start(f"_d.rate(app, {seconds!r})")
    # The clip counts while it measures: its notes and landings come between the lines.
    first = _rate_line(t, 10)
    if first.strip() == "JCRATE none":
        t.exec_finish()
        return None
    if first.strip() != "JCRATE start":
        raise DoctorError(f"the clip's rate probe did not start (got {first[:60]!r}): run `jumpclip deploy`")
    t0 = time.monotonic()
    last = _rate_line(t, seconds + 10)
    host_s = time.monotonic() - t0
    t.exec_finish()
    try:
        _, samples, overflows, ms = last.split()
        return int(samples), int(overflows), host_s, int(ms) / 1000
    except ValueError:
        raise DoctorError(f"the clip's rate probe sent {last[:60]!r}: run `jumpclip deploy`") from None


def checks_from(f: dict, wake_s: float | None, rate: tuple[int, int, float, float] | None) -> list[Check]:
    """The verdicts, from what the clip said (pure: tested without a clip)."""
    c: list[Check] = []
    add = lambda name, ok, detail, warn=False: c.append(Check(name, OK if ok else (WARN if warn else FAIL), detail))  # noqa: E731
    add("firmware", f["firmware"] != "unknown", f"jumpclip {f['firmware']} on MicroPython {f['micropython']} ({f['machine']})")
    if not f["app"]:
        add("counting loop", False, "not loaded (main.py did not start it): run `jumpclip deploy`, then unplug and replug")
        return c
    who = f["who_am_i"]
    if who < 0:
        add("sensor", False, "no answer on I2C: check the wiring (hardware/WIRING.md) and the sensor's power")
    else:
        add("sensor", f["family"] == "MPU-6050", f"WHO_AM_I 0x{who:02x}: {f['family']}"
            + ("" if f["family"] == "MPU-6050" else " (the firmware needs an MPU-6050: fit one)"))
    if rate is None:
        add("sample rate", False, "not measured: the sensor is not running")
    else:
        samples, overflows, host_s, dev_s = rate
        # Against the clip's own clock: the ESP32's timer runs from its crystal (ppm), the
        # sensor from its internal oscillator (a few per cent, PS 6.2), and nothing on the
        # computer's side (a busy machine, a slow USB link) enters the figure. The computer's
        # clock is shown beside it: a large difference means the link, not the sensor.
        ref_s = dev_s if dev_s > 0 else host_s
        measured = samples / ref_s
        err = measured / f["rate_hz"] - 1
        add("sample rate", abs(err) <= RATE_OK, f"{measured:.1f} Hz for {f['rate_hz']} Hz over {ref_s:.1f} s of the clip's clock "
            f"({err:+.1%}; {host_s:.1f} s passed on this computer's)", warn=abs(err) <= RATE_WARN)
        add("FIFO overflows", overflows == 0 and f["fifo_overflows_session"] == 0,
            f"{overflows} while measuring, {f['fifo_overflows_session']} in the last session")
    bad = f["i2c_failed"]
    add("I2C errors", bad == 0 and f["i2c_errors_since_boot"] == 0,
        f"{bad} of {f['i2c_tries']} test reads failed, {f['i2c_errors_since_boot']} errors since boot"
        + ("" if bad == 0 else ": check the solder joints and the pull-ups"), warn=bad == 0)
    free = f["flash_free"]
    add("flash free", free >= FLASH_MIN, f"{free // 1024} KB of {f.get('flash_total', 0) // 1024} KB"
        + ("" if free >= FLASH_MIN else ": sync to make room"))
    mv = f["battery_mv"]
    add("battery", mv > f["low_battery_mv"], f"{mv / 1000:.2f} V" + ("" if mv > f["low_battery_mv"] else " (low: charge the clip)"))
    if "heap_free" in f:
        largest = f.get("heap_largest")
        idf = (f"; the ESP-IDF heap it can grow into: {f['idf_free'] // 1024} KB free, largest block {f['idf_largest'] // 1024} KB"
               if "idf_free" in f else "")
        add("heap", largest is None or largest >= HEAP_BLOCK_MIN,
            f"{f['heap_free'] / 1024:.1f} KB free of {(f['heap_free'] + f['heap_used']) / 1024:.1f} KB"
            + (f", largest free block {largest / 1024:.1f} KB" if largest is not None else "") + idf
            + ("" if largest is None or largest >= HEAP_BLOCK_MIN else ": fragmented; the firmware may fail to allocate (report this)"),
            warn=True)
    add("clock", f["clock_set"], "set" if f["clock_set"] else "not set: `jumpclip sync` sets it (the daily target needs it)", warn=True)
    add("watchdog", f["wdt_armed"], f"armed, {f['wdt_ms'] / 1000:g} s" if f["wdt_armed"] else "not armed: the counting loop never started")
    if wake_s is not None and wake_s > WAKE_OK_S and "up_ms" in f and f["up_ms"] / 1000 < wake_s + BOOT_S:
        # It was still starting (a deploy or a reset just before): the time was its boot's.
        add("wake latency", False, f"not measured: the clip had started {f['up_ms'] / 1000:.1f} s before and answered when its "
            f"boot was done ({wake_s * 1000:.0f} ms); run doctor again to measure it", warn=True)
    elif wake_s is not None:
        add("wake latency", wake_s <= WAKE_OK_S, f"the clip answered {wake_s * 1000:.0f} ms after the first Ctrl-C (it sleeps between FIFO reads)")
    return c


def run(t: Transport, seconds: float = 10.0, on_step: Callable[[str], None] | None = None) -> list[Check]:
    """Talk to the clip, check it, and leave it counting again."""
    from .device import resume_counting

    step = on_step or (lambda _s: None)
    t.open()
    try:
        step("reaching the clip")
        t.interrupt()
        wake_s = getattr(t, "first_reply_s", None)
        t.enter_raw()
        f = _facts(t)
        rate = None
        if f["app"] and f.get("sensor_up"):
            step(f"measuring the sample rate for {seconds:g} s")
            rate = measure_rate(t, seconds)
        checks = checks_from(f, wake_s, rate)
        if f["app"]:
            resume_counting(t)
        return checks
    finally:
        t.close()
