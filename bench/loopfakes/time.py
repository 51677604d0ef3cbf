# The unix port's time, with time() in whole seconds as on the ESP32 (the unix port returns a
# float there, which the daily count's integer arithmetic refuses). For mp_loop_bench.py only.
from utime import gmtime, localtime, mktime, sleep_ms, sleep_us, ticks_add, ticks_diff, ticks_ms, ticks_us  # noqa: F401
import utime


def time():
    return int(utime.time())
