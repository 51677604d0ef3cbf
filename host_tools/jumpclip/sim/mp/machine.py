# Simulated `machine` module for the virtual board. The firmware imports it exactly as it
# imports the ESP32's; every call lands on the virtual clock and the device models.
# Constants and reset causes follow MicroPython's esp32 port (ports/esp32/modmachine.c,
# mp_machine_reset_cause, v1.22 to today: ESP_RST_TASK_WDT/INT_WDT/WDT -> WDT_RESET,
# ESP_RST_SW (esp_restart, machine.reset) and ESP_RST_PANIC -> HARD_RESET, ESP_RST_DEEPSLEEP
# -> DEEPSLEEP_RESET, ESP_RST_POWERON -> PWRON_RESET; SOFT_RESET only after a soft reboot of
# the interpreter, is_soft_reset).
import errno

import simcore

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
PIN_WAKE = 2
EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4

_freq = 160_000_000


def freq(hz=None):
    global _freq
    if hz is None:
        return _freq
    _freq = hz


def unique_id():
    return bytes.fromhex(simcore.sim.cfg.get("unique_id", "a4cf12345678"))


def reset_cause():
    return simcore.sim.cfg.get("reset_cause", PWRON_RESET)


def wake_reason():
    return simcore.sim.cfg.get("wake_reason", 0)


def lightsleep(ms=None):
    s = simcore.sim
    us = 1_000_000 if ms is None else ms * 1000
    # ext0 wakes light sleep too: esp32.wake_on_ext0 sets ext0_wake_types to SLEEP|DEEPSLEEP
    # (ports/esp32/modesp32.c) and machine_sleep_helper arms ext0 for either kind of sleep
    # (ports/esp32/modmachine.c). Level-triggered: a button already down ends it at once.
    if s.ext0_pin == s.button_pin and not s.ext0_level:
        t0 = s.now_us()
        for start, dur in s.button:
            a, b = start * 1000, (start + dur) * 1000
            if a <= t0 < b:
                us = 0
            elif t0 < a < t0 + us:
                us = a - t0
    s.sleep_us(us, True)
    # Before every sleep, light sleep too, ESP-IDF's esp_sleep_start calls
    # ext0_wakeup_prepare(), which hands the ext0 pad to the RTC mux (mux_sel = 1, fun_sel 0:
    # components/esp_hw_support/sleep_modes.c), and nothing hands it back: MicroPython calls
    # rtc_gpio_deinit only when a Pin is initialised with a mode (ports/esp32/machine_pin.c,
    # "reset the pin to digital if this is a mode-setting init"). The digital input then
    # reads 0 (esp-idf#245, micropython#3835).
    if s.ext0_pin >= 0:
        s.rtc_muxed = s.ext0_pin


def idle():
    simcore.sim.sleep_us(1000, False)


def deepsleep(ms=None):
    # What survives (ESP-IDF sleep modes: RTC memory and the RTC timer stay powered): the RTC,
    # RTC memory, the MPU6050 (it has its own supply: its registers and a latched INT stay)
    # and the wake sources. The harness boots the chip again at the wake (board.py).
    simcore.sim.deep_sleep(ms or 0)


def reset():
    # esp_restart(): the chip reboots; boot.py and main.py run again (reset cause HARD_RESET).
    simcore.sim.halt("reset")


def soft_reset():
    # A soft reboot of the interpreter (reset cause SOFT_RESET); modelled as a reboot too.
    simcore.sim.halt("soft")


