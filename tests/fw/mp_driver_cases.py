# MPU6050 driver against the register model, and the zero-allocation proof, under the
# MicroPython unix port only (the driver uses viper and micropython.heap_lock).
import array

import micropython

import simcore
from mpu6050_model import MPU6050Model

import detector
import mpu6050


def board(who=0x68, present=True):
    simcore.sim = simcore.Sim({"feed": None})
    simcore.sim.frozen = True  # register tests: the clock moves only by advance_ms, not host time
    model = None
    if present:
        model = MPU6050Model(None, who)
        simcore.sim.devices[0x68] = model
        simcore.sim.device_list.append(model)
    import machine

    return machine.I2C(0, freq=400_000), model


def advance_ms(ms):
    simcore.sim.advance(ms * 1000)


def expect_oserror(fn, *words):
    try:
        fn()
    except OSError as e:
        msg = str(e)
        for w in words:
            assert w in msg, msg
        return
    raise AssertionError("no OSError")


def test_missing_sensor_names_the_address():
    i2c, _ = board(present=False)
    expect_oserror(lambda: mpu6050.MPU6050(i2c), "not found", "0x68")


def test_unknown_who_am_i_is_refused():
    i2c, _ = board(who=0x12)
    expect_oserror(lambda: mpu6050.MPU6050(i2c), "0x68", "0x12", "not an MPU6050")


def test_other_families_are_refused_with_the_reason():
    # WHO_AM_I of the MPU-6500 family and the ICM-20689 (Linux inv_mpu_core.c): their filter
    # and wake registers differ, so the driver refuses them instead of misconfiguring them.
    for who, name in ((0x70, "MPU-6500"), (0x71, "MPU-9250"), (0x73, "MPU-9255"), (0x98, "ICM-20689")):
        i2c, _ = board(who=who)
        expect_oserror(lambda: mpu6050.MPU6050(i2c), name, "0x%02x" % who, "wake-on-motion")


def test_a_read_of_the_empty_fifo_repeats_the_last_byte():
    # Register map 4.33: an empty FIFO_R_W returns the last byte read. The driver reads only
    # whole samples it has counted, so it never sees these.
    i2c, model = board()
    s = mpu6050.MPU6050(i2c)
    s.configure(200, 16, 94)
    advance_ms(10)
    buf = bytearray(6 * s.samples_waiting())
    s.read_fifo_into(buf)
    more = bytearray(3)
    model.count = 0
    model.catch_up = lambda now: None  # hold the FIFO empty
    s.read_fifo_into(more)
    assert more == bytearray([buf[-1]] * 3)


def test_reset_waits_for_a_slow_part():
    # A DEVICE_RESET takes about 100 ms (Linux INV_MPU6050_POWER_UP_TIME); allow 250 ms.
    i2c, model = board()
    model.reset_us = 250_000
    s = mpu6050.MPU6050(i2c)
    s.configure(200, 16, 94)
    assert model.regs[0x6B] & 0x40 == 0  # awake: the configuration was not lost


def test_range_and_rate_reach_the_registers():
    i2c, model = board()
    s = mpu6050.MPU6050(i2c)
    s.configure(200, 16, 94)
    assert model.period_us == 5000 and model.shift() == 3
    advance_ms(50)
    n = s.samples_waiting()
    assert 9 <= n <= 10, n
    buf = bytearray(6 * n)
    s.read_fifo_into(buf)
    out = array.array("h", [0] * (3 * n))
    mpu6050.decode(buf, out, 3 * n, 0)
    assert out[2] == 2048 and out[0] == 0  # 1 g at +-16 g
    s.configure(1000, 8, 94)
    assert model.period_us == 1000 and model.shift() == 2
    advance_ms(20)
    n = s.samples_waiting()
    # 20 ms at 1 kHz, plus the bus time of the register writes since the FIFO's reset and
    # the CPU time charged for what was read before (docs/virtual-board.md): up to a sample more.
    assert 19 <= n <= 21, n
    s.read_fifo_into(memoryview(buf)[:6])
    mpu6050.decode(buf, out, 3, 0)
    assert out[2] == 4096  # 1 g at +-8 g
    s.configure(100, 2, 260)  # DLPF off: 8 kHz gyro clock, divider 79
    assert model.period_us == 10000 and model.shift() == 0


def test_unreachable_rate_is_refused():
    i2c, _ = board()
    s = mpu6050.MPU6050(i2c)
    try:
        s.configure(300, 16, 94)
    except ValueError as e:
        assert "300" in str(e)
        return
    raise AssertionError("rate 300 accepted")


