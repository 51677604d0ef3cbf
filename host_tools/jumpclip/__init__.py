"""jumpclip desktop tools: virtual board, replay, sync and reports for the jump counter."""

__version__ = "0.4.0"  # the firmware's VERSION too: one release, one number
