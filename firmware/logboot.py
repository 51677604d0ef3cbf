# Boot-time recovery of the flash log (see eventlog.py): read the checkpoint, check every
# record of the newest segment, cut a damaged tail back to the last good record, and close a
# session that a power cut left open. Runs once per boot; EventLog.open() unloads it after.
import json
import os

import logformat as lf


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


# Session ids are boot << 10 | session in 32 bits, and every count must stay an ESP32 small
# int (31 bits): a boot number from 2**20 on is damage, not a boot count (a million boots).
BOOT_LIMIT = 1 << 20
INT_LIMIT = 1 << 30


def _int(d, key, default, limit=INT_LIMIT):
    """An integer from the checkpoint, or default: a damaged state.json ({"boot": "x"},
    floats, a list, 4194304 boots) must not stop the clip or wrap an id."""
    v = d.get(key, default) if isinstance(d, dict) else default
    return v if isinstance(v, int) and not isinstance(v, bool) and -1 <= v < limit else default


def recover(log, pending=None):
    if not _exists(log.root):
        os.mkdir(log.root)
    cp = _read_json(log, "state.json")
    if not isinstance(cp, dict):
        cp = {}
    later = []  # type: list[str]  # notes from before the record numbers are known
    log.log_id = _log_id(log, cp, later)
    # The totals come from the checkpoint when it is sound. The identifiers must never go
    # back, whatever happened to it: the record numbers continue from the newest of the
    # checkpoint, the segment names, the records themselves and the host's acknowledgement;
    # the boot number from the checkpoint and the session ids in the newest segment.
    boot = _int(cp, "boot", 0, BOOT_LIMIT)
    log.sessions = _int(cp, "sessions", 0)
    log.jumps = _int(cp, "jumps", 0)
    log.last_seq = _int(cp, "seq", -1)  # records up to here are in the totals
    log.open_id = _int(cp, "open", -1)
    log.open_jumps = _int(cp, "open_jumps", 0)
    log.ack = log._read_ack()
    segs = log.segments()
    data = b""
    if segs:
        log.seg = segs[-1]
        data = _recover(log, log.seg)
        log.seg_size = len(data)
        log._account(data, len(data), log.last_seq)
        first = lf.segment_seq(log.seg)
        if first - 1 > log.last_seq:
            log.last_seq = first - 1
        b = _newest_boot(data)
        if b > boot:
            boot = b
    if log.ack > log.last_seq:
        log.last_seq = log.ack  # the host holds records up to here: never number one again
    log.boot = boot + 1
    log.seq = log.last_seq + 1
    for text in later:
        log.note(text)
    log._check_space()
    if log.open_id >= 0 and not _may_be_open(log, segs, data, log.open_id):
        # The checkpoint names a session that is closed, or one this log never started: closing
        # it again would rewrite a synced session (or add a phantom one).
        log.note("log: the checkpoint named session %d as open, which the log does not hold open; ignored" % log.open_id)
        log.open_id = -1
    if log.open_id >= 0:
        # A power cut (or crash) left a session open: close it with what the log holds. The
        # checkpoint's count is only a number in a file: never more than the log's records.
        logged = _logged_jumps(log, segs, data, log.open_id)
        if 0 <= logged < log.open_jumps:
            log.note("log: the checkpoint counted %d jumps for session %d, the log holds %d; closed with %d"
                     % (log.open_jumps, log.open_id, logged, logged))
            log.open_jumps = logged
        closed, jumps = log.open_id, log.open_jumps
        # Counted while the flash was full (the checkpoint's, for its own open session):
        # at most one landing a sample of the session's length, or it is damage.
        length = _int(cp, "open_t", 0) if cp.get("open") == closed else 0
        unlogged = _int(cp, "unlogged", 0) if cp.get("open") == closed else 0
        if not 0 <= unlogged <= length:
            unlogged = 0
        log.session_id = closed
        log.session_jumps = jumps + unlogged
        log.unlogged = unlogged  # (add_jump adds to it while the flash is still full)
        # Those later than the last jump on flash: a flush that a reset interrupted after
        # writing leaves them in both places, and they are written once.
        last = _last_jump_t(data, closed)
        saved = lf.pending_jumps(pending, closed, last)
        for t, air, peak, fpeak in saved:  # jumps a reset caught in RAM, kept in RTC memory
            log.add_jump(t, air, peak, fpeak)
            if t > last:
                last = t
        if saved:
            log.note("log: %d jumps kept in RTC memory through a reset were written" % len(saved))
        jumps = log.session_jumps
        log._add_end(jumps, length if length > last else last + 1, 0, lf.END_RECOVERED)
        log.session_id = -1
        log.unlogged = 0
        log.note("log: session %d was left open (power cut?); closed with %d jumps%s"
                 % (closed, jumps, (", %d of them counted while the flash was full" % unlogged) if unlogged else ""))
    log.flush()
    log._checkpoint()


def _session_in(data, sid):
    """How session sid appears in a segment's records: 0 not at all, 1 started or
    continued, 2 ended."""
    seen = 0
    o = 0
    while o < len(data):
        size = lf.check(data, o, len(data))
        if size == 0:
            break
        t = data[o + 1]
        if t in (lf.T_SESSION_START, lf.T_JUMPS, lf.T_JUMPS_V1, lf.T_SESSION_END) and lf.get_u32(data, o + lf.HEADER) == sid:
            if t == lf.T_SESSION_END:
                return 2
            seen = 1
        o += size
    return seen


def _may_be_open(log, segs, data, sid):
    """Whether session sid can be the one a power cut left open: started or continued in
    the newest segment and not ended there, or, with no record in the newest (it began just
    after), so in the segment before it."""
    seen = _session_in(data, sid)
    if seen or len(segs) < 2:
        return seen == 1
    try:
        with open(log._path(segs[-2]), "rb") as f:
            return _session_in(f.read(), sid) == 1
    except OSError:
        return False


