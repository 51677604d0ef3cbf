# Simulated `esp32` module: the deep-sleep wake sources the firmware arms.
import simcore

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True


def wake_on_ext0(pin, level):
    simcore.sim.ext0_pin = pin.id if pin is not None else -1
    simcore.sim.ext0_level = level


def wake_on_ext1(pins, level):
    simcore.sim.ext0_pin = pins[0].id if pins else -1
