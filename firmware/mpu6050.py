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
_HPF_5HZ = const(0x01)  # ACCEL_CONFIG bits 2:0, ACCEL_HPF (register map rev 3.2; i2cdevlib)
_HPF_HOLD = const(0x07)
_HPF_SETTLE_MS = const(200)

_RESET_MS = const(100)
_RESET_POLLS = const(20)  # x 10 ms after the first 100 ms

FIFO_SIZE = const(1024)
SAMPLE_BYTES = const(6)  # X, Y, Z accelerometer, big-endian int16
_FIFO_WHOLE = const(1020)  # 170 whole samples: more than this means it overflowed

GENUINE_ID = 0x68
# Parts sold on "MPU6050" boards that answer otherwise (Linux inv_mpu_core.c, hw_info). They
# keep the accelerometer filter in ACCEL_CONFIG2 (0x1D) and wake on motion through
# ACCEL_INTEL_CTRL and WOM_THR, with ACCEL_CONFIG bits 2:0 reserved (MPU-6500 register map),
# and their FIFOs differ in size: configured as an MPU6050 they would never wake on motion.
OTHER_FAMILIES = {0x70: "MPU-6500", 0x71: "MPU-9250", 0x73: "MPU-9255", 0x98: "ICM-20689"}


class UnsupportedSensor(OSError):
    """A sensor answered, but it is not one this driver configures correctly."""


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
        self.bus_errors = 0  # failed transfers that a retry recovered
        self._b1 = bytearray(1)
        self._b2 = bytearray(2)
        try:
            i2c.readfrom_mem_into(addr, _WHO_AM_I, self._b1)
        except OSError:
            raise OSError("MPU6050 not found at I2C address 0x%02x: check wiring and power" % addr)
        who = self._b1[0]
        if who in OTHER_FAMILIES:
            raise UnsupportedSensor(
                "sensor at I2C address 0x%02x is an %s (WHO_AM_I 0x%02x), not an MPU-6050: its filter and "
                "wake-on-motion registers differ; fit an MPU-6050 board" % (addr, OTHER_FAMILIES[who], who)
            )
        if who != GENUINE_ID:
            raise UnsupportedSensor(
                "device at I2C address 0x%02x answers WHO_AM_I=0x%02x, not an MPU6050 (0x68): "
                "check the part on the board" % (addr, who)
            )
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
        # DEVICE_RESET clears itself when the reset is done (register map 4.28). That takes
        # about 100 ms: the Linux driver waits INV_MPU6050_POWER_UP_TIME (100 ms), Adafruit's
        # begin() delay(100). Wait that long first, then allow three times as much.
        import time

        time.sleep_ms(_RESET_MS)
        for _ in range(_RESET_POLLS):
            if not (self._read(_PWR_MGMT_1) & _DEVICE_RESET):
                return
            time.sleep_ms(10)
        raise OSError("MPU6050 at 0x%02x did not come out of reset: check its power" % self.addr)

    def reset_fifo(self):
        self._write(_USER_CTRL, _USER_FIFO_RESET)
        self._write(_USER_CTRL, _USER_FIFO_EN)
        self._read(_INT_STATUS)  # clear a stale overflow flag

    def _read_into(self, reg, buf):
        """A burst read, tried twice: one failed transfer (a timeout, noise on the bus) is
        retried before it becomes an error, so it costs neither the FIFO's contents nor a
        reconnect. The one place where the driver retries."""
        try:
            self.i2c.readfrom_mem_into(self.addr, reg, buf)
        except OSError:
            self._read_again(reg, buf)

    def _read_again(self, reg, buf):
        self.bus_errors += 1
        self.i2c.readfrom_mem_into(self.addr, reg, buf)

    def fifo_count(self):
        """Bytes waiting in the FIFO. Read once a wake: _read_into's steps written out with
        one local fewer, so that the frame stays on the C stack (App.wake says why)."""
        try:
            self.i2c.readfrom_mem_into(self.addr, _FIFO_COUNTH, self._b2)
        except OSError:
            self._read_again(_FIFO_COUNTH, self._b2)
        return (self._b2[0] << 8) | self._b2[1]

    def samples_waiting(self):
        """Whole samples in the FIFO (a partly written sample stays for the next read), or
        -1 if it overflowed: then the oldest data is gone and the byte stream is misaligned
        (1024 is no multiple of 6), so the FIFO is reset and the overflow counted.

        Overflow is judged by the count, not by INT_STATUS's FIFO_OFLOW bit, which some
        parts report all the time (Linux inv_mpu6050, commit 6e82ae6b8d11): a FIFO holding
        more than its 170 whole samples has overflowed."""
        n = self.fifo_count()
        if n > _FIFO_WHOLE:
            self.fifo_overflows += 1
            self.reset_fifo()
            return -1
        return n // SAMPLE_BYTES

    def read_fifo_into(self, buf):
        """Burst-read len(buf) bytes (a whole number of samples) from the FIFO into buf.
        The caller checks fifo_count() first; buf is a preallocated buffer or memoryview.

        Returns False when the samples were lost: a transfer failed part-way, and the FIFO
        had given up bytes the port never returned (its pointer advances per byte read,
        register map 4.33; the esp32 port raises OSError with no data, machine_i2c.c).
        With a part of a sample gone the byte stream is out of step, and every sample after
        it would decode wrongly; the FIFO is then reset, as after an overflow, and counted
        as one. A failure that took whole samples only, or none, is retried as before."""
        try:
            self.i2c.readfrom_mem_into(self.addr, _FIFO_R_W, buf)
            return True
        except OSError:
            self.bus_errors += 1
        if self.fifo_count() % SAMPLE_BYTES:
            self.fifo_overflows += 1
            self.reset_fifo()
            return False
        self.i2c.readfrom_mem_into(self.addr, _FIFO_R_W, buf)
        return True

    def read_accel_into(self, buf6):
        """One sample from the output registers (not the FIFO), for checks and the REPL."""
        self.i2c.readfrom_mem_into(self.addr, _ACCEL_XOUT_H, buf6)

    # Motion wake (used by the power manager before deep sleep).
    def set_motion_wake(self, threshold_mg=120, duration_ms=1, wake_hz=20):
        """Low-power cycle mode with the motion interrupt on INT (active high, latched).

        Motion is the high-pass filtered acceleration against MOT_THR, axis by axis. With the
        filter at "reset" gravity stays in the comparison and the interrupt is set all the
        time (kriswiner's LowPowerAccelOnlyMPU6050 notes it), so first let the filter track
        gravity at 5 Hz, wait, then hold it: the comparison is then against the change since
        the hold (the sequence of kriswiner and Adafruit_MPU6050; register map rev 3.2,
        ACCEL_HPF). MOT_THR is about 2 mg/LSB (register map rev 3.2, i2cdevlib); MOT_DUR
        counts 1 ms steps.
        """
        import time

        if wake_hz not in _LP_WAKE:
            raise ValueError("wake_hz must be one of 1, 5, 20, 40")
        thr = threshold_mg // 2
        if thr < 1:
            thr = 1
        elif thr > 255:
            thr = 255
        afs = _AFS_SEL.get(self.range_g, 3) << 3
        self._write(_INT_ENABLE, 0)  # nothing on INT while it is set up
        self._write(_USER_CTRL, 0)  # FIFO off
        self._write(_FIFO_EN, 0)
        self._write(_ACCEL_CONFIG, afs | _HPF_5HZ)
        time.sleep_ms(_HPF_SETTLE_MS)  # about 6 time constants of the 5 Hz filter
        self._write(_ACCEL_CONFIG, afs | _HPF_HOLD)
        self._write(_MOT_THR, thr)
        self._write(_MOT_DUR, min(max(duration_ms, 1), 255))
        self._write(_MOT_DETECT_CTRL, 0x15)  # accel on-delay 1 ms, decrement counters by 1
        self._write(_INT_PIN_CFG, _LATCH_INT_EN)
        self._read(_INT_STATUS)  # drop anything latched before the filter held
        self._write(_INT_ENABLE, _MOT_INT)
        self._write(_PWR_MGMT_2, (_LP_WAKE[wake_hz] << 6) | _STBY_GYRO)
        self._write(_PWR_MGMT_1, _CYCLE | _TEMP_DIS)

    def sleep(self):
        """Sensor off (a few uA): before a deep sleep that no motion should end."""
        self._write(_PWR_MGMT_1, 0x40 | _TEMP_DIS)


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
    """Same as decode_portable, compiled to machine code (the device's path). Where both
    buffers are word-aligned (the FIFO's bursts are: heap buffers, 192-byte steps), two
    words at a time: one 32-bit load, the bytes swapped within each half, one store (the
    ESP32 is little-endian, as x86 is; an unaligned 32-bit access would fault on it, hence
    the check). A third of the byte-wise loop's cost (make bench: the counting loop)."""
    i = 0
    j = 0
    d = int(dst) + 2 * at
    if ((int(src) | d) & 3) == 0:
        s32 = ptr32(src)  # type: ignore[name-defined]  # noqa: F821
        d32 = ptr32(d)  # type: ignore[name-defined]  # noqa: F821
        m = nwords >> 1
        while i < m:
            w = s32[i]
            d32[i] = ((w & 0x00FF00FF) << 8) | ((w >> 8) & 0x00FF00FF)
            i += 1
        i = m << 1
        j = i << 1
    while i < nwords:  # the rest (an odd word), or all of it where unaligned
        dst[at + i] = (src[j] << 8) | src[j + 1]
        i += 1
        j += 2
