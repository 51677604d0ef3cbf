# Register-level model of the MPU6050 accelerometer, as far as the firmware depends on it.
#
# Sources, named beside each behaviour below and in docs/virtual-board.md:
#   [RM]   InvenSense RM-MPU-6000A register map (rev 4.2; rev 3.2 for ACCEL_HPF and the motion
#          registers, which later revisions dropped from the text)
#   [PS]   InvenSense PS-MPU-6000A product specification rev 3.4
#   [LNX]  Linux drivers/iio/imu/inv_mpu6050/ (inv_mpu_core.c, inv_mpu_ring.c)
#   [I2CD] jrowberg i2cdevlib MPU6050.h/.cpp;  [KW] kriswiner LowPowerAccelOnlyMPU6050.ino;
#   [ADA]  Adafruit_MPU6050 (begin(), motion example)
# Samples are big-endian int16, quantised to the range and clipped at +-full scale [RM 4.17].
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

MOT_DETECT_CTRL = 0x69

FIFO_SIZE = 1024  # [PS 7.17], [LNX] hw_info fifo_size for the MPU6050

# ACCEL_CONFIG bits 2:0, ACCEL_HPF [RM rev 3.2 4.5], [I2CD] MPU6050_DHPF_*: 0 reset, 1..4 on
# with a cut-off of 5, 2.5, 1.25, 0.63 Hz, 7 hold.
HPF_CUTOFF_HZ = {1: 5.0, 2: 2.5, 3: 1.25, 4: 0.63}
HPF_HOLD = 7
LP_WAKE_HZ = (1.25, 5.0, 20.0, 40.0)  # PWR_MGMT_2 LP_WAKE_CTRL [RM 4.29]

# The WHO_AM_I answer is whatever the board was built with (0x68 MPU6050; the other families
# in [LNX] inv_mpu_core.c hw_info). Only the MPU6050 has ACCEL_HPF in ACCEL_CONFIG bits 2:0:
# the MPU-6500 family keeps its filter in ACCEL_CONFIG2 (MPU-6500 register map).


