# Config validation tests, shared by both interpreters (the device and `jumpclip config`).
import config


def test_defaults_are_valid():
    cfg, errors = config.validate({})
    assert errors == []
    assert cfg == config.defaults()


def test_bad_values_fall_back_with_a_reason():
    cfg, errors = config.validate({"impact_g": 99, "rate_hz": 300, "flight": "yes", "bogus": 1})
    assert cfg["impact_g"] == config.defaults()["impact_g"]
    assert cfg["rate_hz"] == 200 and cfg["flight"] is True
    assert len(errors) == 4
    assert "impact_g=99 not allowed (1.1..15.0)" in errors[0] or any("impact_g=99" in e for e in errors)
    assert any("unknown key 'bogus'" in e for e in errors)


def test_good_values_are_kept():
    cfg, errors = config.validate({"impact_g": 3, "rate_hz": 1000, "range_g": 8, "flight": False})
    assert errors == []
    assert cfg["impact_g"] == 3.0 and cfg["rate_hz"] == 1000 and cfg["range_g"] == 8 and cfg["flight"] is False


def test_rearm_above_impact_is_corrected():
    cfg, errors = config.validate({"impact_g": 2.0, "rearm_g": 3.0})
    assert cfg["rearm_g"] == 2.0 and len(errors) == 1


def test_not_an_object():
    cfg, errors = config.validate([1, 2])
    assert cfg == config.defaults() and len(errors) == 1


def test_missing_and_corrupt_files():
    cfg, errors = config.load("/no/such/config.json")
    assert cfg == config.defaults() and errors == []
    path = "fw_corrupt_config.json"
    with open(path, "w") as f:
        f.write('{"impact_g": 2.5,')
    try:
        cfg, errors = config.load(path)
    finally:
        import os

        os.remove(path)
    assert cfg == config.defaults()
    assert len(errors) == 1 and "not valid JSON" in errors[0]


def test_hash_is_stable_and_sensitive():
    a = config.config_hash(config.defaults())
    assert a == config.config_hash(config.validate({})[0])
    assert a != config.config_hash(config.validate({"impact_g": 2.1})[0])
    assert 0 <= a < (1 << 32)


def test_impact_beyond_range_widens_the_range():
    cfg, errors = config.validate({"impact_g": 5.0, "range_g": 4})
    assert cfg["range_g"] == 16 and len(errors) == 1 and "range" in errors[0]


def test_retired_keys_are_ignored_with_the_reason():
    # A clip updated from older firmware may still have these in its config.json.
    cfg, errors = config.validate({"profile": "running", "stride_guard_ms": 800, "min_flight_ms": 120})
    assert cfg["min_flight_ms"] == 120 and cfg == dict(config.defaults(), min_flight_ms=120)
    assert len(errors) == 2
    assert errors[0].startswith("profile is no longer a setting") and "ignored" in errors[0]
    assert errors[1].startswith("stride_guard_ms is no longer a setting")


def test_non_finite_and_huge_numbers_fall_back():
    inf = float("inf")
    nan = float("nan")
    for key in ("refractory_ms", "min_flight_ms", "wdt_ms", "impact_g", "rate_hz", "qualify_g"):
        for bad in (inf, -inf, nan, 1e300, -(10**40), 10**40):
            cfg, errors = config.validate({key: bad})
            assert cfg[key] == config.defaults()[key], (key, bad)
            assert len(errors) == 1 and errors[0].startswith(key + "="), (key, bad, errors)


def test_hostile_config_files_give_defaults_and_one_reason():
    path = "_hostile.json"
    cases = ('{"refractory_ms": 1e999}', '{"wdt_ms": NaN}', None, "[" * 5000 + "]" * 5000, '{"a": "' + "x" * 10000 + '"}', "\x00\xff", "[" * 200 + "]" * 200, '{"a": "' + "x" * 3000 + '"}')
    for text in cases:
        with open(path, "w") as f:
            if text is None:  # 20,000 keys, written piecewise (the device's heap is small)
                f.write("{")
                for i in range(20000):
                    f.write('"k%d": %d, ' % (i, i))
                f.write('"end": 0}')
            else:
                f.write(text)
        cfg, errors = config.load(path)
        for k in ("rate_hz", "wdt_ms", "refractory_ms"):
            assert cfg[k] == config.defaults()[k]
        assert 1 <= len(errors) <= config.MAX_ERRORS
        for e in errors:
            assert len(e) < 200, e  # a note costs the log little
    import os

    os.remove(path)


def test_many_bad_keys_are_summarised():
    cfg, errors = config.validate(dict(("bad%d" % i, i) for i in range(50)))
    assert cfg == config.defaults()
    assert len(errors) == config.MAX_ERRORS and errors[-1] == "46 more problems"
