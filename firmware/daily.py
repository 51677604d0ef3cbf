# Daily bone-loading target: qualifying impacts (landing peak >= qualify_g) counted per day
# towards a target (default 50 a day; see README for the sources).
#
# The day comes from the RTC once a sync has set it (local midnight, with the time-zone
# offset the host sent). Before that it is a rolling 24 hours from the first qualifying
# impact, and the state says so. The count lives in RTC memory (it survives deep sleep and
# resets) and in daily.json on flash, written at session end (it survives a power cut).
import array
import json
import os

from bouts import Bouts
from logformat import PENDING_BYTES, RTC_PENDING_AT

# RTC memory layout (bytes): 0-5 "JCRTC1" once a host set the clock; 6-9 time-zone offset
# (s, signed); 10-11 "JD"; 12-15 day key (signed); 16 flags; 17-18 count; 19 bouts today;
# 20-21 landings in the current bout; 22-25 time of the last qualifying landing (signed,
# -2**31: none). Offsets 0-9 belong to syncserver.set_time; from 32 (RTC_PENDING_AT), the
# jumps not yet written (logformat.put_pending, PENDING_BYTES long); right after them
# (_BANDS_AT, 360), "JB" and the day's impacts per band (impacts.py), u32 each.
RTC_MAGIC = b"JCRTC1"
_BLOCK = 10
_ROLLING = 1
_ANNOUNCED = 2
_CUED = 4
_SIZE = 26  # bytes of the block (from 0)
_BANDS_AT = RTC_PENDING_AT + PENDING_BYTES
N_BANDS = 5  # impacts.N_BANDS
_BANDS_END = _BANDS_AT + 2 + 4 * N_BANDS
RTC_BYTES = _BANDS_END  # what the daily block and the pending jumps take of RTC memory
MAX_BAND = 1 << 24  # more impacts in a band in a day is damage: one every 6 ms
_NONE = -(1 << 31)
TARGET = 1  # add(): the day's target was just reached
ENOUGH = 2  # add(): the current bout just reached its useful size
DAY_S = 86400


def _i32(b, o):
    v = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
    return v - (1 << 32) if v & 0x80000000 else v


def _put_i32(b, o, v):
    v &= 0xFFFFFFFF
    b[o] = v & 0xFF
    b[o + 1] = (v >> 8) & 0xFF
    b[o + 2] = (v >> 16) & 0xFF
    b[o + 3] = (v >> 24) & 0xFF


# More qualifying impacts than this in a day is not a count but damage (bit rot, a foreign
# file): 20,000 is over five hours of one landing a second.
MAX_DAILY = 20000


def _count(v):
    """v if it is a plausible count of a day (an int in 0..MAX_DAILY), else -1."""
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_DAILY else -1


