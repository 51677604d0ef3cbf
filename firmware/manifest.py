# The clip's firmware frozen into a MicroPython image, so that its bytecode runs from flash
# instead of the heap (docs/frozen-build.md says how to build an ESP32 image with it).
#
# main.py stays on the filesystem: the ESP32 port runs main.py from the flash after boot.py
# (ports/esp32/main.c, pyexec_file_if_exists), and a frozen module of that name is not run.
# Everything else is frozen at the optimisation level `jumpclip deploy` compiles with.
#
# An ESP32 image needs the port's own frozen modules too (its _boot.py mounts the flash):
# include this file with port=True from a board build, as docs/frozen-build.md shows.
if options.port:
    include("$(PORT_DIR)/boards/manifest.py")

for name in (
    "app", "board", "bouts", "config", "daily", "detector", "detector_viper", "doctor",
    "eraseguard", "eventlog", "forces", "impact", "impact_viper", "impacts", "impacts_viper", "lease", "logboot", "logformat", "mpu6050",
    "power", "recorder", "syncserver", "ui",
):
    module(name + ".py", opt=2)
