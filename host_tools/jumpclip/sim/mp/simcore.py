# Virtual board core (runs under the MicroPython unix port, beside the unmodified firmware).
#
# One virtual clock in microseconds drives everything: the MPU6050 model produces samples
# on its own grid as the clock passes them; lightsleep, idle and sleep_ms advance the clock at
# once instead of waiting. Nothing here reads the wall clock, so a run is as fast as the
# CPU allows and gives the same result every time.
import array
import select
import sys

sim = None  # the Sim of this process, set by simboot


def say(msg):
    # Side channel to the harness (stderr); the console (stdout) belongs to the firmware.
    sys.stderr.write("SIM " + msg + "\n")


class Feed:
    """Trace samples in 1/16384 g, x, y, z as int32, at rate_hz on a regular grid.

    File layout (written by jumpclip.sim.feed): b"JCF1", rate_hz u32, count u32, 4 reserved
    bytes, then count * 3 little-endian int32. Read forward in chunks: the model's reads only
    move forward in time."""

    CHUNK = 1024

    def __init__(self, path):
        self.f = open(path, "rb")
        hdr = self.f.read(16)
        if hdr[:4] != b"JCF1":
            raise ValueError("not a jumpclip feed file: " + path)
        self.rate_hz = int.from_bytes(hdr[4:8], "little")
        self.count = int.from_bytes(hdr[8:12], "little")
        self.buf = array.array("i", bytes(self.CHUNK * 12))
        self.base = -1  # feed index of buf[0]
        self.n = 0

    def get(self, k, out):
        """Write sample k (x, y, z) into out[0:3]; holds the last sample past the end."""
        if k >= self.count:
            k = self.count - 1
        if not (self.base <= k < self.base + self.n):
            self.base = k
            self.f.seek(16 + 12 * k)
            nbytes = self.f.readinto(self.buf)
            self.n = nbytes // 12
        j = 3 * (k - self.base)
        b = self.buf
        out[0] = b[j]
        out[1] = b[j + 1]
        out[2] = b[j + 2]

    def end_us(self):
        return self.count * 1_000_000 // self.rate_hz


class FileBlockDevice:
    """The board's flash partition, kept in a host file so it survives restarts and can be
    read by littlefs-python (`jumpclip rescue`). Counts block writes for the benchmarks."""

    def __init__(self, path, block_size, block_count):
        self.f = open(path, "r+b")
        self.block_size = block_size
        self.block_count = block_count
        self.writes = 0
        self.bytes_written = 0

    def readblocks(self, block_num, buf, offset=0):
        self.f.seek(block_num * self.block_size + offset)
        self.f.readinto(buf)

    def writeblocks(self, block_num, buf, offset=None):
        if offset is None:
            offset = 0
        self.f.seek(block_num * self.block_size + offset)
        self.f.write(buf)
        self.writes += 1
        self.bytes_written += len(buf)

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.block_count
        if op == 5:  # block size
            return self.block_size
        if op == 6:  # erase: a file needs none
            return 0
        return None