def test_partial_sample_waits_for_the_next_read():
    i2c, model = board()
    s = mpu6050.MPU6050(i2c)
    s.configure(200, 16, 94)
    advance_ms(50)
    whole = s.samples_waiting()
    model.push(0x12)  # a sample being written: 3 of its 6 bytes are in
    model.push(0x34)
    model.push(0x56)
    assert s.fifo_count() == 6 * whole + 3
    assert s.samples_waiting() == whole


def test_overflow_is_detected_counted_and_cleared():
    i2c, model = board()
    s = mpu6050.MPU6050(i2c)
    s.configure(200, 16, 94)
    advance_ms(500)
    assert s.samples_waiting() > 0
    advance_ms(1500)  # 400 samples: far more than the 170 the FIFO holds
    assert model.overflows == 1
    assert s.samples_waiting() == -1
    assert s.fifo_overflows == 1 and s.fifo_count() == 0
    assert s.samples_waiting() == 0


def test_a_stuck_overflow_bit_is_not_an_overflow():
    # Some parts report FIFO overflow all the time (Linux inv_mpu6050, commit 6e82ae6b8d11):
    # the driver judges by the count, so the samples are read, not thrown away.
    i2c, model = board()
    model.oflow_stuck = True
    s = mpu6050.MPU6050(i2c)
    s.configure(200, 16, 94)
    advance_ms(300)
    assert 59 <= s.samples_waiting() <= 61 and s.fifo_overflows == 0


def test_viper_decode_equals_portable():
    import random

    raw = bytearray(6 * 64)
    for i in range(len(raw)):
        raw[i] = random.getrandbits(8)
    raw[0], raw[1], raw[2], raw[3] = 0x80, 0x00, 0x7F, 0xFF  # -32768, 32767
    a = array.array("h", [0] * 192)
    b = array.array("h", [0] * 192)
    mpu6050.decode(raw, a, 192, 0)
    mpu6050.decode_portable(raw, b, 192, 0)
    assert a == b and a[0] == -32768 and a[1] == 32767
    # Every path: word pairs (aligned), the odd word after them, and byte by byte where
    # either buffer is not word-aligned (a source at an odd offset, a destination at an odd
    # word); nothing outside dst[at:at + nwords] is written.
    mv = memoryview(raw)
    for off, nwords, at in ((0, 191, 0), (0, 3, 0), (0, 1, 0), (1, 96, 0), (2, 96, 0), (0, 96, 1), (6, 95, 2), (4, 0, 0)):
        a = array.array("h", [7] * 192)
        b = array.array("h", [7] * 192)
        mpu6050.decode(mv[off:], a, nwords, at)
        mpu6050.decode_portable(mv[off:], b, nwords, at)
        assert a == b, (off, nwords, at)
        assert a[:at] == array.array("h", [7] * at) and a[at + nwords :] == array.array("h", [7] * (192 - at - nwords)), (off, nwords, at)


def test_forces_add_equals_the_ring_rule():
    # Forces.add (viper): sample i of s goes to ring sample (t + i) mod size, on both of its
    # paths (whole words: t and n even; one value at a time: either odd), wrapping or not,
    # from an array's start or from a memoryview at an odd value; t moves on by n.
    import forces

    f = forces.Forces(200, 16, 32)
    size = f.size
    src = array.array("h", [(7 * k) % 65536 - 32768 for k in range(3 * (size + 8))])
    for pos, n, off in ((0, 16, 0), (size - 6, 12, 0), (size - 1, 3, 0), (7, 9, 0), (4, 6, 1), (2 * size - 2, 16, 0),
                        (3, 0, 0), (size - 2, 5, 2), (0, size, 0)):
        for k in range(3 * size):
            f.ring[k] = 1
        want = array.array("h", [1] * (3 * size))
        for i in range(n):
            for a in range(3):
                want[3 * ((pos + i) % size) + a] = src[3 * i + off + a]
        f.t = pos
        f.add(memoryview(src)[off:], n)
        assert f.ring == want and f.t == pos + n, (pos, n, off)


def test_heap_lock_really_catches_allocation():
    # Negative control: the proofs below would be worthless if heap_lock did not bite.
    micropython.heap_lock()
    try:
        x = [1, 2, 3]
        caught = False
    except MemoryError:
        caught = True
    micropython.heap_unlock()
    assert caught


