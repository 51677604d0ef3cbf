# The durable log: sessions and jumps as framed, CRC-checked records in segment files under
# log/ on littlefs. Append-only; a power cut loses at most what was not yet flushed
# (5 s or 32 jumps by default), and never corrupts what was.
#
# littlefs commits a file's new contents atomically when it is closed, so an interrupted
# flush leaves the previous contents. Recovery at boot still checks every record of the
# newest segment and cuts a damaged tail back to the last good record, so bit rot or a
# foreign write cannot stop the log. Totals come from a checkpoint file plus the records
# after it: boot never scans the whole log.
import json
import os
import sys

import logformat as lf

try:
    from micropython import const
except ImportError:  # CPython: tests and tools write real logs with this same code

    def const(x):  # type: ignore[no-redef,misc]
        return x

_BUF = const(512)  # pending records: a full JUMPS record (32 jumps) is 336 bytes
_NOTE_MAX = const(120)
_IMPACTS_MAX = const(24)  # qualifying impacts per IMPACTS record (160 bytes with its frame)


class EventLog:
    def __init__(self, root="log", seg_max=16384, flush_jumps=32, flush_samples=1000, reserve_bytes=65536):
        self.root = root
        self.seg_max = seg_max
        self.flush_jumps = flush_jumps if flush_jumps < 32 else 32  # fits _BUF and the RTC mirror (PENDING_BYTES)
        self.flush_samples = flush_samples
        self.reserve_bytes = reserve_bytes
        self.buf = bytearray(_BUF)
        self.n = 0  # bytes pending in buf
        self.jrec = -1  # offset in buf of the open JUMPS record, -1 if none
        self.jn = 0  # jumps in it
        self.first_pending_t = -1  # sample index of the oldest unflushed jump
        self.seq = 0  # next record number
        self.seg = None  # current segment file name
        self.seg_size = 0
        self.full = False
        self.unlogged = 0  # jumps counted but not logged, this session (log full)
        self.session_t = 0  # the open session's sample index at the last tick
        self.full_cp_t = 0  # ... when the checkpoint last took its unlogged count
        self.boot = 0
        self.log_id = ""  # set by open(): logboot reads or creates log/id
        # Lifetime totals of what is on flash (the checkpoint plus the records after it);
        # they change only when records are written, so a checkpoint is always exact.
        self.sessions = 0
        self.jumps = 0
        self.last_seq = -1  # last record on flash
        self.open_id = -1  # session open on flash (START written, END not yet)
        self.open_jumps = 0
        self.write_errors = 0
        self.session_id = -1
        self.session_jumps = 0
        self.ack = -1
        self.notes = []
        self.flushes = 0
        # Called as on_pending(session id, buf, offset, n) after each jump is added and with
        # n = 0 after each flush: the app mirrors the jumps not yet on flash into RTC memory,
        # which a watchdog reset or machine.reset() keeps (a power cut does not).
        self.on_pending = None
        # Qualifying impacts not yet sealed into a record: the session id, then (t, peak).
        self.ibuf = bytearray(lf.JUMPS_HEAD + _IMPACTS_MAX * lf.IMPACT_BYTES)
        self.in_ = 0
        self.first_impact_t = 0  # sample index of the oldest of them

    # --- paths ---
    def _path(self, name):
        return self.root + "/" + name

    def segments(self):
        """Segment file names, oldest first."""
        try:
            names = os.listdir(self.root)
        except OSError:
            return []
        segs = [n for n in names if lf.segment_seq(n) >= 0]
        segs.sort()
        return segs

    # --- boot ---
    def open(self, pending=None):
        """Mount-time recovery (logboot.py: checkpoint, newest segment, torn tail, boot
        counter). That code runs once per boot, so it is unloaded afterwards. pending: the
        RTC-memory mirror of jumps that a reset caught before they were written (or None)."""
        import logboot

        logboot.recover(self, pending)
        if sys.implementation.name == "micropython":  # the desktop reuses it as it is
            del sys.modules["logboot"]

    def _account(self, data, end, after_seq):
        """Add the records in data[:end] numbered above after_seq to the flash totals."""
        o = 0
        while o < end:
            size = lf.check(data, o, end)
            if size == 0:
                break
            seq = lf.get_u32(data, o + 4)
            t = data[o + 1]
            sid = 0  # records without a session (a note's payload is its text)
            if t == lf.T_SESSION_START or t == lf.T_JUMPS or t == lf.T_JUMPS_V1 or t == lf.T_SESSION_END:
                sid = lf.get_u32(data, o + lf.HEADER)
            if after_seq < seq < lf.ID_LIMIT and sid < lf.ID_LIMIT:  # (beyond: damage, never counted)
                if t == lf.T_SESSION_START:
                    self.sessions += 1
                    self.open_id = sid
                    self.open_jumps = 0
                elif t == lf.T_JUMPS or t == lf.T_JUMPS_V1:
                    k = (size - lf.OVERHEAD - lf.JUMPS_HEAD) // lf.jump_bytes(t)
                    self.jumps += k
                    if sid == self.open_id:
                        self.open_jumps += k
                elif t == lf.T_SESSION_END and sid == self.open_id:
                    self.open_id = -1
                    self.open_jumps = 0
                self.last_seq = seq
            o += size

    def _read_ack(self):
        return lf.read_seq(self._path("ack"))

    def _checkpoint(self):
        """Totals up to the last flushed record, written atomically (tmp + rename)."""
        cp = {
            "id": self.log_id,
            "boot": self.boot,
            "seq": self.last_seq,
            "sessions": self.sessions,
            "jumps": self.jumps,
            "open": self.open_id,
            "open_jumps": self.open_jumps,
            # While the flash is full the open session counts in RAM: its count and length
            # live here, so that a power cut before its END keeps them (boot recovery).
            "unlogged": self.unlogged if self.session_id >= 0 else 0,
            "open_t": self.session_t if self.session_id >= 0 else 0,
        }
        tmp = self._path("state.tmp")
        with open(tmp, "w") as f:
            json.dump(cp, f)
        os.rename(tmp, self._path("state.json"))

    def next_boot(self):
        """A new boot number without a reboot (session ids stay unique past 1023 sessions)."""
        self.boot += 1
        self._checkpoint()

    # --- space ---
    def _free_bytes(self):
        try:
            st = os.statvfs(self.root)
            return st[0] * st[3]
        except OSError:
            return 0

    def reclaim(self):
        """Delete segments the host has acknowledged entirely. Returns how many."""
        self.ack = self._read_ack()
        gone = 0
        for name in lf.reclaimable(self.segments(), self.ack):
            os.remove(self._path(name))
            gone += 1
        return gone

    def _check_space(self):
        if self._free_bytes() >= self.reserve_bytes:
            self.full = False
            return
        self.reclaim()
        was = self.full
        self.full = self._free_bytes() < self.reserve_bytes
        if self.full and not was:
            self.note("log: flash full of unsynced data; counting on in session summaries (sync to free space)")

    # --- appending ---
    def note(self, text):
        self.notes.append(text)
        if len(self.notes) > 4:
            self.notes.pop(0)
        data = text.encode()
        k = len(data) if len(data) < _NOTE_MAX else _NOTE_MAX
        o = self._reserve(k)
        self.buf[o + lf.HEADER : o + lf.HEADER + k] = data[:k]
        self._seal(o, lf.T_NOTE, k)

    def _reserve(self, length):
        """Room for a record with a payload of length bytes at the end of buf; closes an open
        JUMPS record first, so record numbers follow buffer order."""
        self._close_jumps()
        if self.n + lf.OVERHEAD + length > _BUF:
            self.flush()
        return self.n

    def _seal(self, o, rtype, length):
        self.n = o + lf.seal(self.buf, o, rtype, length, self.seq)
        self.seq += 1

    def _close_jumps(self):
        if self.jrec >= 0:
            o = self.jrec
            self.jrec = -1
            self._seal(o, lf.T_JUMPS, lf.JUMPS_HEAD + self.jn * lf.JUMP_BYTES)

    def begin_session(self, session_id, device_id, rtc_epoch, rtc_set, config_hash, rate_hz, range_g, version, qualify_mg=0,
                      daily_target=0, target_rule=lf.TARGET_LANDINGS):
        self.session_id = session_id
        self.session_jumps = 0
        self.unlogged = 0
        self.session_t = 0
        self.full_cp_t = 0
        o = self._reserve(lf.START_BYTES)
        b = self.buf
        p = o + lf.HEADER
        f = lf.START_FIELDS
        lf.put(b, p, f, "session_id", session_id)
        lf.put(b, p, f, "boot", self.boot)
        lf.put(b, p, f, "device", device_id)
        lf.put(b, p, f, "rtc_epoch", rtc_epoch)
        lf.put(b, p, f, "rtc_set", 1 if rtc_set else 0)
        lf.put(b, p, f, "config_hash", config_hash)
        lf.put(b, p, f, "rate_hz", rate_hz)
        lf.put(b, p, f, "range_g", range_g)
        lf.put(b, p, f, "version", version)
        lf.put(b, p, f, "reserved", 0)
        # What counts as a qualifying impact, and the day's target, as this session counted
        # them: the desktop report uses the clip's own settings (one definition).
        lf.put(b, p, f, "qualify_mg", qualify_mg)
        lf.put(b, p, f, "daily_target", daily_target)
        lf.put(b, p, f, "target_rule", target_rule)  # what the target counts: landings or impacts
        self._seal(o, lf.T_SESSION_START, lf.START_BYTES)
        self.flush()
        self._checkpoint()

    def add_jump(self, t, air, peak_mg, fpeak=0):
        """Log one landing: t = sample index from session start; fpeak its filtered peak
        (impact.py), 0 until set_force() fills it in. Allocation-free until the flush it
        may trigger."""
        self.session_jumps += 1
        if self.full:
            self.unlogged += 1
            return
        if self.jrec >= 0 and self.jn >= self.flush_jumps:
            # The record is full: written now, when the next jump comes, not when it filled,
            # so that its last jump had time for its filtered peak (set_force).
            self.flush()
        if self.jrec < 0:
            self._open_jumps(t)
        if air > 65535:
            air = 65535
        if peak_mg > 65535:
            peak_mg = 65535
        # (Few locals: per landing, the frame stays on the C stack; App.wake says why.)
        lf.put_jump(self.buf, self.jrec + lf.HEADER + lf.JUMPS_HEAD + self.jn * lf.JUMP_BYTES, t, air, peak_mg, fpeak)
        self.jn += 1
        if self.on_pending is not None:
            self.on_pending(self.session_id, self.buf, self.jrec + lf.HEADER + lf.JUMPS_HEAD, self.jn)

    def _open_jumps(self, t):
        if self.n + lf.OVERHEAD + lf.JUMPS_HEAD + self.flush_jumps * lf.JUMP_BYTES > _BUF:
            self.flush()
        self.jrec = self.n
        self.jn = 0
        lf.put_u32(self.buf, self.n + lf.HEADER, self.session_id)
        self.first_pending_t = t

    def add_impact(self, t, peak_mg):
        """Log one qualifying impact from any movement (impacts.py): t = sample index from
        session start. Kept in RAM and sealed into an IMPACTS record when 24 have come or at
        the next flush. Allocation-free until that record is written."""
        if self.full or self.session_id < 0:
            return
        if self.in_ >= _IMPACTS_MAX:
            self._close_impacts()
        if self.in_ == 0:
            self.first_impact_t = t
        b = self.ibuf
        o = lf.JUMPS_HEAD + self.in_ * lf.IMPACT_BYTES
        lf.put_u32(b, o + lf.I_T, t)
        lf.put_u16(b, o + lf.I_PEAK, peak_mg if peak_mg < 65535 else 65535)
        self.in_ += 1

    def _close_impacts(self):
        """Seal the pending impacts into an IMPACTS record in buf (flushing first if it is full)."""
        k = self.in_
        if k == 0:
            return
        self.in_ = 0
        length = lf.JUMPS_HEAD + k * lf.IMPACT_BYTES
        o = self._reserve(length)
        lf.put_u32(self.ibuf, 0, self.session_id)
        self.buf[o + lf.HEADER : o + lf.HEADER + length] = memoryview(self.ibuf)[:length]
        self._seal(o, lf.T_IMPACTS, length)

    def add_bands(self, bands, qualifying):
        """Log the session's impacts per band so far (an int array of N_BANDS) and its
        qualifying impacts: the newest BANDS record of a session is its count."""
        if self.session_id < 0:
            return
        self._close_impacts()
        o = self._reserve(lf.BANDS_BYTES)
        b = self.buf
        p = o + lf.HEADER
        f = lf.BANDS_FIELDS
        lf.put(b, p, f, "session_id", self.session_id)
        k = 0
        while k < lf.N_BANDS:
            lf.put(b, p, f, lf.BAND_KEYS[k], bands[k])
            k += 1
        lf.put(b, p, f, "qualifying", qualifying)
        self._seal(o, lf.T_BANDS, lf.BANDS_BYTES)

    def set_force(self, t, fpeak):
        """Fill in the filtered peak of the jump at sample t, if it is still in RAM (its
        window of samples completes after the jump is logged): in the open JUMPS record, or
        in a closed one not yet flushed (a note closed it), which is sealed again. Returns
        False if that jump was flushed already: it keeps 0, 'not computed'."""
        if self.jrec >= 0 and self._set_force_open(t, fpeak):
            return True
        return self._set_force_closed(t, fpeak)

    def _set_force_open(self, t, fpeak):
        # The common case, once per landing: in the open record. Few locals (App.wake says why).
        k = self.jn - 1
        while k >= 0:
            o = self.jrec + lf.HEADER + lf.JUMPS_HEAD + k * lf.JUMP_BYTES
            if lf.get_u32(self.buf, o + lf.J_T) == t:
                lf.put_u16(self.buf, o + lf.J_FPEAK, fpeak)
                if self.on_pending is not None:
                    self.on_pending(self.session_id, self.buf, self.jrec + lf.HEADER + lf.JUMPS_HEAD, self.jn)
                return True
            k -= 1
        return False

    def _set_force_closed(self, t, fpeak):
        b = self.buf
        end = self.jrec if self.jrec >= 0 else self.n
        o = 0
        while o < end:
            size = lf.check(b, o, end)
            if size == 0:
                break
            if b[o + 1] == lf.T_JUMPS and lf.get_u32(b, o + lf.HEADER) == self.session_id:
                length = size - lf.OVERHEAD
                k = (length - lf.JUMPS_HEAD) // lf.JUMP_BYTES
                while k > 0:
                    k -= 1
                    q = o + lf.HEADER + lf.JUMPS_HEAD + k * lf.JUMP_BYTES
                    if lf.get_u32(b, q + lf.J_T) == t:
                        lf.put_u16(b, q + lf.J_FPEAK, fpeak)
                        lf.seal(b, o, lf.T_JUMPS, length, lf.get_u32(b, o + 4))
                        return True
            o += size
        return False

    def tick(self, t, hold=False):
        """Called each wake with the session's sample index: flushes jumps older than the
        flush interval (so at most flush_samples of jumps are at risk). hold: a jump's
        filtered peak is still to come; the flush waits for it, up to twice the interval."""
        self.session_t = t
        if self.jrec >= 0 and t - self.first_pending_t >= (2 * self.flush_samples if hold else self.flush_samples):
            self.flush()
        elif self.in_ and t - self.first_impact_t >= self.flush_samples:
            self.flush()
        elif self.full and self.session_id >= 0 and t - self.full_cp_t >= self.flush_samples:
            # Full: the session's count is in RAM only; the checkpoint (in the reserve) takes
            # it as often as a flush would take jumps, so a power cut costs no more.
            self.full_cp_t = t
            self._checkpoint_if_room()

    def _checkpoint_if_room(self):
        # Apart from tick, which runs every wake: a try there would put its frame on the heap
        # (App.wake says why).
        try:
            self._checkpoint()
        except OSError:
            pass  # no room even for that: the END still carries the count

    def _add_end(self, jumps, duration, overflows, reason, qualifying=0):
        o = self._reserve(lf.END_BYTES)
        b = self.buf
        p = o + lf.HEADER
        f = lf.END_FIELDS
        lf.put(b, p, f, "session_id", self.session_id)
        lf.put(b, p, f, "jumps", jumps)
        lf.put(b, p, f, "duration", duration)
        lf.put(b, p, f, "overflows", overflows if overflows < 65535 else 65535)
        lf.put(b, p, f, "reason", reason)
        lf.put(b, p, f, "unlogged", self.unlogged)
        lf.put(b, p, f, "qualifying", qualifying)
        lf.put(b, p, f, "reserved", 0)
        self._seal(o, lf.T_SESSION_END, lf.END_BYTES)

    def end_session(self, duration, overflows, reason, qualifying=0):
        if self.session_id < 0:
            return
        self._close_impacts()
        self._add_end(self.session_jumps, duration, overflows, reason, qualifying)
        self.session_id = -1
        self.flush()
        self._checkpoint()

    # --- writing ---
    def flush(self):
        """Write every pending record to the current segment and commit it (close). A write
        error is counted and reported, never raised: the clip keeps counting."""
        self._close_jumps()
        if self.in_ and self.n + lf.OVERHEAD + lf.JUMPS_HEAD + self.in_ * lf.IMPACT_BYTES <= _BUF:
            self._close_impacts()  # with this write; if buf has no room, they go with the next
        if self.n == 0:
            return
        try:
            if self.full:
                self._check_space()
            if self.seg is None or self.seg_size + self.n > self.seg_max:
                # A new segment. The checkpoint covers every record before it, so recovery
                # at boot only ever scans the newest segment.
                self._checkpoint()
                self.seg = lf.segment_name(lf.get_u32(self.buf, 4))
                self.seg_size = 0
                self._check_space()
            with open(self._path(self.seg), "ab") as f:
                f.write(memoryview(self.buf)[: self.n])
        except OSError as e:
            self.write_errors += 1
            self.full = True
            self.notes.append("log: write failed (%s); %d bytes of records lost" % (e, self.n))
            self.n = 0
            self.first_pending_t = -1
            return
        self._account(self.buf, self.n, self.last_seq)
        self.seg_size += self.n
        self.n = 0
        self.first_pending_t = -1
        self.flushes += 1
        if self.on_pending is not None:
            self.on_pending(-1, self.buf, 0, 0)  # on flash now: nothing pending