class Sim:
    def __init__(self, cfg):
        self.cfg = cfg
        self.clock_us = 0
        self.awake_us = 0  # virtual time not spent in light sleep
        self.slept_us = 0
        self.light_sleeps = 0
        self.wdt_timeout_us = 0
        self.wdt_fed_us = 0
        self.wdt_resets = 0
        self.pin_log = []  # (ms, pin, value) for traced pins
        self.traced_pins = cfg.get("trace_pins", [])
        self.i2c_transactions = 0
        self.i2c_bytes = 0
        self.devices = {}  # I2C address -> model
        self.device_list = []  # the same models; iterating a list allocates nothing
        self.feed = Feed(cfg["feed"]) if cfg.get("feed") else None
        self.end_us = self.feed.end_us() if self.feed else 0
        self.end_seen = False
        self.end_announced = False
        self.poller = select.poll()
        self.poller.register(sys.stdin, select.POLLIN)
        self.max_us = int(cfg.get("max_virtual_s", 0) * 1_000_000)
        self.clock_us = cfg.get("clock_start_us", 0)  # continues across a reset or deep sleep
        self.rtc_offset_s = cfg.get("rtc_offset_s", 0)
        self.ext0_pin = -1
        self.button_pin = cfg.get("button_pin", 33)
        self.battery_pin = cfg.get("battery_pin", 35)
        self.button = cfg.get("button", [])  # [[start_ms, duration_ms], ...] on the virtual clock
        self.battery = cfg.get("battery", [[0, 4100]])  # [[ms, mV], ...], linear between points
        self.rtc_memory = bytes.fromhex(cfg.get("rtc_memory", ""))
        self.glitches = [int(ms) * 1000 for ms in cfg.get("glitch_at_ms", [])]  # fault injection
        self.heap_probe = cfg.get("heap_probe", False)
        self.heap_trace = cfg.get("heap_trace", False)  # diagnostics: live heap every 5 s
        self.heap_trace_bucket = -1
        self.heap_base = 0  # set by simboot just before the firmware starts
        self.heap_peak_live = 0
        self.heap_peak_at_s = 0.0

    # --- time ---
    def advance(self, us, asleep=False):
        if self.max_us and self.clock_us + us > self.max_us:
            say("virtual time limit reached at %.3f s" % (self.clock_us / 1e6))
            raise SystemExit(0)
        self.clock_us += us
        if asleep:
            self.slept_us += us
        else:
            self.awake_us += us
        for dev in self.device_list:
            dev.catch_up(self.clock_us)
        if self.wdt_timeout_us and self.clock_us - self.wdt_fed_us > self.wdt_timeout_us:
            self.wdt_resets += 1
            say("watchdog reset at %.3f s" % (self.clock_us / 1e6))
            raise SystemExit(3)

    def save_state(self, why, extra):
        import json

        st = {"why": why, "clock_us": self.clock_us, "rtc_offset_s": self.rtc_offset_s,
              "rtc_memory": self.rtc_memory.hex()}
        st.update(extra)
        say("state " + json.dumps(st))

    def motion_setup(self):
        for d in self.device_list:
            if hasattr(d, "motion_config"):
                return d.motion_config()
        return None

    def button_down(self):
        t = self.clock_us // 1000
        for start, dur in self.button:
            if start <= t < start + dur:
                return True
        return False

    def battery_mv(self):
        t = self.clock_us // 1000
        pts = self.battery
        if t <= pts[0][0]:
            return pts[0][1]
        for i in range(1, len(pts)):
            if t <= pts[i][0]:
                (t0, v0), (t1, v1) = pts[i - 1], pts[i]
                return v0 + (v1 - v0) * (t - t0) // (t1 - t0)
        return pts[-1][1]

    def host_input(self):
        for _ in self.poller.ipoll(0):
            return True
        return False

    def sleep_us(self, us, asleep):
        """Advance the clock by us. Once the trace has ended and the firmware has had one more
        chance to read the FIFO, block (in real time) until the host sends something: the
        board then sits idle, like a clip lying on a desk."""
        if self.feed and self.clock_us >= self.end_us:
            if self.end_seen:
                if not self.end_announced:
                    self.end_announced = True
                    say("trace-end %.3f" % (self.clock_us / 1e6))
                self.poller.poll(-1)
                return
            self.end_seen = True
        if self.host_input():
            return  # a UART byte wakes the chip
        if asleep:
            self.light_sleeps += 1
        if self.heap_probe:  # benchmark only: live heap of the firmware at each wake
            import gc

            gc.collect()
            live = gc.mem_alloc() - self.heap_base
            if self.heap_trace and self.clock_us // 5_000_000 != self.heap_trace_bucket:
                self.heap_trace_bucket = self.clock_us // 5_000_000  # a line every 5 s
                say("heap %d %d" % (self.clock_us // 1000, live))
            if live > self.heap_peak_live:
                self.heap_peak_live = live
                self.heap_peak_at_s = self.clock_us / 1e6
        self.advance(us, asleep)

    # --- I2C bus time: start + address + register + data bytes, 9 bit times each ---
    def i2c_cost(self, nbytes, freq):
        self.i2c_transactions += 1
        self.i2c_bytes += nbytes
        self.advance((nbytes + 3) * 9 * 1_000_000 // freq)

    def report(self):
        import gc

        return {
            "clock_s": self.clock_us / 1e6,
            "awake_s": self.awake_us / 1e6,
            "sleep_s": self.slept_us / 1e6,
            "light_sleeps": self.light_sleeps,
            "wdt_resets": self.wdt_resets,
            "pin_log": self.pin_log,
            "i2c_transactions": self.i2c_transactions,
            "i2c_bytes": self.i2c_bytes,
            "heap_alloc": gc.mem_alloc(),
            "heap_peak_live": self.heap_peak_live,
            "heap_peak_at_s": self.heap_peak_at_s,
            "models": [d.report() for d in self.device_list],
        }
