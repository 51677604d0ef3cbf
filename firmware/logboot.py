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


def recover(log):
    if not _exists(log.root):
        os.mkdir(log.root)
    cp = _read_json(log, "state.json") or {}
    log.boot = cp.get("boot", 0) + 1
    log.sessions = cp.get("sessions", 0)
    log.jumps = cp.get("jumps", 0)
    log.last_seq = cp.get("seq", -1)  # records up to here are in the totals
    log.open_id = cp.get("open", -1)
    log.open_jumps = cp.get("open_jumps", 0)
    log.ack = log._read_ack()
    segs = log.segments()
    if segs:
        log.seg = segs[-1]
        data = _recover(log, log.seg)
        log.seg_size = len(data)
        log._account(data, len(data), log.last_seq)
        first = lf.segment_seq(log.seg)
        if first - 1 > log.last_seq:
            log.last_seq = first - 1
    log.seq = log.last_seq + 1
    log._check_space()
    if log.open_id >= 0:
        # A power cut (or crash) left a session open: close it with what the log holds.
        closed, jumps = log.open_id, log.open_jumps
        log.session_id = closed
        log.session_jumps = jumps
        log._add_end(jumps, 0, 0, lf.END_RECOVERED)
        log.session_id = -1
        log.note("log: session %d was left open (power cut?); closed with %d jumps" % (closed, jumps))
    log.flush()
    log._checkpoint()


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