class Timer:
    """machine.Timer on the virtual clock. Due callbacks run on the firmware's thread at its
    next clock read (the esp32 port schedules them from its hardware timer ISR to run between
    bytecodes), and from the chip thread while the REPL waits for the host (paced mode)."""

    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=0, **kw):
        self.id = id
        self.cb = None
        self.period_us = 0
        self.mode = Timer.PERIODIC
        self.due_us = 0
        if kw:
            self.init(**kw)

    def init(self, mode=PERIODIC, period=-1, callback=None, freq=-1):
        s = simcore.sim
        self.deinit()
        self.mode = mode
        self.period_us = (period * 1000) if period > 0 else (1_000_000 // freq if freq > 0 else 1_000_000)
        self.cb = callback
        self.due_us = s.now_us() + self.period_us
        s.timers.append(self)

    def fire(self, now):
        cb = self.cb
        if self.mode == Timer.PERIODIC:
            while self.due_us <= now:  # callbacks missed meanwhile are not queued up
                self.due_us += self.period_us
        else:
            self.deinit()
        if cb is not None:
            cb(self)

    def deinit(self):
        s = simcore.sim
        if self in s.timers:
            s.timers.remove(self)


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._value = 0
        self._digital(mode)
        if value is not None:
            self.value(value)

    def _digital(self, mode):
        # A mode-setting init takes the pad back from the RTC mux (machine_pin.c).
        s = simcore.sim
        if mode != -1 and s.rtc_muxed == self.id:
            s.rtc_muxed = -1

    def value(self, v=None):
        if v is None:
            s = simcore.sim
            if self.id == s.rtc_muxed:
                return 0  # the pad is the RTC's since a sleep armed it for ext0
            if self.id == s.button_pin:
                return 0 if s.button_down() else 1  # active low, with pull-up
            if self.id == s.battery_pin:
                return 1
            return self._value
        v = 1 if v else 0
        if v != self._value:
            self._value = v
            s = simcore.sim
            if self.id in s.traced_pins:
                # Bounded: the simulation shares the firmware's heap, and a day of blinks
                # would fill it (the first PIN_LOG_MAX edges are kept, the rest counted).
                if len(s.pin_log) < simcore.PIN_LOG_MAX:
                    s.pin_log.append((s.clock_us // 1000, self.id, v))
                else:
                    s.pin_log_dropped += 1

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, v=None):
        return self.value(v)

    def irq(self, handler=None, trigger=IRQ_FALLING, wake=None):
        return None

    def init(self, mode=-1, pull=-1, value=None):
        self._digital(mode)
        if value is not None:
            self.value(value)


class I2C:
    def __init__(self, id=0, scl=None, sda=None, freq=400_000, timeout=50_000):
        self.freq = freq

    def _dev(self, addr):
        d = simcore.sim.devices.get(addr)
        if d is None:
            # What the ESP32 port raises when nothing acknowledges the address.
            raise OSError(errno.ENODEV)
        return d

    def scan(self):
        return sorted(simcore.sim.devices)

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        s = simcore.sim
        if s.glitches and s.clock_us >= s.glitches[0]:
            s.glitches.pop(0)  # fault injection: something the firmware did not foresee
            raise ValueError("injected glitch")
        if s.bus_errors and s.clock_us >= s.bus_errors[0]:
            # A transfer that times out (noise, a slow clock stretch): the esp32 port raises
            # OSError(ETIMEDOUT) for ESP_ERR_TIMEOUT (ports/esp32/machine_i2c.c). The model
            # fails it before any data byte, so the sensor's FIFO keeps its contents.
            s.bus_errors.pop(0)
            s.i2c_cost(0, self.freq)
            raise OSError(errno.ETIMEDOUT)
        d = self._dev(addr)
        if s.burst_cuts and s.clock_us >= s.burst_cuts[0] and memaddr == 0x74 and len(buf) > 7:
            # A burst from FIFO_R_W cut after 7 data bytes: the sensor had clocked them out
            # (its FIFO pointer advances per byte read, RM 4.33), then the transfer timed out
            # and the port raised OSError(ETIMEDOUT) with no data (machine_i2c.c). Nothing
            # in the sources rules this out, so the firmware must realign after it.
            s.burst_cuts.pop(0)
            s.i2c_cost(7, self.freq, 0)
            d.read_into(memaddr, s.cut_scratch)  # 7 bytes: a sample and one byte of the next
            raise OSError(errno.ETIMEDOUT)
        s.i2c_cost(len(buf), self.freq, len(buf))
        d.read_into(memaddr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return buf

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        d = self._dev(addr)
        simcore.sim.i2c_cost(len(buf), self.freq)
        d.write_from(memaddr, buf)


SoftI2C = I2C


class WDT:
    """The task watchdog. Once started it cannot be stopped (MicroPython docs, machine.WDT;
    ports/esp32/machine_wdt.c has no deinit). The sim's chip thread resets the board when
    it starves, at the REPL as in the counting loop (Sim.check_wdt)."""

    def __init__(self, id=0, timeout=5000):
        s = simcore.sim
        s.wdt_fed_us = s.now_us()  # first: the check that now_us() makes must see this feed
        s.wdt_timeout_us = timeout * 1000

    def feed(self):
        s = simcore.sim
        s.wdt_fed_us = s.now_us()


class RTC:
    """One clock for every RTC(), as on the chip: an offset on the virtual clock. RTC memory
    lives in the simulation (simcore), so it survives a simulated deep sleep."""

    def datetime(self, dt=None):
        import time

        if dt is None:
            t = time.gmtime()
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)
        secs = time.mktime((dt[0], dt[1], dt[2], dt[4], dt[5], dt[6]))
        s = simcore.sim
        s.rtc_offset_s = secs - s.clock_us // 1_000_000

    def memory(self, data=None):
        s = simcore.sim
        if data is None:
            return s.rtc_memory
        if len(data) > 2048:
            raise ValueError("RTC memory holds at most 2048 bytes")
        s.rtc_memory = bytes(data)


class ADC:
    """Battery sense: the voltage at the divider follows a scripted discharge curve."""

    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = pin

    def atten(self, a):
        pass

    def read_uv(self):
        return simcore.sim.battery_mv() * 1000 // 2  # the divider halves the cell voltage

    def read_u16(self):
        return min(65535, self.read_uv() * 65535 // 3_300_000)
