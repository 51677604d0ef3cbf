# Power: light sleep between FIFO reads, deep sleep until a wake source, and the battery.
#
# The pins and the ADC are built by main.py and handed in (as the micropython-lib drivers take
# their bus), so this module names no pin numbers.
import esp32
import machine
from micropython import const

WAKE_TIMER = const(0)  # deep sleep until the timer only
WAKE_MOTION = const(1)  # the MPU6050's motion interrupt drives its INT pin high
WAKE_BUTTON = const(2)  # the button pulls its pin low


class Power:
    def __init__(self, battery_adc, button_pin, motion_pin, light_sleep=True):
        self.adc = battery_adc
        self.button = button_pin
        self.motion = motion_pin
        self.light_sleep = light_sleep  # config "sleep": False keeps the CPU awake (debugging)
        # A press must end a light sleep, or one shorter than the wake interval (0.4 s at
        # 200 Hz) falls between two looks. ext0 wakes light sleep as well as deep sleep
        # (esp32 port: wake_on_ext0 arms both; modmachine.c machine_sleep_helper).
        esp32.wake_on_ext0(button_pin, esp32.WAKEUP_ALL_LOW)

    def sleep_ms(self, ms):
        """Sleep up to ms. While the button is held, ext0 would end every light sleep at once:
        stay awake then, and look again within 50 ms so that its release is timed well."""
        import time

        if self.button.value() == 0:
            time.sleep_ms(ms if ms < 50 else 50)
        elif self.light_sleep:
            machine.lightsleep(ms)
            # The sleep armed ext0, and ESP-IDF handed the button's pad to the RTC mux for it
            # (sleep_modes.c, ext0_wakeup_prepare); MicroPython gives it back to the digital
            # side only on a mode-setting init (machine_pin.c). Without this the button reads
            # 0, "held", after the first light sleep: no more light sleep, and every session
            # ends 2 s in. (The button is active low with the pull-up main.py gave it.)
            self.button.init(machine.Pin.IN, machine.Pin.PULL_UP)
        else:
            time.sleep_ms(ms)

    def battery_mv(self):
        return self.adc.read_uv() * 2 // 1000  # the divider halves the cell voltage

    def deep_sleep(self, wake, ms=0):
        """Deep-sleep until the wake source goes to its level, or ms pass. Never returns:
        the chip boots again. ext0 wakes on a level (esp32 port, modesp32.c wake_on_ext0)."""
        if wake == WAKE_MOTION:
            esp32.wake_on_ext0(self.motion, esp32.WAKEUP_ANY_HIGH)
        elif wake == WAKE_BUTTON:
            esp32.wake_on_ext0(self.button, esp32.WAKEUP_ALL_LOW)
        machine.deepsleep(ms) if ms else machine.deepsleep()

    def wake_cause(self):
        """After a deep-sleep reset: "button", "motion" or "timer"."""
        if machine.wake_reason() != machine.EXT0_WAKE:
            return "timer"
        return "button" if self.button.value() == 0 else "motion"
