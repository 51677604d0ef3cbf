# The clip's user interface: LED patterns and button gestures (README: "LED and button").
#
# Patterns are (on_ms, off_ms) steps. Led plays them without blocking: the counting loop asks
# it when the next edge is due and sleeps no longer than that, reading the FIFO and feeding
# the watchdog at every wake, so a pattern of any length costs no sample and no reset.
import time

from micropython import const

# LED patterns
COUNTING = ((20, 0),)  # a blip every 10 s while a session is open
SESSION_START = ((100, 100), (100, 0))
SESSION_END = ((600, 0),)
SENSOR_ERROR = ((80, 80), (80, 80), (80, 0))
WRONG_SENSOR = ((80, 80), (80, 80), (80, 300), (600, 0))  # three short, one long: wrong chip
LOW_BATTERY = ((50, 50), (50, 50), (50, 50), (50, 50), (50, 0))
LOG_FULL = ((400, 200), (400, 0))
TARGET_REACHED = ((500, 250), (500, 250), (500, 0))
ENOUGH_FOR_NOW = ((900, 300), (150, 0))  # one long, one short: this bout has done its work; rest
SYNC = ((1000, 0),)  # solid while the host is talking


def count_pattern(n):
    """n short blinks (progress: one per 10 qualifying impacts; battery: 1-5)."""
    return ((150, 250),) * (n if n > 0 else 0) if n < 20 else ((150, 250),) * 20


def progress_pattern(qualifying, bouts):
    """The button's progress display: one short blink per 10 qualifying impacts today (at
    least one), a pause, then one long blink per bout today."""
    short = count_pattern(max(1, qualifying // 10))
    n = bouts if bouts < 10 else 10
    if n <= 0:
        return short
    return short[:-1] + ((150, 900),) + ((500, 300),) * n


class Led:
    def __init__(self, pin):
        self.pin = pin
        self.pattern = None
        self.step = 0
        self.lit = False
        self.due = time.ticks_ms()  # of the next edge (a ticks value, for the type checker too)

    def play(self, pattern):
        """Start a pattern now (it replaces one still playing)."""
        self.pattern = pattern
        self.step = 0
        self.lit = True
        self.pin.value(1)
        self.due = time.ticks_add(time.ticks_ms(), pattern[0][0])

    def busy(self):
        return self.pattern is not None

    def update(self):
        """Make the edges that are due. Returns ms until the next one, or -1 when done.
        Allocation-free: the patterns are constant tuples."""
        p = self.pattern
        while p is not None:
            left = time.ticks_diff(self.due, time.ticks_ms())
            if left > 0:
                return left
            if self.lit:
                self.pin.value(0)
                self.lit = False
                self.due = time.ticks_add(self.due, p[self.step][1])
            else:
                self.step += 1
                if self.step >= len(p):
                    self.pattern = p = None
                    break
                self.pin.value(1)
                self.lit = True
                self.due = time.ticks_add(self.due, p[self.step][0])
        return -1


# Button gestures, from how long the button was held and how fast it came back.
PRESS = const(1)  # short: daily progress
DOUBLE = const(2)  # two short presses within 1 s: battery level
LONG = const(3)  # held 2 s: start or end a session

_LONG_MS = const(2000)
_SHORT_MAX_MS = const(1000)
_DOUBLE_GAP_MS = const(1000)


class Button:
    """Polled at each wake (every few hundred ms): active low with the internal pull-up."""

    def __init__(self, pin):
        self.pin = pin
        self.down_at = -1
        self.last_short = -1  # release time of a short press waiting for a second one
        self.long_fired = False

    def swallow(self):
        """The button is down now, but this press is spent (it woke the clip): ignore it
        until it is released."""
        self.down_at = 0
        self.long_fired = True
        self.last_short = -1

    def poll(self, now_ms):
        """A gesture completed at now_ms, or 0."""
        down = self.pin.value() == 0
        if down:
            if self.down_at < 0:
                self.down_at = now_ms
                self.long_fired = False
            elif not self.long_fired and now_ms - self.down_at >= _LONG_MS:
                self.long_fired = True
                return LONG
            return 0
        if self.down_at >= 0:
            held = now_ms - self.down_at
            self.down_at = -1
            if self.long_fired or held > _SHORT_MAX_MS:
                return 0
            if self.last_short >= 0 and now_ms - self.last_short <= _DOUBLE_GAP_MS:
                self.last_short = -1
                return DOUBLE
            self.last_short = now_ms
            return 0
        if self.last_short >= 0 and now_ms - self.last_short > _DOUBLE_GAP_MS:
            self.last_short = -1
            return PRESS
        return 0
