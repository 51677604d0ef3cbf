# Daily bone-loading target: qualifying impacts (landing peak >= qualify_g) counted per day
# towards a target (default 50 a day; see README for the sources).
#
# The day comes from the RTC once a sync has set it (local midnight, with the time-zone
# offset the host sent). Before that it is a rolling 24 hours from the first qualifying
# impact, and the state says so. The count lives in RTC memory (it survives deep sleep and
# resets) and in daily.json on flash, written at session end (it survives a power cut).
import json
import os

# RTC memory layout (bytes): 0-5 "JCRTC1" once a host set the clock; 6-9 time-zone offset
# (s, signed); 10-11 "JD"; 12-15 day key (signed); 16 flags; 17-18 count. Offsets 0-9 belong
# to syncserver.set_time; from 32 on, the jumps not yet written (logformat.put_pending).
RTC_MAGIC = b"JCRTC1"
_BLOCK = 10
_ROLLING = 1
_ANNOUNCED = 2
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


class Daily:
    def __init__(self, qualify_mg, target):
        self.qualify_mg = qualify_mg
        self.target = target
        self.key = None  # local day number, or the rolling window's start (device seconds)
        self.rolling = True
        self.count = 0
        self.announced = False

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
                self.key, self.count, self.announced = today, 0, False
        else:
            self.rolling = True
            if self.key is not None and not (0 <= now_s - self.key < DAY_S):
                self.key, self.count, self.announced = None, 0, False

    def add(self, peak_mg, mem, now_s):
        """Count a landing. True exactly once a day: when the target is reached."""
        if peak_mg < self.qualify_mg:
            return False
        self.roll(mem, now_s)
        if self.key is None:
            self.key = now_s  # a rolling window starts with its first qualifying impact
        self.count += 1
        if self.count >= self.target and not self.announced:
            self.announced = True
            return True
        return False

    # --- keeping it ---
    def to_rtc(self, mem):
        """The daily block written into RTC memory (returns the new contents)."""
        b = bytearray(max(len(mem), 19))
        b[: len(mem)] = mem
        b[_BLOCK] = 0x4A  # "J"
        b[_BLOCK + 1] = 0x44  # "D"
        _put_i32(b, 12, self.key if self.key is not None else -(1 << 31))
        b[16] = (_ROLLING if self.rolling else 0) | (_ANNOUNCED if self.announced else 0)
        b[17] = self.count & 0xFF
        b[18] = (self.count >> 8) & 0xFF
        return bytes(b)

    def from_rtc(self, mem):
        if len(mem) < 19 or mem[_BLOCK] != 0x4A or mem[_BLOCK + 1] != 0x44:
            return False
        key = _i32(mem, 12)
        self.key = None if key == -(1 << 31) else key
        self.rolling = bool(mem[16] & _ROLLING)
        self.announced = bool(mem[16] & _ANNOUNCED)
        self.count = mem[17] | (mem[18] << 8)
        return True

    def save(self, path="daily.json"):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"key": self.key, "rolling": self.rolling, "count": self.count, "announced": self.announced}, f)
        os.rename(tmp, path)

    def load(self, path="daily.json"):
        """After a power cut (RTC memory lost): the count saved at the last session end. The
        clock restarted too, so the day is rolling from now."""
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError):
            return False
        self.count = d.get("count", 0)
        self.announced = d.get("announced", False)
        self.rolling = True
        self.key = 0 if self.count else None  # device time restarts at 0 after a power cut
        return True
