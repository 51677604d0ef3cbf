# MPU6050 accelerometer driver: accelerometer only, read through the FIFO in bursts.
#
# The I2C bus is passed in; nothing touches hardware at import. Register facts are from the
# InvenSense register map RM-MPU-6000A rev 4.2 and datasheet PS-MPU-6000A rev 3.4.
# Buffers are allocated once, so the steady-state read path allocates nothing.

import micropython
from micropython import const

_SMPLRT_DIV = const(0x19)
_CONFIG = const(0x1A)  # DLPF_CFG in bits 2:0
_ACCEL_CONFIG = const(0x1C)  # AFS_SEL in bits 4:3
_MOT_THR = const(0x1F)
_MOT_DUR = const(0x20)
_FIFO_EN = const(0x23)
_INT_PIN_CFG = const(0x37)
_INT_ENABLE = const(0x38)
_INT_STATUS = const(0x3A)
_ACCEL_XOUT_H = const(0x3B)
_MOT_DETECT_CTRL = const(0x69)
_USER_CTRL = const(0x6A)
_PWR_MGMT_1 = const(0x6B)
_PWR_MGMT_2 = const(0x6C)
_FIFO_COUNTH = const(0x72)
_FIFO_R_W = const(0x74)
_WHO_AM_I = const(0x75)

_DEVICE_RESET = const(0x80)  # PWR_MGMT_1
_CYCLE = const(0x20)  # PWR_MGMT_1
_TEMP_DIS = const(0x08)  # PWR_MGMT_1
_STBY_GYRO = const(0x07)  # PWR_MGMT_2: STBY_XG | STBY_YG | STBY_ZG
_ACCEL_FIFO_EN = const(0x08)  # FIFO_EN
_USER_FIFO_EN = const(0x40)  # USER_CTRL
_USER_FIFO_RESET = const(0x04)  # USER_CTRL
_FIFO_OFLOW = const(0x10)  # INT_STATUS / INT_ENABLE bit 4
_MOT_INT = const(0x40)  # INT_STATUS / INT_ENABLE bit 6
_LATCH_INT_EN = const(0x20)  # INT_PIN_CFG: hold INT high until status is read

FIFO_SIZE = const(1024)
SAMPLE_BYTES = const(6)  # X, Y, Z accelerometer, big-endian int16

GENUINE_ID = 0x68
CLONE_IDS = (0x72, 0x98)  # answers of known clones, accepted with a warning

_AFS_SEL = {2: 0, 4: 1, 8: 2, 16: 3}
_DLPF_CFG = {260: 0, 184: 1, 94: 2, 44: 3, 21: 4, 10: 5, 5: 6}
# LP_WAKE_CTRL (PWR_MGMT_2 bits 7:6): wake-up rate in low-power cycle mode.
_LP_WAKE = {1: 0, 5: 1, 20: 2, 40: 3}  # 1.25, 5, 20, 40 Hz (1 stands for 1.25)


