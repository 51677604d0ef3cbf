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


def _int(d, key, default):
    """An integer from the checkpoint, or default: a damaged state.json ({"boot": "x"},
    floats, a list) must not stop the clip."""
    v = d.get(key, default) if isinstance(d, dict) else default
    return v if isinstance(v, int) and not isinstance(v, bool) and -1 <= v < (1 << 31) else default


def recover(log, pending=None):
    if not _exists(log.root):
        os.mkdir(log.root)
    cp = _read_json(log, "state.json")
    if not isinstance(cp, dict):
        cp = {}
    log.log_id = _log_id(log, cp)
    # The totals come from the checkpoint when it is sound. The identifiers must never go
    # back, whatever happened to it: the record numbers continue from the newest of the
    # checkpoint, the segment names, the records themselves and the host's acknowledgement;
    # the boot number from the checkpoint and the session ids in the newest segment.
    boot = _int(cp, "boot", 0)
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
    log._check_space()
    if log.open_id >= 0:
        # A power cut (or crash) left a session open: close it with what the log holds.
        closed, jumps = log.open_id, log.open_jumps
        log.session_id = closed
        log.session_jumps = jumps
        # Those later than the last jump on flash: a flush that a reset interrupted after
        # writing leaves them in both places, and they are written once.
        saved = lf.pending_jumps(pending, closed, _last_jump_t(data, closed))
        for t, air, peak, fpeak in saved:  # jumps a reset caught in RAM, kept in RTC memory
            log.add_jump(t, air, peak, fpeak)
        if saved:
            jumps = log.session_jumps
            log.note("log: %d jumps kept in RTC memory through a reset were written" % len(saved))
        log._add_end(jumps, 0, 0, lf.END_RECOVERED)
        log.session_id = -1
        log.note("log: session %d was left open (power cut?); closed with %d jumps" % (closed, jumps))
    log.flush()
    log._checkpoint()


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


def _log_id(log, cp):
    """The log's identity: random, born with the log, kept in log/id and in the checkpoint.
    A host keys what it synced on it, so a log that is re-created (erased flash, a new
    filesystem) is never merged with the one before it."""
    try:
        with open(log._path("id")) as f:
            lid = f.read().strip()
        if len(lid) == 16:
            return lid
    except OSError:
        pass
    lid = cp.get("id")
    if not (isinstance(lid, str) and len(lid) == 16):
        lid = new_log_id()
    with open(log._path("id"), "w") as f:
        f.write(lid)
    return lid


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
            if b > boot:
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
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return b""
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
