# Boot entry: the one place that builds hardware. Every pin, the bus, the ADC, the RTC and
# the watchdog are made here from board.py's pin map and handed to the parts that use them.
import machine

import board
import ui
from app import App, load_config
from eventlog import EventLog
from power import Power


def _guard_flash():
    """The root filesystem again, behind eraseguard.EraseGuard. The partition is the one the
    port's _boot.py mounted (ports/esp32/modules/flashbdev.py). None if that cannot be done:
    the log then works as before, its erases unguarded."""
    try:
        from flashbdev import bdev

        import eraseguard
    except ImportError:
        return None
    if bdev is None:
        return None
    return eraseguard.mount(bdev)


def main():
    loaded = load_config()
    cfg = loaded[0]
    i2c = machine.I2C(
        board.I2C_ID,
        scl=machine.Pin(board.I2C_SCL),
        sda=machine.Pin(board.I2C_SDA),
        freq=board.I2C_FREQ,
    )
    led = ui.Led(machine.Pin(board.LED, machine.Pin.OUT, value=0))
    button_pin = machine.Pin(board.BUTTON, machine.Pin.IN, machine.Pin.PULL_UP)
    battery = machine.ADC(machine.Pin(board.BATTERY_ADC))
    battery.atten(machine.ADC.ATTN_11DB)  # up to ~3.1 V at the pin: half a full cell
    power = Power(battery, button_pin, machine.Pin(board.MPU_INT, machine.Pin.IN), cfg["sleep"])
    # Started last, just before counting: once running it cannot be stopped (machine.WDT).
    wdt = machine.WDT(timeout=cfg["wdt_ms"])
    guard = _guard_flash()
    app = App(loaded, i2c, EventLog("log"), led, ui.Button(button_pin), power, machine.RTC(), wdt, board.MPU_ADDR)
    if guard is not None:
        guard.before_erase = app.drain_fifo  # the FIFO is emptied before each sector erase
        app.flash_guard = guard  # the held session's timer keeps out of littlefs meanwhile
    app.run()
    return app


app = main()
