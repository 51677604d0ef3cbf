# Device side of `jumpclip sync`, called by the host through the raw REPL once the counting
# loop has handed over. docs/wire-protocol.md describes the exchange.
#
#   info(app)        one line: JCINFO {json}
#   send(after_seq)  the log segments holding records after after_seq, as checked frames
#   ack(seq)         the host has committed every record up to seq: reclaim space
#   set_time(secs)   set the RTC (seconds since 2000-01-01 UTC) and mark it as set
import binascii
import json
import os
import sys

import machine

import lease
import logformat as lf
from daily import RTC_MAGIC  # the RTC memory layout lives in daily.py

PROTOCOL = 1
ROOT = "log"
CHUNK = 512

F_FILE = 1  # payload: u32 size, then the file name
F_DATA = 2  # payload: file bytes
F_END = 3  # payload: u32 total bytes, u32 files


def _app():
    """The counting loop's App, when main.py made one (it lives in the REPL's globals)."""
    import __main__  # type: ignore[import-not-found]

    return getattr(__main__, "app", None)


class Exclusive:
    """While the host holds the clip, the open session goes on counting from a timer
    (App.count_held), which appends to the log and writes RTC memory. A command that
    changes those sets the App's fifo_busy meanwhile: the timer's tick then does nothing,
    and the FIFO (170 samples, 850 ms at 200 Hz) keeps the samples for the next one."""

    def __enter__(self):
        a = _app()
        self.seen = a
        self.app = a if a is not None and a.claim_fifo() else None
        return self

    def __exit__(self, *exc):
        if self.seen is not None:
            self.seen.rtc_changed()  # the command may have written RTC memory: the App reads it again
        if self.app is not None:
            self.app.fifo_busy = False
        return False


def _segments():
    try:
        names = os.listdir(ROOT)
    except OSError:
        return []
    segs = [n for n in names if lf.segment_seq(n) >= 0]
    segs.sort()
    return segs


def info(app=None):
    lease.renew()  # the host is here: keep the watchdog fed a while longer
    import time

    try:
        with open(ROOT + "/state.json") as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = {}
    if not isinstance(state, dict):
        state = {}
    try:
        with open(ROOT + "/id") as f:
            log_id = f.read().strip()
    except OSError:
        log_id = ""
    rtc_set = bytes(machine.RTC().memory()[:6]) == RTC_MAGIC
    version = "unknown"
    try:
        import app as appmod

        version = appmod.VERSION
    except ImportError:
        pass
    d = {
        "protocol": PROTOCOL,
        "firmware": version,
        "device": binascii.hexlify(machine.unique_id()).decode(),
        "log_id": log_id,
        "boot": state.get("boot", 0),
        "last_seq": app.log.last_seq if app is not None and app.log is not None else _last_seq(state),
        "ack": lf.read_seq(ROOT + "/ack"),
        "sessions": state.get("sessions", 0),
        "jumps": state.get("jumps", 0),
        "time": time.time(),
        "rtc_set": rtc_set,
        "segments": len(_segments()),
        "app": app is not None,
        "notes": app.notes[-4:] if app is not None else [],
        # The held session's landings counted while the flash was full: in no record yet.
        "unlogged": app.log.unlogged if app is not None and app.log is not None and app.log.session_id >= 0 else 0,
    }
    print("JCINFO " + json.dumps(d))


def _last_seq(state):
    """The newest record on flash: the checkpoint's, or past it the newest segment's."""
    seq = state.get("seq", -1)
    if not isinstance(seq, int):
        seq = -1
    segs = _segments()
    if segs:
        first = lf.segment_seq(segs[-1])
        if first - 1 > seq:
            seq = first - 1
    return seq


