# Device configuration: defaults, validation and loading of config.json.
#
# Shared with the desktop (`jumpclip config set` validates with these same rules), so it
# must run under MicroPython and CPython alike. A bad value never stops the clip: it falls
# back to its default and the reason is kept in the error list, which the app reports.

import json

from detector import DEFAULTS as _DETECTOR_DEFAULTS

# Keys that older firmware read. A config that still has them is counted with the defaults
# and told why: one default now counts isolated jumps and rebound series and rejects strides,
# so there is no activity profile to choose.
RETIRED = {  # type: dict
    "profile": "the default counts jumps, hops and skipping and rejects strides",
    "stride_guard_ms": "strides are now told apart by rhythm and verticality",
}

# key: (default, kind, allowed). kind "f" float range, "i" int range, "b" bool,
# "c" numeric choice, "s" text choice.
SCHEMA = {  # type: dict
    "impact_g": (_DETECTOR_DEFAULTS["impact_g"], "f", (1.1, 15.0)),
    "rearm_g": (_DETECTOR_DEFAULTS["rearm_g"], "f", (1.0, 15.0)),
    "refractory_ms": (_DETECTOR_DEFAULTS["refractory_ms"], "i", (0, 2000)),
    "peak_window_ms": (_DETECTOR_DEFAULTS["peak_window_ms"], "i", (0, 500)),  # at least the 40 ms impact window
    "flight": (_DETECTOR_DEFAULTS["flight"], "b", None),
    "freefall_g": (_DETECTOR_DEFAULTS["freefall_g"], "f", (0.05, 0.95)),
    "min_flight_ms": (_DETECTOR_DEFAULTS["min_flight_ms"], "i", (5, 1000)),
    "max_flight_ms": (_DETECTOR_DEFAULTS["max_flight_ms"], "i", (0, 3000)),
    "flight_gap_ms": (_DETECTOR_DEFAULTS["flight_gap_ms"], "i", (0, 100)),
    "landing_window_ms": (_DETECTOR_DEFAULTS["landing_window_ms"], "i", (0, 1000)),
    "series_flight_ms": (_DETECTOR_DEFAULTS["series_flight_ms"], "i", (5, 1000)),
    "isolation_ms": (_DETECTOR_DEFAULTS["isolation_ms"], "i", (0, 10000)),
    "series_min": (_DETECTOR_DEFAULTS["series_min"], "i", (1, 10)),
    "vertical_ratio": (_DETECTOR_DEFAULTS["vertical_ratio"], "f", (0.0, 3.0)),
    "long_flight_ms": (_DETECTOR_DEFAULTS["long_flight_ms"], "i", (0, 3000)),
    "series_tilts": (_DETECTOR_DEFAULTS["series_tilts"], "i", (0, 3)),
    "series_long_ms": (_DETECTOR_DEFAULTS["series_long_ms"], "i", (0, 1000)),
    # Sensor. The accelerometer runs at 1 kHz / (1 + SMPLRT_DIV): these rates divide it.
    "rate_hz": (200, "c", (100, 125, 200, 250, 500, 1000)),
    "range_g": (16, "c", (2, 4, 8, 16)),
    "dlpf_hz": (94, "c", (260, 184, 94, 44, 21, 10, 5)),
    # Bone loading (README: sources): landings at least this hard count towards the target.
    "qualify_g": (3.9, "f", (1.5, 15.0)),
    "daily_target": (50, "i", (1, 1000)),
    # What the target counts: impacts of at least qualify_g from any movement (impacts.py),
    # as the studies behind 3.9 g counted them, or landings after a flight only.
    "target_counts": ("impacts", "s", ("impacts", "landings")),
    # Bouts (bouts.py: sources): a break this long starts a new bout; a bout this big has
    # done its work (the LED says "enough for now").
    "bout_gap_min": (30, "i", (1, 480)),
    "bout_size": (40, "i", (5, 500)),
    # Power.
    "idle_min": (10, "i", (0, 240)),  # no landing and no motion this long: deep sleep (0: never)
    "low_battery_mv": (3400, "i", (3000, 4000)),
    # Main loop.
    "sleep": (True, "b", None),  # light sleep between FIFO reads
    "echo_events": (True, "b", None),  # print each landing on the USB console
    "wdt_ms": (8000, "i", (2000, 60000)),
}

DETECTOR_KEYS = tuple(_DETECTOR_DEFAULTS)


def defaults():
    d = {}
    for k in SCHEMA:
        d[k] = SCHEMA[k][0]
    return d


