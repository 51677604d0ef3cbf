# The few `machine` names the counting loop touches, for bench/mp_loop_bench.py only: the loop
# runs on the unix port, whose `machine` has no RTC, WDT or unique_id. Nothing here costs
# instructions per sample (only begin_session, the daily count and the watchdog use them).
import gc

DEEPSLEEP_RESET = 4
WDT_RESET = 3
PWRON_RESET = 1


def unique_id():
    return b"\xa4\xcf\x12\x34\x56\x78"


def reset_cause():
    return PWRON_RESET


class RTC:
    def __init__(self):
        self.mem = bytearray(64)

    def memory(self, data=None):
        if data is None:
            return bytes(self.mem)
        self.mem[: len(data)] = data


class WDT:
    def __init__(self, timeout=0):
        pass

    # A C function, as the ESP32's WDT.feed is (ports/esp32/machine_wdt.c): a Python no-op
    # here would add a bytecode call to every wake, about 1,000 instructions, that the clip
    # does not make. (gc.isenabled takes no argument and changes nothing.)
    feed = staticmethod(gc.isenabled)


class Timer:
    PERIODIC = 1
    ONE_SHOT = 0

    def __init__(self, id=0):
        pass

    def init(self, **kw):
        pass

    def deinit(self):
        pass