def rekey(app=None):
    """The host found this log older than what it has already synced (a restored flash
    image): give the log a new identity, so that the records it writes from now on are
    not mistaken for the ones the host holds under the old one."""
    lease.renew()
    import logboot

    lid = logboot.new_log_id()
    with Exclusive():
        tmp = ROOT + "/id.tmp"
        with open(tmp, "w") as f:
            f.write(lid)
        os.rename(tmp, ROOT + "/id")
        if app is not None and app.log is not None:
            app.log.log_id = lid
            app.log._checkpoint()
    print("JCREKEY " + lid)


def _frame(out, ftype, payload):
    head = bytearray(5)
    head[0] = 0x4A  # "J"
    head[1] = 0x46  # "F"
    head[2] = ftype
    lf.put_u16(head, 3, len(payload))
    c = binascii.crc32(head[2:5])
    c = binascii.crc32(payload, c) & 0xFFFFFFFF
    tail = bytearray(4)
    lf.put_u32(tail, 0, c)
    out.write(head)
    out.write(payload)
    out.write(tail)


def send(after_seq):
    """Stream every segment that may hold a record numbered above after_seq. Each file is
    sent up to the size it had when its frame announced it: the open session may append
    meanwhile (App.count_held), and those records go with the next sync."""
    lease.renew()  # the host is here: keep the watchdog fed a while longer
    a = _app()
    if a is not None and a.session_open:
        # A clip the host already held (`jumpclip hold`, a command that went away) has
        # counted on from its timer since the hand-over flushed: that goes to flash first.
        with Exclusive() as ex:
            if ex.app is not None:
                ex.app.flush_for_host(False)
    out = sys.stdout.buffer
    segs = _segments()
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    total = 0
    files = 0
    for i in range(len(segs)):
        if i + 1 < len(segs) and lf.segment_seq(segs[i + 1]) - 1 <= after_seq:
            continue  # every record in it is already on the host
        path = ROOT + "/" + segs[i]
        size = os.stat(path)[6]
        meta = bytearray(4)
        lf.put_u32(meta, 0, size)
        _frame(out, F_FILE, bytes(meta) + segs[i].encode())
        left = size
        with open(path, "rb") as f:
            while left > 0:
                lease.renew()  # the host is reading: keep the watchdog fed frame by frame
                n = f.readinto(buf if left >= CHUNK else mv[:left])
                if not n:
                    break
                _frame(out, F_DATA, mv[:n])
                total += n
                left -= n
        files += 1
    end = bytearray(8)
    lf.put_u32(end, 0, total)
    lf.put_u32(end, 4, files)
    _frame(out, F_END, end)


def ack(seq):
    """Record the host's acknowledgement (it only ever grows) and delete every segment it
    covers entirely, except the newest, which the log is still appending to."""
    lease.renew()  # the host is here: keep the watchdog fed a while longer
    gone = 0
    with Exclusive():
        old = lf.read_seq(ROOT + "/ack")
        if seq > old:
            tmp = ROOT + "/ack.tmp"
            with open(tmp, "w") as f:
                f.write(str(seq))
            os.rename(tmp, ROOT + "/ack")
        else:
            seq = old
        for name in lf.reclaimable(_segments(), seq):  # EventLog.reclaim's rule
            os.remove(ROOT + "/" + name)
            gone += 1
    print("JCACK %d %d" % (seq, gone))


def set_time(secs, tz_s=0):
    """Set the RTC to UTC (seconds since 2000) and remember the host's time-zone offset, so
    the daily target's day ends at local midnight."""
    lease.renew()  # the host is here: keep the watchdog fed a while longer
    import time

    t = time.gmtime(secs)
    with Exclusive():  # the open session's timer writes RTC memory too (daily count, pending jumps)
        # RTC.datetime wants (year, month, day, weekday, hours, minutes, seconds, subseconds)
        machine.RTC().datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))
        rtc = machine.RTC()
        mem = bytearray(rtc.memory())
        if len(mem) < 10:
            mem.extend(bytes(10 - len(mem)))
        mem[0:6] = RTC_MAGIC
        lf.put_u32(mem, 6, tz_s & 0xFFFFFFFF)
        rtc.memory(bytes(mem))
    print("JCTIME %d" % time.time())
