# `jumpclip record`, device side: stream raw FIFO samples to the host for a new trace.
#
#   JCREC {json}\n          rate, range, DLPF, device, firmware
#   "JR" seq u16, flags u8, n u8, n*6 bytes (big-endian x, y, z as in the FIFO), crc u32
#   "JE" total samples u32, FIFO overflows u16, crc u32
#
# flags bit 0: the FIFO overflowed before this batch (samples were lost there). The sequence
# number lets the host see a dropped batch. Counting stops while recording; the host restarts it.
import binascii
import json
import select
import sys

import machine

import board
import lease
import logformat as lf
from mpu6050 import SAMPLE_BYTES, MPU6050

_BATCH = 32


def _crc_tail(out, head, body):
    c = binascii.crc32(body, binascii.crc32(head)) & 0xFFFFFFFF
    tail = bytearray(4)
    lf.put_u32(tail, 0, c)
    out.write(head)
    out.write(body)
    out.write(tail)


def record(seconds, cfg=None, i2c=None):
    import time

    if cfg is None:
        from app import load_config

        cfg = load_config()[0]
    if i2c is None:
        i2c = machine.I2C(board.I2C_ID, scl=machine.Pin(board.I2C_SCL), sda=machine.Pin(board.I2C_SDA), freq=board.I2C_FREQ)
    rate = cfg["rate_hz"]
    try:
        s = MPU6050(i2c, board.MPU_ADDR)
        s.configure(rate, cfg["range_g"], cfg["dlpf_hz"])
    except OSError as e:
        print("JCERR %s" % e)  # the host says it in one line: a sensor problem, not the firmware
        return
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
        while n >= _BATCH and total < target:
            if not s.read_fifo_into(raw):
                flag = 1  # a read failed part-way: the FIFO restarted, samples were lost there
                break
            lf.put_u16(head, 2, seq & 0xFFFF)
            head[4] = flag
            head[5] = _BATCH
            _crc_tail(out, head, raw)
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
    lf.put_u16(end, 4, s.fifo_overflows)
    _crc_tail(out, b"JE", end)
