# The counting loop: sensor FIFO -> detector -> log and daily target, sessions, notes for
# the host, and a clean hand-over on Ctrl-C. It decides when to sleep and why; power.py
# sleeps, ui.py blinks and reads the button, daily.py keeps the day's count. main.py builds
# every piece of hardware and hands it in.
#
# Time is the sample index: the loop sleeps for a fixed interval and then reads every whole
# batch the FIFO holds; the FIFO (1024 bytes, 170 samples) absorbs the jitter, and an
# overflow is detected, counted and reported. Durations (idle, button, heartbeat) are
# counted in samples too.

import array
import select
import sys
import time

import machine
import micropython
from micropython import const

import lease
import logformat as lf
import ui
from daily import ENOUGH, RTC_BYTES, TARGET, Daily
from power import WAKE_BUTTON, WAKE_MOTION, WAKE_TIMER
from detector import MAX_INDEX, Detector, height_mm, mg_to_m2
from detector_viper import feed as feed_native
from forces import Forces
from impacts import Impacts
from impacts_viper import feed as impacts_feed_native
from mpu6050 import MPU6050, SAMPLE_BYTES, UnsupportedSensor, decode

VERSION = "0.4.0"
VERSION_TUPLE = (0, 4, 0)


def load_config():
    """(config, errors, detector params, config hash). The config module is needed only
    here, so it is unloaded afterwards: its code would otherwise hold ~7 KB of heap."""
    import config

    cfg, errors = config.load("config.json")
    params = config.detector_params(cfg)
    chash = config.config_hash(cfg)
    del sys.modules["config"]
    return cfg, errors, params, chash

_BATCH = const(32)  # samples per I2C burst: 192 bytes
_WAKE_BURSTS = const(5)  # up to 160 samples decoded per wake, then one detector call
_HEARTBEAT_MS = const(10000)
_BATTERY_EVERY_MS = const(60000)
_LOW_BATTERY_SLEEP_MS = const(3600000)  # check again hourly (charging brings it back)
_MOTION_WAKE_MG = const(120)
_RELEASE_MAX_MS = const(10000)  # a button held longer than this before a sleep is stuck
_MOTION_WAKE_HZ = const(5)  # LP_WAKE_CTRL: 5 Hz draws ~20 uA (datasheet 6.3, low-power accel)
_MAX_FAILURES = const(10)  # consecutive loop errors before a clean reset
_FILL_TARGET = const(80)  # wake when about this many samples wait (FIFO holds 170)
_BACKOFF_FIRST_MS = const(1000)
_BACKOFF_MAX_MS = const(60000)
_LISTEN_MS = const(20)  # awake between those sleeps, for the host's bytes
_DRAIN_BATCHES = const(8)  # FIFO batches kept in RAM across a flush's erases (1.3 s at 200 Hz)
_HOST_LOOK_MS = const(400)  # a wait between sensor retries looks for the host this often (the counting loop's wake at 200 Hz)
_BANDS_EVERY_S = const(300)  # an open session's impact bands go to the log this often (and at its end)
_STAGE_FIFO = const(1)  # App.wake's stages, for wake_failed
_STAGE_HOUSE = const(2)
_HELD_RETRY_MS = const(10)  # a held tick that met the host inside littlefs comes again this soon


@micropython.viper
def _copy_bytes(dst: ptr8, doff: int, src: ptr8, soff: int, n: int):  # type: ignore[name-defined]  # noqa: F821
    """dst[doff:doff + n] = src[soff:soff + n], without allocating (logformat.put_pending)."""
    i = 0
    while i < n:
        dst[doff + i] = src[soff + i]
        i += 1


@micropython.viper
def _first_moving(s: ptr16, n: int, lo: int, hi: int) -> int:  # type: ignore[name-defined]  # noqa: F821
    """Every 8th of the n samples in s: the first whose squared magnitude (in half counts)
    is outside lo .. hi, the wearer moving (for the idle timeout), or -1. A ptr16 load is
    unsigned: the counts are sign-extended by hand."""
    j = 0
    while j < 3 * n:
        x = int(s[j])
        if x & 0x8000:
            x -= 0x10000
        y = int(s[j + 1])
        if y & 0x8000:
            y -= 0x10000
        z = int(s[j + 2])
        if z & 0x8000:
            z -= 0x10000
        x = x >> 1
        y = y >> 1
        z = z >> 1
        m = x * x + y * y + z * z
        if m < lo or m > hi:
            return j // 3
        j += 24
    return -1


