# power.py imports esp32 for its wake sources; the loop bench never sleeps (mp_loop_bench.py).
WAKEUP_ALL_LOW = 0
WAKEUP_ANY_HIGH = 1


def wake_on_ext0(pin=None, level=0):
    pass
