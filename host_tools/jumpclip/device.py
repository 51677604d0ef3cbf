"""Small device operations over the Transport: read and change config.json."""

from __future__ import annotations

import json

from .transport import SerialTransport, TransportError


def parse_value(text: str):
    """A command-line value as JSON when it parses (2.5, true, "waist"), else as text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _session(port: str):
    t = SerialTransport(port)
    t.open()
    t.interrupt()
    t.enter_raw()
    return t


def resume_counting(t: SerialTransport, reload_config: bool = False) -> bool:
    """Back to counting (the session the host held open goes on) if the firmware's app is loaded; else stay at the
    REPL. Returns whether counting resumed."""
    if t.exec("print('app' in globals())").strip() != "True":
        return False
    t.exec_detached("app.reload_config(); app.run()" if reload_config else "app.run()")
    return True


def hold(port: str) -> None:
    """Bring a counting clip to its REPL and leave it there, for mpremote or a person: its
    session stays open and the lease's timer counts on (App.count_held). mpremote cannot do
    this itself: it sends Ctrl-C once or twice, and a clip in light sleep loses the bytes
    that arrive meanwhile (the esp32 port arms no UART wake-up); this transport keeps Ctrl-C
    on the line until the prompt comes. At the REPL the clip does not sleep, so mpremote's
    own Ctrl-C and Ctrl-A reach it ("resume": no soft reset)."""
    t = _session(port)
    try:
        t.exec("print(1)")  # the raw REPL answers
        t.exit_raw()  # the friendly REPL, where mpremote's `resume` finds it
    finally:
        t.close()


def hand_back(port: str) -> bool:
    """Back to the counting loop after `hold` (or an interrupted command): the held session
    goes on. False when the firmware's app is not loaded (nothing to resume)."""
    t = _session(port)
    try:
        return resume_counting(t)
    finally:
        t.close()


def read_config(port: str) -> tuple[dict, list[str]]:
    t = _session(port)
    try:
        out = t.exec("import config, json; c, e = config.load('config.json'); print(json.dumps([c, e]))")
        cfg, errors = json.loads(out.strip().splitlines()[-1])
        resume_counting(t)
        return cfg, errors
    except (ValueError, IndexError):
        raise TransportError(f"the device on {port} sent an unreadable config: run `jumpclip deploy`") from None
    finally:
        t.close()


def set_config(port: str, key: str, value, reset: bool = False) -> None:
    """Change one key of config.json (atomically: a temporary file, then a rename), or
    remove it (reset: back to its default). The clip checks the result against its other
    settings first, with the same rules it applies at boot, and refuses a value that they
    would override (rearm_g above impact_g, for example)."""
    t = _session(port)
    try:
        change = "c.pop(k, None)" if reset else f"v = json.loads({json.dumps(json.dumps(value))})\nc[k] = v"
        check = "False" if reset else "got[k] != v"
        code = (
            "import json, os, config\n"
            "try:\n"
            " with open('config.json') as f: c = json.load(f)\n"
            "except (OSError, ValueError):\n"
            " c = {}\n"
            "if not isinstance(c, dict): c = {}\n"
            f"k = {json.dumps(key)}\n"
            f"{change}\n"
            "got, errs = config.validate(c)\n"
            f"if {check}:\n"
            " print('REFUSED', json.dumps([e for e in errs if k in e] or errs))\n"
            "else:\n"
            # Under the held session's exclusion: its timer writes nothing to the flash while
            # this does (littlefs must not be entered twice; syncserver.Exclusive).
            " import syncserver\n"
            " with syncserver.Exclusive():\n"
            "  with open('config.tmp', 'w') as f: json.dump(c, f)\n"
            "  os.rename('config.tmp', 'config.json')\n"
            " print('OK', json.dumps(c))\n"
        )
        out = t.exec(code)
        if out.startswith("REFUSED"):
            try:
                reasons = json.loads(out[8:].strip())
            except ValueError:
                reasons = [out[8:].strip()]
            resume_counting(t)
            raise ConfigRefused(f"{key}={json.dumps(value)} conflicts with the clip's other settings: {'; '.join(reasons)}")
        if "OK" not in out:
            raise TransportError(f"the device on {port} did not confirm the change: {out[:60]!r}")
        resume_counting(t, reload_config=True)
    finally:
        t.close()


class ConfigRefused(TransportError):
    """The value is valid alone but not with the clip's other settings."""
