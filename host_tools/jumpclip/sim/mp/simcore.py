# Virtual board core (runs under the MicroPython unix port, beside the unmodified firmware).
#
# One virtual clock in microseconds drives everything (docs/virtual-board.md, "The clock").
# - time_scale 0 ("fast": tests, `jumpclip replay`-style runs, benchmarks): the clock's time
#   is its own. It advances by modelled work only, never by how long the host took: each
#   clock read, each I2C transfer (at the bus clock), each console byte (at the UART's
#   baud rate), each byte read from the sensor (the
#   firmware's counting work per sample, calibrated), each flash page program and sector
#   erase (the flash chip's datasheet) and each sleep (at once). The same trace, config and
#   host input give the same events, byte for byte, on an idle or a busy machine, and a day
#   of counting takes minutes. machine.Timer callbacks run on the firmware's thread at its
#   next clock read (the chip runs them between bytecodes of the main task). While the
#   firmware waits for the host (the REPL), no time passes for it.
# - time_scale N > 0 ("paced": `jumpclip sim`, where a person, mpremote or sync meets the
#   clip): the same modelled clock, held to N x real time. A sleep waits until the host's
#   clock reaches it (and loses the UART bytes that arrive meanwhile, see _advance_scaled);
#   a board behind the host (a busy machine) sleeps without waiting and catches up, so the
#   counting loop sees the same virtual time on an idle or a busy machine. Host time enters
#   the clock only while the firmware waits for the host: blocked reading the console (the
#   REPL, a host command); the wire's time is the bytes' (ConsoleMeter). The chip thread
#   (the unix port's _thread) sees that wait in the kernel's record of the firmware thread's
#   system call (/proc, see HostWait), counts the time (MicroPython docs, machine.WDT: "once
#   it is running ... the WDT cannot be stopped"), and fires machine.Timer callbacks and the
#   watchdog meanwhile; otherwise they run on the firmware's thread, as in fast mode.
import array
import select
import sys

import _thread
import utime as host_time  # the unix port's own clock: this folder's time.py shadows `time`

sim = None  # the Sim of this process, set by simboot

# The cost model (docs/virtual-board.md cites each figure).
# CPU: one unix-port instruction (as callgrind counts them in `make bench`) stands for
# NS_PER_INSTRUCTION of ESP32 time at 160 MHz: the ESP32 at 240 MHz runs MicroPython's
# module-level `for i in range(n): s = a + b` loop in 2.61 us an iteration
# (shaoziyang/micropython_benchmarks, v1.9.4-479 table), the unix port in 875 instructions
# an iteration (`make bench` prints it), x 240/160 for the clip's clock.
NS_PER_INSTRUCTION_X100 = 447  # 4.47 ns (integers: the sim allocates nothing in the loop)
CLOCK_READ_US = 3  # a clock read and the statements around it: ~600 instructions
# The counting loop's work per sample, charged per byte the sensor delivers: 2,000
# instructions a sample, App.wake() on the demo session at 80 samples a wake (`make bench`,
# "the counting loop": 1,954, rounded up; it moves by up to 20 from one change of the
# firmware to the next, as the heap's layout moves its lookups' cost;
# bench/mp_loop_bench.py). It was 7,100 before the filtered peak went viper and the loop's
# frames left the heap, 2,700 before the per-wake methods went native and the decode, the
# ring's copy and the bench's clock were reworked (docs/measured.md).
LOOP_INSTRUCTIONS = 2000
SENSOR_BYTE_NS = LOOP_INSTRUCTIONS * NS_PER_INSTRUCTION_X100 // 600  # 1,490 ns
# The same loop while skipping, 2 landings a second (`make bench`, "the counting loop at 2
# landings a second": 3,973, rounded up): each landing's work (its filtered peak, about
# 105 k instructions, the log, the RTC mirror) adds to it. make power charges it for a
# training session; the board keeps the demo mix.
SKIPPING_INSTRUCTIONS = 4000
# Flash: Winbond W25Q32JV datasheet (the 4 MB part of ESP32-WROOM-32 modules; GigaDevice
# GD25Q32 has the same order): page program tPP typ 0.4 ms (max 3), 4 KB sector erase tSE
# typ 45 ms (max 400).
PAGE_PROGRAM_US = 400
SECTOR_ERASE_US = 45_000
# The same datasheet's maxima (tPP 3 ms, tSE 400 ms): sim setting "flash_timing": "max", the
# worst case a worn or hot part may take (docs/virtual-board.md, the flush stall).
PAGE_PROGRAM_MAX_US = 3_000
SECTOR_ERASE_MAX_US = 400_000
PAGE = 256
PIN_LOG_MAX = 2000  # traced pin edges kept for the report
LAG_MAX_MS = 2000  # paced mode: a board further behind the host gives its lag up
HOST_WAIT_FALLBACK_MS = 50  # no /proc: the firmware thread away this long waits for the host
# System call number of read (the kernel's syscall tables: x86_64 0, the generic table of
# arm64 and riscv 63, i386 and arm 3).
SYSCALL_READ = {"x86_64": 0, "aarch64": 63, "riscv64": 63, "i686": 3, "armv7l": 3}