class MPU6050:
    def __init__(self, i2c, addr=0x68):
        self.i2c = i2c
        self.addr = addr
        self.warning = None
        self.fifo_overflows = 0
        self._b1 = bytearray(1)
        self._b2 = bytearray(2)
        try:
            i2c.readfrom_mem_into(addr, _WHO_AM_I, self._b1)
        except OSError:
            raise OSError("MPU6050 not found at I2C address 0x%02x: check wiring and power" % addr)
        who = self._b1[0]
        if who == GENUINE_ID:
            pass
        elif who in CLONE_IDS:
            self.warning = "MPU6050 at 0x%02x answers WHO_AM_I=0x%02x (a known clone); continuing" % (addr, who)
        else:
            raise OSError("device at I2C address 0x%02x answers WHO_AM_I=0x%02x, not an MPU6050" % (addr, who))
        self.who_am_i = who
        self.rate_hz = 0
        self.range_g = 0

    def _write(self, reg, value):
        self._b1[0] = value
        self.i2c.writeto_mem(self.addr, reg, self._b1)

    def _read(self, reg):
        self.i2c.readfrom_mem_into(self.addr, reg, self._b1)
        return self._b1[0]

    def configure(self, rate_hz=200, range_g=16, dlpf_hz=94):
        """Reset, then run the accelerometer alone into the FIFO. Gyro and temperature off."""
        if range_g not in _AFS_SEL:
            raise ValueError("range_g must be one of 2, 4, 8, 16")
        if dlpf_hz not in _DLPF_CFG:
            raise ValueError("dlpf_hz must be one of 260, 184, 94, 44, 21, 10, 5")
        base = 8000 if _DLPF_CFG[dlpf_hz] == 0 else 1000  # gyro output rate sets the clock
        div = base // rate_hz - 1
        if rate_hz > 1000 or div < 0 or div > 255 or base % rate_hz:
            raise ValueError("rate_hz %d is not reachable (1 kHz / whole divider)" % rate_hz)
        self._write(_PWR_MGMT_1, _DEVICE_RESET)
        self._wait_reset()
        self._write(_PWR_MGMT_1, _TEMP_DIS)  # awake, internal oscillator, no temperature
        self._write(_PWR_MGMT_2, _STBY_GYRO)
        self._write(_CONFIG, _DLPF_CFG[dlpf_hz])
        self._write(_SMPLRT_DIV, div)
        self._write(_ACCEL_CONFIG, _AFS_SEL[range_g] << 3)
        self._write(_INT_ENABLE, _FIFO_OFLOW)
        self._write(_FIFO_EN, _ACCEL_FIFO_EN)
        self.rate_hz = rate_hz
        self.range_g = range_g
        self.dlpf_hz = dlpf_hz
        self.reset_fifo()

    def _wait_reset(self):
        # DEVICE_RESET clears itself when the reset is done (datasheet: up to 100 ms).
        import time

        for _ in range(20):
            if not (self._read(_PWR_MGMT_1) & _DEVICE_RESET):
                return
            time.sleep_ms(5)
        raise OSError("MPU6050 at 0x%02x did not come out of reset" % self.addr)

    def reset_fifo(self):
        self._write(_USER_CTRL, _USER_FIFO_RESET)
        self._write(_USER_CTRL, _USER_FIFO_EN)
        self._read(_INT_STATUS)  # clear a stale overflow flag

    def fifo_count(self):
        """Bytes waiting in the FIFO."""
        b = self._b2
        self.i2c.readfrom_mem_into(self.addr, _FIFO_COUNTH, b)
        return (b[0] << 8) | b[1]

    def samples_waiting(self):
        """Whole samples in the FIFO (a partly written sample stays for the next read)."""
        return self.fifo_count() // SAMPLE_BYTES

    def check_overflow(self):
        """True if the FIFO overflowed since the last check. The oldest samples were lost and
        the byte stream may be misaligned, so the FIFO is reset and the event counted."""
        if self._read(_INT_STATUS) & _FIFO_OFLOW:
            self.fifo_overflows += 1
            self.reset_fifo()
            return True
        return False

    def read_fifo_into(self, buf):
        """Burst-read len(buf) bytes (a whole number of samples) from the FIFO into buf.
        The caller checks fifo_count() first; buf is a preallocated buffer or memoryview."""
        self.i2c.readfrom_mem_into(self.addr, _FIFO_R_W, buf)

    def read_accel_into(self, buf6):
        """One sample from the output registers (not the FIFO), for checks and the REPL."""
        self.i2c.readfrom_mem_into(self.addr, _ACCEL_XOUT_H, buf6)

    # Motion wake (used by the power manager before deep sleep).
    def set_motion_wake(self, threshold_mg=64, duration_ms=1, wake_hz=5):
        """Low-power cycle mode with the motion interrupt on INT (active high, latched).

        MOT_THR is about 2 mg/LSB (register map rev 3.2; later revisions omit the scale, so
        treat it as approximate). MOT_DUR counts 1 ms steps at the 1 kHz accelerometer rate.
        """
        if wake_hz not in _LP_WAKE:
            raise ValueError("wake_hz must be one of 1, 5, 20, 40")
        thr = threshold_mg // 2
        if thr < 1:
            thr = 1
        elif thr > 255:
            thr = 255
        self._write(_USER_CTRL, 0)  # FIFO off
        self._write(_FIFO_EN, 0)
        self._write(_MOT_THR, thr)
        self._write(_MOT_DUR, min(max(duration_ms, 1), 255))
        self._write(_MOT_DETECT_CTRL, 0x15)  # accel on-delay 1 ms, decrement counters by 1
        self._write(_INT_PIN_CFG, _LATCH_INT_EN)
        self._write(_INT_ENABLE, _MOT_INT)
        self._write(_PWR_MGMT_2, (_LP_WAKE[wake_hz] << 6) | _STBY_GYRO)
        self._write(_PWR_MGMT_1, _CYCLE | _TEMP_DIS)

    def sleep(self):
        """Sensor off (a few uA): before a deep sleep that no motion should end."""
        self._write(_PWR_MGMT_1, 0x40 | _TEMP_DIS)

    def motion_flag(self):
        """Read (and clear) the motion interrupt status."""
        return bool(self._read(_INT_STATUS) & _MOT_INT)


def decode_portable(src, dst, nwords, at):
    """Big-endian int16 bytes -> dst[at:at+nwords] (an array('h')). Plain Python, no allocation."""
    i = 0
    j = 0
    while i < nwords:
        # (hi ^ 0x80) shifts the sign bit away, so no branch is needed for negatives.
        dst[at + i] = (((src[j] ^ 0x80) << 8) | src[j + 1]) - 0x8000
        i += 1
        j += 2


@micropython.viper
def decode(src: ptr8, dst: ptr16, nwords: int, at: int):  # type: ignore[name-defined]  # noqa: F821
    """Same as decode_portable, compiled to machine code (the device's path)."""
    i = 0
    j = 0
    while i < nwords:
        dst[at + i] = (src[j] << 8) | src[j + 1]
        i += 1
        j += 2