class Daily:
    def __init__(self, qualify_mg, target, bout_gap_s=1800, bout_size=40):
        self.qualify_mg = qualify_mg
        self.target = target
        self.key = None  # local day number, or the rolling window's start (device seconds)
        self.rolling = True
        self.count = 0
        self.announced = False
        self.bouts = Bouts(bout_gap_s, bout_size)
        # The day's impacts per band from any movement: impacts.Impacts counts into this
        # array itself (app.py hands it over), so the loop allocates nothing for it.
        self.bands = array.array("i", [0] * N_BANDS)

    def _new_day(self, key):
        self.key, self.count, self.announced = key, 0, False
        self.bouts.reset()
        k = 0
        while k < N_BANDS:
            self.bands[k] = 0
            k += 1

    # --- the day ---
    def clock(self, mem, now_s):
        """(rtc_set, key of the current day) from RTC memory and the device time."""
        if bytes(mem[:6]) == RTC_MAGIC:
            tz = _i32(mem, 6) if len(mem) >= 10 else 0
            return True, (now_s + tz) // DAY_S
        return False, None

    def roll(self, mem, now_s):
        """Start a new day when the day (or the rolling 24 h) has passed."""
        rtc_set, today = self.clock(mem, now_s)
        if rtc_set:
            if self.rolling and self.key is not None:
                self.key = today  # the clock was set meanwhile: the window becomes today
            self.rolling = False
            if self.key != today:
                self._new_day(today)
        else:
            self.rolling = True
            if self.key is not None and not (0 <= now_s - self.key < DAY_S):
                self._new_day(None)

    def add(self, peak_mg, mem, now_s):
        """Count a landing. Returns flags: TARGET exactly once a day, when the target is
        reached; ENOUGH once per bout, when it reaches its useful size."""
        if peak_mg < self.qualify_mg:
            return 0
        self.roll(mem, now_s)
        if self.key is None:
            self.key = now_s  # a rolling window starts with its first qualifying impact
        self.count += 1
        flags = ENOUGH if self.bouts.add(now_s) else 0
        if self.count >= self.target and not self.announced:
            self.announced = True
            flags |= TARGET
        return flags

    def repair(self, now_s):
        """After loading from RTC memory or flash: refuse what cannot be true. Returns what was
        repaired and how ("" if nothing), for a note. A count outside 0..MAX_DAILY starts the day
        again; a bout larger than the day's count, or with a landing after now, ends."""
        why = ""
        if _count(self.count) < 0:
            why = "count %r: today's count starts again at 0" % (self.count,)
            self._new_day(None)
            self.rolling = True
        bo = self.bouts
        if not (isinstance(bo.count, int) and 0 <= bo.count < 256):
            bo.count = 0
        if _count(bo.current) < 0 or bo.current > self.count or (bo.last_s is not None and bo.last_s > now_s):
            if not why:
                why = "bout (%r landings, the last at %r s, now %d s): the bout ends" % (bo.current, bo.last_s, now_s)
            n = bo.count
            bo.reset()
            bo.count = n
        if not isinstance(self.announced, bool):
            self.announced = self.count >= self.target
        k = 0
        while k < N_BANDS:
            if not 0 <= self.bands[k] <= MAX_BAND:
                if not why:
                    why = "impact band %d (%d): today's impact bands start again at 0" % (k, self.bands[k])
                j = 0
                while j < N_BANDS:
                    self.bands[j] = 0
                    j += 1
                break
            k += 1
        return why

    # --- keeping it ---
    def write_rtc(self, b):
        """The daily block written into b (RTC memory's image, at least RTC_BYTES long), in
        place: the clip's kept image (App.rtc_mem), once per qualifying impact."""
        b[_BLOCK] = 0x4A  # "J"
        b[_BLOCK + 1] = 0x44  # "D"
        _put_i32(b, 12, self.key if self.key is not None else _NONE)
        bo = self.bouts
        b[16] = (_ROLLING if self.rolling else 0) | (_ANNOUNCED if self.announced else 0) | (_CUED if bo.cued else 0)
        b[17] = self.count & 0xFF
        b[18] = (self.count >> 8) & 0xFF
        b[19] = bo.count if bo.count < 255 else 255
        b[20] = bo.current & 0xFF
        b[21] = (bo.current >> 8) & 0xFF
        _put_i32(b, 22, bo.last_s if bo.last_s is not None else _NONE)
        b[_BANDS_AT] = 0x4A  # "J"
        b[_BANDS_AT + 1] = 0x42  # "B"
        k = 0
        while k < N_BANDS:
            _put_i32(b, _BANDS_AT + 2 + 4 * k, self.bands[k])
            k += 1

    def from_rtc(self, mem):
        if len(mem) < 19 or mem[_BLOCK] != 0x4A or mem[_BLOCK + 1] != 0x44:
            return False
        key = _i32(mem, 12)
        self.key = None if key == _NONE else key
        self.rolling = bool(mem[16] & _ROLLING)
        self.announced = bool(mem[16] & _ANNOUNCED)
        self.count = mem[17] | (mem[18] << 8)
        bo = self.bouts
        bo.reset()
        if len(mem) >= _SIZE:  # written by firmware 0.3 on
            bo.cued = bool(mem[16] & _CUED)
            bo.count = mem[19]
            bo.current = mem[20] | (mem[21] << 8)
            last = _i32(mem, 22)
            bo.last_s = None if last == _NONE else last
        has_bands = len(mem) >= _BANDS_END and mem[_BANDS_AT] == 0x4A and mem[_BANDS_AT + 1] == 0x42
        k = 0
        while k < N_BANDS:  # firmware 0.4 on; before it, no impacts were counted
            self.bands[k] = _i32(mem, _BANDS_AT + 2 + 4 * k) if has_bands else 0
            k += 1
        return True

    def save(self, path="daily.json"):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            bo = self.bouts
            json.dump({"key": self.key, "rolling": self.rolling, "count": self.count, "announced": self.announced,
                       "bouts": bo.count, "bout_landings": bo.current, "cued": bo.cued, "bands": list(self.bands)}, f)
        os.rename(tmp, path)

    def load(self, path="daily.json"):
        """After a power cut (RTC memory lost): the count saved at the last session end. The
        clock restarted too, so the day is rolling from now."""
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError):
            return False
        if not isinstance(d, dict):
            return False
        self.count = d.get("count", 0)
        self.announced = d.get("announced", False)
        # The clock restarted: the bout in progress cannot be continued, but today's bouts count.
        self.bouts.reset()
        b = d.get("bouts", 0)
        self.bouts.count = b if isinstance(b, int) and 0 <= b < 256 else 0
        bands = d.get("bands")
        if not (isinstance(bands, list) and len(bands) == N_BANDS):
            bands = [0] * N_BANDS
        k = 0
        while k < N_BANDS:
            v = bands[k]
            self.bands[k] = v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_BAND else 0
            k += 1
        self.rolling = True
        self.key = 0 if self.count else None  # device time restarts at 0 after a power cut
        return True
