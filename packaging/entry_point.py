"""The packaged app's entry point (PyInstaller freezes this file as `EdgeAIVisionStudio`).

It is `edge-studio` with one difference: frozen, ``sys.executable`` is this program, not Python, and the GUI
starts training in a child process as ``sys.executable -m studio ARGS``; that form is accepted here.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:2] == ["-m", "studio"]:
        argv = argv[2:]
    from studio.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
