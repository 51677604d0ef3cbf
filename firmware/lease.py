# The host's lease on the watchdog.
#
# The watchdog, once started, cannot be stopped (MicroPython docs, machine.WDT), and nothing
# feeds it at the REPL. While a host holds the clip (sync, record, config, an open REPL), a
# timer feeds it, but only for LEASE_MS after the host last did something: a host that goes
# away (cable pulled, a sync that failed half-way) lets the watchdog reset the clip, which
# then boots and counts again. The counting loop feeds the watchdog itself and ends the lease.
import machine
import time
from micropython import const

LEASE_MS = const(600000)  # 10 minutes of an idle REPL, then back to counting

_wdt = None
_timer = None
_tick = None  # called at each period while the host holds the clip (App.count_held)
_period_ms = 0
_until = time.ticks_ms()  # set properly by renew(); a ticks value for the type checker


def _feed(_t):
    if _wdt is not None and time.ticks_diff(_until, time.ticks_ms()) > 0:
        _wdt.feed()
    if _tick is not None:
        _tick()


def grant(wdt, period_ms, tick=None):
    """The host has the clip: feed wdt every period_ms while the lease runs, and call
    tick() every period_ms (the open session's counting) until the loop takes over again."""
    global _wdt, _timer, _tick, _period_ms
    _wdt = wdt
    _tick = tick
    _period_ms = period_ms
    renew()
    if _timer is None:
        _timer = machine.Timer(0)
    _timer.init(mode=machine.Timer.PERIODIC, period=period_ms, callback=_feed)


def soon(ms):
    """The tick could not do its work now (the host was inside a littlefs operation, see
    App.count_held): the next one comes after ms instead of a whole period, then the period
    again, so the FIFO (850 ms at 200 Hz) does not wait for two periods."""
    if _timer is not None and _tick is not None:
        _timer.init(mode=machine.Timer.ONE_SHOT, period=ms, callback=_again)


def _again(t):
    if _timer is not None:
        _timer.init(mode=machine.Timer.PERIODIC, period=_period_ms, callback=_feed)
    _feed(t)


def renew():
    """Each host command extends the lease (syncserver, recorder and config call this)."""
    global _until
    _until = time.ticks_add(time.ticks_ms(), LEASE_MS)
    if _wdt is not None:
        _wdt.feed()


def end():
    """Counting again: the loop feeds the watchdog itself, and a hang must reset the clip."""
    global _tick
    _tick = None
    if _timer is not None:
        _timer.deinit()