def test_read_decode_detect_allocate_nothing():
    i2c, model = board()
    s = mpu6050.MPU6050(i2c)
    s.configure(200, 16, 94)
    det = detector.Detector(None, 200, 16)
    raw = bytearray(32 * 6)
    samples = array.array("h", [0] * 96)
    advance_ms(400)
    micropython.heap_lock()
    try:
        for _ in range(5):  # five wake-ups: count (and overflow), burst reads, detector
            n = s.samples_waiting()
            while n >= 32:
                s.read_fifo_into(raw)
                mpu6050.decode(raw, samples, 96, 0)
                i = 0
                while i < 32:
                    i = det.feed(samples, i, 32)
                    det.n_events = 0
                n -= 32
            simcore.sim.advance(160_000)
    finally:
        micropython.heap_unlock()
    assert det.t >= 5 * 32


LANDINGS = 12  # three_clipped_jumps(): 3 clipped, 8 hops, the first tilted landing
SCENARIO = {"series_tilts": 1}  # ... which counts with its series when one tilted landing is allowed


def three_clipped_jumps():
    """(samples, n): worst-case values first, then three landings clipped at the range (one
    isolated, two long flights), then a rebound series of 8 hops with its held landings,
    two tilted landings (the first counts with the proven series, the second ends it) and a
    series of 4 that never proves itself: LANDINGS count."""
    import fw_detector_cases as cases

    sig = cases.Signal()
    sig.hold(1.0, 200)
    for f in (40, 60, 80):
        sig.jump(flight_samples=f, landing_g=30.0)
        sig.hold(1.0, 30)
    sig.hops(8, flight_samples=34)
    sig.jump(flight_samples=30, tilt=True)
    sig.jump(flight_samples=30, tilt=True)
    sig.hops(4, flight_samples=34)
    sig.hold(1.0, 30)
    s = sig.samples()
    s[0], s[1], s[2] = -32768, -32768, -32768
    return s, len(sig.z)


def test_detector_with_events_allocates_nothing():
    # Worst-case values and real landings (events, flights, peaks), under heap_lock.
    s, n = three_clipped_jumps()
    det = detector.Detector(SCENARIO, 200, 16)
    got = 0
    micropython.heap_lock()
    try:
        i = 0
        while i < n:
            i = det.feed(s, i, n)
            got += det.n_events
            det.n_events = 0
        det.finish()
        got += det.n_events
    finally:
        micropython.heap_unlock()
    assert got == LANDINGS


def test_viper_detector_allocates_nothing():
    import detector_viper

    s, n = three_clipped_jumps()
    det = detector.Detector(SCENARIO, 200, 16)
    det.feed(s, 0, 1)  # warm-up call outside the lock
    got = 0
    micropython.heap_lock()
    try:
        i = 1
        while i < n:
            i = detector_viper.feed(det, s, i, n)
            got += det.n_events
            det.n_events = 0
    finally:
        micropython.heap_unlock()
    det.finish()
    assert got + det.n_events == LANDINGS


def test_filtered_peaks_allocate_nothing():
    # The clip's whole path per wake, under heap_lock: the ring copy, the detector, and each
    # landing's filtered peak (forces.py, impact.py), handed to the log.
    from forces import Forces

    s, n = three_clipped_jumps()
    det = detector.Detector(SCENARIO, 200, 16)
    forces = Forces(200, 16, 160, det.peak_window)
    got = array.array("i", [0] * 32)
    state = array.array("i", [0])

    class Log:
        def set_force(self, t, v):
            k = state[0]
            if k < 32:
                got[k] = v
                state[0] = k + 1

    log = Log()
    batch = array.array("h", [0] * (3 * 160))
    micropython.heap_lock()
    try:
        i = 0
        while i < n:
            m = n - i if n - i < 160 else 160
            k = 0
            while k < 3 * m:
                batch[k] = s[3 * i + k]
                k += 1
            forces.add(batch, m)
            j = 0
            while j < m:
                j = det.feed(batch, j, m)
                e = 0
                while e < det.n_events:
                    forces.landed(det.ev_index[e], log)
                    e += 1
                det.n_events = 0
            forces.watch(det)
            forces.resolve(log)
            i += m
        while not det.finish():
            pass
        e = 0
        while e < det.n_events:
            forces.landed(det.ev_index[e], log)
            e += 1
        forces.resolve(log, True)
    finally:
        micropython.heap_unlock()
    assert state[0] == LANDINGS
    k = 0
    while k < LANDINGS:
        assert got[k] & 0x7FFF > 1000  # a filtered peak of every landing, in milli-g
        k += 1


