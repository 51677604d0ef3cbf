# The flash log's record format: one definition for the firmware writer and the desktop
# reader (docs/log-format.md describes the same thing in prose). Pure code, both interpreters.
#
# A record is a frame:
#   0      sync   0xA5
#   1      type   u8
#   2..3   length u16 little-endian: payload bytes
#   4..7   seq    u32 little-endian: record number, never reused on this device
#   8..    payload
#   end    crc    u32 little-endian: CRC-32 of bytes 0 .. end of payload
import binascii

try:
    from micropython import const
except ImportError:  # CPython (the desktop reader)

    def const(x):  # type: ignore[no-redef,misc]
        return x


SYNC = const(0xA5)
HEADER = const(8)
TRAILER = const(4)
OVERHEAD = const(12)
MAX_PAYLOAD = const(1024)
# Record numbers and session ids (boot << 10 | session) stay below 2**30: ESP32 small ints.
# A CRC-valid record numbered or naming a session at or above it is damage or forgery, and
# must neither wrap the clip's numbering nor its boot counter (nor reach the host's database).
ID_LIMIT = 1 << 30  # (a plain int: 2**30 is past the ESP32's small ints, so no const())

T_SESSION_START = const(0x10)
T_JUMPS_V1 = const(0x11)  # written by firmware 0.1-0.2: jumps without the filtered peak
T_JUMPS = const(0x13)
T_SESSION_END = const(0x12)
T_IMPACTS = const(0x14)  # qualifying impacts from any movement (impacts.py): session id, then (t, peak) each
T_BANDS = const(0x15)  # a session's impacts per band so far (impacts.py); the newest one of a session holds
T_NOTE = const(0x20)

# A jump: offset u32 (samples from session start), air u16 (samples), peak u16 (mg), then
# the 20 Hz filtered peak u16 (mg; bit 15 set: an axis reached the sensor's range, so the
# force is a lower bound; 0: not computed).
JUMP_BYTES = const(10)
JUMP_BYTES_V1 = const(8)
JUMPS_HEAD = const(4)  # session id u32, then the jumps
START_BYTES = const(35)  # ... then what the target counts u8 (firmware 0.4)
START_BYTES_V2 = const(34)  # firmware 0.2-0.3: qualify mg u16, daily target u16; the target counted landings
START_BYTES_V1 = const(30)  # written by firmware 0.1: without the daily-target settings
# What the day's target counts (SESSION_START's target_rule): 0 in older records, which
# counted landings.
TARGET_LANDINGS = const(1)
TARGET_IMPACTS = const(2)
# A qualifying impact: offset u32 (samples from session start), peak u16 (mg).
IMPACT_BYTES = const(6)
I_T = const(0)
I_PEAK = const(4)
IMPACT_FIELDS = (("t", I_T, 4), ("peak", I_PEAK, 2))
N_BANDS = const(5)  # impacts.N_BANDS
END_BYTES = const(26)

# Each record's payload, one table for the writer (eventlog.py) and the reader (logread.py):
# (name, offset, bytes); numbers are little-endian unsigned, "device" and "version" bytes.
# A jump's fields are consts as well: eventlog.add_jump writes them for every landing.
J_T = const(0)  # samples from the session's start, u32
J_AIR = const(4)  # airtime in samples, u16
J_PEAK = const(6)  # peak, mg, u16
J_FPEAK = const(8)  # 20 Hz filtered peak, mg, u16 (bit 15: clipped)
JUMP_FIELDS = (("t", J_T, 4), ("air", J_AIR, 2), ("peak", J_PEAK, 2), ("fpeak", J_FPEAK, 2))
START_FIELDS = (
    ("session_id", 0, 4), ("boot", 4, 4), ("device", 8, 6), ("rtc_epoch", 14, 4), ("rtc_set", 18, 1),
    ("config_hash", 19, 4), ("rate_hz", 23, 2), ("range_g", 25, 1), ("version", 26, 3), ("reserved", 29, 1),
    ("qualify_mg", 30, 2), ("daily_target", 32, 2),  # from firmware 0.2 (START_BYTES_V1 ends before them)
    ("target_rule", 34, 1),  # from firmware 0.4 (START_BYTES_V2 ends before it)
)
END_FIELDS = (
    ("session_id", 0, 4), ("jumps", 4, 4), ("duration", 8, 4), ("overflows", 12, 2), ("reason", 14, 1),
    ("unlogged", 15, 4), ("qualifying", 19, 4), ("reserved", 23, 3),
)

