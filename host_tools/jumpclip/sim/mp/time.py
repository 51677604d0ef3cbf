# Simulated `time` for the virtual board: every clock reads the virtual clock (simcore), and
# every sleep advances it (at once in fast mode, in scaled real time otherwise). (Shadows the unix port's time module inside the simulation.)
import simcore


def ticks_us():
    return simcore.sim.now_us() & 0x3FFFFFFF


def ticks_ms():
    return (simcore.sim.now_us() // 1000) & 0x3FFFFFFF


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
    # Seconds since the ESP32 epoch (2000-01-01): counted from power-on until the RTC is set.
    s = simcore.sim
    return s.now_us() // 1_000_000 + s.rtc_offset_s


def days_from_civil(y, m, d):
    """Days from 2000-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 730425


def gmtime(secs=None):
    if secs is None:
        secs = time()
    days, rem = divmod(int(secs), 86400)
    z = days + 730425
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    y += m <= 2
    weekday = (days + 5) % 7  # 2000-01-01 was a Saturday (Monday = 0)
    yday = days - days_from_civil(y, 1, 1) + 1
    return (y, m, d, rem // 3600, (rem // 60) % 60, rem % 60, weekday, yday)


def localtime(secs=None):
    return gmtime(secs)  # the clip keeps UTC


def mktime(t):
    return days_from_civil(t[0], t[1], t[2]) * 86400 + t[3] * 3600 + t[4] * 60 + t[5]