class MPU6050Model:
    def __init__(self, feed, who_am_i=0x68, options=None):
        o = options or {}
        self.feed = feed
        self.who_am_i = who_am_i
        self.hpf_capable = who_am_i == 0x68
        # A DEVICE_RESET takes time: [LNX] waits INV_MPU6050_POWER_UP_TIME (100 ms) after it,
        # [ADA] begin() delay(100). The bit reads 1 until then [RM 4.28: "clears to 0 once the
        # reset is done"], and writes meanwhile are lost.
        self.reset_us = int(o.get("reset_ms", 100)) * 1000
        # The internal oscillator: [PS 6.2] sample clock tolerance of a few per cent. A part
        # whose clock runs fast by clock_error delivers rate x (1 + clock_error) samples/s.
        self.clock_error = float(o.get("clock_error", 0.0))
        # Some parts report FIFO overflow all the time [LNX commit 6e82ae6b8d11].
        self.oflow_stuck = bool(o.get("fifo_oflow_stuck", False))
        self.reset_until_us = -1
        self.now_us = 0
        self.fifo = bytearray(FIFO_SIZE)
        self.cur = array.array("i", [0, 0, 0])  # latest sample in 1/16384 g
        self.out = bytearray(6)  # latest sample as output-register bytes
        self.samples_made = 0
        self.samples_to_fifo = 0
        self.overflows = 0
        self.overflow_ms = []  # virtual ms of the first overflows
        self.produce_us = 0
        self.bytes_dropped = 0
        self.motion_events = 0
        self.first_fifo_index = -1  # grid index of the first sample after a FIFO reset
        self.power_on_reset()

    def power_on_reset(self):
        self.regs = bytearray(128)
        self.regs[WHO_AM_I] = self.who_am_i
        self.regs[PWR_MGMT_1] = 0x40  # SLEEP: the part starts asleep [RM 4.28, reset value]
        self.head = 0
        self.count = 0
        self.last_fifo_byte = 0
        self.oflow_pending = False
        self.next_k = -1  # next grid index to produce; -1: re-anchor at the next catch_up
        self.period_us = 1000
        self.base = [0.0, 0.0, 0.0]  # what the HPF subtracts (tracked or held), in 1/16384 g
        self.last_fifo_read_us = -1
        self.longest_fifo_gap_us = 0
        self.hpf_mode = 0
        self.mot_count = 0
        self.int_pin = False

    # --- derived settings ---
    def running(self):
        """Sampling: normally, or in low-power cycle mode (CYCLE with SLEEP clear) [RM 4.28]."""
        p1 = self.regs[PWR_MGMT_1]
        return not (p1 & 0x40) and not (self.regs[PWR_MGMT_2] & 0x38)

    def cycling(self):
        return bool(self.regs[PWR_MGMT_1] & 0x20)

    def update_period(self):
        if self.cycling():
            # Cycle mode: one accelerometer sample per wake at LP_WAKE_CTRL's rate [RM 4.29].
            hz = LP_WAKE_HZ[self.regs[PWR_MGMT_2] >> 6]
            period = int(1_000_000 / hz)
        else:
            dlpf = self.regs[CONFIG] & 7
            base = 8000 if dlpf in (0, 7) else 1000  # [RM 4.2 SMPLRT_DIV]
            period = (1 + self.regs[SMPLRT_DIV]) * 1_000_000 // base
            # The accelerometer itself updates at 1 kHz at most [PS 6.2].
            period = period if period >= 1000 else 1000
        self.period_us = int(period / (1 + self.clock_error))
        self.next_k = -1

    def shift(self):
        return (self.regs[ACCEL_CONFIG] >> 3) & 3  # AFS_SEL: 2 g -> 0 ... 16 g -> 3

    # --- time ---
    def catch_up(self, now_us):
        self.now_us = now_us
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
        self.produce_us = t_us
        feed = self.feed
        cur = self.cur
        if feed is None:
            cur[0] = 0
            cur[1] = 0
            cur[2] = 16384
        else:
            feed.get((t_us - feed.delay_us) * feed.rate_hz // 1_000_000, cur)
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
        self.motion(cur, t_us)
        if self.cycling():
            return  # cycle mode feeds the motion detector only
        if (self.regs[USER_CTRL] & 0x40) and (self.regs[FIFO_EN] & 0x08):
            if self.first_fifo_index < 0:
                self.first_fifo_index = k
            self.samples_to_fifo += 1
            for b in range(6):
                self.push(out[b])

    def motion(self, cur, t_us):
        """The motion detector [RM rev 3.2 4.6-4.7 MOT_THR, MOT_DUR]: the high-pass filtered
        sample, per axis, against MOT_THR (about 2 mg/LSB [I2CD]); MOT_DUR consecutive samples
        over it latch MOT_INT. The filter, as [RM rev 3.2 ACCEL_HPF] and [I2CD] word it:
        "Reset: the filter output settles to zero within one sample" (nothing to compare:
        no motion is ever seen); "on" tracks the slow part at its cut-off; "Hold: when
        triggered, the filter holds the present sample. The filter output will be the
        difference between the input sample and the held sample." So a sequence that ends
        in hold works whether it settled in reset ([KW]: reset, a wait, hold) or at 5 Hz
        (the firmware's), and one left at reset never wakes."""
        base = self.base
        mode = self.regs[ACCEL_CONFIG] & 7 if self.hpf_capable else 0
        if mode == 0 or (mode == HPF_HOLD and self.hpf_mode != HPF_HOLD):
            for a in range(3):  # reset: settled on the input; hold: holds the present sample
                base[a] = cur[a]  # an int: nothing allocated (a float would be, under heap_lock)
        elif mode in HPF_CUTOFF_HZ:
            k = 6.2832 * HPF_CUTOFF_HZ[mode] * self.period_us / 1e6
            k = k / (1 + k)
            for a in range(3):
                base[a] += (cur[a] - base[a]) * k
        self.hpf_mode = mode
        if not (self.regs[INT_ENABLE] & 0x40):
            self.mot_count = 0
            return
        thr = self.regs[MOT_THR] * 2 * 16384 // 1000  # 1/16384 g
        over = False
        for a in range(3):
            d = cur[a] - base[a]
            if d > thr or -d > thr:
                over = True
        if over:
            self.mot_count += 1
            # MOT_DUR counts 1 ms steps at 1 kHz [RM rev 3.2 4.7]; in cycle mode each wake's
            # sample stands for the whole wake period.
            need = 1 if self.cycling() else max(1, self.regs[MOT_DUR] * 1000 // self.period_us)
            if self.mot_count >= need:
                self.regs[INT_STATUS] |= 0x40
                self.int_pin = True
                self.motion_events += 1
        else:
            self.mot_count = 0

    def int_level(self):
        """The INT pin: active high; held while a status bit is set if LATCH_INT_EN, else a
        50 us pulse [RM 4.15 INT_PIN_CFG]; a pulse is over by the next look."""
        if self.regs[INT_PIN_CFG] & 0x20:
            return bool(self.regs[INT_STATUS] & self.regs[INT_ENABLE])
        level = self.int_pin
        self.int_pin = False
        return level

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
                if len(self.overflow_ms) < 8:
                    self.overflow_ms.append(self.produce_us // 1000)
        self.fifo[(self.head + self.count) % FIFO_SIZE] = byte
        self.count += 1

    # --- register access ---
    def read(self, reg):
        if reg == FIFO_R_W:
            if self.count == 0:
                # "If the FIFO buffer is empty, reading this register will return the last
                # byte that was previously read from the FIFO" [RM 4.33].
                return self.last_fifo_byte
            b = self.fifo[self.head]
            self.last_fifo_byte = b
            self.head = (self.head + 1) % FIFO_SIZE
            self.count -= 1
            return b
        if reg == FIFO_COUNTH:
            return self.count >> 8
        if reg == FIFO_COUNTL:
            return self.count & 0xFF
        if reg == INT_STATUS:
            v = self.regs[INT_STATUS]
            self.regs[INT_STATUS] = 0  # cleared by the read [RM 4.16]
            self.oflow_pending = False
            if self.oflow_stuck:
                v |= 0x10
            return v
        if reg == PWR_MGMT_1 and self.now_us < self.reset_until_us:
            return self.regs[PWR_MGMT_1] | 0x80  # still resetting
        if ACCEL_XOUT_H <= reg < ACCEL_XOUT_H + 6:
            return self.out[reg - ACCEL_XOUT_H]
        return self.regs[reg]

    def read_into(self, reg, buf):
        n = len(buf)
        if reg == FIFO_COUNTH:
            # The longest time between two looks at the FIFO (a measure, not a behaviour):
            # the counting loop's longest stall, against the 1024 bytes the FIFO holds.
            if self.last_fifo_read_us >= 0 and self.now_us - self.last_fifo_read_us > self.longest_fifo_gap_us:
                self.longest_fifo_gap_us = self.now_us - self.last_fifo_read_us
            self.last_fifo_read_us = self.now_us
        if reg == FIFO_R_W:  # the FIFO port does not auto-increment
            for i in range(n):
                buf[i] = self.read(FIFO_R_W)
            return
        for i in range(n):
            buf[i] = self.read(reg + i)

    def write(self, reg, value):
        if self.now_us < self.reset_until_us:
            return  # busy resetting: the write is lost
        if reg == PWR_MGMT_1 and value & 0x80:
            self.power_on_reset()  # DEVICE_RESET: registers to defaults, bit self-clears
            self.reset_until_us = self.now_us + self.reset_us
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
        if reg == INT_PIN_CFG or reg == INT_ENABLE:
            self.int_pin = False

    def write_from(self, reg, buf):
        for i in range(len(buf)):
            self.write(reg + i, buf[i])

    def motion_config(self):
        """The motion-wake setup, if the part is in cycle mode with MOT_EN set."""
        if self.cycling() and (self.regs[INT_ENABLE] & 0x40):
            return {"thr_mg": self.regs[MOT_THR] * 2, "dur": self.regs[MOT_DUR],
                    "hpf": self.regs[ACCEL_CONFIG] & 7, "wake_hz": LP_WAKE_HZ[self.regs[PWR_MGMT_2] >> 6]}
        return None

    def int_high_from(self, t_us, limit_us):
        """Deep sleep: run the part on until INT goes high (returns when) or limit_us."""
        if self.int_level():
            return t_us  # already latched when the sleep began: the level wakes the chip at once
        if not self.running():
            return None
        period = self.period_us
        k = t_us // period + 1
        while k * period < limit_us:
            self.produce(k, k * period)
            if self.int_level():
                self.next_k = -1
                return k * period
            k += 1
        self.next_k = -1
        return None

    def report(self):
        return {
            "who_am_i": self.who_am_i,
            "samples_made": self.samples_made,
            "samples_to_fifo": self.samples_to_fifo,
            "overflows": self.overflows,
            "overflow_ms": self.overflow_ms,
            "bytes_dropped": self.bytes_dropped,
            "first_fifo_index": self.first_fifo_index,
            "period_us": self.period_us,
            "range_g": 2 << self.shift(),
            "motion_events": self.motion_events,
            "longest_fifo_gap_s": self.longest_fifo_gap_us / 1e6,
        }