def describe(key):
    """Allowed values of key, as a short human text."""
    _, kind, allowed = SCHEMA[key]
    if kind == "b":
        return "true or false"
    if kind in ("c", "s"):
        return "one of " + ", ".join(str(v) for v in allowed)
    return "%s..%s" % (allowed[0], allowed[1])


def check(key, value):
    """Return (value, None) if value is allowed for key, else (None, reason)."""
    if key not in SCHEMA:
        return None, "unknown key %s" % _short(key)
    _, kind, allowed = SCHEMA[key]
    if kind == "b":
        if value is True or value is False:
            return value, None
    elif kind == "s":
        if value in allowed:
            return value, None
    elif isinstance(value, bool):
        pass  # JSON true is not a number here
    elif kind == "c":
        if isinstance(value, (int, float)) and value in allowed:
            return int(value), None
    elif isinstance(value, (int, float)):
        # The range check comes first: it also refuses inf, -inf and NaN (every comparison
        # with NaN is false), which int() would raise on.
        if allowed[0] <= value <= allowed[1] and (kind != "i" or value == int(value)):
            return (int(value) if kind == "i" else float(value)), None
    return None, "%s=%s not allowed (%s)" % (key, _short(value), describe(key))


def _short(value):
    """repr of a user's value, cut short: a note must not cost the log much."""
    r = repr(value)
    return r if len(r) <= 40 else r[:37] + "..."


MAX_ERRORS = 5  # reported one by one; the rest are counted
MAX_BYTES = 4096  # a full config is ~600 bytes; a bigger file is not read (heap)


def validate(raw):
    """Return (config, errors): every key present, bad or unknown values replaced by defaults."""
    cfg, errors = _validate(raw)
    if len(errors) > MAX_ERRORS:
        errors = errors[: MAX_ERRORS - 1] + ["%d more problems" % (len(errors) - MAX_ERRORS + 1)]
    return cfg, errors


def _validate(raw):
    cfg = defaults()
    errors = []
    if not isinstance(raw, dict):
        return cfg, ["config is not a JSON object; using defaults"]
    for key in raw:
        if key in RETIRED:
            errors.append("%s is no longer a setting (%s); ignored" % (key, RETIRED[key]))
            continue
        value, err = check(key, raw[key])
        if err:
            errors.append(err + ("" if key not in SCHEMA else "; using %r" % cfg[key]))
        else:
            cfg[key] = value
    if cfg["rearm_g"] > cfg["impact_g"]:
        errors.append(
            "rearm_g=%r above impact_g=%r; using %r" % (cfg["rearm_g"], cfg["impact_g"], cfg["impact_g"])
        )
        cfg["rearm_g"] = cfg["impact_g"]
    if cfg["impact_g"] >= cfg["range_g"]:  # one clipped axis reads just under range_g
        errors.append(
            "impact_g=%r is not below the +-%d g range; using range_g=16" % (cfg["impact_g"], cfg["range_g"])
        )
        cfg["range_g"] = 16
    if cfg["max_flight_ms"] and cfg["max_flight_ms"] < cfg["min_flight_ms"]:
        errors.append("max_flight_ms below min_flight_ms; using no upper limit")
        cfg["max_flight_ms"] = 0
    return cfg, errors


def load(path="config.json"):
    """Read and validate config.json. Never raises: problems come back as error strings."""
    import os

    try:
        size = os.stat(path)[6]
    except OSError:
        return defaults(), []  # no config file: defaults, as shipped
    if size > MAX_BYTES:
        return defaults(), ["%s is %d bytes, more than a config can be (%d); using defaults" % (path, size, MAX_BYTES)]
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError as e:
        return defaults(), ["%s cannot be read (%s); using defaults" % (path, e)]
    except (ValueError, MemoryError, RuntimeError) as e:  # RuntimeError: nesting too deep
        return defaults(), ["%s is not valid JSON (%s); using defaults" % (path, _short(str(e)))]
    return validate(raw)


def detector_params(cfg):
    d = {}
    for k in DETECTOR_KEYS:
        d[k] = cfg[k]
    return d


def config_hash(cfg):
    """CRC-32 of the settings that change what is counted, as integers (milli-g, ms), so
    the same config hashes the same on a single-precision device and a double host."""
    import binascii

    parts = []
    for k in sorted(DETECTOR_KEYS + ("rate_hz", "range_g", "dlpf_hz", "target_counts")):
        v = cfg[k]
        if SCHEMA[k][1] == "s":
            parts.append("%s=%s" % (k, v))
            continue
        if SCHEMA[k][1] == "f":
            v = int(v * 1000 + 0.5)
        else:
            v = int(v)
        parts.append("%s=%d" % (k, v))
    return binascii.crc32(";".join(parts).encode()) & 0xFFFFFFFF
