"""jumpclip desktop tools: virtual board, replay, sync and reports for the jump counter."""

__version__ = "0.1.0"
