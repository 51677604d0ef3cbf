"""The `jumpclip` command's entry point. The CLI's imports (click, rich, numpy) take a few
tenths of a second, and a Ctrl-C pressed then must end the command in one line, as it does
once click runs ("Aborted!"), not with a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import main as cli
    except KeyboardInterrupt:
        sys.stderr.write("jumpclip: interrupted before it started; nothing was changed\n")
        raise SystemExit(130) from None
    cli()