def test_held_landings_keep_their_own_filtered_peaks():
    # A rebound series is counted seconds after its first landings, when their samples have
    # left the clip's ring: each held landing's filtered peak is kept while the ring has it.
    # Landings of different heights, so that a peak taken from the wrong samples shows.
    import fw_detector_cases as cases
    from forces import Forces
    from impact import ImpactPeak

    sig = cases.Signal()
    sig.hold(1.0, 200)
    for k in range(10):
        sig.hold(0.05, 34)
        sig.ramp(0.3, 3.0 + 0.4 * k, 4)
        sig.ramp(3.0 + 0.4 * k, 1.0, 12)
        sig.ramp(1.0, 2.5, 25)
        sig.ramp(2.5, 1.0, 25)
    sig.hold(1.0, 200)
    s = sig.samples()
    n = len(sig.z)
    det = detector.Detector(None, 200, 16)
    forces = Forces(200, 16, 96, det.peak_window)
    got = {}

    class Log:
        def set_force(self, t, v):
            got[t] = v

    log = Log()
    counted = []
    batch = array.array("h", [0] * (3 * 96))
    i = 0
    while i < n:
        m = n - i if n - i < 96 else 96
        for k in range(3 * m):
            batch[k] = s[3 * i + k]
        forces.add(batch, m)
        j = 0
        while j < m:
            j = det.feed(batch, j, m)
            for e in range(det.n_events):
                counted.append(det.ev_index[e])
                forces.landed(det.ev_index[e], log)
            det.n_events = 0
        forces.watch(det)
        forces.resolve(log)
        i += m
    forces.resolve(log, True)
    assert len(counted) == 10 and sorted(got) == counted
    ref = ImpactPeak(200, 16)
    for t in counted:  # the same window from the whole signal
        for k in range(ref.n):
            q = t - ref.half + k
            q = 0 if q < 0 else (n - 1 if q > n - 1 else q)
            ref.win[3 * k] = s[3 * q]
            ref.win[3 * k + 1] = s[3 * q + 1]
            ref.win[3 * k + 2] = s[3 * q + 2]
        assert got[t] == ref.peak(ref.win), (t, got[t], ref.peak(ref.win))


def test_the_motion_filter_follows_the_register_map():
    # RM rev 3.2 / i2cdevlib ACCEL_HPF: "reset" settles the output to zero (never motion);
    # "hold" holds the present sample and outputs the difference. Both settling sequences
    # that end in hold see a landing and nothing while still.
    import mpu6050_model as m

    still = [0, 0, 16384]  # 1 g on z, in 1/16384 g
    landing = [0, 0, 3 * 16384]

    def run(modes):
        _, model = board()
        model.regs[m.MOT_THR] = 20  # 40 mg
        model.regs[m.MOT_DUR] = 1
        t = 0
        for k, (mode, samples) in enumerate(modes):
            model.regs[m.ACCEL_CONFIG] = mode
            if k == len(modes) - 1:  # armed last, as the driver does: nothing latched before
                model.regs[m.INT_ENABLE] = 0x40
                model.regs[m.INT_STATUS] = 0
            for _ in range(samples):
                t += 1000
                model.motion(still, t)
        quiet = model.regs[m.INT_STATUS] & 0x40
        model.motion(landing, t + 1000)
        return quiet, model.regs[m.INT_STATUS] & 0x40

    assert run([(0, 300)]) == (0, 0)  # left at reset: a landing is never seen
    assert run([(0, 10), (m.HPF_HOLD, 300)]) == (0, 0x40)  # kriswiner: reset, wait, hold
    assert run([(1, 300), (m.HPF_HOLD, 300)]) == (0, 0x40)  # the firmware: 5 Hz, wait, hold


def test_viper_impact_counter_allocates_nothing():
    # The clip's impact bands (impacts_viper.feed): real landings and rails, under heap_lock.
    import impacts
    import impacts_viper

    s, n = three_clipped_jumps()
    imp = impacts.Impacts(200, 16, 3900)
    impacts_viper.feed(imp, s, 0, 1)  # warm-up call outside the lock
    imp.reset()
    got = 0
    micropython.heap_lock()
    try:
        i = 0
        while i < n:
            i = impacts_viper.feed(imp, s, i, n)
            got += imp.n_events
            imp.n_events = 0
    finally:
        micropython.heap_unlock()
    assert got >= LANDINGS and sum(imp.bands) >= got, (got, list(imp.bands))
