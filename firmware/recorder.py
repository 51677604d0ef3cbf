# `jumpclip record`, device side: stream raw FIFO samples to the host for a new trace.
#
#   JCREC {json}\n          rate, range, DLPF, device, firmware
#   "JR" seq u16, flags u8, n u8, n*6 bytes (big-endian x, y, z as in the FIFO), crc u32
#   "JE" total samples u32, FIFO overflows u16, crc u32
#
# flags bit 0: the FIFO overflowed before this batch (samples were lost there). The sequence
# number lets the host see a dropped batch. With the counting loop's App given, the clip
# counts what it records: each batch sent also goes through the open session's detector.
import binascii
import json
import select
import sys

import machine

import board
import lease
import logformat as lf
from mpu6050 import SAMPLE_BYTES, MPU6050, decode

_BATCH = 32


def _crc_tail(out, head, body):
    c = binascii.crc32(body, binascii.crc32(head)) & 0xFFFFFFFF
    tail = bytearray(4)
    lf.put_u32(tail, 0, c)
    out.write(head)
    out.write(body)
    out.write(tail)


def record(seconds, cfg=None, i2c=None, app=None):
    """app: the counting loop's App (main.py's), or None on a board without one. Its sensor
    is already running with the config's rate and range: recording reads that FIFO, and the
    session the host's arrival held open counts every batch."""
    # The FIFO is the recording's now: the held session's timer waits (claim_fifo).
    counting = app is not None and app.sensor is not None and app.session_open and app.claim_fifo()
    if counting:
        app.draining = False  # ... and a flush's erase must not take its samples
        try:
            app.read_remainder(True)  # what came before the recording: counted, not recorded
            _record(seconds, app.cfg, app.sensor, app)
        finally:
            app.draining = True
            app.fifo_busy = False
        return
    if cfg is None:
        from app import load_config

        cfg = load_config()[0]
    if i2c is None:
        i2c = app.i2c if app is not None else machine.I2C(
            board.I2C_ID, scl=machine.Pin(board.I2C_SCL), sda=machine.Pin(board.I2C_SDA), freq=board.I2C_FREQ)
    try:
        s = MPU6050(i2c, board.MPU_ADDR)
        s.configure(cfg["rate_hz"], cfg["range_g"], cfg["dlpf_hz"])
    except OSError as e:
        print("JCERR %s" % e)  # the host says it in one line: a sensor problem, not the firmware
        return
    if app is not None:
        app.sensor = None  # reconfigured here: the loop configures it afresh when it resumes
    _record(seconds, cfg, s, None)


def _record(seconds, cfg, s, app):
    import time

    rate = cfg["rate_hz"]
    overflows_before = s.fifo_overflows  # the loop's sensor has counted since boot
    try:
        from app import VERSION
    except ImportError:
        VERSION = "unknown"
    info = {"rate_hz": rate, "range_g": cfg["range_g"], "dlpf_hz": cfg["dlpf_hz"],
            "device": binascii.hexlify(machine.unique_id()).decode(), "firmware": VERSION}
    print("JCREC " + json.dumps(info))
    out = sys.stdout.buffer
    poll = select.poll()
    poll.register(sys.stdin, select.POLLIN)
    raw = bytearray(_BATCH * SAMPLE_BYTES)
    head = bytearray(6)
    head[0] = 0x4A  # "J"
    head[1] = 0x52  # "R"
    target = seconds * rate
    total = 0
    seq = 0
    flag = 0
    wake_ms = 60 * 1000 // rate  # about a third of the FIFO: never near overflow
    while total < target:
        began = time.ticks_ms()
        lease.renew()  # feeds the watchdog: a long recording is the host at work
        if poll.poll(0):
            break  # the host wants to stop early
        n = s.samples_waiting()
        if n < 0:
            flag = 1  # carried to the next batch sent: the samples before it were lost
            n = 0
            if app is not None:
                app.fifo_overflows += 1
        while n >= _BATCH and total < target:
            if not s.read_fifo_into(raw):
                flag = 1  # a read failed part-way: the FIFO restarted, samples were lost there
                break
            lf.put_u16(head, 2, seq & 0xFFFF)
            head[4] = flag
            head[5] = _BATCH
            _crc_tail(out, head, raw)
            if app is not None:  # and counted, as the loop would have
                decode(raw, app.samples, _BATCH * 3, 0)  # type: ignore[arg-type]
                app.process(_BATCH)
            flag = 0
            seq += 1
            total += _BATCH
            n -= _BATCH
        # No light sleep: USB is busy. The batches took their wire time (the UART sends at
        # its baud rate, and at 1 kHz that is most of the interval): sleep only what is left.
        left = wake_ms - time.ticks_diff(time.ticks_ms(), began)
        if left > 0:
            time.sleep_ms(left)
    end = bytearray(6)
    lf.put_u32(end, 0, total)
    lf.put_u16(end, 4, s.fifo_overflows - overflows_before)
    _crc_tail(out, b"JE", end)