BANDS_FIELDS = (
    ("session_id", 0, 4), ("band0", 4, 4), ("band1", 8, 4), ("band2", 12, 4), ("band3", 16, 4), ("band4", 20, 4),
    ("qualifying", 24, 4),  # impacts of at least the session's qualify_mg, from any movement
)
BANDS_BYTES = const(28)
BAND_KEYS = ("band0", "band1", "band2", "band3", "band4")


def field(table, name):
    """(offset, bytes) of a named field."""
    for f in table:
        if f[0] == name:
            return f[1], f[2]
    raise KeyError(name)


def put(b, p, table, name, v):
    """Write field `name` of the payload at b[p:]: an int, or bytes for a byte field (the
    table's width: shorter bytes are padded with zeros)."""
    o, w = field(table, name)
    if isinstance(v, int):
        for i in range(w):
            b[p + o + i] = (v >> (8 * i)) & 0xFF
    else:
        for i in range(w):
            b[p + o + i] = v[i] if i < len(v) else 0


def get(b, p, table, name):
    """Read field `name` of the payload at b[p:] as an int."""
    o, w = field(table, name)
    v = 0
    for i in range(w):
        v |= b[p + o + i] << (8 * i)
    return v


def get_bytes(b, p, table, name):
    o, w = field(table, name)
    return bytes(b[p + o : p + o + w])


def reclaimable(segments, ack):
    """The segments (sorted names) every record of which the host holds: those whose
    successor starts at or below ack + 1. Never the newest: the log is still appending to
    it. One rule for eventlog.reclaim() and syncserver.ack()."""
    out = []
    for i in range(len(segments) - 1):
        if segment_seq(segments[i + 1]) - 1 <= ack:
            out.append(segments[i])
    return out


# SESSION_END reasons
END_HOST = const(1)  # the host took over (sync)
END_IDLE = const(2)
END_BUTTON = const(3)
END_LOW_BATTERY = const(4)
END_ROLLOVER = const(5)  # sample index limit; a new session follows at once
END_RECOVERED = const(6)  # written at boot for a session that a power cut left open

SEGMENT_SUFFIX = ".log"


def put_u16(b, o, v):
    b[o] = v & 0xFF
    b[o + 1] = (v >> 8) & 0xFF


def put_u32(b, o, v):
    b[o] = v & 0xFF
    b[o + 1] = (v >> 8) & 0xFF
    b[o + 2] = (v >> 16) & 0xFF
    b[o + 3] = (v >> 24) & 0xFF


def put_jump(b, o, t, air, peak, fpeak):
    """One jump of a JUMPS record at b[o:], its fields at J_T .. J_FPEAK, little-endian (one
    call a landing on the clip, not one a field)."""
    b[o + J_T] = t & 0xFF
    b[o + J_T + 1] = (t >> 8) & 0xFF
    b[o + J_T + 2] = (t >> 16) & 0xFF
    b[o + J_T + 3] = (t >> 24) & 0xFF
    b[o + J_AIR] = air & 0xFF
    b[o + J_AIR + 1] = (air >> 8) & 0xFF
    b[o + J_PEAK] = peak & 0xFF
    b[o + J_PEAK + 1] = (peak >> 8) & 0xFF
    b[o + J_FPEAK] = fpeak & 0xFF
    b[o + J_FPEAK + 1] = (fpeak >> 8) & 0xFF


def get_u16(b, o):
    return b[o] | (b[o + 1] << 8)


def get_u32(b, o):
    return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)


def crc(b, start, end):
    return binascii.crc32(memoryview(b)[start:end]) & 0xFFFFFFFF


