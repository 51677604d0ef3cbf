# Register-level model of the MPU6050 accelerometer, as far as the firmware depends on it.
#
# Registers and behaviour follow the register map RM-MPU-6000A rev 4.2: WHO_AM_I, PWR_MGMT_1/2
# (reset, sleep, cycle, standby), SMPLRT_DIV and CONFIG (rate), ACCEL_CONFIG (range), FIFO_EN,
# USER_CTRL (FIFO enable/reset), FIFO_COUNT, FIFO_R_W, INT_ENABLE/INT_STATUS (FIFO overflow,
# motion). Samples are big-endian int16, quantised to the range and clipped at +-full scale.
#
# Sample k of the sensor's free-running grid is taken at t_k = k * period; its value is the
# trace feed sample at index t_k * feed_rate // 1e6 (sample and hold). jumpclip.sim.feed
# applies the same rule on the host, so a replay and the virtual board see the same counts.
import array

import simcore

SMPLRT_DIV = 0x19
CONFIG = 0x1A
ACCEL_CONFIG = 0x1C
MOT_THR = 0x1F
MOT_DUR = 0x20
FIFO_EN = 0x23
INT_PIN_CFG = 0x37
INT_ENABLE = 0x38
INT_STATUS = 0x3A
ACCEL_XOUT_H = 0x3B
USER_CTRL = 0x6A
PWR_MGMT_1 = 0x6B
PWR_MGMT_2 = 0x6C
FIFO_COUNTH = 0x72
FIFO_COUNTL = 0x73
FIFO_R_W = 0x74
WHO_AM_I = 0x75

FIFO_SIZE = 1024


