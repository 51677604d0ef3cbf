# Pin map of the clip: the only place pins are named. hardware/WIRING.md must agree (tested).
#
# Board: Adafruit ESP32 Feather V2 (5400): on-board LiPo charger, battery divider on GPIO35
# (A13, halves the cell voltage), red LED on GPIO13, I2C on SDA=22 / SCL=20, GPIO32 and 33 on
# the header (arduino-esp32 variants/adafruit_feather_esp32_v2/pins_arduino.h). Chosen over
# the HUZZAH32 for its standby: about 100 uA for the whole board (hardware/POWER.md).
from micropython import const

I2C_ID = const(0)
I2C_SDA = const(22)
I2C_SCL = const(20)
I2C_FREQ = const(400_000)
MPU_ADDR = const(0x68)  # AD0 tied low
MPU_INT = const(32)  # RTC-capable GPIO: wakes the ESP32 from deep sleep (ext0)
BUTTON = const(33)  # RTC-capable GPIO, active low with pull-up (ext1 wake)
LED = const(13)
BATTERY_ADC = const(35)  # A13: battery voltage / 2