def seal(b, o, rtype, length, seq):
    """Fill in the header and CRC of the record whose payload is already at b[o+8 : o+8+length].
    Returns the record's total size."""
    b[o] = SYNC
    b[o + 1] = rtype
    put_u16(b, o + 2, length)
    put_u32(b, o + 4, seq)
    end = o + HEADER + length
    put_u32(b, end, crc(b, o, end))
    return HEADER + length + TRAILER


def check(b, o, end):
    """Length of a valid record at b[o:], or 0 if there is none there (short, bad sync,
    impossible length or CRC mismatch)."""
    if end - o < OVERHEAD or b[o] != SYNC:
        return 0
    length = get_u16(b, o + 2)
    if length > MAX_PAYLOAD or o + OVERHEAD + length > end:
        return 0
    stop = o + HEADER + length
    if crc(b, o, stop) != get_u32(b, stop):
        return 0
    return OVERHEAD + length


# Jumps not yet written, mirrored in RTC memory (eventlog.on_pending, written by app.py, read
# back by logboot.py): "JP", session id u32, count u8, a pad byte, then the jumps in the
# JUMPS record's layout. PENDING_BYTES holds a full JUMPS record's worth.
PENDING_BYTES = const(328)  # 8 + 32 * JUMP_BYTES
RTC_PENDING_AT = const(32)  # where the block starts in RTC memory: after daily.py's block (0-25)


def put_pending(mem, o, sid, buf, at, n, copy=None):
    """Write the block at mem[o:]: n jumps from buf[at:] (n = 0 marks it empty). copy(dst,
    dst_offset, src, src_offset, count), if given, moves the jumps' bytes without the slices'
    allocation (the clip's, once or twice a landing: app.py)."""
    if n == 0:
        mem[o] = 0
        return
    mem[o] = 0x4A  # "J"
    mem[o + 1] = 0x50  # "P"
    put_u32(mem, o + 2, sid)
    mem[o + 6] = n
    if copy is not None:
        copy(mem, o + 8, buf, at, n * JUMP_BYTES)
        return
    mem[o + 8 : o + 8 + n * JUMP_BYTES] = buf[at : at + n * JUMP_BYTES]


def jump_bytes(rtype):
    """Bytes per jump in a JUMPS record of this type (0: not a JUMPS record)."""
    if rtype == T_JUMPS:
        return JUMP_BYTES
    if rtype == T_JUMPS_V1:
        return JUMP_BYTES_V1
    return 0


def pending_jumps(block, sid, after_t):
    """(t, air, peak, filtered peak) of the block's jumps of session sid later than after_t."""
    out = []  # type: list
    if not block or len(block) < 8 or block[0] != 0x4A or block[1] != 0x50 or get_u32(block, 2) != sid:
        return out
    for k in range(block[6]):
        o = 8 + k * JUMP_BYTES
        if o + JUMP_BYTES > len(block):
            break
        t = get_u32(block, o)
        if t > after_t:
            out.append((t, get_u16(block, o + 4), get_u16(block, o + 6), get_u16(block, o + 8)))
    return out


def segment_name(first_seq):
    return "%08d%s" % (first_seq, SEGMENT_SUFFIX)


def read_seq(path):
    """A record number kept in a file (log/ack: the newest record the host holds), or -1
    when the file is missing or damaged: not a number, or outside 0..2**30 (the next
    record number would leave 32 bits or the ESP32's small ints, and a huge acknowledgement
    would make the clip delete segments the host does not hold)."""
    try:
        with open(path, "rb") as f:
            v = int(f.read(16).strip())
    except (OSError, ValueError):
        return -1
    return v if 0 <= v < ID_LIMIT else -1


def segment_seq(name):
    """First sequence number of a segment file name, or -1 if it is not a segment."""
    if len(name) != 8 + len(SEGMENT_SUFFIX) or not name.endswith(SEGMENT_SUFFIX):
        return -1
    digits = name[:8]
    for ch in digits:
        if ch < "0" or ch > "9":
            return -1
    return int(digits)