def _count_jumps(data, sid):
    """(jumps of session sid in data, whether its START is there)."""
    n = 0
    started = False
    o = 0
    while o < len(data):
        size = lf.check(data, o, len(data))
        if size == 0:
            break
        t = data[o + 1]
        jb = lf.jump_bytes(t)
        if (jb or t == lf.T_SESSION_START) and lf.get_u32(data, o + lf.HEADER) == sid:
            if jb:
                n += (size - lf.OVERHEAD - lf.JUMPS_HEAD) // jb
            else:
                started = True
        o += size
    return n, started


_BACK_SEGMENTS = 8  # how far back boot looks for an open session's START (each read is one segment)


def _logged_jumps(log, segs, data, sid):
    """The jumps of session sid the log's segments hold, from its START on; -1 when the
    START is not within the newest segments (reclaimed after a sync, or too far back to read
    at boot): then the count cannot be checked."""
    n, started = _count_jumps(data, sid)
    k = len(segs) - 2
    while not started and k >= 0 and k >= len(segs) - 1 - _BACK_SEGMENTS:
        try:
            with open(log._path(segs[k]), "rb") as f:
                more, started = _count_jumps(f.read(), sid)
        except (OSError, MemoryError):
            return -1
        n += more
        k -= 1
    return n if started else -1


def _last_jump_t(data, sid):
    """The sample index of the last jump of session sid in data, or -1."""
    last = -1
    o = 0
    while o < len(data):
        size = lf.check(data, o, len(data))
        if size == 0:
            break
        jb = lf.jump_bytes(data[o + 1])
        if jb and lf.get_u32(data, o + lf.HEADER) == sid:
            k = (size - lf.OVERHEAD - lf.JUMPS_HEAD) // jb
            if k:
                last = lf.get_u32(data, o + lf.HEADER + lf.JUMPS_HEAD + (k - 1) * jb)
        o += size
    return last


def _is_id(b):
    """Whether b (bytes or str) is a log id: 16 lower-case hex digits."""
    if not isinstance(b, (bytes, str)) or len(b) != 16:
        return False
    for c in b:
        c = c if isinstance(c, int) else ord(c)
        if not (48 <= c <= 57 or 97 <= c <= 102):
            return False
    return True


def _log_id(log, cp, later):
    """The log's identity: random, born with the log, kept in log/id and in the checkpoint.
    A host keys what it synced on it, so a log that is re-created (erased flash, a new
    filesystem) is never merged with the one before it. A damaged id file (bit rot, not
    text, a directory) is repaired from the checkpoint; with both damaged the log takes a
    new id, and the host recognises the records that repeat the old log by their content."""
    path = log._path("id")
    raw = None
    try:
        with open(path, "rb") as f:
            raw = f.read(32).strip()
        if _is_id(raw):
            return raw.decode()
    except OSError:
        pass
    lid = cp.get("id")
    if _is_id(lid):
        later.append("log: log/id was %s; restored from the checkpoint" % ("missing" if raw is None else "damaged (%r)" % raw))
    else:
        lid = new_log_id()
        if raw is not None or cp:  # a new log has neither: nothing to say
            later.append("log: log/id (%r) and the checkpoint's id were damaged; the log goes on as %s" % (raw, lid))
    _write_id(log, lid, later)
    return lid


def _write_id(log, lid, later):
    """log/id, atomically (a power cut mid-write must not leave half an id). Whatever stands
    in the way (a directory named id) is moved aside, not deleted."""
    path = log._path("id")
    tmp = path + ".tmp"
    try:
        try:
            if os.stat(path)[0] & 0x4000:  # S_IFDIR
                os.rename(path, log._path("id.bad"))
        except OSError:
            pass
        with open(tmp, "w") as f:
            f.write(lid)
        os.rename(tmp, path)
    except OSError as e:
        later.append("log: cannot write log/id (%s); the checkpoint keeps the id" % e)


def new_log_id():
    import binascii

    return binascii.hexlify(os.urandom(8)).decode()


def _newest_boot(data):
    """The highest boot number among the session ids of the records in data."""
    boot = 0
    o = 0
    while o < len(data):
        size = lf.check(data, o, len(data))
        if size == 0:
            break
        if data[o + 1] in (lf.T_SESSION_START, lf.T_JUMPS, lf.T_JUMPS_V1, lf.T_SESSION_END):
            b = lf.get_u32(data, o + lf.HEADER) >> 10
            if boot < b < BOOT_LIMIT:  # a session id from 2**30 on is damage: it must not wrap the boots
                boot = b
        o += size
    return boot


def _read_json(log, name):
    try:
        with open(log._path(name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _recover(log, name):
    """Contents of a segment up to its last valid record; a damaged tail is cut off."""
    path = log._path(name)
    try:
        # One buffer of the file's size: read() would grow its buffer as it goes, and a
        # full segment (16 KB) then needs more than twice that in a 56 KB heap.
        data = bytearray(os.stat(path)[6])
        with open(path, "rb") as f:
            n = f.readinto(data)
    except OSError:
        return b""
    if n is not None and n < len(data):
        data = data[:n]
    o = 0
    while o < len(data):
        size = lf.check(data, o, len(data))
        if size == 0:
            break
        o += size
    if o < len(data):
        tmp = log._path("tmp")
        with open(tmp, "wb") as f:
            f.write(memoryview(data)[:o])
        os.rename(tmp, path)
        log.note("log: cut a damaged tail of %d bytes from %s at offset %d" % (len(data) - o, name, o))
        data = data[:o]
    return data