def say(msg):
    # Side channel to the harness (stderr); the console (stdout) belongs to the firmware.
    side_write("SIM " + msg + "\n")


def side_write(text):
    # What the simulation writes on the firmware's thread is no UART byte: the wire meter
    # (ConsoleMeter) takes it off that thread's count of written bytes.
    if sim is not None and _thread.get_ident() == sim.main_ident:
        sim.side_bytes += len(text)
    sys.stderr.write(text)


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
        self.delay_us = 0

    def get(self, k, out):
        """Write sample k (x, y, z) into out[0:3]; holds the first sample before the start
        (a lead-in: the trace plays from delay_us on) and the last one past the end."""
        if k >= self.count:
            k = self.count - 1
        elif k < 0:
            k = 0
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
        return self.delay_us + self.count * 1_000_000 // self.rate_hz


class FileBlockDevice:
    """The board's flash partition, kept in a host file so it survives restarts and can be
    read by littlefs-python (`jumpclip rescue`). Counts block writes for the benchmarks."""

    def __init__(self, path, block_size, block_count):
        self.f = open(path, "r+b")
        self.block_size = block_size
        self.block_count = block_count
        self.writes = 0
        self.bytes_written = 0
        self.erases = 0
        self.calls = 0  # every call: Sim.branch_point sees a callback that used the flash

    # On the chip these are esp32.Partition's, in C: no callback runs inside them. Here the
    # simulation fires timers only where it says so (Sim.branch_point).
    def readblocks(self, block_num, buf, offset=0):
        self.calls += 1
        if sim is not None:
            sim.chip_turn()
        self.f.seek(block_num * self.block_size + offset)
        self.f.readinto(buf)

    def writeblocks(self, block_num, buf, offset=None):
        self.calls += 1
        if offset is None:
            offset = 0
        if sim is not None:
            sim.chip_turn()
        self.f.seek(block_num * self.block_size + offset)
        self.f.write(buf)
        self.writes += 1
        self.bytes_written += len(buf)
        if sim is not None:  # the chip programs the bytes page by page
            sim.side_bytes += len(buf)  # the image file is no UART byte (ConsoleMeter)
            sim.charge(sim.page_program_us * ((offset % PAGE + len(buf) + PAGE - 1) // PAGE))

    def ioctl(self, op, arg):
        self.calls += 1
        if sim is not None:
            # eraseguard.EraseGuard.ioctl branches on op before it calls this: a timer already
            # due runs there (Sim.branch_point).
            sim.branch_point()
        if op == 4:  # block count
            return self.block_count
        if op == 5:  # block size
            return self.block_size
        if op == 6:  # erase: a file needs none, the chip takes its time (one 4 KB sector a block)
            self.erases += 1
            if sim is not None:
                us = sim.sector_erase_us * (self.block_size // 4096 or 1)
                sim.charge(us)
                sim.erase_us += us
                if us > sim.longest_erase_us:
                    sim.longest_erase_us = us
            return 0
        return None


class HostWait:
    """Whether the firmware's thread waits for the host: blocked in read() on the console
    (fd 0: the REPL, a host command). Linux shows a thread's current system call and its
    first arguments in /proc/PID/task/TID/syscall, or "running" (proc(5)); the firmware
    thread opens its own before the flash becomes the root filesystem, and the chip thread
    reads it. Without it (another OS): the firmware thread has not called into the
    simulation for HOST_WAIT_FALLBACK_MS of host time.
    A write() blocked on fd 1 is not a wait for the host: it means the bridge on the host
    has not drained the pty yet (a busy host), while a real UART sends at its baud rate
    whoever listens. The wire's time is charged from the bytes written (ConsoleMeter)."""

    def __init__(self):
        self.f = None
        self.buf = bytearray(48)
        try:
            import platform

            arch = platform.platform().split("-")[3]
            self.read_nr = SYSCALL_READ[arch]
            self.f = open("/proc/thread-self/syscall", "rb")
            self.f.readinto(self.buf)
        except (OSError, KeyError, IndexError, ImportError):
            self.f = None
        self.via_proc = self.f is not None

    def waiting(self, sim):
        if self.f is None:
            return not sim.sleeping and host_time.ticks_diff(host_time.ticks_ms(), sim.main_seen_ms) > HOST_WAIT_FALLBACK_MS
        b = self.buf
        self.f.seek(0)
        n = self.f.readinto(b)
        # "NR 0xFD ...": the number in decimal, then the first argument (the fd) in hex.
        i = 0
        nr = 0
        while i < n and 48 <= b[i] <= 57:
            nr = nr * 10 + b[i] - 48
            i += 1
        if i == 0 or i + 3 >= n or b[i + 1] != 48 or b[i + 2] != 120:  # "running", or no " 0x"
            return False
        fd = -1
        if b[i + 4] == 32 or b[i + 4] == 10:  # a one-digit fd
            fd = b[i + 3] - 48
        return nr == self.read_nr and fd == 0


class ConsoleMeter:
    """The bytes the firmware's thread has written to the console: the UART's transmit side.
    Linux counts the bytes each thread passed to write() in /proc/PID/task/TID/io, "wchar"
    (proc(5)); less what the simulation wrote on that thread (the flash image, its own
    messages: Sim.side_bytes), that is the console. Counted when a write completes, so a
    host that drains the pty late changes nothing: the same output costs the same wire time
    on an idle or a busy machine. Without /proc (another OS) no wire time is charged."""

    def __init__(self):
        self.buf = bytearray(256)
        try:
            self.f = open("/proc/thread-self/io", "rb")
            self.f.readinto(self.buf)
        except OSError:
            self.f = None

    def written(self):
        """wchar of the thread that made this meter (-1: unknown). Allocates nothing."""
        if self.f is None:
            return -1
        b = self.buf
        self.f.seek(0)
        n = self.f.readinto(b)
        # "rchar: N\nwchar: N\n...": the second line's number.
        i = 0
        while i < n and b[i] != 10:
            i += 1
        i += 8  # past "\nwchar: "
        v = 0
        while i < n and 48 <= b[i] <= 57:
            v = v * 10 + b[i] - 48
            i += 1
        return v

    def read_count(self):
        """rchar of the same thread (-1: unknown): the bytes it has read, the console's among
        them. Allocates nothing."""
        if self.f is None:
            return -1
        b = self.buf
        self.f.seek(0)
        n = self.f.readinto(b)
        i = 7  # past "rchar: "
        v = 0
        while i < n and 48 <= b[i] <= 57:
            v = v * 10 + b[i] - 48
            i += 1
        return v


class Sim:
    def __init__(self, cfg):
        self.cfg = cfg
        self.clock_us = cfg.get("clock_start_us", 0)  # continues across a reset or deep sleep
        self.scale = int(cfg.get("time_scale", 0))
        self.lock = _thread.allocate_lock()
        self.host_mark_ms = host_time.ticks_ms()  # the chip thread's last look (paced mode)
        self.pace_h_ms = host_time.ticks_ms()  # pacing anchor: this host time ...
        self.pace_v_us = self.clock_us  # ... is this virtual time
        self.main_seen_ms = self.pace_h_ms  # the firmware thread's last call into the sim
        self.was_waiting = False
        self.host_wait = HostWait()  # before the flash is mounted: /proc is the host's
        # The UART's wire: the console bytes the firmware wrote cost 10 bit times each
        # (start, 8 data, stop) at the REPL UART's baud rate (MicroPython ports/esp32/uart.h:
        # MICROPY_HW_UART_REPL_BAUD 115200; mphalport.c mp_hal_stdout_tx_strn returns once
        # uart_stdout_tx_strn has taken them), in both modes, charged when the firmware's
        # thread next reads the clock or sleeps.
        self.baud = int(cfg.get("uart_baud", 115200))
        self.side_bytes = 0  # written on the firmware's thread, not to the console
        self.console_meter = ConsoleMeter()
        self.wire_base = self.console_meter.written()
        self.read_seen = self.console_meter.read_count()  # at the chip thread's last look
        self.wire_bytes = 0  # console bytes charged so far
        self.wire_us = 0
        self.uart_lost_since_us = 0  # virtual time (+1) of the first byte lost since the last read
        self.uart_reaches = 0
        self.firing = False
        self.lfs_reentries = 0  # callbacks that used the flash inside a littlefs operation
        # Held by the chip thread while it runs a callback (the REPL waited for the host
        # then): the firmware's thread waits for it at its next call into the simulation
        # (chip_turn), as the chip's one core finishes a callback before the REPL reads on.
        self.chip_cpu = _thread.allocate_lock()
        self.sleeping = False
        self.main_ident = _thread.get_ident()
        self.halted = None  # why the chip stopped (reset, wdt, deepsleep): nothing runs after it
        self.on_halt = None  # simboot: write the report before the harness takes the process
        self.awake_us = 0  # virtual time not spent in light sleep
        self.slept_us = 0
        self.light_sleeps = 0
        self.uart_dropped = 0  # bytes lost because they arrived during a light sleep
        self.wdt_timeout_us = 0
        self.wdt_fed_us = 0
        self.wdt_resets = 0
        self.timers = []  # armed machine.Timer objects
        self.pin_log = []  # (ms, pin, value) for traced pins
        self.pin_log_dropped = 0
        self.traced_pins = cfg.get("trace_pins", [])
        self.i2c_transactions = 0
        self.i2c_bytes = 0
        self.i2c_us = 0
        self.devices = {}  # I2C address -> model
        self.device_list = []  # the same models; iterating a list allocates nothing
        self.feed = Feed(cfg["feed"]) if cfg.get("feed") else None
        if self.feed:
            self.feed.delay_us = int(cfg.get("trace_delay_s", 0) * 1_000_000)
        self.end_us = self.feed.end_us() if self.feed else 0
        self.end_seen = False
        self.end_announced = False
        self.poller = select.poll()
        self.poller.register(sys.stdin, select.POLLIN)
        self.max_us = int(cfg.get("max_virtual_s", 0) * 1_000_000)
        self.rtc_offset_s = cfg.get("rtc_offset_s", 0)
        self.ext0_pin = -1
        self.ext0_level = True
        self.rtc_muxed = -1  # the pad a sleep handed to the RTC mux for ext0 (machine.lightsleep)
        worst = cfg.get("flash_timing") == "max"
        self.page_program_us = PAGE_PROGRAM_MAX_US if worst else PAGE_PROGRAM_US
        self.sector_erase_us = SECTOR_ERASE_MAX_US if worst else SECTOR_ERASE_US
        self.longest_erase_us = 0
        self.erase_us = 0  # awake time spent erasing sectors (make power splits the duty cycle by it)
        wiring = cfg.get("wiring", {})  # the pin map (firmware/board.py): what is wired where
        self.button_pin = wiring.get("BUTTON", 33)
        self.battery_pin = wiring.get("BATTERY_ADC", 35)
        self.mpu_int_pin = wiring.get("MPU_INT", 32)
        self.button = cfg.get("button", [])  # [[start_ms, duration_ms], ...] on the virtual clock
        self.battery = cfg.get("battery", [[0, 4100]])  # [[ms, mV], ...], linear between points
        self.rtc_memory = bytes.fromhex(cfg.get("rtc_memory", ""))
        # Fault injections, each once: a reboot (its clock goes on from where the last life
        # stopped) sees only those still ahead of it, as hang_at_ms does.
        ahead = lambda key: [int(ms) * 1000 for ms in cfg.get(key, []) if int(ms) * 1000 >= self.clock_us]  # noqa: E731
        self.glitches = ahead("glitch_at_ms")  # an exception the firmware did not foresee
        self.bus_errors = ahead("i2c_error_at_ms")  # one failed transfer each
        self.burst_cuts = ahead("i2c_burst_cut_at_ms")  # a FIFO burst failed part-way
        self.cut_scratch = bytearray(7)
        self.hang_at_us = int(cfg.get("hang_at_ms", -1)) * 1000  # fault injection: a stuck loop
        self.heap_probe = cfg.get("heap_probe", False)
        self.heap_trace = cfg.get("heap_trace", False)  # diagnostics: live heap every 5 s
        self.heap_trace_bucket = -1
        self.heap_base = 0  # set by simboot just before the firmware starts
        self.heap_peak_live = 0
        self.heap_peak_at_s = 0.0

    # --- the clock ---
    def charge(self, us):
        """Modelled time of the firmware's thread: us of awake time (bus, flash, CPU)."""
        with self.lock:
            self.clock_us += us
            self.awake_us += us

    def charge_cpu(self, us):
        """Modelled CPU work (the same in both modes: the host's own speed never counts)."""
        self.charge(us)

    def charge_wire(self):
        """The console bytes written since the last look take their wire time (the meter
        counts the firmware thread's writes, whichever thread looks)."""
        us = self.take_wire()
        if us:
            self.charge(us)

    def take_wire(self):
        """The wire time (us) of the console bytes written since the last look, counted as
        charged; the caller puts it on the clock."""
        w = self.console_meter.written()
        if w < 0 or not self.baud:
            return 0
        sent = w - self.wire_base - self.side_bytes
        if sent <= self.wire_bytes:
            return 0
        # Exact over the whole run: the sum of the charges is sent x 10 bit times.
        us = sent * 10_000_000 // self.baud - self.wire_bytes * 10_000_000 // self.baud
        self.wire_bytes = sent
        self.wire_us += us
        return us

    def now_us(self):
        """The virtual clock. On the firmware's thread a clock read costs CLOCK_READ_US (fast
        mode), due timer callbacks run (fast mode: here, between the firmware's statements),
        the device models catch up and the watchdog is checked."""
        main = _thread.get_ident() == self.main_ident
        if main:
            self.chip_turn()
            self.check_halt()
            self.charge_cpu(CLOCK_READ_US)
            self.charge_wire()
        with self.lock:
            now = self.clock_us
        if main:
            self.main_seen_ms = host_time.ticks_ms()
            self._fire_timers(now)
            self._after(now)
        return now

    def _after(self, now):
        if self.max_us and now > self.max_us:
            say("virtual time limit reached at %.3f s" % (now / 1e6))
            raise SystemExit(0)
        for dev in self.device_list:
            dev.catch_up(now)
        self.check_wdt(now)

    def check_halt(self):
        if self.halted:
            self.block()

    def block(self):
        # A reset or deep sleep is instant on the chip: nothing of the firmware runs after it
        # (no finally clause, no flash write). The harness ends this process and boots anew.
        while True:
            host_time.sleep_ms(1000)

    def halt(self, why, extra=None, block=True):
        """The chip stops here (reset, watchdog, deep sleep). Once only."""
        with self.lock:
            if self.halted:
                first = False
            else:
                self.halted = why
                first = True
        if first:
            st = {"clock_us": self.clock_us}
            if extra:
                st.update(extra)
            self.save_state(why, st)
            if self.on_halt:
                self.on_halt()
            say("halt " + why)
        if block:
            self.block()

    def check_wdt(self, now):
        # The task watchdog resets the chip when it was not fed for its timeout. It counts
        # in light sleep too here (conservative: a loop that passes this passes on the chip).
        if self.wdt_timeout_us and now - self.wdt_fed_us > self.wdt_timeout_us:
            self.wdt_resets += 1
            at = self.wdt_fed_us + self.wdt_timeout_us
            say("watchdog reset at %.3f s" % (at / 1e6))
            self.halt("wdt", {"clock_us": at}, _thread.get_ident() == self.main_ident)

    def advance(self, us, asleep=False):
        """us of virtual time pass: a sleep (asleep) or bus time (awake)."""
        self.check_halt()
        self.charge_wire()  # what was written before is on the wire first
        if self.scale:
            self._pace(us, asleep)
        with self.lock:
            self.clock_us += us
            if asleep:
                self.slept_us += us
            else:
                self.awake_us += us
            now = self.clock_us
        self._after(now)

    def _pace(self, us, asleep):
        # Paced mode: wait until the host's clock (x scale) reaches the end of these us, from
        # the anchor where the two clocks were last set equal. A board behind the host (a
        # busy machine) does not wait and catches up; the virtual time passed is us either
        # way. More than LAG_MAX_MS behind, it gives the lag up (a person sees the clip live).
        # In light sleep the UART is clock-gated and MicroPython's esp32 port arms no UART
        # wake-up (ports/esp32/modmachine.c, machine_sleep_helper: only timer, ext0/ext1,
        # touch and ULP), so bytes arriving meanwhile are lost: drain and drop them.
        # Bytes that come before the host's clock reaches the sleep's start came while the
        # chip was still awake (the board runs ahead of the host by its modelled work): the
        # UART took them and they wait in its FIFO for the next poll.
        with self.lock:
            start_ms = (self.clock_us - self.pace_v_us) // (1000 * self.scale)
            target_ms = (self.clock_us + us - self.pace_v_us) // (1000 * self.scale)
        left = host_time.ticks_diff(host_time.ticks_add(self.pace_h_ms, target_ms), host_time.ticks_ms())
        if left < -LAG_MAX_MS:
            self.pace_h_ms = host_time.ticks_add(self.pace_h_ms, -left)  # re-anchor: now is the end
            return
        if asleep:
            awake_left = host_time.ticks_diff(host_time.ticks_add(self.pace_h_ms, start_ms), host_time.ticks_ms())
            if awake_left > 0:
                host_time.sleep_ms(awake_left)
                left -= awake_left
            self.sleeping = True
        try:
            while left > 0:
                wait = 20 if left > 20 else left
                if asleep:
                    for _ in self.poller.ipoll(wait):
                        lost = len(sys.stdin.buffer.read(1) or b"")
                        if lost and not self.uart_lost_since_us:
                            self.uart_lost_since_us = self.clock_us + 1
                        self.uart_dropped += lost
                        break
                else:
                    host_time.sleep_ms(wait)
                left = host_time.ticks_diff(host_time.ticks_add(self.pace_h_ms, target_ms), host_time.ticks_ms())
        finally:
            self.sleeping = False
        self.main_seen_ms = host_time.ticks_ms()

    def chip_turn(self):
        """On the firmware's thread: wait while the chip thread runs a callback. The chip
        thread starts one only while the REPL waits for the host (tick); if the host's bytes
        arrive meanwhile, the REPL's next step waits until the callback is done, as on the
        chip, where both run on the one MicroPython task."""
        if _thread.get_ident() == self.main_ident and self.chip_cpu.locked():
            self.chip_cpu.acquire()
            self.chip_cpu.release()

    def branch_point(self):
        """The firmware's Python block device (eraseguard.EraseGuard) took a branch on its
        way to the flash: the VM runs due scheduled callbacks there (py/vm.c,
        pending_exception_check, reached after each jump opcode; the esp32 port's timers
        are scheduled callbacks, ports/esp32/machine_timer.c, mp_sched_schedule). So a timer
        can run inside a littlefs operation that calls its block device's ioctl."""
        if _thread.get_ident() == self.main_ident:
            self.chip_turn()
            calls = self.bdev.calls
            self._fire_timers(self.clock_us)
            if self.bdev.calls != calls:
                # littlefs is not re-entrant (its lfs2.h: only LFS2_THREADSAFE builds lock,
                # and MicroPython's do not): a second operation inside the first leaves its
                # caches and block allocator wrong, whatever this one run shows.
                self.lfs_reentries += 1
                say("littlefs re-entered: a timer callback used the flash inside a littlefs operation (%d block-device calls)" % (self.bdev.calls - calls))

    def _fire_timers(self, now):
        if self.firing:
            return
        due = None
        for t in self.timers:
            if t.due_us <= now:
                due = t
                break
        if due is None:
            return
        self.firing = True
        try:
            due.fire(now)
        except Exception as e:
            # The firmware's callback failed: printed on the console and the timer goes on,
            # as the esp32 port runs scheduled callbacks (mp_call_function_1_protected).
            sys.print_exception(e)
        finally:
            self.firing = False

    def tick(self):
        """The chip thread, every millisecond of host time, paced mode: while the firmware
        waits for the host (HostWait), the host's time passes on the virtual clock, and the
        chip thread fires timers and checks the watchdog. (Otherwise the firmware's own clock
        reads do, so nothing depends on the host's timing.)"""
        if not self.scale:
            return
        h = host_time.ticks_ms()
        waiting = self.host_wait.waiting(self)
        if waiting:
            # The host's time passes on the clock only between two looks that both saw the
            # wait. A timer already due runs at once, at a single look: on the chip the REPL's
            # read runs the scheduler while it waits (mphalport.c, mp_hal_stdin_rx_chr), and
            # a host that answers faster than this thread looks (mpremote's chunk after
            # chunk) must not keep the held session's timer from its turn while the wire's
            # time passes on the clock.
            # A wait seen at two looks is one wait only if the firmware read nothing between
            # them: on a busy machine it can take the host's bytes, run the statement and
            # block again between two looks of this thread (/proc's rchar tells). That host
            # time was partly the firmware's run, which its modelled work already holds.
            r = self.console_meter.read_count()
            same_wait = self.was_waiting and r == self.read_seen
            self.read_seen = r
            d = host_time.ticks_diff(h, self.host_mark_ms) if same_wait else 0
            if d < 0:
                d = 0
            # What the firmware wrote before the wait is on the wire first. On the chip the
            # write returns only as the UART's FIFO takes the bytes (ports/esp32/uart.c,
            # uart_stdout_tx_strn), so the wait starts after the wire's time; the bridge
            # meanwhile delivers them to the host at the same rate, and that host time must
            # not be counted a second time (the mark is taken after the walk below).
            # The bytes may be the output of several of the host's statements whose waits this
            # thread missed (a busy machine, as above). On the chip the scheduler ran the timer
            # between those statements (at a branch, py/vm.c), so the wire's time is walked
            # like the host's, each timer at its due time, not charged in one step past them
            # (it was: 390 ms of mpremote's `fs cp` output at once let the held session's FIFO
            # overflow, tests/test_flash_reentry.py).
            wire = self.take_wire()
            # Each timer fires at its own due time on the way to `end`, as the chip's hardware
            # timer would: a host that looked late (a busy machine) must not make the chip
            # miss periods.
            with self.lock:
                wire_end = self.clock_us + wire
                end = wire_end + d * 1000 * self.scale
            now = self.clock_us
            while True:
                # The pacing anchor moves with both clocks, so the next sleep is still timed
                # from here.
                self.chip_cpu.acquire()
                try:
                    # Still waiting? Only this thread passes the host's bytes on (relay_uart),
                    # so a firmware blocked in the console's read now stays blocked until the
                    # callback is done. One that runs again (its bytes came before this look)
                    # ends the host's time: that was no wait.
                    if not self.host_wait.waiting(self):
                        # The wire's time passes whether or not the firmware runs on.
                        with self.lock:
                            if self.clock_us < wire_end:
                                self.awake_us += wire_end - self.clock_us
                                self.clock_us = wire_end
                            now = self.clock_us
                        break
                    with self.lock:
                        due = end
                        for t in self.timers:
                            if t.due_us < due:
                                due = t.due_us
                        if due > self.clock_us:
                            self.awake_us += due - self.clock_us
                            self.clock_us = due
                        now = self.clock_us
                    self._fire_timers(now)
                finally:
                    self.chip_cpu.release()
                self.check_wdt(now)
                if now >= end or self.halted:
                    break
            if self.feed and now >= self.end_us + 1_000_000 and not self.end_announced:
                # The trace ended while the REPL held the clip (a host that went away): the
                # held session's timer has read the FIFO since.
                self.end_announced = True
                say("trace-end %.3f" % (now / 1e6))
            # A callback's time on the chip is its modelled work (bus, CPU), already on the
            # clock, and its pacing waited for the host to catch up with it: the host time
            # it took must not be counted again.
            h = host_time.ticks_ms()
        if waiting and not self.was_waiting and self.uart_lost_since_us:
            # The host's bytes reached the firmware: it waits for more (the hand-over is done).
            self.uart_reaches += 1
            say("uart reached the REPL %d ms after the first lost byte" % ((self.clock_us - self.uart_lost_since_us + 1) // 1000))
            self.uart_lost_since_us = 0
        self.was_waiting = waiting
        self.host_mark_ms = h

    def relay_uart(self, ms):
        """The chip thread, paced mode: pass the host's bytes on to the firmware's console
        (board.py: they come on a pipe of their own), waiting up to ms for them. Between two
        calls no byte reaches the firmware, so a callback that tick runs meanwhile cannot
        overlap a host command the firmware starts. Allocates nothing: heap_lock in the
        firmware's thread is the whole process's."""
        for _ in self.relay_poll.ipoll(ms):
            n = self.relay_in.readinto(self.relay_buf)
            if n is None:  # nothing there after all (EAGAIN)
                return
            if n == 0:  # the host's side closed: the console's input ends as well
                self.relay_poll.unregister(self.relay_in)
                self.relay_out.close()
                self.relay_in = None
                return
            self.relay_out.write(self.relay_views[n])
            return

    def run_chip_thread(self):
        relay = self.cfg.get("uart_relay")
        self.relay_in = None
        if relay and self.scale:
            self.relay_in = open(relay[0], "rb")
            self.relay_out = open(relay[1], "wb")
            self.relay_poll = select.poll()
            self.relay_poll.register(self.relay_in, select.POLLIN)
            self.relay_buf = bytearray(256)
            whole = memoryview(self.relay_buf)
            self.relay_views = [whole[:n] for n in range(257)]

        def loop():
            while not self.halted:
                if self.relay_in is not None:
                    self.relay_uart(1)
                else:
                    host_time.sleep_ms(1)
                try:
                    self.tick()
                except Exception as e:  # the simulation's own fault: to the harness, not the console
                    say("chip thread error %r" % e)
        _thread.start_new_thread(loop, ())

    def deep_sleep(self, ms):
        """machine.deepsleep: find when a wake source fires, then halt. The wake sources are
        the timer and ext0, which is level-triggered (ESP-IDF sleep modes, "External Wakeup
        (ext0)": the chip wakes while the RTC GPIO is at the level), so a button still held,
        or an MPU6050 INT already latched high, wakes it at once."""
        t0 = self.now_us()
        # The sleep timer runs on the RC slow clock, a few per cent off (ESP-IDF "RTC timer
        # clock source"; ESP32 datasheet: 150 kHz RC oscillator). The RTC counts the same
        # ticks, so after the sleep it is behind by the error.
        drift = float(self.cfg.get("rtc_drift", 0.02))
        limit = self.end_us if self.feed else t0 + 86_400_000_000
        wake, reason = None, 0
        if ms:
            wake, reason = t0 + int(ms * 1000 * (1 + drift)), 4  # TIMER_WAKE
        t = None
        if self.ext0_pin == self.button_pin and not self.ext0_level:
            for start, dur in sorted(self.button):
                a, b = start * 1000, (start + dur) * 1000
                if a <= t0 < b or a > t0:
                    t = t0 if a <= t0 else a
                    break
        elif self.ext0_pin == self.mpu_int_pin and self.ext0_level:
            for d in self.device_list:
                t = d.int_high_from(t0, wake if wake is not None and wake < limit else limit)
        if t is not None and (wake is None or t < wake):
            wake, reason = t, 2  # EXT0_WAKE
        if wake is not None and self.feed and wake >= self.end_us:
            wake = None  # nothing wakes it before the trace ends
        offset = self.rtc_offset_s
        if wake is not None:
            offset -= int((wake - t0) / 1e6 * drift / (1 + drift) + 0.5)
            if self.scale:  # real time: the sleep takes its time
                host_time.sleep_ms((wake - t0) // (self.scale * 1000))
        self.halt("deepsleep", {"sleep_ms": ms or 0, "wake_us": wake, "wake_reason": reason,
                                "rtc_offset_s": offset, "button": self.button, "battery": self.battery})

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
        """Sleep us of virtual time. Fast mode: once the trace has ended and the firmware has
        had one more chance to read the FIFO, the clock stands still until the host sends
        something: the board waits like a clip lying on a desk, and no time passes for it."""
        self.check_halt()
        if 0 <= self.hang_at_us <= self.clock_us < self.hang_at_us + 1_000_000:  # once, not after a reboot
            say("hang injected at %.3f s" % (self.clock_us / 1e6))
            self.hang_at_us = -1
            while True:  # fault injection: the firmware is stuck and feeds nothing
                self.advance(1000)  # a spinning CPU: a millisecond of work a turn
        if self.feed and self.clock_us >= self.end_us:
            if self.end_seen:
                if not self.end_announced:
                    self.end_announced = True
                    say("trace-end %.3f" % (self.clock_us / 1e6))
                if not self.scale:
                    self.poller.poll(-1)  # no time passes meanwhile (fast mode)
                    return
            self.end_seen = True
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
        if asleep:
            self.advance(us, True)
            return
        # time.sleep(): the esp32 port runs the scheduler while it waits (ports/esp32/
        # mphalport.c, mp_hal_delay_ms calls mp_handle_pending in its loop), so a timer that
        # comes due during the sleep runs then, not after it. (Light sleep stops the CPU: its
        # callbacks wait for the wake, as above.)
        end = self.clock_us + us
        while not self.firing:
            due = end
            for t in self.timers:
                if t.due_us < due:
                    due = t.due_us
            if due >= end:
                break
            if due > self.clock_us:
                self.advance(due - self.clock_us)
            self._fire_timers(self.clock_us)
        if end > self.clock_us:
            self.advance(end - self.clock_us)

    # --- I2C bus time: start + address + register + data bytes, 9 bit times each ---
    def i2c_cost(self, nbytes, freq, received=0):
        self.i2c_transactions += 1
        self.i2c_bytes += nbytes
        us = (nbytes + 3) * 9 * 1_000_000 // freq
        self.i2c_us += us  # bus time alone (awake time also holds the modelled CPU work)
        # The firmware's work on what it received (the counting path, per sample).
        self.advance(us)
        if received:
            self.charge_cpu(received * SENSOR_BYTE_NS // 1000)

    def report(self):
        import gc

        return {
            "clock_s": self.clock_us / 1e6,
            "awake_s": self.awake_us / 1e6,
            "sleep_s": self.slept_us / 1e6,
            "light_sleeps": self.light_sleeps,
            "uart_dropped": self.uart_dropped,
            "longest_erase_s": self.longest_erase_us / 1e6,
            "erase_s": self.erase_us / 1e6,
            "uart_tx_bytes": self.wire_bytes,  # console bytes the firmware sent, at their wire time
            "uart_tx_s": self.wire_us / 1e6,
            "uart_reaches": self.uart_reaches,  # hand-overs that followed lost bytes
            "host_wait_via_proc": self.host_wait.via_proc,
            "wdt_resets": self.wdt_resets,
            "pin_log": self.pin_log,
            "pin_log_dropped": self.pin_log_dropped,
            "i2c_transactions": self.i2c_transactions,
            "i2c_bytes": self.i2c_bytes,
            "i2c_s": self.i2c_us / 1e6,
            "heap_alloc": gc.mem_alloc(),
            "heap_peak_live": self.heap_peak_live,
            "heap_peak_at_s": self.heap_peak_at_s,
            "models": [d.report() for d in self.device_list],
        }
