"""Text that came from outside (a clip's notes, a name typed in), made safe to show.

A clip's note is bytes from its flash: a damaged or forged log can hold an escape sequence
that clears the terminal, a newline that splits a table row, or U+202E, which reverses what
follows it. Shown, such characters are written out as escapes; typed in as a name, they are
refused (wearers.check_name)."""

from __future__ import annotations

import unicodedata

from rich.markup import escape


def hidden(ch: str) -> bool:
    """Control, format (U+200B, U+202E), surrogate, private-use or unassigned characters,
    and the line and paragraph separators: nothing a person reads as text."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def visible(text: str) -> str:
    """text with each hidden character written as an escape (\\x1b, \\u202e)."""
    if not any(hidden(c) for c in text):
        return text
    return "".join((f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") if hidden(c) else c for c in text)


def shown(text: str) -> str:
    """visible(text), with rich's markup escaped too: for out.print with markup on."""
    return escape(visible(text))
