# Boot entry: wiring only. Build the objects from config and hand them to the app.
import machine

import board
from app import App, load_config
from eventlog import EventLog


def main():
    loaded = load_config()
    i2c = machine.I2C(
        board.I2C_ID,
        scl=machine.Pin(board.I2C_SCL),
        sda=machine.Pin(board.I2C_SDA),
        freq=board.I2C_FREQ,
    )
    led = machine.Pin(board.LED, machine.Pin.OUT, value=0)
    app = App(loaded, i2c, led, EventLog("log"))
    app.run()
    return app


app = main()
