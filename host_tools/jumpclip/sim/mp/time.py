# Simulated `time` for the virtual board: every clock reads the virtual clock, and every
# sleep advances it at once. (Shadows the unix port's time module inside the simulation.)
import simcore


def ticks_us():
    return simcore.sim.clock_us & 0x3FFFFFFF


def ticks_ms():
    return (simcore.sim.clock_us // 1000) & 0x3FFFFFFF


def ticks_diff(a, b):
    d = (a - b) & 0x3FFFFFFF
    return d - 0x40000000 if d & 0x20000000 else d


def ticks_add(t, d):
    return (t + d) & 0x3FFFFFFF


def sleep_ms(ms):
    simcore.sim.sleep_us(ms * 1000, False)


def sleep_us(us):
    simcore.sim.sleep_us(us, False)


def sleep(s):
    simcore.sim.sleep_us(int(s * 1_000_000), False)


def time():
    # Seconds since the ESP32 epoch (2000-01-01), counted from power-on: the RTC is unset.
    return simcore.sim.clock_us // 1_000_000


def localtime(secs=None):
    raise OSError("localtime is not simulated")
