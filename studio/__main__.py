import os
import sys

from studio.cli import main

code = int(main() or 0)
if "tensorflow" in sys.modules:
    # TensorFlow's input-pipeline threads can abort the interpreter's teardown ("terminate called without
    # an active exception") after a run failed on a bad file. Everything is written by now: leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
