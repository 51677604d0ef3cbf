# Device side of `jumpclip doctor`, the bring-up check for a new clip. The host calls it
# through the raw REPL once the counting loop has handed over; it is imported only then, so
# its code never sits in the counting loop's heap.
#
#   facts(app)            one line: JCDOCTOR {json}: versions, sensor, flash, battery, clock
#   rate(app, seconds)    "JCRATE start", then the sensor's samples for `seconds`, then
#                         "JCRATE <samples> <overflows> <device ms>": the host times the two
#                         lines with its own clock, so the rate is measured against it.
import gc
import json
import os
import sys
import time

import machine
import micropython
from micropython import const

import board
import lease
from daily import RTC_MAGIC
from mpu6050 import GENUINE_ID, OTHER_FAMILIES

_WHO_AM_I = const(0x75)
_I2C_TRIES = const(100)  # single-byte reads of WHO_AM_I: how often does the bus fail?
_POLL_MS = const(100)  # the FIFO (170 samples) lasts 170 ms even at 1 kHz


def _family(who):
    if who == GENUINE_ID:
        return "MPU-6050"
    return OTHER_FAMILIES.get(who, "unknown")


def _who_am_i(i2c):
    """(WHO_AM_I or -1, failed reads out of _I2C_TRIES)."""
    b = bytearray(1)
    who = -1
    failed = 0
    for _ in range(_I2C_TRIES):
        try:
            i2c.readfrom_mem_into(board.MPU_ADDR, _WHO_AM_I, b)
            who = b[0]
        except OSError:
            failed += 1
    return who, failed


def facts(app=None):
    lease.renew()
    d = {
        "firmware": "unknown",
        "micropython": "%d.%d.%d" % sys.implementation.version[:3],
        "machine": getattr(sys.implementation, "_machine", sys.platform),
        "app": app is not None,
    }
    try:
        import app as appmod

        d["firmware"] = appmod.VERSION
    except ImportError:
        pass
    if app is not None:
        who, failed = _who_am_i(app.i2c)
        d["who_am_i"] = who
        d["family"] = _family(who) if who >= 0 else "no answer"
        d["i2c_failed"] = failed
        d["i2c_tries"] = _I2C_TRIES
        d["i2c_errors_since_boot"] = app.i2c_errors + (app.sensor.bus_errors if app.sensor is not None else 0)
        d["fifo_overflows_session"] = app.fifo_overflows
        d["rate_hz"] = app.rate_hz
        d["up_ms"] = time.ticks_diff(time.ticks_ms(), app.booted_ms)
        d["sensor_up"] = app.sensor is not None
        d["wdt_armed"] = app.wdt is not None
        d["wdt_ms"] = app.cfg["wdt_ms"]
        d["low_battery_mv"] = app.cfg["low_battery_mv"]
        try:
            d["battery_mv"] = app.battery_mv()
        except OSError:
            d["battery_mv"] = -1
    try:
        st = os.statvfs("/")
        d["flash_free"] = st[0] * st[4]
        d["flash_total"] = st[0] * st[2]
    except OSError:
        d["flash_free"] = -1
    d["clock_set"] = bytes(machine.RTC().memory()[:6]) == RTC_MAGIC
    d["time"] = time.time()
    _heap(d)
    print("JCDOCTOR " + json.dumps(d))
    # The GC's own account, for the largest free block: "max free sz" in blocks of
    # MICROPY_BYTES_PER_GC_BLOCK, 4 words (py/gc.c gc_dump_info, py/mpconfig.h). The host
    # reads it from this text; no API returns it.
    micropython.mem_info()


def _heap(d):
    """The heap after a collection, and the ESP-IDF's heap the GC heap grows into
    (esp32.idf_heap_info, MicroPython's esp32 port: (total, free, largest free, min free)
    per region); absent on other ports."""
    gc.collect()
    d["heap_free"] = gc.mem_free()
    d["heap_used"] = gc.mem_alloc()
    d["gc_block_bytes"] = 16 if sys.maxsize <= 0x7FFFFFFF else 32  # 4 words of 32 or 64 bits
    try:
        import esp32

        regions = esp32.idf_heap_info(esp32.HEAP_DATA)
        d["idf_free"] = sum(r[1] for r in regions)
        d["idf_largest"] = max(r[2] for r in regions) if regions else 0
    except (ImportError, AttributeError):
        pass


def rate(app, seconds):
    """Read the FIFO for `seconds` and count what the sensor delivered. The samples go
    through the counting path as always, into the open session (the one the host's arrival
    held open, or a new one): a landing during the measurement is counted like any other."""
    lease.renew()
    s = app.sensor
    if s is None:
        print("JCRATE none")
        return
    if not app.session_open:
        app.begin_session()
    app.read_remainder()  # what waited since the host came: counted, not measured
    base = app.session_samples
    overflows = app.fifo_overflows
    t0 = time.ticks_ms()
    print("JCRATE start")
    while time.ticks_diff(time.ticks_ms(), t0) < seconds * 1000:
        time.sleep_ms(_POLL_MS)
        lease.renew()
        app.service_fifo()  # whole batches; an overflow is counted and noted there
    n = s.samples_waiting()
    ms = time.ticks_diff(time.ticks_ms(), t0)
    samples = app.session_samples - base + (n if n > 0 else 0)
    overflows = app.fifo_overflows - overflows
    app.read_remainder()  # the session stays open: run() continues it
    print("JCRATE %d %d %d" % (samples, overflows, ms))
