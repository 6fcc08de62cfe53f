"""The packaged app's entry point (PyInstaller freezes this file as `EdgeAIVisionStudio`).

It is `edge-studio`, plus the one Python feature the studio uses on its own executable: frozen,
``sys.executable`` is this program, and the GUI starts its child jobs as ``sys.executable -m MODULE ARGS``
(``studio``, the CLI, for every job). ``-m`` is accepted here for the studio's own modules only.
"""

from __future__ import annotations

import runpy
import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["-m"]:
        module, argv = (argv[1] if len(argv) > 1 else ""), argv[2:]
        if module != "studio":
            if not module.startswith("studio."):
                print(f"EdgeAIVisionStudio: -m runs only the studio's own modules, not {module!r}", file=sys.stderr)
                return 2
            sys.argv = [module, *argv]
            runpy.run_module(module, run_name="__main__", alter_sys=True)  # its sys.exit() ends the process
            return 0
    from studio.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
