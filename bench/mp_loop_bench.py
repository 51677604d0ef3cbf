# The counting loop's real cost per sample under the MicroPython unix port: App.wake(), as
# the clip runs it, at the clip's operating point (a wake every 400 ms at 200 Hz: 80 samples
# a wake, read in whole bursts of 32, so 64 or 96 a wake), with the log, the daily count, the
# LED, the button and the idle check. Only the hardware is stood in for: the sensor's FIFO
# (the demo session's samples), the pins, the ADC and the sleeps (loopfakes/).
# Usage: micropython mp_loop_bench.py RAW.bin WAKES [quiet] [echo] [no-filter] [no-log] [no-housekeeping] [no-impacts]
# RAW.bin holds big-endian int16 x, y, z samples, as the MPU6050 FIFO delivers them.
# Prints "samples N", "jumps J", "alloc_bytes B", and with "quiet", "quiet_wakes W bytes B":
# the heap's allocations (frames included) in the W wakes that counted nothing and left the
# log as it was (without it, the wakes run in a lean loop, for callgrind).
# WAKES=0 measures the setup only (the
# callgrind baseline).
import gc
import io
import os
import sys

import micropython

from app import App, load_config
from eventlog import EventLog

path, wakes = sys.argv[1], int(sys.argv[2])
parts = sys.argv[3:]  # "quiet": count the quiet wakes' allocation; "echo": the jump echo on; "no-filter", "no-log", "no-housekeeping", "no-impacts": a part left out, to see its cost
echo = "echo" in parts
with open(path, "rb") as f:
    data = f.read()
NSRC = len(data) // 6
stream = io.BytesIO(data)
PER_WAKE = 80  # 400 ms at 200 Hz: _FILL_TARGET
WAKE_MS = 400  # loopfakes/time.py's ticks_ms() moves on by this at each wake


class Fifo:
    """The MPU6050's FIFO as the loop sees it: PER_WAKE more samples at every wake."""

    warning = None
    fifo_overflows = 0
    bus_errors = 0

    def __init__(self):
        self.waiting = 0
        self.src = 0

    def samples_waiting(self):
        return self.waiting

    def read_fifo_into(self, buf):
        # As readfrom_mem_into does, this allocates nothing: BytesIO.readinto copies in C
        # (a slice of data per read was the harness's own cost, about 530 instructions a
        # sample, most of it the allocation and the collections it brought; a viper copy
        # word by word, 65).
        n = len(buf)
        if self.src * 6 + n > len(data):
            stream.seek(0)
            self.src = 0
        stream.readinto(buf)
        self.src += n // 6
        self.waiting -= n // 6
        return True


class Pin:
    def __init__(self, v=1):
        self.v = v

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v


class ButtonPin:
    """The button's pin, never pressed here (high: the pull-up). value() is a C function that
    returns a true value, as machine.Pin.value is C on the clip (ports/esp32/machine_pin.c):
    the button is polled every wake, and a Python stand-in would add a bytecode call there
    (about 1,000 instructions) that the clip does not make."""

    value = staticmethod("1".isdigit)


class Power:
    light_sleep = True

    def battery_mv(self):
        return 4000

    def sleep_ms(self, ms):
        pass


import machine  # noqa: E402  (loopfakes/machine.py)
import time  # noqa: E402  (loopfakes/time.py)
import ui  # noqa: E402

try:
    os.mkdir("log")
except OSError:
    pass
loaded = load_config()
loaded[0]["echo_events"] = echo
app = App(loaded, None, EventLog("log"), ui.Led(Pin(0)), ui.Button(ButtonPin()), Power(), machine.RTC(), machine.WDT(), 0x68)
app.open_log()
app.sensor = Fifo()
if "no-filter" in parts:
    app.forces._compute = lambda t: 0
if "no-log" in parts:
    app.log = None
if "no-housekeeping" in parts:
    app.housekeeping = lambda: None
if "no-impacts" in parts:  # the impact bands (impacts_viper.feed): a counter that takes every sample and counts none
    import app as app_module

    app_module.impacts_feed_native = lambda imp, s, start, end: end
app.begin_session()
gc.collect()
a0 = gc.mem_alloc()


def run_lean(app, wakes):
    # What callgrind counts: the wakes and nothing else of the harness's (the bookkeeping
    # below cost about 140 instructions a sample, 5 % of the demo mix's figure).
    sensor = app.sensor
    seek = time.clock.seek
    k = 0
    while k < wakes:
        sensor.waiting += PER_WAKE
        app.wake()
        k += 1
        seek(k * WAKE_MS)


def run_quiet(app, wakes):
    # Every byte the heap gave out, frames included (micropython.mem_total: the unix port
    # keeps the count): a wake in which nothing was counted and nothing went to the log
    # takes none. Returns (quiet wakes, their bytes).
    total = micropython.mem_total  # type: ignore[attr-defined]
    quiet = quiet_alloc = 0
    for k in range(wakes):
        time.clock.seek(k * WAKE_MS)
        app.sensor.waiting += PER_WAKE
        j0 = app.jumps + app.impacts_q
        f0 = (app.log.flushes, app.log.n) if app.log else 0
        m0 = total()
        app.wake()
        m1 = total()
        if app.jumps + app.impacts_q == j0 and ((app.log.flushes, app.log.n) if app.log else 0) == f0:
            quiet += 1
            quiet_alloc += m1 - m0
    return quiet, quiet_alloc


quiet, quiet_alloc = run_quiet(app, wakes) if "quiet" in parts else (0, 0)
if "quiet" not in parts:
    run_lean(app, wakes)
print("samples", app.session_samples)
print("jumps", app.jumps)
print("alloc_bytes", gc.mem_alloc() - a0)
print("quiet_wakes", quiet, "bytes", quiet_alloc)