class MPU6050Model:
    def __init__(self, feed, who_am_i=0x68):
        self.feed = feed
        self.who_am_i = who_am_i
        self.fifo = bytearray(FIFO_SIZE)
        self.cur = array.array("i", [0, 0, 0])  # latest sample in 1/16384 g
        self.out = bytearray(6)  # latest sample as output-register bytes
        self.samples_made = 0
        self.samples_to_fifo = 0
        self.overflows = 0
        self.bytes_dropped = 0
        self.motion_events = 0
        self.first_fifo_index = -1  # grid index of the first sample after a FIFO reset
        self.power_on_reset()

    def power_on_reset(self):
        self.regs = bytearray(128)
        self.regs[WHO_AM_I] = self.who_am_i
        self.regs[PWR_MGMT_1] = 0x40  # SLEEP: the part starts asleep
        self.head = 0
        self.count = 0
        self.oflow_pending = False
        self.next_k = -1  # next grid index to produce; -1: re-anchor at the next catch_up
        self.period_us = 1000

    # --- derived settings ---
    def running(self):
        p1 = self.regs[PWR_MGMT_1]
        return not (p1 & 0x40) and not (p1 & 0x20) and not (self.regs[PWR_MGMT_2] & 0x38)

    def update_period(self):
        dlpf = self.regs[CONFIG] & 7
        base = 8000 if dlpf in (0, 7) else 1000
        period = (1 + self.regs[SMPLRT_DIV]) * 1_000_000 // base
        # The accelerometer itself updates at 1 kHz at most (datasheet 6.2).
        self.period_us = period if period >= 1000 else 1000
        self.next_k = -1

    def shift(self):
        return (self.regs[ACCEL_CONFIG] >> 3) & 3  # AFS_SEL: 2 g -> 0 ... 16 g -> 3

    # --- time ---
    def catch_up(self, now_us):
        if not self.running():
            self.next_k = -1
            return
        period = self.period_us
        if self.next_k < 0:
            self.next_k = now_us // period + 1
        while self.next_k * period <= now_us:
            self.produce(self.next_k, self.next_k * period)
            self.next_k += 1

    def produce(self, k, t_us):
        feed = self.feed
        cur = self.cur
        if feed is None:
            cur[0] = 0
            cur[1] = 0
            cur[2] = 16384
        else:
            feed.get(t_us * feed.rate_hz // 1_000_000, cur)
        sh = self.shift()
        out = self.out
        for a in range(3):
            v = cur[a]
            if sh:
                v = (v + (1 << (sh - 1))) >> sh
            if v > 32767:
                v = 32767
            elif v < -32768:
                v = -32768
            out[2 * a] = (v >> 8) & 0xFF
            out[2 * a + 1] = v & 0xFF
        self.samples_made += 1
        if (self.regs[USER_CTRL] & 0x40) and (self.regs[FIFO_EN] & 0x08):
            if self.first_fifo_index < 0:
                self.first_fifo_index = k
            self.samples_to_fifo += 1
            for b in range(6):
                self.push(out[b])

    def push(self, byte):
        if self.count == FIFO_SIZE:
            # Full: the oldest byte is lost and FIFO_OFLOW_INT is raised (register map 4.17).
            self.head = (self.head + 1) % FIFO_SIZE
            self.count -= 1
            self.bytes_dropped += 1
            if self.regs[INT_ENABLE] & 0x10:
                self.regs[INT_STATUS] |= 0x10
            if not self.oflow_pending:  # count episodes, not bytes
                self.oflow_pending = True
                self.overflows += 1
        self.fifo[(self.head + self.count) % FIFO_SIZE] = byte
        self.count += 1

    # --- register access ---
    def read(self, reg):
        if reg == FIFO_R_W:
            if self.count == 0:
                return 0xFF
            b = self.fifo[self.head]
            self.head = (self.head + 1) % FIFO_SIZE
            self.count -= 1
            return b
        if reg == FIFO_COUNTH:
            return self.count >> 8
        if reg == FIFO_COUNTL:
            return self.count & 0xFF
        if reg == INT_STATUS:
            v = self.regs[INT_STATUS]
            self.regs[INT_STATUS] = 0  # cleared by the read
            self.oflow_pending = False
            return v
        if ACCEL_XOUT_H <= reg < ACCEL_XOUT_H + 6:
            return self.out[reg - ACCEL_XOUT_H]
        return self.regs[reg]

    def read_into(self, reg, buf):
        n = len(buf)
        if reg == FIFO_R_W:  # the FIFO port does not auto-increment
            for i in range(n):
                buf[i] = self.read(FIFO_R_W)
            return
        for i in range(n):
            buf[i] = self.read(reg + i)

    def write(self, reg, value):
        if reg == PWR_MGMT_1 and value & 0x80:
            self.power_on_reset()  # DEVICE_RESET: registers to defaults, bit self-clears
            return
        if reg in (WHO_AM_I, FIFO_COUNTH, FIFO_COUNTL, INT_STATUS):
            return  # read-only
        if reg == FIFO_R_W:
            return
        self.regs[reg] = value
        if reg == USER_CTRL and value & 0x04:
            self.head = 0  # FIFO_RESET, self-clearing
            self.count = 0
            self.regs[USER_CTRL] = value & ~0x04
            self.first_fifo_index = -1
            self.oflow_pending = False
        if reg in (SMPLRT_DIV, CONFIG, PWR_MGMT_1, PWR_MGMT_2):
            self.update_period()

    def write_from(self, reg, buf):
        for i in range(len(buf)):
            self.write(reg + i, buf[i])

    def motion_config(self):
        """The motion-wake setup, if the part is in low-power cycle mode with MOT_EN set."""
        if (self.regs[PWR_MGMT_1] & 0x20) and (self.regs[INT_ENABLE] & 0x40):
            return {"thr_mg": self.regs[MOT_THR] * 2, "dur_ms": max(1, self.regs[MOT_DUR])}
        return None

    def report(self):
        return {
            "who_am_i": self.who_am_i,
            "samples_made": self.samples_made,
            "samples_to_fifo": self.samples_to_fifo,
            "overflows": self.overflows,
            "bytes_dropped": self.bytes_dropped,
            "first_fifo_index": self.first_fifo_index,
            "period_us": self.period_us,
            "range_g": 2 << self.shift(),
        }