class App:
    def __init__(self, loaded, i2c, log, led, button, power, rtc, wdt, sensor_addr):
        """loaded: load_config(); log: EventLog or None (RAM only); led: ui.Led; button:
        ui.Button; power: power.Power; rtc: machine.RTC; wdt: machine.WDT, already running."""
        cfg, config_errors, params, self.cfg_hash = loaded
        self.cfg = cfg
        self.i2c = i2c
        self.sensor_addr = sensor_addr
        self.led = led
        self.button = button
        self.power = power
        self.rtc = rtc
        self.wdt = wdt
        self.log = log  # EventLog, or None to count in RAM only
        self.log_open = False
        self.notes = []  # one-line messages kept for the host (config errors, sensor trouble)
        self.config_errors = list(config_errors)
        self.rate_hz = cfg["rate_hz"]
        self.det = Detector(params, self.rate_hz, cfg["range_g"])
        self.forces = Forces(self.rate_hz, cfg["range_g"], _WAKE_BURSTS * _BATCH, self.det.peak_window)
        self.raw = bytearray(_BATCH * SAMPLE_BYTES)
        self.samples = array.array("h", bytes(_WAKE_BURSTS * _BATCH * SAMPLE_BYTES))
        # Batches read from the FIFO before a flash erase (drain_fifo), counted after the flush.
        self.drained = bytearray(_DRAIN_BATCHES * _BATCH * SAMPLE_BYTES)
        self.drained_mv = memoryview(self.drained)
        self.d_pos = 0  # the next drained byte to count
        self.d_n = 0  # drained bytes held
        self.avail = 0  # samples the FIFO holds, as service_fifo last looked
        self.booted_ms = time.ticks_ms()  # doctor: a clip that just started answers late
        self.rtc_image = None  # RTC memory, for mirror_pending (load_rtc_image)
        self.woke_ms = time.ticks_ms()  # when the current wake began
        self.stage = 0  # how far it got (_STAGE_*), for wake_failed
        self.bursts = 0  # bursts decoded in this round of _read_bursts
        self.drains = 0  # drains so far (the loop re-reads the FIFO's count after one)
        self.draining = True  # False while the recorder owns the FIFO
        self.flash_guard = None  # eraseguard.EraseGuard, set by main.py: its busy flag
        self.wake_ms = _FILL_TARGET * 1000 // self.rate_hz
        self.sensor = None
        self.poll = select.poll()
        self.poll.register(sys.stdin, select.POLLIN)
        self.sessions = 0
        self.session_id = 0
        self.jumps = 0  # this session
        self.session_samples = 0
        self.fifo_overflows = 0
        self.i2c_errors = 0  # since boot, for `jumpclip doctor`
        self.session_open = False
        self.fifo_busy = False  # a read of the FIFO, or the host's own use of it, is under way
        self.host_has_console = False  # the host's protocol owns the console: the clip prints nothing
        self.qualifying = 0  # this session
        self.failures = 0  # consecutive errors in the counting loop
        # Activity (for idle): a few samples per batch are checked against a band around 1 g.
        self.still_lo = mg_to_m2(800, cfg["range_g"])
        self.still_hi = mg_to_m2(1200, cfg["range_g"])
        self.last_active_ms = 0
        self.next_heartbeat_ms = _HEARTBEAT_MS
        self.next_battery_ms = 0
        self.pattern = None  # LED pattern to start at the next housekeeping
        self.daily = Daily(int(cfg["qualify_g"] * 1000 + 0.5), cfg["daily_target"], cfg["bout_gap_min"] * 60, cfg["bout_size"])
        self.daily_loaded = False
        self.new_impacts()
        self.impacts_q = 0  # qualifying impacts from any movement, this session
        self.bands_logged_at = 0  # session sample index of the last BANDS record
        self.woke = None

    def new_impacts(self):
        """The impact counter for the current rate and range; it counts the day's bands
        straight into the daily state's array."""
        self.impacts = Impacts(self.rate_hz, self.cfg["range_g"], self.daily.qualify_mg)
        self.impacts.day = self.daily.bands

    def counts_impacts(self):
        """True when the day's target counts impacts from any movement (the default), False
        when it counts landings only (config target_counts)."""
        return self.cfg["target_counts"] != "landings"

    def counted(self):
        """What the day's target counts, in a word for the console."""
        return "impacts" if self.counts_impacts() else "landings"

    def now_ms(self):
        """Time in this session, from the sample count."""
        return self.session_samples * 1000 // self.rate_hz

    def reload_config(self):
        """Read config.json again (after `jumpclip config set`). A session the host holds
        open goes on if nothing changed; otherwise it ends here, counted under the settings
        it started with, and the next one starts with the new ones."""
        cfg, errors, params, chash = load_config()
        self.report_config(errors)
        if chash == self.cfg_hash:
            return
        if self.session_open:
            self.fifo_busy = True  # the held session's timer must not read meanwhile
            try:
                self.read_remainder(True)
                self.end_session()
            finally:
                self.fifo_busy = False
        self.cfg_hash = chash
        self.cfg = cfg
        self.power.light_sleep = cfg["sleep"]
        self.rate_hz = cfg["rate_hz"]
        self.det = Detector(params, self.rate_hz, cfg["range_g"])
        self.forces = Forces(self.rate_hz, cfg["range_g"], _WAKE_BURSTS * _BATCH, self.det.peak_window)
        self.new_impacts()
        self.wake_ms = _FILL_TARGET * 1000 // self.rate_hz
        self.sensor = None  # reconfigured (rate, range) when counting starts

    # --- messages -------------------------------------------------------------------
    def report_config(self, errors):
        """Config problems go on the console at every boot, but into the flash log once per
        distinct set of problems (config.load already bounds how many and how long): a
        bad config.json must not fill the log one boot at a time."""
        if not errors:
            return
        import binascii

        crc = 0
        for e in errors:
            crc = binascii.crc32(e.encode(), crc)
        seen = "%08x" % (crc & 0xFFFFFFFF)
        path = (self.log.root if self.log is not None else "log") + "/config.seen"
        try:
            with open(path) as f:
                new = f.read() != seen
        except OSError:
            new = True
        for e in errors:
            self.note("config: " + e, new)
        if new and self.log is not None:
            try:
                with open(path, "w") as f:
                    f.write(seen)
            except OSError:
                pass  # then it is logged again next boot: no harm
    def note(self, msg, to_log=True):
        if not self.host_has_console:  # else the host reads it with the notes (syncserver.info, the log)
            print("jumpclip: " + msg)
        self.notes.append(msg)
        if len(self.notes) > 8:
            self.notes.pop(0)
        if to_log and self.log is not None:
            self.log.note(msg)

    def open_log(self):
        """Recover the flash log, once per boot. A broken filesystem costs the log, never
        the counting."""
        if self.log is None or self.log_open:
            return
        self.log_open = True
        try:
            mem = self.rtc.memory()
            self.log.open(mem[lf.RTC_PENDING_AT : lf.RTC_PENDING_AT + lf.PENDING_BYTES] if len(mem) > lf.RTC_PENDING_AT else None)
            self.mirror_pending(-1, None, 0, 0)  # written now (or not this log's): clear the mirror
            self.log.on_pending = self.mirror_pending
            for n in self.log.notes:
                self.note(n, False)
        except (OSError, MemoryError) as e:  # never a boot that cannot count (a watchdog would loop it)
            self.log = None
            self.note("log unavailable (%s): counting in RAM only; sync cannot fetch this session" % e)
            self.play_through(ui.LOG_FULL)

    def mirror_pending(self, sid, buf, at, n):
        """Keep the jumps not yet on flash in RTC memory (after the daily block): a watchdog
        reset or machine.reset() keeps it, and the next boot writes them to the log
        (logboot). Called once per jump and per flush, never per sample."""
        mem = self.rtc_image  # rtc_mem(), without its call (twice a landing)
        if mem is None:
            mem = self.load_rtc_image()
        if n == 0 and mem[lf.RTC_PENDING_AT] == 0:
            return  # nothing mirrored: no write
        lf.put_pending(mem, lf.RTC_PENDING_AT, sid, buf, at, n, _copy_bytes)
        self.rtc.memory(mem)  # RTC.memory(buf) copies the buffer: no allocation (machine_rtc.c)

    def rtc_mem(self):
        """RTC memory's kept image: what the clip writes there (the pending jumps, the daily
        block) is changed in it in place and the whole image written back."""
        mem = self.rtc_image
        if mem is None:
            mem = self.load_rtc_image()
        return mem

    def load_rtc_image(self):
        """RTC memory as it is now, kept in a bytearray that mirror_pending and the daily count
        change in place: RTC.memory() allocates a new copy at each read, and they run once or
        twice a landing. Read again after anything else wrote RTC memory (rtc_changed)."""
        mem = self.rtc.memory()
        n = len(mem)
        img = bytearray(n if n > RTC_BYTES else RTC_BYTES)
        _copy_bytes(img, 0, mem, 0, n)  # type: ignore[arg-type]  # viper ptr8 takes any buffer
        self.rtc_image = img
        return img

    def rtc_changed(self):
        """Something other than mirror_pending wrote RTC memory (the daily block, the host's
        clock): the kept image is stale."""
        self.rtc_image = None

    # --- waiting --------------------------------------------------------------------
    def host_waiting(self):
        """True once the host has sent anything (Ctrl-C): finish up and hand over."""
        for _ in self.poll.ipoll(0):  # ipoll: allocation-free
            return True
        return False

    def wait_ms(self, ms):
        """Sleep ms in slices the watchdog tolerates and a host gets through: a Ctrl-C that
        arrives during light sleep is lost (the esp32 port arms no UART wake), so the clip
        looks for the host as often as the counting loop does. False if the host interrupted."""
        import time

        step = self.cfg["wdt_ms"] // 2
        if step > _HOST_LOOK_MS:
            step = _HOST_LOOK_MS
        while ms > 0:
            if self.host_waiting():
                return False
            if self.wdt:
                self.wdt.feed()
            self.power.sleep_ms(ms if ms < step else step)
            # Awake a moment with the UART listening: with nothing else to do the clip would
            # be awake for microseconds between light sleeps, and a host's Ctrl-C (resent
            # every few ms) would rarely land in them. 20 ms in 400: ~5 % awake while waiting.
            time.sleep_ms(_LISTEN_MS)
            ms -= step + _LISTEN_MS
        return True

    def play_through(self, pattern):
        """Play an LED pattern to its end (outside the counting loop: errors, the session's
        end), feeding the watchdog and, while a session is open, reading the FIFO at each
        edge. The counting loop plays patterns without waiting (see run)."""
        led = self.led
        led.play(pattern)
        while True:
            d = led.update()
            if d < 0:
                return
            if self.wdt:
                self.wdt.feed()
            if self.session_open:
                self.service_fifo()
            self.power.sleep_ms(d)

    # --- sensor ---------------------------------------------------------------------
    def connect_sensor(self):
        """Bring up the MPU6050, retrying with back-off (and the error blink) while it is
        missing. Returns False if the host interrupted the wait."""
        delay = _BACKOFF_FIRST_MS
        while True:
            try:
                s = MPU6050(self.i2c, self.sensor_addr)
                s.configure(self.rate_hz, self.cfg["range_g"], self.cfg["dlpf_hz"])
                if s.warning:
                    self.note(s.warning)
                self.sensor = s
                return True
            except Exception as e:  # OSError from the bus; anything else is a fault the boot must outlive too
                self.sensor = None
                self.i2c_errors += 1
                self.note("sensor error: %s; retrying in %d s" % (e if isinstance(e, OSError) else repr(e), delay // 1000))
                # once per attempt: a wrong part blinks apart from a missing one
                self.play_through(ui.WRONG_SENSOR if isinstance(e, UnsupportedSensor) else ui.SENSOR_ERROR)
                if not self.wait_ms(delay):
                    return False
                delay = min(delay * 2, _BACKOFF_MAX_MS)

    # --- counting -------------------------------------------------------------------
    def begin_session(self):
        self.sessions += 1
        self.jumps = 0
        self.qualifying = 0
        self.session_samples = 0
        self.fifo_overflows = 0
        self.last_active_ms = 0
        self.next_heartbeat_ms = _HEARTBEAT_MS
        self.next_battery_ms = 0
        self.session_open = True
        self.det.reset()
        self.forces.reset()
        self.impacts.reset()
        self.impacts.day = self.daily.bands  # the daily state may have been loaded (or repaired) anew
        self.impacts_q = 0
        self.bands_logged_at = 0
        log = self.log
        if self.sessions > 0x3FF and log:
            # Session ids hold 10 bits of session number: the 1024th session of a boot
            # starts a new boot number instead of wrapping onto an old id.
            log.next_boot()
            self.sessions = 1
        boot = log.boot if log else 0
        self.session_id = ((boot & 0x3FFFFF) << 10) | (self.sessions & 0x3FF)
        if log:
            import time

            rtc_set = self.daily.clock(self.rtc.memory(), 0)[0]
            log.begin_session(
                self.session_id,
                machine.unique_id(),
                time.time() if rtc_set else 0,
                rtc_set,
                self.cfg_hash,
                self.rate_hz,
                self.cfg["range_g"],
                VERSION_TUPLE,
                self.daily.qualify_mg,
                self.daily.target,
                lf.TARGET_IMPACTS if self.counts_impacts() else lf.TARGET_LANDINGS,
            )
        self.note(
            "counting: session %s, %d Hz, +-%d g, firmware %s"
            % (self.session_name(), self.rate_hz, self.cfg["range_g"], VERSION),
            False,
        )

    def session_name(self):
        return "%d of boot %d" % (self.session_id & 0x3FF, self.session_id >> 10)

    def end_session(self, reason=lf.END_HOST):
        if not self.session_open:
            return
        self.take_drained()  # what a flush's erase moved out of the FIFO belongs to this session
        self.session_open = False
        self.drain_detector(True)
        self.forces.resolve(self.log, True)
        self.drain_impacts(True)
        if reason == lf.END_IDLE:
            # The wait for the idle timeout is not training: the session ends at its last
            # movement (a 62 s session was listed as 11 minutes long).
            active = self.last_active_ms * self.rate_hz // 1000 + 1
            if active < self.session_samples:
                self.session_samples = active
        if self.log:
            self.log.add_bands(self.impacts.bands, self.impacts_q)
            self.log.end_session(self.session_samples, self.fifo_overflows, reason, self.qualifying)
        self.keep_day()
        try:
            self.daily.save()
        except OSError:
            pass  # RTC memory still holds it; only a power cut now would lose today's count
        self.note(self.summary(), False)

    def summary(self):
        b = self.impacts.bands
        return ("session %s: %d jumps (%d qualifying), impacts %d/%d/%d/%d/%d by band (%d qualifying), in %.1f s, "
                "%d FIFO overflows; today %d/%d %s%s") % (
            self.session_name(), self.jumps, self.qualifying, b[0], b[1], b[2], b[3], b[4], self.impacts_q,
            self.session_samples / self.rate_hz, self.fifo_overflows, self.daily.count, self.daily.target,
            self.counted(), " (rolling 24 h: clock not set)" if self.daily.rolling else "")

    @micropython.native  # per wake: machine code, its state on the C stack (see wake)
    def process(self, n):
        """Run the n samples decoded into self.samples through the detector: one call per
        wake, because the compiled detector's cost is largely per call."""
        i = _first_moving(self.samples, n, self.still_lo, self.still_hi)  # type: ignore[arg-type]  # for the idle timeout
        if i >= 0:
            self.last_active_ms = (self.session_samples + i) * 1000 // self.rate_hz
        det = self.det
        self.forces.add(self.samples, n)  # type: ignore[arg-type]  # viper ptr16 takes the array
        i = 0
        while i < n:
            i = feed_native(det, self.samples, i, n)  # type: ignore[arg-type]  # Detector.feed, compiled (tested equal)
            if det.n_events:
                self.take_events()
        if det.last_candidate() != self.forces.seen:  # (most wakes decide none: watch's call saved)
            self.forces.watch(det)  # landings held for a series: their peaks while the ring has them
        imp = self.impacts
        i = 0
        while i < n:
            i = impacts_feed_native(imp, self.samples, i, n)  # type: ignore[arg-type]  # Impacts.feed, compiled (tested equal)
            if imp.n_events:
                self.take_impacts()
        self.session_samples += n
        if self.forces.n_wait:
            self.forces.resolve(self.log)  # before the flush below: the filtered peaks go with the jumps
        if self.log is not None:
            self.log.tick(det.t, self.forces.n_wait > 0)
        if det.t >= MAX_INDEX:  # keep sample indices inside the ESP32's small ints
            self.end_session(lf.END_ROLLOVER)
            self.begin_session()

    def take_events(self):
        # Per landing: small methods, each with its frame on the C stack (see wake).
        if self.forces.n_wait:
            self.forces.resolve(self.log)  # earlier landings whose window this batch completed
        k = 0
        while k < self.det.n_events:
            self.take_event(k)
            k += 1
        self.det.n_events = 0

    def take_event(self, k):
        """The detector's k-th event: counted, logged, towards the day's target, echoed."""
        det = self.det
        self.jumps += 1
        peak_mg = det.peak_mg(det.ev_peak[k])
        t = det.ev_index[k]
        self.last_active_ms = t * 1000 // self.rate_hz
        if self.log is not None:
            self.log.add_jump(t, det.ev_air[k], peak_mg)
            self.forces.landed(t, self.log)
        if peak_mg >= self.daily.qualify_mg:
            self.qualifying += 1
            if not self.counts_impacts():  # else the impact counter counts this landing's peak
                self.count_qualifying_safely(peak_mg)
        if self.cfg["echo_events"] and not self.host_has_console:
            self.echo_jump(k)

    def count_qualifying_safely(self, peak_mg):
        try:
            self.count_qualifying(peak_mg)
        except Exception as e:  # the jump is logged already; the daily count is extra
            self.note("daily count: %r" % e)

    def echo_jump(self, k):
        det = self.det
        air = det.ev_air[k]
        h_mm = height_mm(air, self.rate_hz)
        print(
            "jump %d t=%.3fs peak=%.2fg air=%dms h=%d.%dcm"
            % (
                self.jumps,
                det.ev_index[k] / self.rate_hz,
                det.peak_mg(det.ev_peak[k]) / 1000,
                air * 1000 // self.rate_hz,
                h_mm // 10,
                h_mm % 10,
            )
        )

    def take_impacts(self):
        """Qualifying impacts from any movement: logged, and counted towards the day's target
        when it counts impacts."""
        imp = self.impacts
        log = self.log
        counts = self.counts_impacts()
        for k in range(imp.n_events):
            self.impacts_q += 1
            peak_mg = imp.peak_mg(imp.ev_peak[k])
            if log is not None:
                log.add_impact(imp.ev_index[k], peak_mg)
            if counts:
                try:
                    self.count_qualifying(peak_mg)
                except Exception as e:  # the impact is logged already; the daily count is extra
                    self.note("daily count: %r" % e)
        imp.n_events = 0

    def drain_impacts(self, final):
        if final:
            while not self.impacts.finish():
                self.take_impacts()
        if self.impacts.n_events:
            self.take_impacts()

    def count_qualifying(self, peak_mg):
        import time

        mem = self.rtc_mem()
        flags = self.daily.add(peak_mg, mem, time.time())
        self.daily.write_rtc(mem)
        self.rtc.memory(mem)  # survives deep sleep and resets
        if flags & ENOUGH:
            bo = self.daily.bouts
            self.note("bout %d: %d qualifying %s, enough for now: more adds little until you have rested (hours)"
                      % (bo.count, bo.current, self.counted()))
            self.pattern = ui.ENOUGH_FOR_NOW
        if flags & TARGET:
            self.note("daily target reached: %d qualifying %s" % (self.daily.count, self.counted()))
            self.pattern = ui.TARGET_REACHED

    def load_daily(self):
        """Once per boot: the day's count from RTC memory (deep sleep, reset) or, after a
        power cut, from flash."""
        if self.daily_loaded:
            return
        self.daily_loaded = True
        import time

        mem = self.rtc.memory()
        if not self.daily.from_rtc(mem):
            self.daily.load()
        now = time.time()
        why = self.daily.repair(now)
        if why:
            self.note("daily: refused a damaged " + why)
        self.daily.roll(mem, now)

    def battery_mv(self):
        return self.power.battery_mv()

    def deep_sleep(self, reason, wake, sleep_ms=0):
        """End the session, then deep-sleep until the wake source (power.WAKE_*) or sleep_ms.
        Never returns (the chip boots again)."""
        self.end_session(reason)
        self.play_through(ui.SESSION_END)
        # ext0 wakes on a level: a button still held would wake the clip at once. Wait for the
        # release; a button held far longer is stuck, so wake on motion instead.
        if wake == WAKE_BUTTON and not self.wait_release():
            self.note("button held %d s (stuck?): waking on motion instead" % (_RELEASE_MAX_MS // 1000))
            wake = WAKE_MOTION
        if self.sensor is not None:
            if wake == WAKE_MOTION:
                self.sensor.set_motion_wake(_MOTION_WAKE_MG, 1, _MOTION_WAKE_HZ)
            else:
                self.sensor.sleep()
        self.power.deep_sleep(wake, sleep_ms)

    def wait_release(self):
        """Wait until the button is let go (the long press that ends a session is still
        held). False if it is still down after _RELEASE_MAX_MS."""
        waited = 0
        while self.button.pin.value() == 0:
            if waited >= _RELEASE_MAX_MS:
                return False
            if self.wdt:
                self.wdt.feed()
            self.power.sleep_ms(50)
            waited += 50
        return True

    @micropython.native  # per wake: machine code, its state on the C stack (see wake)
    def housekeeping(self):
        """Once per wake while counting: button, LED, idle timeout, battery."""
        now = self.session_samples * 1000 // self.rate_hz  # now_ms(), without the call
        g = self.button.poll(now)
        if g:
            self.gesture(g)
        if self.pattern is not None:
            self.led.play(self.pattern)  # started now, played by the loop's wakes
            self.pattern = None
        elif now >= self.next_heartbeat_ms:
            self.next_heartbeat_ms = now + _HEARTBEAT_MS
            if not self.led.busy():
                self.led.play(ui.COUNTING)
        g = self.cfg["idle_min"] * 60000  # (g reused: the frame stays small, see wake)
        if g and now - self.last_active_ms >= g:
            self.note("idle for %d min: deep sleep until motion" % self.cfg["idle_min"], False)
            self.deep_sleep(lf.END_IDLE, WAKE_MOTION)
        if now >= self.next_battery_ms:
            self.next_battery_ms = now + _BATTERY_EVERY_MS
            self.minutely()

    def gesture(self, g):
        """The button's gesture g (ui.LONG, PRESS or DOUBLE) while counting."""
        if g == ui.LONG:
            self.note("button: session ended; hold again to start the next", False)
            self.deep_sleep(lf.END_BUTTON, WAKE_BUTTON)
        elif g == ui.PRESS:
            self.pattern = ui.progress_pattern(self.daily.count, self.daily.bouts.count)
        elif g == ui.DOUBLE:
            mv = self.battery_mv()
            self.pattern = ui.count_pattern(1 + max(0, min(4, (mv - 3400) // 200)))

    def minutely(self):
        """Once a minute while counting: the impact bands to the log, and the battery."""
        self.log_bands()
        mv = self.battery_mv()
        if mv < self.cfg["low_battery_mv"]:
            self.note("battery low (%d mV): log flushed, sleeping; charge the clip" % mv)
            self.play_through(ui.LOW_BATTERY)
            self.deep_sleep(lf.END_LOW_BATTERY, WAKE_TIMER, _LOW_BATTERY_SLEEP_MS)

    def log_bands(self):
        """Once a minute: every _BANDS_EVERY_S the session's impact bands go to the log, so
        that a power cut costs at most that much of them. The day's bands go to RTC memory
        with each qualifying count and at each hand-over and session end, not here:
        RTC.memory() allocates a copy each way, and the garbage would cost the loop a
        collection (make bench: the counting loop)."""
        if self.log and self.session_samples - self.bands_logged_at >= _BANDS_EVERY_S * self.rate_hz:
            self.bands_logged_at = self.session_samples
            self.log.add_bands(self.impacts.bands, self.impacts_q)

    def keep_day(self):
        """The daily state into RTC memory (a reset keeps it): the count, the bout and the
        day's impact bands."""
        mem = self.rtc_mem()
        self.daily.write_rtc(mem)
        self.rtc.memory(mem)

    def drain_detector(self, final):
        if final:
            while not self.det.finish():
                self.take_events()
        if self.det.n_events:
            self.take_events()

    def claim_fifo(self):
        """A host command takes the FIFO (and the log) from the held session's timer: True
        when taken (release with fifo_busy = False). A tick under way finishes first: on the
        chip a scheduled callback runs to its end before the REPL's code goes on, so this
        never waits there; the virtual board's timer thread can interleave."""
        waited = 0
        while self.fifo_busy and waited < 200:
            time.sleep_ms(1)
            waited += 1
        if self.fifo_busy:
            return False
        self.fifo_busy = True
        return True

    def end_for_files(self):
        """The host is about to write files (`jumpclip deploy`): the held session ends here,
        with what it counted, so that the lease's timer writes nothing to the flash while the
        host does. littlefs must never be entered twice: a timer callback can run inside a
        filesystem call (the erase guard's ioctl is Python, and the scheduler runs callbacks
        between its bytecodes), and two writers at once corrupt it or report it full. The
        deploy resets the clip afterwards: the next session starts with the new firmware."""
        if self.session_open and self.claim_fifo():
            try:
                self.read_remainder(True)
                self.end_session()
            finally:
                self.fifo_busy = False

    @micropython.native  # its state on the C stack, whatever its size: no heap frame with the try
    def service_fifo(self):
        """Read every whole batch waiting in the FIFO. Allocation-free in steady state. One
        reader at a time: the timer that counts while the host holds the clip (count_held)
        may come due while another read is under way."""
        s = self.sensor
        if s is None or self.fifo_busy:
            return
        self.fifo_busy = True
        try:
            avail = s.samples_waiting()
            if avail < 0:
                self.fifo_overflowed()
                return
            self.avail = avail
            drains = self.drains
            while self.avail >= _BATCH or self.d_pos < self.d_n:
                self.bursts = 0
                avail = self._read_bursts(s)  # (reused: False when a read failed part-way)
                k = self.bursts  # count_bursts(), without its call (once a wake or more)
                if k:
                    self.bursts = 0  # first: a count that raises is not counted again (wake_failed)
                    self.process(k * _BATCH)
                if not avail:
                    return
                if self.drains != drains:  # a flush emptied the FIFO meanwhile: what is in it now
                    drains = self.drains
                    self.avail = s.samples_waiting()
                    if self.avail < 0:
                        self.fifo_overflows += 1
                        return
        finally:
            self.fifo_busy = False

    def count_bursts(self):
        """Count what _read_bursts decoded. Also after a read that raised (wake_failed,
        count_held): what was read before it is counted (service_fifo counts it itself, zeroing
        self.bursts first, so nothing is counted twice)."""
        k = self.bursts
        if k:
            self.bursts = 0
            self.process(k * _BATCH)

    def fifo_overflowed(self):
        self.fifo_overflows += 1
        self.note("FIFO overflow %d: samples were lost (the loop slept too long)" % self.fifo_overflows)

    @micropython.native  # per wake: machine code, its state on the C stack (see wake)
    def _read_bursts(self, s):
        """Up to _WAKE_BURSTS bursts decoded into self.samples (the drained ones first),
        counted in self.bursts as they arrive; self.avail is what the FIFO still holds. False
        when a read failed part-way."""
        k = 0
        while k < _WAKE_BURSTS:
            if self.d_pos < self.d_n:  # drained before an erase: older than the FIFO's
                self._decode_drained(k)
            elif self.avail >= _BATCH:
                if not s.read_fifo_into(self.raw):
                    self.fifo_overflows += 1
                    self.note("FIFO read failed part-way: samples were lost, the FIFO restarted")
                    return False  # what was read before is counted (service_fifo)
                decode(self.raw, self.samples, _BATCH * 3, k * _BATCH * 3)  # type: ignore[arg-type]
                self.avail -= _BATCH
            else:
                break
            k += 1
            self.bursts = k
        return True

    def _decode_drained(self, k):
        decode(self.drained_mv[self.d_pos :], self.samples, _BATCH * 3, k * _BATCH * 3)  # type: ignore[arg-type]
        self.d_pos += _BATCH * SAMPLE_BYTES
        if self.d_pos >= self.d_n:
            self.d_pos = 0
            self.d_n = 0

    def take_drained(self):
        """Count every batch drain_fifo holds (a flush while counting them may drain more)."""
        while self.d_pos < self.d_n:
            self._decode_drained(0)
            self.process(_BATCH)

    def drain_fifo(self):
        """Called before each flash sector erase (eraseguard.py): move the FIFO's whole
        batches into RAM, so that no more than one erase passes between two reads of the
        FIFO. They are counted after the flush, in their order. Writes nothing to the log:
        this runs inside a flush."""
        s = self.sensor
        if s is None or not self.session_open or not self.draining:
            return
        n = s.samples_waiting()
        if n < 0:
            self.fifo_overflows += 1
            return
        self.drains += 1
        step = _BATCH * SAMPLE_BYTES
        while n >= _BATCH and self.d_n + step <= _DRAIN_BATCHES * step:
            if not s.read_fifo_into(self.drained_mv[self.d_n : self.d_n + step]):
                self.fifo_overflows += 1
                return
            self.d_n += step
            n -= _BATCH

    def read_remainder(self, owned=False):
        """The FIFO's last partial batch, at a hand-over or a session's end (this one may
        allocate). owned: the caller has set fifo_busy itself."""
        s = self.sensor
        if s is None or (self.fifo_busy and not owned):
            return
        self.fifo_busy = True
        try:
            self._read_remainder(s)
        finally:
            self.fifo_busy = owned

    def _read_remainder(self, s):
        self.take_drained()  # older than what the FIFO holds
        n = s.samples_waiting()
        if n < 0:
            self.fifo_overflows += 1
            return
        mv = memoryview(self.raw)
        while n > 0:
            k = n if n < _BATCH else _BATCH
            if not s.read_fifo_into(mv[: k * SAMPLE_BYTES]):
                self.fifo_overflows += 1
                return
            decode(self.raw, self.samples, k * 3, 0)  # type: ignore[arg-type]
            self.process(k)
            n -= k

    def hold_session(self):
        """The host has taken over (sync, doctor, config, record, a REPL). The session stays
        open: the lease's timer goes on reading the FIFO into it (count_held) while the host
        works, and run() continues it. So a command in the middle of training costs neither
        a jump nor a new session. What was counted so far goes to flash first, for the sync."""
        if not self.session_open:
            return
        self.fifo_busy = True
        try:
            self.flush_for_host()
            self.keep_day()
            try:
                self.daily.save()
            except OSError:
                pass  # RTC memory still holds it
        finally:
            self.fifo_busy = False
        self.note(self.summary() + "; the host has the clip: the session stays open and counting goes on", False)

    def flush_for_host(self, bands=True):
        """What the open session has counted so far, onto flash, for a sync to read: at the
        hand-over (hold_session, with the impact bands), and at each sync while the host
        already holds the clip (syncserver.send, without: a BANDS record per sync would
        only repeat them), where the lease's timer has counted since. The caller holds the
        FIFO (fifo_busy)."""
        self.drain_detector(False)
        self.forces.resolve(self.log)
        self.drain_impacts(False)
        if self.log:
            if bands:
                self.log.add_bands(self.impacts.bands, self.impacts_q)
            self.log.flush()

    def count_held(self):
        """The lease timer's tick while the host holds the clip. The esp32 port runs timer
        callbacks from its scheduler (ports/esp32/machine_timer.c, mp_sched_schedule), also
        while the REPL waits for the host's bytes (mphalport.c, mp_hal_stdin_rx_chr runs
        MICROPY_EVENT_POLL_HOOK), so they come between the host's statements, never inside
        one of the firmware's own reads (fifo_busy). Nor inside one of the host's littlefs
        operations: the scheduler can run it at a branch of the erase guard, which littlefs
        calls mid-operation, and a flush there would enter littlefs twice (eraseguard.py).
        Then the tick comes again a few milliseconds later (lease.soon), outside it."""
        guard = self.flash_guard
        if guard is not None and guard.busy:
            lease.soon(_HELD_RETRY_MS)
            return
        if not self.session_open:
            return
        try:
            self.service_fifo()
        except OSError as e:
            self.i2c_errors += 1
            self.note("sensor lost while the host held the clip: %s" % e)
            self.count_after_error()
        except Exception as e:  # a callback's error must not end the host's command
            self.note("error while the host held the clip: %r" % e)
            self.count_after_error()

    def count_after_error(self):
        """What was read before a failed read is counted (count_bursts), whatever happens."""
        try:
            self.count_bursts()
        except Exception as e:
            self.bursts = 0
            self.note("error while counting before a failed read: %r" % e)

    @micropython.native  # per wake: machine code, its state on the C stack (see wake)
    def wake(self):
        """One wake of the counting loop: read the FIFO, count, look after the button, LED,
        idle timeout and battery. Returns the ms to sleep until the FIFO is due (or the LED's
        next edge, if that comes first). An error is raised: the caller passes it to
        wake_failed, which returns the same, None to read again at once, or -1 when the sensor
        is gone and the host interrupted the reconnection. bench/mp_loop_bench.py counts its
        instructions per sample."""
        # The per-wake methods (wake, service_fifo, _read_bursts, process, housekeeping,
        # next_wait) are compiled by the native emitter: a call and each attribute access cost
        # less than the bytecode VM's (make bench: the counting loop, 2,035 -> 1,993
        # instructions a sample), and a native function's state is on the C stack whatever
        # its size, so service_fifo holds its try and its loop in one function. (A bytecode
        # function whose state, locals, stack and 3 words a nested try, exceeds 11 words gets
        # its frame from the heap at each call: py/objfun.c, VM_MAX_STATE_ON_STACK. The other
        # methods a wake calls keep few locals and no try for that.) On the ESP32 the machine
        # code goes to executable RAM outside the Python heap (ports/esp32/main.c,
        # esp_native_code_commit). tests/test_loop_alloc.py checks that a wake allocates nothing.
        if self.led.pattern is not None:  # (a call saved when no pattern plays: most wakes)
            self.led.update()  # first: an LED edge is due now, before the bus work
        self.wdt.feed()
        self.woke_ms = time.ticks_ms()
        self.stage = _STAGE_FIFO
        self.service_fifo()
        self.failures = 0
        self.stage = _STAGE_HOUSE
        self.housekeeping()
        self.stage = 0
        return self.next_wait(self.woke_ms)

    def wake_failed(self, e):
        """wake raised e; what wake returns instead. A lost sensor is reconnected and the wake
        goes on (-1 if the host interrupted the reconnection); a flash error in housekeeping
        is noted and the wake goes on; anything else is a bug, reported, and the FIFO read
        again at once (None): ten in a row reset the clip."""
        stage = self.stage
        self.stage = 0
        if stage == _STAGE_FIFO:
            self.count_after_error()
        if isinstance(e, OSError):
            if stage == _STAGE_FIFO:
                self.i2c_errors += 1
                self.note("sensor lost: %s" % e)
                if not self.connect_sensor():
                    return -1
                try:
                    self.housekeeping()
                except OSError as e2:
                    self.note("housekeeping: %s" % e2)
            else:
                self.note("housekeeping: %s" % e)
            return self.next_wait(self.woke_ms)
        # A bug must not stop the counting: report, go on.
        self.failures += 1
        self.note("error %d in the counting loop: %r" % (self.failures, e))
        if self.failures >= _MAX_FAILURES:
            self.end_session(lf.END_HOST)
            machine.reset()  # a clean boot (the log keeps everything flushed)
        return None

    @micropython.native  # per wake: machine code, its state on the C stack (see wake)
    def next_wait(self, woke_ms):
        """The ms to sleep: the wake interval less the work since woke_ms, or less if the LED's
        next edge comes first. The work counts: a flush that erased flash sectors (tens of ms
        each, W25Q32 datasheet) would otherwise overflow the FIFO at 1 kHz."""
        wait = self.wake_ms - time.ticks_diff(time.ticks_ms(), woke_ms)
        if wait < 0:
            wait = 0
        if self.led.pattern is not None:
            edge = self.led.update()
            if 0 <= edge < wait:
                wait = edge
        return wait

    def run(self):
        """Count until the host interrupts (any byte on the console, normally Ctrl-C). The
        host calls it again when it is done: the same session goes on (hold_session).

        Ctrl-C is polled, not raised, from the first line: a batch is never half-counted,
        and a host that arrives while the sensor starts up finds the clip with the
        watchdog's lease granted, not at a REPL where nothing feeds it."""
        lease.end()
        micropython.kbd_intr(-1)
        self.host_has_console = False
        self.rtc_changed()  # the host may have written RTC memory (syncserver: the clock)
        try:
            self._run()
        finally:
            # The host has the clip now: the lease feeds the watchdog, and its timer keeps
            # the open session counting, as often as the loop would have woken.
            period = self.cfg["wdt_ms"] // 4
            if self.wake_ms < period:
                period = self.wake_ms
            self.host_has_console = True
            lease.grant(self.wdt, period, self.count_held)
            micropython.kbd_intr(3)

    def _run(self):
        if not self.log_open:
            self.open_log()
            self.report_config(self.config_errors)
            cause = machine.reset_cause()
            if cause == machine.DEEPSLEEP_RESET:
                self.woke = self.power.wake_cause()
                if self.woke == "button":
                    self.button.swallow()  # the press that woke the clip is not a gesture
                self.note("woke from deep sleep (%s)" % self.woke, False)
            elif cause == machine.WDT_RESET:
                self.note("restarted by the watchdog: counting again")
        try:
            self.load_daily()
        except Exception as e:  # the daily count is a nicety: never let it stop counting
            self.note("daily target state unreadable (%r); starting today at 0" % e)
            self.daily = Daily(self.daily.qualify_mg, self.daily.target, self.daily.bouts.gap_s, self.daily.bouts.size)
        if self.session_open and self.sensor is not None:
            self.read_remainder()  # what the timer left in the FIFO
            self.note("counting on: session %s, %d jumps so far" % (self.session_name(), self.jumps), False)
        else:
            if self.session_open:
                self.end_session()  # its sensor was lost while the host held the clip
            if not self.connect_sensor() or self.host_waiting():
                self.note("the host took over before counting started", False)
                if self.log is not None:
                    self.log.flush()  # what the clip noted meanwhile (a missing sensor) reaches the host's sync
                return
            if self.woke == "timer" and self.battery_mv() < self.cfg["low_battery_mv"]:
                self.deep_sleep(lf.END_LOW_BATTERY, WAKE_TIMER, _LOW_BATTERY_SLEEP_MS)  # still flat
            self.begin_session()
            self.led.play(ui.SESSION_START)
        self.failures = 0
        while not self.host_waiting():
            try:
                wait = self.wake()
            except Exception as e:
                wait = self.wake_failed(e)
            if wait is None:
                continue  # read the FIFO again now: a whole wake interval more would overflow it
            if wait < 0 or self.host_waiting():
                break  # the host interrupted a reconnection, or a byte arrived while awake: answer now
            self.power.sleep_ms(wait)
        try:
            self.read_remainder()
        except OSError as e:
            self.note("sensor lost: %s" % e)
        self.hold_session()  # while Ctrl-C is still a plain byte: a flush is never cut short
