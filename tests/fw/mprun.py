# Runs one firmware test module under the MicroPython unix port: every test_* function,
# one result line each. tests/test_firmware_both.py reads the lines.
import sys

name = sys.argv[1]
mod = __import__(name)
n = 0
for attr in sorted(dir(mod)):
    if not attr.startswith("test_"):
        continue
    fn = getattr(mod, attr)
    n += 1
    try:
        fn()
        print("PASS", attr)
    except Exception as e:  # report and go on: one failing test must not hide the others
        print("FAIL", attr, repr(e))
        sys.print_exception(e)
print("DONE", n)
