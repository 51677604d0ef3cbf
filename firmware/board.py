# Pin map of the clip: the only place pins are named. hardware/WIRING.md must agree (tested).
#
# Board: Adafruit HUZZAH32 (ESP32 Feather): on-board LiPo charger, battery divider on
# GPIO35 (A13, halves the cell voltage), red LED on GPIO13, I2C on SDA=23 / SCL=22.
from micropython import const

I2C_ID = const(0)
I2C_SDA = const(23)
I2C_SCL = const(22)
I2C_FREQ = const(400_000)
MPU_ADDR = const(0x68)  # AD0 tied low
MPU_INT = const(32)  # RTC-capable GPIO: wakes the ESP32 from deep sleep (ext0)
BUTTON = const(33)  # RTC-capable GPIO, active low with pull-up (ext1 wake)
LED = const(13)
BATTERY_ADC = const(35)  # A13: battery voltage / 2
