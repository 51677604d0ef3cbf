"""The virtual board: the unmodified firmware on the MicroPython unix port, with a
simulated `machine` module, an MPU6050 register model fed from a trace, and a
pseudo-terminal that pyserial and mpremote open like the clip's USB port."""
