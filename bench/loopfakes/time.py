# The unix port's time, with time() in whole seconds as on the ESP32 (the unix port returns a
# float there, which the daily count's integer arithmetic refuses), and ticks_ms() on the
# loop's own clock. For mp_loop_bench.py only.
import io

from utime import gmtime, localtime, mktime, sleep_ms, sleep_us, ticks_add, ticks_diff, ticks_us  # noqa: F401
import utime

# ticks_ms() is the bench's clock, which it moves on by the wake interval at each wake, as
# the clip's wakes are apart. On the host's own clock a wake takes a millisecond (far longer
# under valgrind), so an LED blip of 20 ms stayed lit for many wakes and its updates were
# counted in the loop's figure, by how fast the machine ran. A BytesIO's position is the
# clock: tell() is C, as the ESP32's ticks_ms() is (no Python call added to the figure).
clock = io.BytesIO(b"")
ticks_ms = clock.tell


def time():
    return int(utime.time())
